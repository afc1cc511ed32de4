"""The result document, arranged for the pages: decisions, settings, formatted rows and figures.

Everything a template shows is decided here (which unit a number is in, which colour a verdict
or a decision gets, which card goes in which group), so the templates only lay it out and these
rules are tested without rendering HTML. Documents are read through ``as_current``, so a
version-1 snapshot renders with the same code as a current one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.safestring import SafeString

from liftlab import formatting
from liftlab.analysis.contract import (
    Comparison,
    Estimate,
    Method,
    MetricResult,
    ResultDocument,
)
from liftlab.analysis.definition import MetricType, describe, parse_definition
from liftlab.analysis.documents import as_current
from liftlab.analysis.settings import Engine, parse_settings
from liftlab.experiments.models import Experiment, Metric
from liftlab.stats import Scale
from liftlab.vocabulary import Decision, MetricRole, Verdict, improves_upward
from liftlab.web import charts

# A verdict's tone is its colour: a win is good news, a guardrail that held is quiet good news,
# a loss is bad news, "at risk" a warning, "inconclusive" no news, "insufficient_data" not even
# that. The badge always carries the word too: colour is never the only signal.
VERDICT_TONES = {
    Verdict.WIN: "good",
    Verdict.PASS: "pass",
    Verdict.LOSS: "bad",
    Verdict.AT_RISK: "warn",
    Verdict.INSUFFICIENT_DATA: "muted",
}
DECISION_TONES = {
    Decision.SHIP: "good",
    Decision.DO_NOT_SHIP: "bad",
    Decision.KEEP_RUNNING: "info",
    Decision.NO_DECISION: "neutral",
    Decision.INVESTIGATE_ASSIGNMENT: "warn",
}
ROLE_TITLES = {
    MetricRole.PRIMARY: "Primary metrics",
    MetricRole.SECONDARY: "Secondary metrics",
    MetricRole.GUARDRAIL: "Guardrail metrics",
}
LEVEL_TOLERANCE = 1e-9
P_DIGITS = 2  # p-values are compared with α: two significant digits, "< 0.001" below


def tone(verdict: str | None) -> str:
    return VERDICT_TONES.get(verdict or "", "neutral")


@dataclass(frozen=True)
class Badge:
    """A verdict or a decision as the page shows it: its words and its colour."""

    text: str
    tone: str

    @classmethod
    def of(cls, verdict: str | None, variant: str | None = None) -> Badge:
        text = formatting.label(verdict)
        return cls(f"{text} ({variant})" if variant else text, tone(verdict))

    @classmethod
    def of_decision(cls, decision: str) -> Badge:
        return cls(formatting.label(decision), DECISION_TONES.get(decision, "neutral"))


def no_decision_note(doc: ResultDocument) -> str:
    """What the page says when a document carries no decisions (made before they existed)."""
    return f"No decision recorded (results frozen by engine version {doc.engine_version})."


@dataclass(frozen=True)
class DecisionView:
    variant: str
    badge: Badge
    reasons: list[str]
    guardrail_failures: list[str] = field(default_factory=list)  # "Latency (loss)"


FAILED_GUARDRAIL = (Verdict.LOSS, Verdict.AT_RISK)


def failed_guardrails(doc: ResultDocument, variant: str) -> list[tuple[str, str]]:
    """The guardrails this treatment harmed (or may have): name and verdict in words. The
    decision's reasons give the figures, and the scorecard the intervals."""
    return [
        (metric.name, formatting.label(c.verdict).lower())
        for metric in doc.metrics
        if metric.role == MetricRole.GUARDRAIL
        for c in metric.comparisons
        if c.variant == variant and c.verdict in FAILED_GUARDRAIL
    ]


def guardrail_failures(doc: ResultDocument, variant: str) -> list[str]:
    return [f"{name} ({verdict})" for name, verdict in failed_guardrails(doc, variant)]


def decision_views(doc: ResultDocument) -> list[DecisionView]:
    return [
        DecisionView(
            d.variant,
            Badge.of_decision(d.decision),
            d.reasons,
            guardrail_failures(doc, d.variant),
        )
        for d in doc.decisions
    ]


@dataclass(frozen=True)
class ChanceToWin:
    """A chance-to-win bar: the text value, and widths (in %) for the bar and the threshold."""

    text: str
    width: float
    threshold_text: str
    threshold_width: float
    tone: str


@dataclass(frozen=True)
class NonInferiorityView:
    bound: str
    needs: str  # e.g. "needs > −1.00%"
    passed: bool


@dataclass(frozen=True)
class VariantRow:
    variant: str
    is_control: bool
    n: str
    value: str
    lift: str = formatting.MISSING
    lift_ci: str = ""
    adjusted_level: str = ""  # the interval matching the adjusted p-value, when it is another
    adjusted_ci: str = ""
    other_lift: str = formatting.MISSING
    other_ci: str = ""
    other_note: str = ""  # why the other scale has no lift
    p_value: str = formatting.MISSING
    p_value_adjusted: str = formatting.MISSING
    chance_to_win: ChanceToWin | None = None
    risk_treatment: str = ""
    risk_control: str = ""
    non_inferiority: NonInferiorityView | None = None
    verdict: Badge | None = None
    reason: str = ""


@dataclass(frozen=True)
class MetricCard:
    metric: int
    name: str
    sentence: str
    notes: list[str]  # the cap applied, CUPED's narrowing
    role: str
    is_conversion: bool
    aggregation: str
    expected_direction: str
    higher_is_better: bool
    verdict: Badge
    bayesian: bool
    guardrail: bool
    judged_header: str  # "Relative lift"
    other_header: str  # "Absolute lift"
    interval_header: str  # "95 % CI", "90 % credible interval"
    margin: str  # the non-inferiority margin, for guardrails
    rows: list[VariantRow]
    figure: charts.Chart | None
    chart_id: str
    method: str
    timeline_figure: charts.Chart | None = None  # the judged lift at the end of each day
    timeline_note: str = ""  # whether reading it every day is safe

    @property
    def column_count(self) -> int:
        """Variant, identities, value, both lifts, two evidence columns, [bound], verdict."""
        return 8 + int(self.guardrail)

    @property
    def timeline_chart_id(self) -> str:
        return f"{self.chart_id}-days"


@dataclass(frozen=True)
class ExposureRow:
    variant: str
    n: str
    share: str
    expected_share: str


@dataclass(frozen=True)
class ResultsView:
    is_final: bool
    computed_at: datetime | None
    engine_version: str
    total: str
    quarantined: int
    unknown_variant: int
    exposure_rows: list[ExposureRow]
    exposure_figure: charts.Chart | None
    srm_p_value: str
    srm_mismatch: bool
    decisions: list[DecisionView]
    no_decision: str
    settings: list[tuple[str, str]]
    analysis_changed_after_start: bool
    bayesian: bool
    interval_header: str
    groups: list[tuple[str, list[MetricCard]]] = field(default_factory=list)
    scorecard: Scorecard | None = None
    progress: list[ProgressView] = field(default_factory=list)
    breakdowns: list[BreakdownView] = field(default_factory=list)


@dataclass(frozen=True)
class ProgressView:
    """A running primary metric's way to a decision: days run against days needed."""

    metric: str
    days_run: int
    days_needed: int | None  # in all; None: cannot be dated yet
    text: str

    @property
    def percent(self) -> int:
        """How far along, 0–100, for the progress bar."""
        if self.days_needed is None or self.days_needed <= 0:
            return 0
        return min(100, round(100 * self.days_run / self.days_needed))


@dataclass(frozen=True)
class SegmentRow:
    value: str
    identities: str
    srm: str
    cells: list[str]


@dataclass(frozen=True)
class BreakdownView:
    key: str
    source: str
    metrics: list[str]
    rows: list[SegmentRow]


def progress_views(doc: ResultDocument) -> list[ProgressView]:
    """One bar per primary metric that has power figures (a running frequentist experiment)."""
    days_run = max(0, (doc.window.end - doc.window.start).days)
    views = []
    for metric in doc.metrics:
        power = metric.power
        if power is None:
            continue
        left = power.days_to_decision
        views.append(
            ProgressView(
                metric=metric.name,
                days_run=days_run,
                days_needed=None if left is None else days_run + left,
                text=formatting.metric_notes(metric)[-1],
            )
        )
    return views


def breakdown_views(doc: ResultDocument) -> list[BreakdownView]:
    """Each dimension's segments as table rows, a cell per metric (``formatting.segment_cell``)."""
    return [
        BreakdownView(
            key=b.key,
            source=b.source,
            metrics=[m.name for m in doc.metrics],
            rows=[
                SegmentRow(
                    value=segment.value,
                    identities=formatting.thousands(sum(v.n for v in segment.exposures)),
                    srm=formatting.p_value(segment.srm.p_value),
                    cells=[
                        formatting.segment_cell(
                            m, next((x for x in segment.metrics if x.metric == m.metric), None)
                        )
                        for m in doc.metrics
                    ],
                )
                for segment in b.segments
            ],
        )
        for b in doc.breakdowns
    ]


@dataclass(frozen=True)
class LibraryFacts:
    """What the page takes from the metric library rather than the document: its definition
    in words and its unit (display only, so a frozen document never needs to carry it)."""

    sentence: str
    unit: str


def library_facts(metric_ids: list[int]) -> dict[int, LibraryFacts]:
    """The facts of the metrics a document mentions (one query for all of them)."""
    return {
        m.pk: LibraryFacts(sentence(m), m.unit) for m in Metric.objects.filter(pk__in=metric_ids)
    }


def sentence(metric: Metric) -> str:
    """The definition in words, its window in days when it is whole days ("within 7 days")."""
    return describe(parse_definition(metric.definition), metric.aggregation)


Format = Callable[[float | None], str]


def _is_rate(metric: MetricResult) -> bool:
    return metric.metric_type is MetricType.CONVERSION


def _interval(estimate: Estimate | None, fmt: Format) -> str:
    if estimate is None:
        return ""
    return formatting.interval((estimate.ci.low, estimate.ci.high), fmt)


def _estimate(estimate: Estimate | None, fmt: Format) -> str:
    return formatting.MISSING if estimate is None else fmt(estimate.estimate)


def chance_bar(c: Comparison, threshold: float) -> ChanceToWin | None:
    if c.chance_to_win is None:
        return None
    chance = c.chance_to_win
    shade = "good" if chance >= threshold else "bad" if chance <= 1 - threshold else "neutral"
    return ChanceToWin(
        text=formatting.percent(chance),
        width=round(chance * 100, 1),
        threshold_text=formatting.level(threshold),
        threshold_width=round(threshold * 100, 1),
        tone=shade,
    )


def _non_inferiority(metric: MetricResult, c: Comparison, fmt: Format) -> NonInferiorityView | None:
    ni = c.non_inferiority
    if ni is None:
        return None
    side = ">" if improves_upward(metric.expected_direction, metric.higher_is_better) else "<"
    return NonInferiorityView(
        bound=fmt(ni.bound), needs=f"needs {side} {fmt(ni.threshold)}", passed=ni.passed
    )


def _risk(metric: MetricResult, c: Comparison) -> tuple[str, str]:
    """Bayesian expected loss of shipping the treatment, and of keeping control (no sign:
    a loss is never negative)."""
    if c.risk is None:
        return "", ""
    fmt = formatting.lift_format(metric.metric_type, c.scale)

    def unsigned(value: float | None) -> str:
        return fmt(value).removeprefix("+")

    return unsigned(c.risk.treatment), unsigned(c.risk.control)


def _adjusted(c: Comparison, fmt: Format, interval_level: float) -> tuple[str, str]:
    """The corrected interval's level and bounds, when they are not the interval shown."""
    if c.ci_adjusted is None or c.adjusted_level is None:
        return "", ""
    if abs(c.adjusted_level - interval_level) < LEVEL_TOLERANCE:
        return "", ""
    bounds = formatting.interval((c.ci_adjusted.low, c.ci_adjusted.high), fmt)
    if not bounds:
        return "", ""
    return f"{formatting.level(c.adjusted_level)} after correction", bounds


def _column(metric: MetricResult, scale: Scale, unit: str) -> Format:
    """One format for a card's lift column on ``scale``: every treatment's figures alike."""
    intervals = [
        (e.ci.low, e.ci.high) for c in metric.comparisons if (e := c.on(scale)) is not None
    ]
    return formatting.lift_column(metric.metric_type, scale, intervals, unit)


def variant_rows(doc: ResultDocument, metric: MetricResult, unit: str = "") -> list[VariantRow]:
    """One row per variant: its mean or rate, and for treatments the comparison with control.

    Each column has one format (``formatting.lift_column``, ``value_column``): the same
    decimals in every row, the metric's unit after means and absolute differences.
    """
    value_fmt = formatting.value_column(metric.metric_type, [v.mean for v in metric.variants], unit)
    comparisons = {c.variant: c for c in metric.comparisons}
    rows = []
    for v in metric.variants:
        base = {
            "variant": v.variant,
            "is_control": v.variant == doc.control,
            "n": formatting.thousands(v.n),
            "value": value_fmt(v.mean),
        }
        c = comparisons.get(v.variant)
        if c is None:
            rows.append(VariantRow(**base))
            continue
        judged_fmt = _column(metric, c.scale, unit)
        other_fmt = _column(metric, c.scale.other, unit)
        judged, other = c.judged, c.on(c.scale.other)
        adjusted_level, adjusted_ci = _adjusted(c, judged_fmt, doc.interval_level)
        risk_treatment, risk_control = _risk(metric, c)
        rows.append(
            VariantRow(
                **base,
                lift=_estimate(judged, judged_fmt),
                lift_ci=_interval(judged, judged_fmt),
                adjusted_level=adjusted_level,
                adjusted_ci=adjusted_ci,
                other_lift=_estimate(other, other_fmt),
                other_ci=_interval(other, other_fmt),
                other_note="" if other is not None else (c.relative_reason or ""),
                p_value=formatting.p_value(c.p_value, significant=P_DIGITS),
                p_value_adjusted=formatting.p_value(c.p_value_adjusted, significant=P_DIGITS),
                chance_to_win=chance_bar(c, doc.analysis.chance_to_win_threshold),
                risk_treatment=risk_treatment,
                risk_control=risk_control,
                non_inferiority=_non_inferiority(metric, c, judged_fmt),
                verdict=Badge.of(c.verdict),
                reason=c.reason,
            )
        )
    return rows


def forest_points(metric: MetricResult, scale: Scale | None = None) -> list[dict]:
    """Each treatment's lift on ``scale`` (the judged one by default) and its interval; a
    missing lift (a zero control mean) is kept as ``None`` so the chart leaves it out while the
    table lists it."""
    return [forest_point(c, scale) for c in metric.comparisons]


def forest_point(c: Comparison, scale: Scale | None = None) -> dict:
    """One treatment's point for ``charts``: lift, interval, and its verdict's tone and word."""
    judged = c.judged if scale is None else c.on(scale)
    defined = judged is not None and None not in (judged.estimate, judged.ci.low, judged.ci.high)
    return {
        "variant": c.variant,
        "lift": judged.estimate if defined else None,
        "low": judged.ci.low if defined else None,
        "high": judged.ci.high if defined else None,
        "tone": tone(c.verdict),
        "verdict": formatting.label(c.verdict),
    }


def lift_axis(
    metric: MetricResult, scale: Scale, interval_header: str, unit: str = ""
) -> charts.LiftAxis:
    if scale is Scale.RELATIVE:
        return charts.LiftAxis(f"relative lift vs control, {interval_header}", percent=True)
    if _is_rate(metric):
        return charts.LiftAxis(
            f"difference vs control, {interval_header}", factor=100.0, suffix=" pp"
        )
    suffix = formatting.unit_suffix(unit)
    return charts.LiftAxis(f"difference vs control, {interval_header}", suffix=suffix)


def metric_card(
    doc: ResultDocument, metric: MetricResult, facts: dict[int, LibraryFacts]
) -> MetricCard:
    bayesian = any(c.method is Method.BAYESIAN for c in metric.comparisons)
    scale = next((c.scale for c in metric.comparisons), doc.analysis.scale)
    interval_header = formatting.interval_name(doc.interval_level, bayesian=bayesian)
    guardrail = any(c.non_inferiority is not None for c in metric.comparisons)
    thresholds = [c.non_inferiority.threshold for c in metric.comparisons if c.non_inferiority]
    method = next((c.method for c in metric.comparisons), Method.FIXED_HORIZON)
    known = facts.get(metric.metric)
    unit = known.unit if known else ""
    return MetricCard(
        metric=metric.metric,
        name=metric.name,
        sentence=(known.sentence if known else "") or metric.description or "",
        notes=formatting.metric_notes(metric),
        role=metric.role,
        is_conversion=_is_rate(metric),
        aggregation=metric.aggregation,
        expected_direction=formatting.label(metric.expected_direction),
        higher_is_better=metric.higher_is_better,
        verdict=Badge.of(metric.verdict, metric.verdict_variant),
        bayesian=bayesian,
        guardrail=guardrail,
        judged_header=f"{formatting.label(scale)} lift",
        other_header=f"{formatting.label(scale.other)} lift",
        interval_header=interval_header,
        margin=formatting.percent(metric.non_inferiority_margin)
        if metric.non_inferiority_margin is not None
        else "",
        rows=variant_rows(doc, metric, unit),
        figure=charts.forest_figure(
            forest_points(metric),
            improves_upward(metric.expected_direction, metric.higher_is_better),
            axis=lift_axis(metric, scale, interval_header, unit),
            margin=thresholds[0] if thresholds and thresholds[0] is not None else None,
        ),
        chart_id=f"forest-{metric.metric}",
        method=formatting.label(method),
        timeline_figure=charts.lift_over_time_figure(
            lift_series(doc, metric.metric), axis=lift_axis(metric, scale, interval_header, unit)
        ),
        timeline_note=_timeline_note(doc),
    )


def lift_series(doc: ResultDocument, metric: int) -> dict[str, list[dict]]:
    """Per treatment, the judged lift and interval at each day's end (``charts``' points)."""
    series: dict[str, list[dict]] = {}
    for day in doc.timeline:
        for m in (m for m in day.metrics if m.metric == metric):
            for x in m.comparisons:
                estimate = x.estimate
                lift = None if estimate is None else estimate.estimate
                low = None if estimate is None else estimate.ci.low
                high = None if estimate is None else estimate.ci.high
                complete = None not in (lift, low, high)
                series.setdefault(x.variant, []).append(
                    {
                        "date": day.date.isoformat(),
                        "lift": lift if complete else None,
                        "low": low,
                        "high": high,
                    }
                )
    return series


def _timeline_note(doc: ResultDocument) -> str:
    if doc.timeline_always_valid:
        return "Sequential testing is on: each day's interval holds however often you look."
    return (
        "Fixed-horizon intervals: reading this chart every day and stopping at the first "
        "significant day inflates false positives; turn on sequential testing to look daily."
    )


def grouped_cards(doc: ResultDocument) -> list[tuple[str, list[MetricCard]]]:
    """Cards under "Primary", "Secondary", "Guardrail" (in that order, empty groups left out)."""
    facts = library_facts([m.metric for m in doc.metrics])
    cards = [metric_card(doc, m, facts) for m in doc.metrics]
    return [
        (title, [c for c in cards if c.role == role])
        for role, title in ROLE_TITLES.items()
        if any(c.role == role for c in cards)
    ]


@dataclass(frozen=True)
class ScorecardRow:
    """One metric × treatment of the scorecard: the relative lift on the shared axis."""

    metric: int
    name: str
    variant: str
    lift: str
    ci: str
    strip: SafeString | None
    p_value: str
    p_value_adjusted: str
    chance_to_win: str
    verdict: Badge
    first: bool  # the metric's first row; the others show its name muted


@dataclass(frozen=True)
class Scorecard:
    """Every metric × treatment in one table, grouped primary / secondary / guardrail."""

    groups: list[tuple[str, list[ScorecardRow]]]
    axis: SafeString
    bayesian: bool
    lift_header: str  # "Relative lift, 95 % CI"

    @property
    def column_count(self) -> int:
        """Metric, treatment, lift, the strip, two (or one) evidence columns, verdict."""
        return 6 + int(not self.bayesian)


def _relative_margin(c: Comparison) -> float | None:
    """A guardrail's margin, when it is on the relative scale the scorecard draws."""
    ni = c.non_inferiority
    if ni is None or c.scale is not Scale.RELATIVE:
        return None
    return ni.threshold


def scorecard(doc: ResultDocument) -> Scorecard:
    """The relative lift of every comparison on one axis, so intervals compare across metrics.

    The relative lift is the one scale that every metric shares (an absolute one is in each
    metric's own unit); the verdict is the engine's, on whichever scale it judged.
    """
    bayesian = doc.analysis.engine is Engine.BAYESIAN
    pairs = [(m, c) for m in doc.metrics for c in m.comparisons]
    points = {(m.metric, c.variant): forest_point(c, Scale.RELATIVE) for m, c in pairs}
    margins = [x for _, c in pairs if (x := _relative_margin(c)) is not None]
    limits = charts.shared_limits(list(points.values()), margins)
    interval_header = formatting.interval_name(doc.interval_level, bayesian=bayesian)
    intervals = [(e.ci.low, e.ci.high) for _, c in pairs if (e := c.on(Scale.RELATIVE)) is not None]
    fmt = formatting.lift_column(MetricType.NUMERIC, Scale.RELATIVE, intervals)
    axis = charts.RELATIVE_AXIS.for_values(intervals)
    groups = []
    for role, title in ROLE_TITLES.items():
        rows = []
        for metric in (m for m in doc.metrics if m.role == role):
            better = improves_upward(metric.expected_direction, metric.higher_is_better)
            for i, c in enumerate(metric.comparisons):
                relative = c.on(Scale.RELATIVE)
                rows.append(
                    ScorecardRow(
                        metric=metric.metric,
                        name=metric.name,
                        variant=c.variant,
                        lift=_estimate(relative, fmt),
                        ci=_interval(relative, fmt),
                        strip=charts.strip(
                            points[(metric.metric, c.variant)],
                            limits,
                            better,
                            axis=axis,
                            margin=_relative_margin(c),
                        ),
                        p_value=formatting.p_value(c.p_value, significant=P_DIGITS),
                        p_value_adjusted=formatting.p_value(
                            c.p_value_adjusted, significant=P_DIGITS
                        ),
                        chance_to_win=formatting.percent(c.chance_to_win),
                        verdict=Badge.of(c.verdict, c.variant),
                        first=i == 0,
                    )
                )
        if rows:
            groups.append((title, rows))
    return Scorecard(
        groups=groups,
        axis=charts.strip_axis(limits),
        bayesian=bayesian,
        lift_header=f"Relative lift, {interval_header}",
    )


def scorecard_csv(doc: ResultDocument) -> list[list[Any]]:
    """The scorecard as rows for a CSV file: raw numbers (not rounded for reading), one row per
    metric × treatment, with the treatment's decision and when the results were computed."""
    decisions = {d.variant: d.decision.value for d in doc.decisions}
    header = [
        "role",
        "metric_id",
        "metric",
        "variant",
        "verdict",
        "decision",
        "judged_scale",
        "relative_lift",
        "relative_low",
        "relative_high",
        "absolute_lift",
        "absolute_low",
        "absolute_high",
        "interval_level",
        "p_value",
        "p_value_adjusted",
        "chance_to_win",
        "computed_at",
        "final",
    ]
    rows: list[list[Any]] = [header]
    for role in ROLE_TITLES:
        for metric in (m for m in doc.metrics if m.role == role):
            for c in metric.comparisons:
                relative, absolute = c.on(Scale.RELATIVE), c.absolute
                rows.append(
                    [
                        metric.role,
                        metric.metric,
                        csv_text(metric.name),
                        csv_text(c.variant),
                        c.verdict.value,
                        decisions.get(c.variant, ""),
                        c.scale.value,
                        *_csv_estimate(relative),
                        *_csv_estimate(absolute),
                        doc.interval_level,
                        c.p_value,
                        c.p_value_adjusted,
                        c.chance_to_win,
                        doc.computed_at.isoformat() if doc.computed_at else "",
                        doc.is_final,
                    ]
                )
    return rows


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A name as a CSV cell that a spreadsheet shows as text: one starting like a formula
    ("=HYPERLINK(…)", a metric named by anyone with admin rights) gets a leading apostrophe."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv_estimate(estimate: Estimate | None) -> tuple[Any, Any, Any]:
    if estimate is None:
        return ("", "", "")
    return (estimate.estimate, estimate.ci.low, estimate.ci.high)


def exposure_rows(doc: ResultDocument) -> list[ExposureRow]:
    variants = doc.exposures.variants
    assigned = sum(v.n for v in variants)
    return [
        ExposureRow(
            variant=v.variant,
            n=formatting.thousands(v.n),
            share=formatting.percent(v.n / assigned) if assigned else formatting.MISSING,
            expected_share=formatting.percent(v.expected_share),
        )
        for v in variants
    ]


def results_view(document: dict[str, Any] | ResultDocument, control: str) -> ResultsView:
    """The experiment page's results; ``control`` is needed only by version-1 documents."""
    doc = document if isinstance(document, ResultDocument) else as_current(document, control)
    bayesian = doc.analysis.engine is Engine.BAYESIAN
    variants = [v.variant for v in doc.exposures.variants]
    daily = [d.model_dump(mode="json") for d in doc.exposures.daily]
    return ResultsView(
        is_final=doc.is_final,
        computed_at=doc.computed_at,
        engine_version=doc.engine_version,
        total=formatting.thousands(doc.exposures.total),
        quarantined=doc.exposures.quarantined,
        unknown_variant=doc.exposures.unknown_variant,
        exposure_rows=exposure_rows(doc),
        exposure_figure=charts.exposure_figure(daily, variants),
        srm_p_value=formatting.p_statement(doc.srm.p_value),
        srm_mismatch=doc.srm.mismatch,
        decisions=decision_views(doc),
        no_decision=no_decision_note(doc),
        settings=formatting.settings_facts(doc.analysis, doc.interval_level),
        analysis_changed_after_start=doc.analysis_changed_after_start,
        bayesian=bayesian,
        interval_header=formatting.interval_name(doc.interval_level, bayesian=bayesian),
        groups=grouped_cards(doc),
        scorecard=scorecard(doc) if doc.metrics else None,
        progress=progress_views(doc),
        breakdowns=breakdown_views(doc),
    )


@dataclass(frozen=True)
class AnalysisPanel:
    """The settings the page shows: those of its results, or the experiment's before any."""

    facts: list[tuple[str, str]]
    changed_at: datetime | None
    changed_after_start: bool


def analysis_panel(experiment: Experiment, results: ResultsView | None) -> AnalysisPanel:
    if results is not None:
        facts = results.settings
        changed = results.analysis_changed_after_start
    else:
        settings = parse_settings(experiment.analysis)
        facts = formatting.settings_facts(settings, 1.0 - settings.interval_alpha)
        changed = experiment.analysis_changed_at is not None
    return AnalysisPanel(facts, experiment.analysis_changed_at, changed)


@dataclass(frozen=True)
class ListSummary:
    """What the experiments list shows of a result document: exposures, decisions, SRM, and
    each guardrail a treatment failed (so a list never reads "Ship" past a harmed guardrail)."""

    exposures: str
    decisions: list[tuple[str, Badge]]
    no_decision: str
    srm_mismatch: bool
    srm_p_value: str
    guardrail_failures: list[str] = field(default_factory=list)  # "Latency (loss, treatment_b)"


def list_summary(document: dict[str, Any] | None, control: str) -> ListSummary | None:
    if document is None:
        return None
    doc = as_current(document, control)
    variants = [v.variant for v in doc.exposures.variants if v.variant != doc.control]
    return ListSummary(
        exposures=formatting.thousands(doc.exposures.total),
        decisions=[(d.variant, Badge.of_decision(d.decision)) for d in doc.decisions],
        no_decision=no_decision_note(doc),
        srm_mismatch=doc.srm.mismatch,
        srm_p_value=formatting.p_statement(doc.srm.p_value),
        guardrail_failures=[
            f"{name} ({verdict}, {variant})"
            for variant in variants
            for name, verdict in failed_guardrails(doc, variant)
        ],
    )
