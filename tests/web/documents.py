"""Result documents in the shape ``liftlab.experiments.results`` serves, built for page tests.

The numbers are inputs chosen to exercise the formatting (rates, thousands, tiny p-values, an
undefined relative lift), not expected outputs of the statistics.
"""

from __future__ import annotations

from datetime import UTC, datetime


def comparison(variant: str, *, rel: float | None, abs_: float, p: float, verdict: str) -> dict:
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


def conversion_metric(metric_id: int, name: str, role: str = "primary") -> dict:
    return {
        "metric": metric_id,
        "name": name,
        "metric_type": "conversion",
        "aggregation": "occurrence",
        "expected_direction": "increase",
        "role": role,
        "higher_is_better": True,
        "variants": [
            {"variant": "control", "n": 5000, "mean": 0.2, "variance": 0.16, "sum": 1000.0},
            {"variant": "treatment", "n": 5012, "mean": 0.25, "variance": 0.1875, "sum": 1253.0},
        ],
        "comparisons": [comparison("treatment", rel=0.25, abs_=0.05, p=0.0000123, verdict="win")],
        "verdict": "win",
    }


def numeric_metric(metric_id: int, name: str, role: str = "guardrail") -> dict:
    return {
        "metric": metric_id,
        "name": name,
        "metric_type": "numeric",
        "aggregation": "sum",
        "expected_direction": "no_change",
        "role": role,
        "higher_is_better": False,
        "variants": [
            {"variant": "control", "n": 5000, "mean": 0.0, "variance": 4.5, "sum": 0.0},
            {"variant": "treatment", "n": 5012, "mean": 1234.5678, "variance": 4.1, "sum": 1.0},
        ],
        "comparisons": [
            comparison("treatment", rel=None, abs_=1234.5678, p=0.4321, verdict="inconclusive")
        ],
        "verdict": "inconclusive",
    }


def document(
    experiment_id: int, metrics: list[dict], *, mismatch: bool = False, final: bool = False
) -> dict:
    return {
        "experiment": experiment_id,
        "status": "completed" if final else "running",
        "is_final": final,
        "computed_at": datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC).isoformat(),
        "alpha": 0.05,
        "window": {"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-23T09:30:05+00:00"},
        "exposures": {
            "total": 10024,
            "quarantined": 12,
            "unknown_variant": 0,
            "variants": [
                {"variant": "control", "n": 5000, "expected_share": 0.5},
                {"variant": "treatment", "n": 5012, "expected_share": 0.5},
            ],
            "daily": [
                {"date": "2026-11-20", "variant": "control", "identities": 3000},
                {"date": "2026-11-20", "variant": "treatment", "identities": 2900},
                {"date": "2026-11-21", "variant": "control", "identities": 2000},
                {"date": "2026-11-22", "variant": "treatment", "identities": 2112},
            ],
        },
        "srm": {"p_value": 0.0002 if mismatch else 0.91, "mismatch": mismatch},
        "metrics": metrics,
    }


def for_experiment(experiment, metrics: dict, **options) -> dict:
    """A document for the conftest experiment: Checkout (primary) and Latency (guardrail)."""
    return document(
        experiment.pk,
        [
            conversion_metric(metrics["checkout"].pk, "Checkout"),
            numeric_metric(metrics["latency"].pk, "Latency"),
        ],
        **options,
    )
