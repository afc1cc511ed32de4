"""The result document: per-metric, per-variant statistics, comparisons and verdicts.

Everything here is plain data in, JSON-ready data out (NaN becomes ``None``): the numbers
come from ``liftlab.stats`` applied to the sufficient statistics of ``ResultStats``, all
treatments of a metric in one vectorised call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from liftlab.analysis.definition import MetricType
from liftlab.analysis.results import Moments, ResultStats
from liftlab.analysis.spec import ExperimentSpec
from liftlab.stats import (
    Comparison,
    SampleSummary,
    sample_ratio_test,
    two_proportion_z_test,
    welch_t_test,
)

SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class Thresholds:
    """Below these, a comparison is ``insufficient_data`` whatever its p-value."""

    min_identities: int = 50
    min_conversions: int = 5


def build_report(
    spec: ExperimentSpec,
    stats: ResultStats,
    metrics_meta: Sequence[Mapping],
    *,
    weights: Sequence[float],
    control: str,
    alpha: float = 0.05,
    min_identities: int = 50,
    min_conversions: int = 5,
) -> dict:
    """The document's ``alpha``, ``window``, ``exposures``, ``srm`` and ``metrics`` parts.

    ``metrics_meta`` describes each attached metric (``key`` as in the spec, plus the fields
    echoed in the document: metric id, name, type, aggregation, direction, role, polarity).
    """
    thresholds = Thresholds(min_identities, min_conversions)
    return {
        "alpha": alpha,
        "window": {"start": spec.start.isoformat(), "end": spec.end.isoformat()},
        "exposures": _exposures(spec, stats, weights),
        "srm": _srm(spec, stats, weights),
        "metrics": [
            _metric(meta, stats.metrics[meta["key"]], spec, control, alpha, thresholds)
            for meta in metrics_meta
        ],
    }


def _exposures(spec: ExperimentSpec, stats: ResultStats, weights: Sequence[float]) -> dict:
    counts = stats.exposures
    return {
        "total": counts.total,
        "quarantined": counts.quarantined,
        "unknown_variant": counts.unknown_variant,
        "variants": [
            {"variant": key, "n": counts.variants[key], "expected_share": weight}
            for key, weight in zip(spec.variant_keys, weights, strict=True)
        ],
    }


def _srm(spec: ExperimentSpec, stats: ResultStats, weights: Sequence[float]) -> dict:
    """Chi-square goodness of fit of assigned identities against the configured weights."""
    counts = [stats.exposures.variants[key] for key in spec.variant_keys]
    if sum(counts) == 0:
        return {"p_value": None, "mismatch": False}
    p_value = sample_ratio_test(counts, weights).p_value
    return {"p_value": _json(p_value), "mismatch": bool(p_value < SRM_THRESHOLD)}


def _metric(
    meta: Mapping,
    moments: Mapping[str, Moments],
    spec: ExperimentSpec,
    control: str,
    alpha: float,
    thresholds: Thresholds,
) -> dict:
    treatments = [key for key in spec.variant_keys if key != control]
    conversion = meta["metric_type"] == MetricType.CONVERSION
    control_summary = _summary([moments[control]])
    treatment_summary = _summary([moments[key] for key in treatments])
    test = two_proportion_z_test if conversion else welch_t_test
    comparison = test(control_summary, treatment_summary, alpha)
    rows = [
        _comparison_row(
            comparison, i, key, moments[control], moments[key], meta, conversion, thresholds
        )
        for i, key in enumerate(treatments)
    ]
    return {
        "metric": meta["metric"],
        "name": meta["name"],
        "metric_type": meta["metric_type"],
        "aggregation": meta["aggregation"],
        "expected_direction": meta["expected_direction"],
        "role": meta["role"],
        "higher_is_better": meta["higher_is_better"],
        "variants": [_variant_row(key, moments[key]) for key in spec.variant_keys],
        "comparisons": rows,
        "verdict": metric_verdict([row["verdict"] for row in rows]),
    }


def _summary(moments: Sequence[Moments]) -> SampleSummary:
    return SampleSummary.of(
        [m.n for m in moments], [m.sum for m in moments], [m.sum_sq for m in moments]
    )


def _variant_row(key: str, moments: Moments) -> dict:
    summary = _summary([moments])
    return {
        "variant": key,
        "n": moments.n,
        "mean": _json(summary.mean[0]),
        "variance": _json(summary.variance[0]),
        "sum": moments.sum,
    }


def _comparison_row(
    comparison: Comparison,
    index: int,
    variant: str,
    control: Moments,
    treatment: Moments,
    meta: Mapping,
    conversion: bool,
    thresholds: Thresholds,
) -> dict:
    values = comparison.at(index)
    p_value = values["p_value"]
    significant = bool(not math.isnan(p_value) and p_value < float(values["alpha"]))
    enough = _enough_data(control, treatment, conversion, thresholds)
    relative = _json(values["relative_lift"])
    return {
        "variant": variant,
        "test": comparison.test,
        "absolute_lift": _json(values["absolute_lift"]),
        "absolute_ci": [_json(values["ci_low"]), _json(values["ci_high"])],
        "relative_lift": relative,
        "relative_ci": None
        if relative is None
        else [_json(values["relative_ci_low"]), _json(values["relative_ci_high"])],
        "relative_lift_reason": None if relative is not None else _no_relative_reason(control),
        "p_value": _json(p_value),
        "significant": significant,
        "verdict": comparison_verdict(
            significant=significant,
            lift=float(values["absolute_lift"]),
            expected_direction=meta["expected_direction"],
            higher_is_better=meta["higher_is_better"],
            enough_data=enough,
        ),
    }


def _enough_data(
    control: Moments, treatment: Moments, conversion: bool, thresholds: Thresholds
) -> bool:
    if min(control.n, treatment.n) < thresholds.min_identities:
        return False
    return not conversion or min(control.sum, treatment.sum) >= thresholds.min_conversions


def _no_relative_reason(control: Moments) -> str:
    return "control has no identities" if control.n == 0 else "control mean is 0"


def comparison_verdict(
    *,
    significant: bool,
    lift: float,
    expected_direction: str,
    higher_is_better: bool,
    enough_data: bool,
) -> str:
    """One treatment against control.

    ``increase``/``decrease``: win when significant in the expected direction, loss when
    significant in the other, else inconclusive. ``no_change`` (guardrails): loss when
    significant in the bad direction by the metric's polarity, otherwise pass.
    """
    if not enough_data:
        return "insufficient_data"
    went_up = lift > 0
    if expected_direction == "no_change":
        return "loss" if significant and went_up != higher_is_better else "pass"
    if not significant:
        return "inconclusive"
    return "win" if went_up == (expected_direction == "increase") else "loss"


def metric_verdict(verdicts: Sequence[str]) -> str:
    """A metric's verdict over all its treatments, worst news first.

    Any loss makes it a loss (one harmful variant is what a team must hear about); else any
    win makes it a win; else any comparison short of data makes it insufficient_data; else
    inconclusive, or pass when every comparison passed.
    """
    for verdict in ("loss", "win", "insufficient_data", "inconclusive"):
        if verdict in verdicts:
            return verdict
    return "pass" if verdicts else "insufficient_data"


def _json(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
