"""The result document, arranged for the experiment page: formatted rows, cards and figures.

Everything a template shows is decided here (which unit a number is in, which colour a verdict
gets, which card goes in which group), so the templates only lay it out and these rules are
tested without rendering HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from liftlab.analysis.definition import describe, parse_definition
from liftlab.experiments.models import Metric, MetricRole, MetricType
from liftlab.web import charts, formatting

# A verdict's tone is its colour: a win is good news, a guardrail that held is quiet good news,
# a loss is bad news, "inconclusive" is no news and "insufficient_data" not even that.
VERDICT_TONES = {"win": "good", "pass": "pass", "loss": "bad", "insufficient_data": "muted"}
ROLE_TITLES = {
    MetricRole.PRIMARY: "Primary metrics",
    MetricRole.SECONDARY: "Secondary metrics",
    MetricRole.GUARDRAIL: "Guardrail metrics",
}


def tone(verdict: str | None) -> str:
    return VERDICT_TONES.get(verdict or "", "neutral")


@dataclass(frozen=True)
class Badge:
    """A verdict as the page shows it: its words and its colour."""

    text: str
    tone: str

    @classmethod
    def of(cls, verdict: str | None) -> Badge:
        return cls(formatting.label(verdict), tone(verdict))


@dataclass(frozen=True)
class VariantRow:
    variant: str
    is_control: bool
    n: str
    value: str
    absolute_lift: str = formatting.MISSING
    absolute_ci: str = ""
    relative_lift: str = formatting.MISSING
    relative_ci: str = ""
    p_value: str = formatting.MISSING
    verdict: Badge | None = None


@dataclass(frozen=True)
class MetricCard:
    metric: int
    name: str
    sentence: str
    role: str
    is_conversion: bool
    aggregation: str
    expected_direction: str
    higher_is_better: bool
    verdict: Badge
    rows: list[VariantRow]
    figure: dict | None
    chart_id: str


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
    total: str
    quarantined: int
    unknown_variant: int
    exposure_rows: list[ExposureRow]
    exposure_figure: dict | None
    srm_p_value: str
    srm_mismatch: bool
    groups: list[tuple[str, list[MetricCard]]] = field(default_factory=list)


def definition_sentences(metric_ids: list[int]) -> dict[int, str]:
    """Readable sentences for the metrics a document mentions (one query for all of them)."""
    return {m.pk: sentence(m) for m in Metric.objects.filter(pk__in=metric_ids)}


def sentence(metric: Metric) -> str:
    return describe(parse_definition(metric.definition), metric.aggregation)


def _value_format(is_conversion: bool):
    """Rates are percentages and their differences percentage points; other means are numbers."""
    if is_conversion:
        return formatting.percent, formatting.points
    return formatting.number, lambda v: formatting.number(v, signed=True)


def _signed_percent(value: float | None) -> str:
    return formatting.percent(value, signed=True)


def variant_rows(result: dict, control: str) -> list[VariantRow]:
    """One row per variant: its mean or rate, and for treatments the comparison with control."""
    is_conversion = result["metric_type"] == MetricType.CONVERSION
    value_fmt, lift_fmt = _value_format(is_conversion)
    comparisons = {c["variant"]: c for c in result["comparisons"]}
    rows = []
    for v in result["variants"]:
        base = {
            "variant": v["variant"],
            "is_control": v["variant"] == control,
            "n": formatting.thousands(v["n"]),
            "value": value_fmt(v["mean"]),
        }
        c = comparisons.get(v["variant"])
        if c is None:
            rows.append(VariantRow(**base))
            continue
        rows.append(
            VariantRow(
                **base,
                absolute_lift=lift_fmt(c["absolute_lift"]),
                absolute_ci=formatting.interval(c["absolute_ci"], lift_fmt),
                relative_lift=_signed_percent(c["relative_lift"]),
                relative_ci=formatting.interval(c["relative_ci"], _signed_percent),
                p_value=formatting.p_value(c["p_value"]),
                verdict=Badge.of(c["verdict"]),
            )
        )
    return rows


def forest_points(result: dict) -> list[dict]:
    """Each treatment's relative lift and interval; a missing lift (zero control mean) is kept
    as ``None`` so the chart can leave it out while the table still lists the variant."""
    points = []
    for c in result["comparisons"]:
        interval = c["relative_ci"] or [None, None]
        points.append(
            {
                "variant": c["variant"],
                "lift": c["relative_lift"] if c["relative_ci"] else None,
                "low": interval[0],
                "high": interval[1],
                "tone": tone(c["verdict"]),
                "verdict": formatting.label(c["verdict"]),
            }
        )
    return points


def metric_card(result: dict, control: str, sentences: dict[int, str]) -> MetricCard:
    return MetricCard(
        metric=result["metric"],
        name=result["name"],
        sentence=sentences.get(result["metric"], ""),
        role=result["role"],
        is_conversion=result["metric_type"] == MetricType.CONVERSION,
        aggregation=result["aggregation"],
        expected_direction=formatting.label(result["expected_direction"]),
        higher_is_better=result["higher_is_better"],
        verdict=Badge.of(result["verdict"]),
        rows=variant_rows(result, control),
        figure=charts.forest_figure(forest_points(result), result["higher_is_better"]),
        chart_id=f"forest-{result['metric']}",
    )


def grouped_cards(document: dict, control: str) -> list[tuple[str, list[MetricCard]]]:
    """Cards under "Primary", "Secondary", "Guardrail" (in that order, empty groups left out)."""
    sentences = definition_sentences([m["metric"] for m in document["metrics"]])
    cards = [metric_card(m, control, sentences) for m in document["metrics"]]
    return [
        (title, [c for c in cards if c.role == role])
        for role, title in ROLE_TITLES.items()
        if any(c.role == role for c in cards)
    ]


def exposure_rows(exposures: dict) -> list[ExposureRow]:
    assigned = sum(v["n"] for v in exposures["variants"])
    return [
        ExposureRow(
            variant=v["variant"],
            n=formatting.thousands(v["n"]),
            share=formatting.percent(v["n"] / assigned) if assigned else formatting.MISSING,
            expected_share=formatting.percent(v["expected_share"]),
        )
        for v in exposures["variants"]
    ]


def results_view(document: dict, control: str) -> ResultsView:
    exposures = document["exposures"]
    variants = [v["variant"] for v in exposures["variants"]]
    computed_at = document.get("computed_at")
    return ResultsView(
        is_final=document["is_final"],
        computed_at=datetime.fromisoformat(computed_at) if computed_at else None,
        total=formatting.thousands(exposures["total"]),
        quarantined=exposures["quarantined"],
        unknown_variant=exposures["unknown_variant"],
        exposure_rows=exposure_rows(exposures),
        exposure_figure=charts.exposure_figure(exposures.get("daily", []), variants),
        srm_p_value=formatting.p_statement(document["srm"]["p_value"]),
        srm_mismatch=document["srm"]["mismatch"],
        groups=grouped_cards(document, control),
    )


@dataclass(frozen=True)
class ListSummary:
    """What the experiments list shows of a result document."""

    exposures: str
    primary: list[tuple[str, Badge]]


def list_summary(document: dict | None) -> ListSummary | None:
    if document is None:
        return None
    primary = [
        (m["name"], Badge.of(m["verdict"]))
        for m in document["metrics"]
        if m["role"] == MetricRole.PRIMARY
    ]
    return ListSummary(formatting.thousands(document["exposures"]["total"]), primary)
