"""The result document: tests chosen by metric type, verdict rules, SRM, JSON-safe numbers."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportions_ztest

from liftlab.analysis.definition import parse_definition
from liftlab.analysis.report import build_report, comparison_verdict, metric_verdict
from liftlab.analysis.results import ExposureCounts, Moments, ResultStats
from liftlab.analysis.spec import ExperimentSpec, MetricSpec

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)


def moments_of(values) -> Moments:
    x = np.asarray(values, dtype=float)
    return Moments(len(x), float(x.sum()), float((x * x).sum()))


def meta(key: str, aggregation: str, direction: str = "increase", higher: bool = True) -> dict:
    return {
        "metric": int(key),
        "key": key,
        "name": f"metric {key}",
        "metric_type": "conversion" if aggregation == "occurrence" else "numeric",
        "aggregation": aggregation,
        "expected_direction": direction,
        "role": "primary",
        "higher_is_better": higher,
    }


def report_for(arms: dict[str, dict[str, Moments]], metas: list[dict], **options) -> dict:
    """A report over given per-metric moments; exposures are the first metric's n."""
    variants = tuple(next(iter(arms.values())))
    spec = ExperimentSpec(
        "env",
        "flag",
        "$flag_exposure",
        variants,
        START,
        END,
        tuple(
            MetricSpec(m["key"], m["aggregation"], parse_definition({"version": 1, "event": "e"}))
            for m in metas
        ),
    )
    first = next(iter(arms.values()))
    stats = ResultStats(ExposureCounts({v: first[v].n for v in variants}, 2, 1), arms)
    weights = options.pop("weights", [1 / len(variants)] * len(variants))
    return build_report(spec, stats, metas, weights=weights, control=variants[0], **options)


rng = np.random.default_rng(7)
CONTROL = rng.normal(10, 2, 400)
BETTER = rng.normal(11, 2, 400)
SAME = rng.normal(10, 2, 400)


def test_numeric_metric_uses_welch_and_matches_scipy() -> None:
    document = report_for(
        {"1": {"control": moments_of(CONTROL), "treatment": moments_of(BETTER)}},
        [meta("1", "sum")],
    )
    metric = document["metrics"][0]
    comparison = metric["comparisons"][0]
    expected = scipy_stats.ttest_ind(BETTER, CONTROL, equal_var=False)
    assert comparison["test"] == "welch_t"
    assert comparison["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert comparison["absolute_lift"] == pytest.approx(BETTER.mean() - CONTROL.mean())
    low, high = comparison["absolute_ci"]
    assert low < comparison["absolute_lift"] < high
    assert comparison["relative_lift"] == pytest.approx(BETTER.mean() / CONTROL.mean() - 1)
    assert comparison["significant"] and comparison["verdict"] == "win"
    assert metric["verdict"] == "win"
    assert metric["variants"][0] == {
        "variant": "control",
        "n": 400,
        "mean": pytest.approx(CONTROL.mean()),
        "variance": pytest.approx(CONTROL.var(ddof=1)),
        "sum": pytest.approx(CONTROL.sum()),
    }


def test_conversion_metric_uses_the_z_test_and_matches_statsmodels() -> None:
    control, treatment = Moments(1000, 100.0, 100.0), Moments(1000, 140.0, 140.0)
    document = report_for(
        {"2": {"control": control, "treatment": treatment}}, [meta("2", "occurrence")]
    )
    comparison = document["metrics"][0]["comparisons"][0]
    _, p_value = proportions_ztest([140, 100], [1000, 1000])
    assert comparison["test"] == "z"
    assert comparison["p_value"] == pytest.approx(p_value, rel=1e-9)
    assert comparison["absolute_lift"] == pytest.approx(0.04)
    assert comparison["relative_lift"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("direction", "higher", "significant", "lift", "enough", "verdict"),
    [
        ("increase", True, True, 1.0, True, "win"),
        ("increase", True, True, -1.0, True, "loss"),
        ("increase", True, False, 1.0, True, "inconclusive"),
        ("decrease", True, True, -1.0, True, "win"),
        ("decrease", False, True, 1.0, True, "loss"),
        ("decrease", True, False, -1.0, True, "inconclusive"),
        ("no_change", True, True, -1.0, True, "loss"),
        ("no_change", True, True, 1.0, True, "pass"),
        ("no_change", False, True, 1.0, True, "loss"),
        ("no_change", False, True, -1.0, True, "pass"),
        ("no_change", True, False, -1.0, True, "pass"),
        ("increase", True, True, 1.0, False, "insufficient_data"),
        ("no_change", True, True, -1.0, False, "insufficient_data"),
    ],
)
def test_comparison_verdict_table(
    direction: str, higher: bool, significant: bool, lift: float, enough: bool, verdict: str
) -> None:
    assert (
        comparison_verdict(
            significant=significant,
            lift=lift,
            expected_direction=direction,
            higher_is_better=higher,
            enough_data=enough,
        )
        == verdict
    )


@pytest.mark.parametrize(
    ("verdicts", "overall"),
    [
        (["win", "loss"], "loss"),
        (["inconclusive", "win", "insufficient_data"], "win"),
        (["inconclusive", "insufficient_data"], "insufficient_data"),
        (["inconclusive", "pass"], "inconclusive"),
        (["pass", "pass"], "pass"),
        ([], "insufficient_data"),
    ],
)
def test_metric_verdict_sums_up_comparisons(verdicts: list[str], overall: str) -> None:
    assert metric_verdict(verdicts) == overall


def test_three_variants_a_loss_outweighs_a_win_and_guardrails_follow_polarity() -> None:
    worse = rng.normal(9, 2, 400)
    arms = {
        "control": moments_of(CONTROL),
        "better": moments_of(BETTER),
        "worse": moments_of(worse),
    }
    document = report_for(
        {"1": arms, "2": arms},
        [meta("1", "count"), meta("2", "mean", direction="no_change", higher=False)],
    )
    primary, guardrail = document["metrics"]
    assert [c["verdict"] for c in primary["comparisons"]] == ["win", "loss"]
    assert primary["verdict"] == "loss"
    assert [c["verdict"] for c in guardrail["comparisons"]] == ["loss", "pass"]
    assert guardrail["verdict"] == "loss"


def test_too_few_identities_or_conversions_is_insufficient_data() -> None:
    document = report_for(
        {
            "1": {"control": moments_of(CONTROL[:40]), "treatment": moments_of(BETTER[:40] + 5)},
            "2": {"control": Moments(5000, 4.0, 4.0), "treatment": Moments(5000, 60.0, 60.0)},
        },
        [meta("1", "sum"), meta("2", "occurrence")],
    )
    for metric in document["metrics"]:
        assert metric["comparisons"][0]["significant"]
        assert metric["comparisons"][0]["verdict"] == "insufficient_data"
        assert metric["verdict"] == "insufficient_data"
    relaxed = report_for(
        {"1": {"control": moments_of(CONTROL[:40]), "treatment": moments_of(BETTER[:40] + 5)}},
        [meta("1", "sum")],
        min_identities=40,
    )
    assert relaxed["metrics"][0]["verdict"] == "win"


def test_relative_lift_is_null_with_a_reason_when_it_cannot_exist() -> None:
    document = report_for(
        {
            "1": {"control": Moments(100, 0.0, 0.0), "treatment": moments_of(SAME[:100])},
            "2": {"control": Moments(0, 0.0, 0.0), "treatment": moments_of(SAME[:100])},
        },
        [meta("1", "sum"), meta("2", "sum")],
    )
    zero, empty = (m["comparisons"][0] for m in document["metrics"])
    assert zero["relative_lift"] is None and zero["relative_ci"] is None
    assert zero["relative_lift_reason"] == "control mean is 0"
    assert zero["absolute_lift"] == pytest.approx(SAME[:100].mean())
    assert empty["relative_lift_reason"] == "control has no identities"
    assert empty["p_value"] is None and not empty["significant"]


def test_undefined_numbers_are_null_and_the_document_is_strict_json() -> None:
    document = report_for(
        {"1": {"control": Moments(1, 3.0, 9.0), "treatment": Moments(0, 0.0, 0.0)}},
        [meta("1", "mean")],
    )
    variants = document["metrics"][0]["variants"]
    assert variants[0]["mean"] == 3.0 and variants[0]["variance"] is None
    assert variants[1]["mean"] is None and variants[1]["variance"] is None
    comparison = document["metrics"][0]["comparisons"][0]
    assert comparison["p_value"] is None and comparison["absolute_lift"] is None
    json.dumps(document, allow_nan=False)


@pytest.mark.parametrize(
    ("counts", "mismatch"),
    [((5000, 5000), False), ((5000, 4900), False), ((5000, 4500), True)],
)
def test_srm_flags_a_split_that_does_not_fit_the_weights(counts, mismatch: bool) -> None:
    arms = {v: Moments(n, 0.0, 0.0) for v, n in zip(("control", "treatment"), counts, strict=True)}
    document = report_for({"1": arms}, [meta("1", "count")])
    expected = scipy_stats.chisquare(counts).pvalue
    assert document["srm"]["p_value"] == pytest.approx(expected, rel=1e-9)
    assert document["srm"]["mismatch"] is mismatch
    assert bool(expected < 0.001) is mismatch


def test_exposures_part_counts_everyone_and_states_the_expected_split() -> None:
    arms = {"control": Moments(30, 0.0, 0.0), "treatment": Moments(10, 0.0, 0.0)}
    document = report_for({"1": arms}, [meta("1", "count")], weights=[0.75, 0.25], alpha=0.1)
    assert document["alpha"] == 0.1
    assert document["window"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert document["exposures"] == {
        "total": 43,
        "quarantined": 2,
        "unknown_variant": 1,
        "variants": [
            {"variant": "control", "n": 30, "expected_share": 0.75},
            {"variant": "treatment", "n": 10, "expected_share": 0.25},
        ],
    }
    assert not math.isnan(document["srm"]["p_value"])


def test_no_exposures_gives_no_srm_p_value() -> None:
    arms = {"control": Moments(0, 0.0, 0.0), "treatment": Moments(0, 0.0, 0.0)}
    document = report_for({"1": arms}, [meta("1", "count")])
    assert document["srm"] == {"p_value": None, "mismatch": False}
    assert document["metrics"][0]["verdict"] == "insufficient_data"
