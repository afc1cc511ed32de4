"""Numbers for people: thousands separators, percentages, signed lifts, p-values.

Pure functions (no Django), so the rules are tested directly; every one turns ``None`` into an
em dash, because a missing statistic (too few identities, a zero control mean) is common. The
terminal table (``liftlab.terminal``) uses them too, so both say a number the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from liftlab import numerals
from liftlab.analysis.contract import MetricPower, MetricResult, SegmentMetric
from liftlab.analysis.definition import CapType, MetricType
from liftlab.analysis.settings import AnalysisSettings, Engine
from liftlab.numerals import (
    MAX_DECIMALS,
    MISSING,
    decimals_of,
    digits,
    fixed,
    is_missing,
    with_sign,
)
from liftlab.stats import Correction, Scale


def thousands(value: int | None) -> str:
    """A count with thousands separators: 12,345."""
    return MISSING if value is None else f"{value:,}"


def number(value: float | None, *, signed: bool = False) -> str:
    """A measurement to three significant digits, with separators: 1.23, 1,235, +0.0456."""
    if is_missing(value):
        return MISSING
    return with_sign(digits(value), value, signed)


def percent(value: float | None, *, signed: bool = False) -> str:
    """A share or a relative change as a percentage: 12.3%, +4.56%, −0.123%."""
    if is_missing(value):
        return MISSING
    return with_sign(digits(value * 100, at_least=1) + "%", value, signed)


def points(value: float | None) -> str:
    """A difference of two rates, in percentage points: +1.2 pp."""
    if is_missing(value):
        return MISSING
    return with_sign(digits(value * 100, at_least=1) + " pp", value, True)


def interval(bounds: list[float] | tuple[float, float] | None, fmt) -> str:
    """A confidence interval in brackets, both ends formatted alike: [−1.2%, +3.4%].

    Empty when there is none: it is shown under its estimate, which already says "—".
    """
    if not bounds or any(is_missing(b) for b in bounds):
        return ""
    low, high = bounds
    return f"[{fmt(low)}, {fmt(high)}]"


def p_value(value: float | None, *, significant: int | None = None) -> str:
    """p-values below 0.001 are shown as a bound: more digits would be false precision.

    Above it, three decimals; or, given ``significant``, that many significant digits
    (0.029, 0.58, 0.0017), which is what a reader compares against α.
    """
    if is_missing(value):
        return MISSING
    if value < 0.001:
        return "< 0.001"
    if significant is None:
        return f"{value:.3f}"
    decimals = significant - 1 - math.floor(math.log10(value))
    rounded = round(value, decimals)
    if rounded >= 1.0:
        return f"{1.0:.{significant - 1}f}"
    return f"{rounded:.{decimals}f}"


def unit_suffix(unit: str) -> str:
    """How a metric's unit follows a number: " ms", " USD"; nothing for a plain count."""
    return "" if unit in ("", "count") else f" {unit}"


def lift_column(
    metric_type: str,
    scale: Scale,
    intervals: Iterable[tuple[float | None, float | None]],
    unit: str = "",
) -> Callable[[float | None], str]:
    """One format for a column of lifts and their intervals (``numerals.lift_column``), in
    the metric's unit where it is a difference of means."""
    return numerals.lift_column(
        intervals,
        relative=scale is Scale.RELATIVE,
        rate=metric_type == MetricType.CONVERSION,
        suffix=unit_suffix(unit),
    )


def value_column(
    metric_type: str, values: Iterable[float | None], unit: str = ""
) -> Callable[[float | None], str]:
    """One format for a column of means or rates: three significant digits of the largest,
    the same decimals for every row, the metric's unit after a mean (1,195 ms, 12.30 USD)."""
    rate = metric_type == MetricType.CONVERSION
    factor = 100.0 if rate else 1.0
    finite = [abs(v) * factor for v in values if not is_missing(v)]
    decimals = min(decimals_of(max(finite)) if finite and max(finite) else 1, MAX_DECIMALS)
    if rate:
        decimals = max(decimals, 1)
    suffix = "%" if rate else unit_suffix(unit)

    def shown(value: float | None) -> str:
        return fixed(None if value is None else value * factor, decimals, suffix=suffix)

    return shown


def p_statement(value: float | None) -> str:
    """A p-value inside a sentence: "p < 0.001", "p = 0.043"."""
    shown = p_value(value)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def label(code: str | None) -> str:
    """A machine word for a person: ``insufficient_data`` → Insufficient data."""
    return MISSING if not code else code.replace("_", " ").capitalize()


# The analysis settings in words. Plain Python like everything above, so the terminal table
# (``liftlab.terminal``) says them exactly as the page does.

CORRECTION_NAMES = {
    Correction.NONE: "no correction",
    Correction.HOLM: "Holm",
    Correction.BENJAMINI_HOCHBERG: "Benjamini–Hochberg",
}
ALWAYS_VALID = "always-valid (sequential) intervals"


def level(value: float | None) -> str:
    """A confidence (or credible) level or a threshold, as people write it: 95 %, 97.5 %."""
    if is_missing(value):
        return MISSING
    return f"{round(value * 100, 2):g} %"


def interval_name(interval_level: float | None, *, bayesian: bool, short: bool = False) -> str:
    """What an interval is called: "95 % CI", or "90 % credible interval" for a posterior."""
    if bayesian:
        return f"{level(interval_level)} {'CrI' if short else 'credible interval'}"
    return f"{level(interval_level)} CI"


def method_name(settings: AnalysisSettings) -> str:
    if settings.engine is Engine.BAYESIAN:
        return "Bayesian"
    if settings.sequential:
        return f"frequentist, sequential: {ALWAYS_VALID}"
    return "frequentist, fixed horizon"


def prior_words(settings: AnalysisSettings) -> str:
    """The Bayesian prior on the judged scale: "flat" or "normal, mean +0.0%, sd 5.00%"."""
    prior = settings.prior
    if prior.sd is None:
        return "flat (the data alone)"
    fmt = _signed_percent if settings.scale is Scale.RELATIVE else _signed_number
    plain = percent if settings.scale is Scale.RELATIVE else number
    return f"normal, mean {fmt(prior.mean)}, sd {plain(prior.sd)}"


def settings_facts(settings: AnalysisSettings, interval_level: float) -> list[tuple[str, str]]:
    """The settings a result was computed with, as (label, words) pairs, most telling first."""
    bayesian = settings.engine is Engine.BAYESIAN
    facts = [("Method", method_name(settings))]
    if settings.sequential and not bayesian:
        facts.append(("Tuned for", f"{thousands(round(settings.sequential_tuning))} identities"))
    facts.append(("Judged on", f"the {settings.scale} lift"))
    if bayesian:
        facts += [
            ("Prior", prior_words(settings)),
            ("Threshold", f"chance to win ≥ {level(settings.chance_to_win_threshold)}"),
            ("Intervals", interval_name(interval_level, bayesian=True)),
        ]
    else:
        correction = CORRECTION_NAMES[Correction(settings.correction)]
        if settings.correction is not Correction.NONE:
            correction += " over primary and secondary metrics; guardrails on their own"
        facts += [
            ("Correction", correction),
            (
                "Significance",
                f"α = {settings.alpha:g}, {interval_name(interval_level, bayesian=False)}",
            ),
        ]
    return facts


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What a change changed, e.g. ``alpha 0.05 → 0.01, engine "frequentist" → "bayesian"``."""
    return ", ".join(
        f"{key} {json.dumps(before[key])} → {json.dumps(after[key])}"
        for key in after
        if after[key] != before.get(key)
    )


def value_format(metric_type: str):
    """A metric's mean: conversion rates as percentages, other means as numbers."""
    return percent if metric_type == MetricType.CONVERSION else number


def lift_format(metric_type: str, scale: Scale):
    """Relative lifts in %, rate differences in percentage points, other differences plain."""
    if scale is Scale.RELATIVE:
        return _signed_percent
    return points if metric_type == MetricType.CONVERSION else _signed_number


def _signed_percent(value: float | None) -> str:
    return percent(value, signed=True)


def _signed_number(value: float | None) -> str:
    return number(value, signed=True)


def metric_notes(metric: MetricResult) -> list[str]:
    """What was done to a metric's numbers, in words: the cap applied and CUPED's narrowing.

    E.g. "percentile cap applied: 412 per identity", "CUPED (14 days before exposure):
    interval 31% narrower" — per treatment when there are several.
    """
    notes = []
    cap = metric.cap
    if cap is not None and cap.type is CapType.PERCENTILE:
        notes.append(f"percentile cap applied: {number(cap.applied)} per identity")
    narrowing = [
        (c.variant, c.cuped.narrower_by) for c in metric.comparisons if c.cuped is not None
    ]
    if metric.lookback_days is not None and narrowing:
        shown = ", ".join(
            _narrower(value) + (f" ({variant})" if len(narrowing) > 1 else "")
            for variant, value in narrowing
        )
        notes.append(f"CUPED ({metric.lookback_days} days before exposure): interval {shown}")
    if metric.power is not None:
        notes.append(_power_note(metric.power))
    return notes


def _power_note(power: MetricPower) -> str:
    """E.g. "detectable today: ±4.1% (B); a 5.0% change needs 12 more days at 1,200/day"."""
    lift = lift_format(MetricType.NUMERIC, power.scale)
    several = len(power.treatments) > 1
    today = ", ".join(
        f"±{lift(t.mde).removeprefix('+')}" + (f" ({t.variant})" if several else "")
        for t in power.treatments
    )
    target = lift(power.target_mde).removeprefix("+")
    days = power.days_to_decision
    if days is None:
        when = "cannot be dated yet"
    elif days == 0:
        when = "is detectable now"
    else:
        when = f"needs {thousands(days)} more days at {number(power.daily_traffic)}/day"
    return f"detectable today: {today}; a {target} change {when} (power {percent(power.power)})"


def _narrower(value: float | None) -> str:
    if is_missing(value):
        return f"{MISSING} narrower"
    if value < 0:  # type: ignore[operator]
        return f"{percent(-value)} wider"  # type: ignore[operator]
    return f"{percent(value)} narrower"


def results_age(computed_at: datetime, now: datetime, *, final: bool = False) -> str:
    """How old results are, in words: "updated 12 min ago", or "final, computed 3 days ago".

    Whole units, rounded down as a clock is read; under a minute (or a ``computed_at`` a little
    ahead of ``now``, another process's clock) is "just now". Frozen results say "final": their
    age tells when the experiment completed, not that they are stale.
    """
    minutes = int((now - computed_at).total_seconds() // 60)
    if minutes < 1:
        words = "just now"
    elif minutes < 60:
        words = f"{minutes} min ago"
    elif minutes < 24 * 60:
        words = f"{minutes // 60} h ago"
    else:
        days = minutes // (24 * 60)
        words = f"{days} day{'s' if days > 1 else ''} ago"
    return f"final, computed {words}" if final else f"updated {words}"


def segment_cell(metric: MetricResult, sliced: SegmentMetric | None) -> str:
    """A metric in one segment: each treatment's judged lift, its evidence (the p-value
    corrected across the dimension, or the chance to win) and ★ where significant."""
    if sliced is None:
        return MISSING
    scale = metric.comparisons[0].scale if metric.comparisons else Scale.RELATIVE
    lift = lift_format(metric.metric_type, scale)
    several = len(sliced.comparisons) > 1
    parts = []
    for x in sliced.comparisons:
        shown = lift(None if x.estimate is None else x.estimate.estimate)
        evidence = (
            percent(x.chance_to_win) if x.chance_to_win is not None else p_value(x.p_value_adjusted)
        )
        star = " ★" if x.significant else ""
        parts.append(f"{x.variant + ': ' if several else ''}{shown} ({evidence}){star}")
    return "; ".join(parts)
