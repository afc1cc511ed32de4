"""A result document as the terminal shows it: decisions first, then one table per metric.

``liftlab results`` and ``liftlab demo`` both print with ``render``; it reads any stored
document through ``as_current`` (a version-1 snapshot too) and says every number the way the
page does (``liftlab.formatting`` is plain Python, shared by both).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liftlab import formatting as f
from liftlab.analysis.contract import (
    Breakdown,
    Comparison,
    DayComparison,
    Method,
    MetricResult,
    ResultDocument,
)
from liftlab.analysis.definition import MetricType
from liftlab.analysis.documents import as_current
from liftlab.stats import Scale
from liftlab.vocabulary import Decision, Verdict

VERDICT_STYLES = {
    Verdict.WIN: "bold green",
    Verdict.PASS: "green",
    Verdict.LOSS: "bold red",
    Verdict.AT_RISK: "yellow",
    Verdict.INCONCLUSIVE: "default",
    Verdict.INSUFFICIENT_DATA: "dim",
}
RISK_FLOOR = 1e-9
DECISION_STYLES = {
    Decision.SHIP: "bold green",
    Decision.DO_NOT_SHIP: "bold red",
    Decision.KEEP_RUNNING: "bold yellow",
    Decision.NO_DECISION: "bold",
    Decision.INVESTIGATE_ASSIGNMENT: "bold magenta",
}


def as_document(document: dict[str, Any] | ResultDocument, control: str) -> ResultDocument:
    """The typed model of a served or stored document of any version."""
    return document if isinstance(document, ResultDocument) else as_current(document, control)


def render(
    document: dict[str, Any] | ResultDocument, console: Console, *, control: str, title: str = ""
) -> None:
    """Print the decisions, the exposures and SRM check, the settings, then each metric.

    ``control`` is the experiment's control variant: a version-1 document does not say it.
    """
    doc = as_document(document, control)
    age = f.results_age(doc.computed_at, datetime.now(UTC), final=doc.is_final)
    at = f"{doc.computed_at:%Y-%m-%d %H:%M:%S} UTC"
    console.print(f"[bold]{escape(title)}[/bold] ({doc.status}, {age}: {at})")
    _decisions(doc, console)
    _exposures(doc, console)
    facts = f.settings_facts(doc.analysis, doc.interval_level)
    console.print("Analysis — " + " · ".join(f"{label.lower()}: {words}" for label, words in facts))
    if doc.analysis_changed_after_start:
        console.print(
            "[bold yellow]Analysis changed after start:[/] a setting was changed once the "
            "experiment was running; read these results with that in mind."
        )
    for metric in doc.metrics:
        console.print(metric_table(doc, metric))
    if len(doc.timeline) > 1:
        _timeline(doc, console)
    for breakdown in doc.breakdowns:
        console.print(breakdown_table(doc, breakdown))


def _timeline(doc: ResultDocument, console: Console) -> None:
    """Each metric's judged lift at the end of each day, and whether daily reading is safe."""
    names = {m.metric: m for m in doc.metrics}
    for metric in doc.metrics:
        table = Table(title=f"{escape(metric.name)} over time", title_justify="left")
        table.add_column("day")
        table.add_column("identities", justify="right")
        treatments = [c.variant for c in metric.comparisons]
        for variant in treatments:
            table.add_column(f"{escape(variant)} lift", justify="right")
        for day in doc.timeline:
            cells = {
                x.variant: x
                for m in day.metrics
                if m.metric == metric.metric
                for x in m.comparisons
            }
            fmt = f.lift_format(names[metric.metric].metric_type, metric.comparisons[0].scale)
            table.add_row(
                day.date.isoformat(),
                f.thousands(sum(v.n for v in day.exposures)),
                *(_day_cell(cells.get(v), fmt) for v in treatments),
            )
        console.print(table)
    if doc.timeline_always_valid:
        console.print("Sequential testing is on: each day's interval holds however often read.")
    else:
        console.print(
            "Fixed-horizon intervals: stopping at the first significant day inflates false "
            "positives; turn on sequential testing to read results daily."
        )


def _day_cell(x: DayComparison | None, fmt: Callable[[float | None], str]) -> str:
    if x is None:
        return f.MISSING
    cell = _with_interval(x.estimate, fmt)
    return f"{cell} [{VERDICT_STYLES[x.verdict]}]{f.label(x.verdict)}[/]"


def breakdown_table(doc: ResultDocument, breakdown: Breakdown) -> Table:
    """One dimension's segments: identities, SRM and every metric's judged lift per treatment,
    with its p-value corrected across the dimension (★ where significant)."""
    table = Table(
        title=f"By {escape(breakdown.key)} ({breakdown.source}) — exploratory, corrected "
        "across segments",
        title_justify="left",
    )
    table.add_column("segment")
    table.add_column("identities", justify="right")
    table.add_column("SRM p", justify="right")
    metrics = {m.metric: m for m in doc.metrics}
    for metric in doc.metrics:
        table.add_column(escape(metric.name), justify="right")
    for segment in breakdown.segments:
        cells = {m.metric: m for m in segment.metrics}
        table.add_row(
            escape(segment.value),
            f.thousands(sum(v.n for v in segment.exposures)),
            f.p_value(segment.srm.p_value),
            *(escape(f.segment_cell(metrics[k], cells.get(k))) for k in metrics),
        )
    return table


def _decisions(doc: ResultDocument, console: Console) -> None:
    if not doc.decisions:
        console.print(
            f"Decision: no decision recorded (results frozen by engine version "
            f"{doc.engine_version})"
        )
        return
    console.print("[bold]Decision[/bold]")
    for d in doc.decisions:
        style = DECISION_STYLES[d.decision]
        console.print(f"  {escape(d.variant)}: [{style}]{f.label(d.decision).upper()}[/]")
        for reason in d.reasons:
            console.print(f"    - {escape(reason)}")


def _exposures(doc: ResultDocument, console: Console) -> None:
    exposures = doc.exposures
    shares = ", ".join(
        f"{escape(v.variant)} {v.n:,} (expected {f.percent(v.expected_share)})"
        for v in exposures.variants
    )
    console.print(
        f"Exposed identities: {exposures.total:,} — {shares}; quarantined "
        f"{exposures.quarantined:,}, unknown variant {exposures.unknown_variant:,}"
    )
    srm = doc.srm
    if srm.mismatch:
        console.print(f"[bold red]Sample ratio mismatch[/] ({f.p_statement(srm.p_value)})")
    else:
        console.print(
            f"Sample-ratio check: {f.p_statement(srm.p_value)}, consistent with the weights"
        )


def metric_table(doc: ResultDocument, metric: MetricResult) -> Table:
    """One metric: a row per variant, the treatments with their comparison against control."""
    comparisons = {c.variant: c for c in metric.comparisons}
    judged = next((c.scale for c in metric.comparisons), doc.analysis.scale)
    bayesian = any(c.method is Method.BAYESIAN for c in metric.comparisons)
    guardrail = any(c.non_inferiority is not None for c in metric.comparisons)
    verdict = f"[{VERDICT_STYLES[metric.verdict]}]{f.label(metric.verdict)}[/]"
    if metric.verdict_variant:
        verdict += f" ({escape(metric.verdict_variant)})"
    table = Table(
        title=f"{escape(metric.name)} — {metric.role}, {metric.aggregation}, "
        f"expected {f.label(metric.expected_direction).lower()} → {verdict}",
        title_justify="left",
        caption=escape(" · ".join(_about(metric))) or None,
        caption_justify="left",
    )
    interval = f.interval_name(doc.interval_level, bayesian=bayesian, short=True)
    columns = ["variant", "n", "rate" if metric.metric_type is MetricType.CONVERSION else "mean"]
    columns += [f"{judged} lift [{interval}]", f"{judged.other} lift"]
    columns += (
        ["chance to win", "risk (treatment / control)"] if bayesian else ["p-value", "adj. p"]
    )
    if guardrail:
        columns.append("non-inferiority bound (margin)")
    columns.append("verdict")
    for column in columns:
        table.add_column(column, justify="left" if column in ("variant", "verdict") else "right")
    value = f.value_format(metric.metric_type)
    for v in metric.variants:
        c = comparisons.get(v.variant)
        cells = [escape(v.variant), f.thousands(v.n), value(v.mean)]
        if c is None:
            cells += ["control", *[""] * (len(columns) - 4)]
        else:
            cells += comparison_cells(metric, c, bayesian=bayesian, guardrail=guardrail)
        table.add_row(*cells)
    return table


def _about(metric: MetricResult) -> list[str]:
    """The metric's definition in words, then what was done to its numbers."""
    described = [metric.description] if metric.description else []
    return described + f.metric_notes(metric)


def comparison_cells(
    metric: MetricResult, c: Comparison, *, bayesian: bool, guardrail: bool
) -> list[str]:
    judged, other = c.judged, c.on(c.scale.other)
    judged_fmt = f.lift_format(metric.metric_type, c.scale)
    other_fmt = f.lift_format(metric.metric_type, c.scale.other)
    cells = [_with_interval(judged, judged_fmt), _with_interval(other, other_fmt)]
    if bayesian:
        risk = c.risk
        cells += [
            f.percent(c.chance_to_win),
            f"{_risk(metric, risk.treatment, c.scale)} / {_risk(metric, risk.control, c.scale)}"
            if risk
            else f.MISSING,
        ]
    else:
        cells += [f.p_value(c.p_value), f.p_value(c.p_value_adjusted)]
    if guardrail:
        cells.append(_non_inferiority(c, judged_fmt))
    cells.append(f"[{VERDICT_STYLES[c.verdict]}]{f.label(c.verdict)}[/]")
    return cells


def _non_inferiority(c: Comparison, fmt) -> str:
    """The harm-side bound against the margin on the judged scale (and in % when absolute)."""
    ni = c.non_inferiority
    if ni is None:
        return f.MISSING
    limit = fmt(ni.threshold)
    if c.scale is Scale.ABSOLUTE:
        limit += f" = {f.percent(ni.margin)}"
    return f"{fmt(ni.bound)} (margin {limit})"


def _risk(metric: MetricResult, value: float | None, scale: Scale) -> str:
    """An expected loss: never negative, so without a sign (rounding noise shows as 0)."""
    if value is not None and abs(value) < RISK_FLOOR:
        value = 0.0
    return f.lift_format(metric.metric_type, scale)(value).removeprefix("+")


def _with_interval(estimate, fmt) -> str:
    if estimate is None or estimate.estimate is None:
        return f.MISSING
    bounds = f.interval((estimate.ci.low, estimate.ci.high), fmt)
    return escape(f"{fmt(estimate.estimate)} {bounds}".strip())
