"""Result documents for page tests, made by the real engine from chosen per-variant moments.

``build`` runs ``liftlab.analysis.report.build_report`` on sufficient statistics picked to give
clear cases (a conversion win, a guardrail that holds, a guardrail harmed, a zero control mean),
so the pages are tested on documents of the current schema exactly as the engine writes them.
The numbers are inputs, not expected outputs; tests that need a figure read it from the
document. ``v1_document`` is a snapshot in the shape engine version 1 froze, which pages must
still render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from liftlab.analysis.breakdowns import Breakdown
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.report import AttachedMetric, Header, build_report
from liftlab.analysis.results import ExposureCounts, Moments, ResultStats, TimelinePoint
from liftlab.analysis.settings import parse_settings
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.timeline import cutoffs

COMPUTED_AT = datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC)
START = datetime(2026, 11, 20, tzinfo=UTC)
N = {"control": 5000, "treatment": 5012}
DAILY = [
    TimelinePoint(date(2026, 11, 20), "control", 3000),
    TimelinePoint(date(2026, 11, 20), "treatment", 2900),
    TimelinePoint(date(2026, 11, 21), "control", 2000),
    TimelinePoint(date(2026, 11, 22), "treatment", 2112),
]


def rate(n: int, conversions: int) -> Moments:
    """A conversion metric's moments: per-identity values are 0 or 1."""
    return Moments(n, float(conversions), float(conversions))


def normal(n: int, mean: float, sd: float) -> Moments:
    """Moments of ``n`` values with this mean and (population) standard deviation."""
    return Moments(n, n * mean, n * (sd * sd + mean * mean))


@dataclass(frozen=True)
class Chosen:
    """One attached metric and its moments per variant."""

    metric: int
    name: str
    aggregation: str
    moments: dict[str, Moments]
    role: str = "primary"
    direction: str = "increase"
    higher_is_better: bool = True
    margin: float | None = None

    def attached(self) -> AttachedMetric:
        return AttachedMetric(
            key=str(self.metric),
            metric=self.metric,
            name=self.name,
            metric_type="conversion" if self.aggregation == "occurrence" else "numeric",
            aggregation=self.aggregation,
            expected_direction=self.direction,
            role=self.role,
            higher_is_better=self.higher_is_better,
            non_inferiority_margin=self.margin,
        )


def checkout(metric_id: int, n: dict[str, int] = N, role: str = "primary") -> Chosen:
    """Conversion 20.0 % → 25.0 %: a clear win."""
    converted = {"control": 1000, "treatment": 1253, "treatment_b": 1010}
    return Chosen(
        metric_id,
        "Checkout",
        "occurrence",
        {v: rate(k, converted[v]) for v, k in n.items()},
        role=role,
    )


def latency(metric_id: int, n: dict[str, int] = N, role: str = "guardrail") -> Chosen:
    """Page load 1,200 ms → 1,195 ms (lower is better): within a 1 % margin; treatment_b harms."""
    means = {"control": 1200.0, "treatment": 1195.0, "treatment_b": 1300.0}
    return Chosen(
        metric_id,
        "Latency",
        "sum",
        {v: normal(k, means[v], 300.0) for v, k in n.items()},
        role=role,
        direction="no_change",
        higher_is_better=False,
    )


def refunds(metric_id: int, n: dict[str, int] = N) -> Chosen:
    """No refunds at all in control: the relative lift does not exist."""
    sums = {"control": 0.0, "treatment": 40.0, "treatment_b": 0.0}
    return Chosen(
        metric_id,
        "Refunds",
        "sum",
        {v: Moments(k, sums[v], sums[v] * 10) for v, k in n.items()},
        role="secondary",
    )


def build(
    experiment_id: int,
    chosen: Sequence[Chosen],
    *,
    n: dict[str, int] = N,
    weights: Sequence[float] | None = None,
    final: bool = False,
    analysis: dict | None = None,
    changed_after_start: bool = False,
    daily: Sequence[TimelinePoint] = DAILY,
    days: bool = False,
    segments: Sequence[str] = (),
) -> dict:
    """The JSON document the engine computes for these moments (as the results code stores it).

    ``days``: each day of the experiment has these moments too (a timeline to draw);
    ``segments``: values of a ``country`` trait breakdown, each with these moments.
    """
    variants = tuple(n)
    definition = parse_definition({"version": 1, "event": "e"})
    spec = ExperimentSpec(
        "env",
        "flag",
        "$flag_exposure",
        variants,
        START,
        COMPUTED_AT,
        tuple(MetricSpec(str(c.metric), c.aggregation, definition) for c in chosen),
        breakdowns=(Breakdown(source="trait", property="country"),) if segments else (),
    )
    stats = ResultStats(
        ExposureCounts(dict(n), quarantined=12, unknown_variant=0),
        {str(c.metric): c.moments for c in chosen},
    )
    document = build_report(
        spec,
        stats,
        [c.attached() for c in chosen],
        header=Header(
            experiment=experiment_id,
            status="completed" if final else "running",
            is_final=final,
            computed_at=COMPUTED_AT,
            analysis_changed_after_start=changed_after_start,
        ),
        weights=weights or [1 / len(variants)] * len(variants),
        control=variants[0],
        settings=parse_settings(analysis or {}),
        daily=daily,
        timeline=[(day, stats) for day, _ in cutoffs(spec)] if days else (),
        segments={"country": dict.fromkeys(segments, stats)} if segments else None,
    )
    return document.model_dump(mode="json")


def for_experiment(experiment, metrics: dict, *, mismatch: bool = False, **options) -> dict:
    """A document for the conftest experiment: Checkout (primary) and Latency (guardrail).

    ``mismatch``: 5,000 against 5,600 identities on a 50/50 split, a sample-ratio mismatch.
    """
    n = {"control": 5000, "treatment": 5600} if mismatch else N
    chosen = [checkout(metrics["checkout"].pk, n), latency(metrics["latency"].pk, n)]
    return build(experiment.pk, chosen, n=n, **options)


# Engine version 1: no schema_version, one test per comparison, lifts as flat fields.


def v1_comparison(variant: str, *, rel: float | None, abs_: float, p: float, verdict: str) -> dict:
    half = abs(abs_) / 2 + 0.001
    return {
        "variant": variant,
        "test": "z",
        "absolute_lift": abs_,
        "absolute_ci": [abs_ - half, abs_ + half],
        "relative_lift": rel,
        "relative_ci": None if rel is None else [rel - 0.05, rel + 0.05],
        "p_value": p,
        "significant": p < 0.05,
        "verdict": verdict,
    }


def v1_document(experiment_id: int, checkout_id: int, latency_id: int) -> dict:
    """A snapshot frozen by engine version 1 (before result documents had a schema version)."""
    return {
        "experiment": experiment_id,
        "status": "completed",
        "is_final": True,
        "computed_at": COMPUTED_AT.isoformat(),
        "alpha": 0.05,
        "window": {"start": START.isoformat(), "end": COMPUTED_AT.isoformat()},
        "exposures": {
            "total": 10024,
            "quarantined": 12,
            "unknown_variant": 0,
            "variants": [
                {"variant": "control", "n": 5000, "expected_share": 0.5},
                {"variant": "treatment", "n": 5012, "expected_share": 0.5},
            ],
            "daily": [],
        },
        "srm": {"p_value": 0.91, "mismatch": False},
        "metrics": [
            {
                "metric": checkout_id,
                "name": "Checkout",
                "metric_type": "conversion",
                "aggregation": "occurrence",
                "expected_direction": "increase",
                "role": "primary",
                "higher_is_better": True,
                "variants": [
                    {"variant": "control", "n": 5000, "mean": 0.2, "variance": 0.16, "sum": 1000.0},
                    {
                        "variant": "treatment",
                        "n": 5012,
                        "mean": 0.25,
                        "variance": 0.1875,
                        "sum": 1253.0,
                    },
                ],
                "comparisons": [
                    v1_comparison("treatment", rel=0.25, abs_=0.05, p=0.0000123, verdict="win")
                ],
                "verdict": "win",
            },
            {
                "metric": latency_id,
                "name": "Latency",
                "metric_type": "numeric",
                "aggregation": "sum",
                "expected_direction": "no_change",
                "role": "guardrail",
                "higher_is_better": False,
                "variants": [
                    {"variant": "control", "n": 5000, "mean": 0.0, "variance": 4.5, "sum": 0.0},
                    {
                        "variant": "treatment",
                        "n": 5012,
                        "mean": 1234.5678,
                        "variance": 4.1,
                        "sum": 1.0,
                    },
                ],
                "comparisons": [
                    v1_comparison(
                        "treatment", rel=None, abs_=1234.5678, p=0.4321, verdict="inconclusive"
                    )
                ],
                "verdict": "inconclusive",
            },
        ],
    }
