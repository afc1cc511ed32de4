"""The result document for regression-adjusted, ratio, capped and quantile metrics.

Moments are built from raw per-identity arrays here, and every figure the document shows is
checked against numpy/scipy on those arrays, never against the engine's own summaries.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from rich.console import Console
from scipy import stats as scipy_stats
from statsmodels.stats.power import NormalIndPower

from liftlab import formatting, terminal
from liftlab.analysis.contract import ResultDocument
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.documents import as_current
from liftlab.analysis.report import AttachedMetric, Header, build_report
from liftlab.analysis.results import (
    CrossMoments,
    ExposureCounts,
    Moments,
    QuantileMoments,
    ResultStats,
)
from liftlab.analysis.settings import parse_settings
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.vocabulary import Verdict

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)
VARIANTS = ("control", "treatment")
RNG = np.random.default_rng(20261202)


def _sums(x: np.ndarray) -> tuple[float, float]:
    return float(x.sum()), float((x * x).sum())


def adjusted_moments(y: np.ndarray, x: np.ndarray) -> Moments:
    """A regression-adjusted metric's moments: post y and pre-period covariate x."""
    return Moments(len(y), *_sums(y), covariate=CrossMoments(*_sums(x), float((x * y).sum())))


def ratio_moments(m: np.ndarray, d: np.ndarray, cap: float | None = None) -> Moments:
    return Moments(
        len(m), *_sums(m), denominator=CrossMoments(*_sums(d), float((m * d).sum())), cap=cap
    )


def quantile_moments(n: int, values: np.ndarray, q: float) -> Moments:
    """Identity-level quantile moments: the order statistics a query returns, by sorting."""
    ordered = np.sort(values)
    k = len(ordered)
    z = scipy_stats.norm.ppf(0.975)
    spread = z * math.sqrt(q * (1 - q) / k)
    lower, upper = max(q - spread, 1e-8), min(q + spread, 1 - 1e-8)

    def at(level: float) -> float:
        return float(ordered[min(k, max(1, math.ceil(k * level))) - 1])

    return Moments(n, 0.0, 0.0, quantile=QuantileMoments(k, at(q), at(lower), at(upper)))


def metric(key: str, aggregation: str, definition: dict, lookback: int | None = None):
    spec = MetricSpec(key, aggregation, parse_definition(definition), lookback)
    attached = AttachedMetric(
        key=key,
        metric=int(key),
        name=f"metric {key}",
        metric_type=spec.metric_type,
        aggregation=aggregation,
        expected_direction="increase",
        role="primary",
        higher_is_better=True,
    )
    return spec, attached


def report(
    specs: list[tuple[MetricSpec, AttachedMetric]],
    moments: dict[str, dict[str, Moments]],
    analysis: dict | None = None,
) -> ResultDocument:
    spec = ExperimentSpec(
        "env", "flag", "$flag_exposure", VARIANTS, START, END, tuple(s for s, _ in specs)
    )
    first = next(iter(moments.values()))
    stats = ResultStats(ExposureCounts({v: first[v].n for v in VARIANTS}, 0, 0), moments)
    return build_report(
        spec,
        stats,
        [a for _, a in specs],
        header=Header(1, "running", False, END),
        weights=[0.5, 0.5],
        control="control",
        settings=parse_settings(analysis or {}),
    )


def correlated(n: int, rho: float, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Post and pre values of n identities with correlation rho."""
    pre = RNG.normal(10.0, 3.0, n)
    noise = RNG.normal(0.0, 3.0, n)
    post = 10.0 + shift + rho * (pre - 10.0) + math.sqrt(1 - rho**2) * noise
    return post, pre


SUM = {"version": 2, "event": "purchase", "value": "amount"}


def test_cuped_estimate_se_and_narrowing_match_the_raw_data() -> None:
    (y_c, x_c), (y_t, x_t) = correlated(4000, 0.8), correlated(4000, 0.8, shift=0.3)
    doc = report(
        [metric("1", "sum", SUM, lookback=14)],
        {"1": {"control": adjusted_moments(y_c, x_c), "treatment": adjusted_moments(y_t, x_t)}},
        {"scale": "absolute"},
    )
    result = doc.metrics[0]
    (comparison,) = result.comparisons
    x, y = np.concatenate([x_c, x_t]), np.concatenate([y_c, y_t])
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    adjusted_c, adjusted_t = y_c - theta * x_c, y_t - theta * x_t
    se = math.sqrt(adjusted_c.var(ddof=1) / len(y_c) + adjusted_t.var(ddof=1) / len(y_t))
    welch = scipy_stats.ttest_ind(y_t, y_c, equal_var=False)
    unadjusted_se = (y_t.mean() - y_c.mean()) / welch.statistic

    assert result.lookback_days == 14
    assert comparison.absolute.estimate == pytest.approx(adjusted_t.mean() - adjusted_c.mean())
    assert comparison.absolute.se == pytest.approx(se, rel=1e-9)
    assert comparison.cuped is not None
    assert comparison.cuped.theta == pytest.approx(theta, rel=1e-9)
    assert comparison.cuped.absolute.estimate == pytest.approx(y_t.mean() - y_c.mean())
    assert comparison.cuped.absolute.se == pytest.approx(unadjusted_se, rel=1e-9)
    assert comparison.cuped.narrower_by == pytest.approx(1 - se / unadjusted_se, rel=1e-9)
    # ρ = 0.8: the variance falls by about ρ², the interval by about 1 − √(1 − ρ²) = 40 %.
    assert 0.3 < comparison.cuped.narrower_by < 0.5
    assert result.variants[0].mean == pytest.approx(y_c.mean())  # the variant rows: unadjusted


@pytest.mark.parametrize("engine", [{}, {"sequential": True}, {"engine": "bayesian"}])
def test_cuped_works_with_every_engine_and_reports_both_estimates(engine: dict) -> None:
    (y_c, x_c), (y_t, x_t) = correlated(3000, 0.6), correlated(3000, 0.6, shift=0.5)
    doc = report(
        [metric("1", "sum", SUM, lookback=7)],
        {"1": {"control": adjusted_moments(y_c, x_c), "treatment": adjusted_moments(y_t, x_t)}},
        engine,
    )
    (comparison,) = doc.metrics[0].comparisons
    assert comparison.cuped is not None
    assert comparison.relative is not None and comparison.cuped.relative is not None
    adjusted_width = comparison.relative.ci.high - comparison.relative.ci.low
    unadjusted_width = comparison.cuped.relative.ci.high - comparison.cuped.relative.ci.low
    assert adjusted_width < unadjusted_width
    assert comparison.verdict is Verdict.WIN


def test_unadjusted_metrics_have_no_cuped_block() -> None:
    y_c, y_t = RNG.normal(10, 2, 500), RNG.normal(10, 2, 500)
    doc = report(
        [metric("1", "sum", SUM)],
        {"1": {"control": Moments(500, *_sums(y_c)), "treatment": Moments(500, *_sums(y_t))}},
    )
    assert doc.metrics[0].lookback_days is None
    assert doc.metrics[0].comparisons[0].cuped is None


RATIO = {
    "version": 2,
    "numerator": {"event": "purchase", "value": "amount", "aggregation": "sum"},
    "denominator": {"event": "purchase", "aggregation": "count"},
    "cap": {"type": "percentile", "value": 0.99},
}


def _orders(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    orders = RNG.poisson(rate, n).astype(float)
    revenue = orders * RNG.gamma(2.0, 20.0, n)
    return revenue, orders


def test_ratio_metric_means_variance_and_delta_method_match_the_raw_data() -> None:
    (m_c, d_c), (m_t, d_t) = _orders(3000, 1.0), _orders(3000, 1.2)
    doc = report(
        [metric("1", "ratio", RATIO)],
        {
            "1": {
                "control": ratio_moments(m_c, d_c, 350.0),
                "treatment": ratio_moments(m_t, d_t, 350.0),
            }
        },
        {"scale": "absolute"},
    )
    result = doc.metrics[0]
    control, treatment = result.variants
    assert control.mean == pytest.approx(m_c.sum() / d_c.sum())
    assert control.denominator_sum == d_c.sum()
    assert result.cap is not None and result.cap.applied == 350.0 and result.cap.value == 0.99

    def var_of_ratio(m: np.ndarray, d: np.ndarray) -> float:
        """Delta method, per identity: Var(m/d) of the means, times n."""
        mean_m, mean_d = m.mean(), d.mean()
        cov = np.cov(m, d)
        return (
            cov[0, 0] / mean_d**2
            - 2 * mean_m * cov[0, 1] / mean_d**3
            + mean_m**2 * cov[1, 1] / mean_d**4
        )

    se = math.sqrt(var_of_ratio(m_c, d_c) / len(m_c) + var_of_ratio(m_t, d_t) / len(m_t))
    (comparison,) = result.comparisons
    assert control.variance == pytest.approx(var_of_ratio(m_c, d_c), rel=1e-9)
    assert comparison.absolute.estimate == pytest.approx(treatment.mean - control.mean)
    assert comparison.absolute.se == pytest.approx(se, rel=1e-9)
    assert "per count of `purchase`" in result.description
    assert "capped at the 99th percentile" in result.description


def test_a_ratio_with_no_denominator_in_an_arm_has_no_verdict() -> None:
    m, d = _orders(500, 1.0)
    empty = ratio_moments(np.zeros(500), np.zeros(500))
    doc = report(
        [metric("1", "ratio", RATIO)], {"1": {"control": ratio_moments(m, d), "treatment": empty}}
    )
    comparison = doc.metrics[0].comparisons[0]
    assert comparison.verdict is Verdict.INSUFFICIENT_DATA
    assert comparison.reason == "the denominator is 0 in an arm"


QUANTILE = {
    "version": 2,
    "event": "request",
    "value": "latency_ms",
    "quantile": {"q": 0.9, "level": "identity"},
}


def test_quantile_metric_shows_the_sample_quantile_and_compares_them() -> None:
    values_c, values_t = RNG.lognormal(5.0, 0.5, 5000), RNG.lognormal(5.1, 0.5, 5000)
    doc = report(
        [metric("1", "quantile", QUANTILE)],
        {
            "1": {
                "control": quantile_moments(6000, values_c, 0.9),
                "treatment": quantile_moments(6000, values_t, 0.9),
            }
        },
        {"scale": "absolute"},
    )
    result = doc.metrics[0]
    control, treatment = result.variants
    ordered = np.sort(values_c)
    assert control.mean == ordered[math.ceil(5000 * 0.9) - 1]
    assert control.values == 5000 and control.n == 6000
    assert result.quantile is not None and result.quantile.q == 0.9
    assert result.description == "p90 per identity of the total `latency_ms` of `request`"
    assert result.comparisons[0].absolute.estimate == pytest.approx(treatment.mean - control.mean)
    assert result.comparisons[0].cuped is None


def test_a_quantile_over_too_few_values_has_no_verdict() -> None:
    few = RNG.lognormal(5.0, 0.5, 80)
    doc = report(
        [metric("1", "quantile", QUANTILE)],
        {
            "1": {
                "control": quantile_moments(500, few, 0.9),
                "treatment": quantile_moments(500, few, 0.9),
            }
        },
    )
    comparison = doc.metrics[0].comparisons[0]
    assert comparison.verdict is Verdict.INSUFFICIENT_DATA
    assert comparison.reason == "fewer than 100 values in an arm"


def test_the_terminal_and_the_notes_say_what_was_done_to_the_numbers() -> None:
    (y_c, x_c), (y_t, x_t) = correlated(2000, 0.7), correlated(2000, 0.7, shift=0.2)
    (m_c, d_c), (m_t, d_t) = _orders(2000, 1.0), _orders(2000, 1.1)
    doc = report(
        [metric("1", "sum", SUM, lookback=14), metric("2", "ratio", RATIO)],
        {
            "1": {"control": adjusted_moments(y_c, x_c), "treatment": adjusted_moments(y_t, x_t)},
            "2": {
                "control": ratio_moments(m_c, d_c, 412.0),
                "treatment": ratio_moments(m_t, d_t, 412.0),
            },
        },
    )
    adjusted, ratio = doc.metrics
    narrower = adjusted.comparisons[0].cuped.narrower_by
    expected = f"CUPED (14 days before exposure): interval {formatting.percent(narrower)} narrower"
    assert formatting.metric_notes(adjusted)[0] == expected
    assert formatting.metric_notes(ratio)[0] == "percentile cap applied: 412 per identity"
    assert formatting.metric_notes(ratio)[1].startswith("detectable today: ±")
    console = Console(record=True, width=240)
    terminal.render(doc, console, control="control", title="kinds")
    printed = console.export_text()
    assert expected in printed
    assert (
        "sum of `amount` of `purchase` per count of `purchase`, capped at the 99th percentile"
        in printed
    )


def two_arms_of_400(analysis: dict) -> tuple[ResultDocument, np.ndarray, np.ndarray]:
    """A running experiment's document of one primary sum metric over two arms of 400."""
    small_c, small_t = RNG.normal(10, 4, 400), RNG.normal(10, 4, 400)
    arms = {"control": Moments(400, *_sums(small_c)), "treatment": Moments(400, *_sums(small_t))}
    return report([metric("1", "sum", SUM)], {"1": arms}, analysis), small_c, small_t


def _sd(*arms: np.ndarray) -> float:
    """The arms' average variance, as a spread (statsmodels' effect size is in its units)."""
    return math.sqrt(sum(a.var(ddof=1) for a in arms) / len(arms))


def _mde_at_400(sd: float) -> float:
    """statsmodels' two-sided normal MDE of two arms of 400 identities of spread ``sd``."""
    return NormalIndPower().solve_power(nobs1=400, alpha=0.05, power=0.8, ratio=1.0) * sd


def test_a_running_primary_metric_says_what_it_can_detect_and_when() -> None:
    doc, small_c, small_t = two_arms_of_400({"scale": "absolute"})
    power = doc.metrics[0].power
    assert power is not None and power.power == 0.8
    (treatment,) = power.treatments
    assert treatment.mde == pytest.approx(_mde_at_400(_sd(small_c, small_t)), rel=1e-6)
    assert power.target_mde == pytest.approx(0.05 * abs(small_c.mean()))
    assert power.daily_traffic == pytest.approx(800 / 14)
    # An MDE shrinks as 1/√n: the target needs (mde/target)² × today's 14 days of traffic.
    days = 14 * (treatment.mde / power.target_mde) ** 2 - 14
    assert treatment.days_remaining is not None
    assert abs(treatment.days_remaining - days) <= 1
    assert power.days_to_decision == treatment.days_remaining


def test_a_regression_adjusted_metric_is_planned_with_its_adjusted_variance() -> None:
    (y_c, x_c), (y_t, x_t) = correlated(400, 0.7), correlated(400, 0.7)
    doc = report(
        [metric("1", "sum", SUM, lookback=14)],
        {"1": {"control": adjusted_moments(y_c, x_c), "treatment": adjusted_moments(y_t, x_t)}},
        {"scale": "absolute"},
    )
    x, y = np.concatenate([x_c, x_t]), np.concatenate([y_c, y_t])
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    power = doc.metrics[0].power
    assert power is not None
    (treatment,) = power.treatments
    assert treatment.mde == pytest.approx(_mde_at_400(_sd(y_c - theta * x_c, y_t - theta * x_t)))
    assert treatment.mde < 0.8 * _mde_at_400(_sd(y_c, y_t))  # ρ = 0.7: about √(1 − ρ²) = 0.71


def test_a_bayesian_metric_is_planned_as_the_test_its_threshold_amounts_to() -> None:
    """A chance to win past 0.9 under a flat prior is a two-sided test at 0.2."""
    bayesian = {"scale": "absolute", "engine": "bayesian", "chance_to_win_threshold": 0.9}
    doc, small_c, small_t = two_arms_of_400(bayesian)
    power = doc.metrics[0].power
    assert power is not None
    # statsmodels' power at the MDE stated (its solve_power is only good to 10⁻⁵ here).
    d = power.treatments[0].mde / _sd(small_c, small_t)
    assert NormalIndPower().power(d, nobs1=400, alpha=0.2, ratio=1.0) == pytest.approx(
        0.8, abs=1e-9
    )


def test_an_arm_without_spread_has_no_narrowing_rather_than_an_error() -> None:
    flat, pre = np.full(100, 3.0), RNG.normal(5, 1, 100)
    doc = report(
        [metric("1", "sum", SUM, lookback=14)],
        {"1": {"control": adjusted_moments(flat, pre), "treatment": adjusted_moments(flat, pre)}},
    )
    (comparison,) = doc.metrics[0].comparisons
    assert comparison.cuped is not None and comparison.cuped.narrower_by is None


ADDED_IN_ENGINE_2_1 = {
    "document": ("timeline", "timeline_always_valid", "breakdowns"),
    "metric": ("description", "lookback_days", "cap", "quantile", "power"),
    "variant": ("denominator_sum", "values"),
    "comparison": ("cuped",),
}


def test_a_snapshot_frozen_by_engine_2_0_still_reads_as_version_2() -> None:
    (y_c, x_c), (y_t, x_t) = correlated(500, 0.5), correlated(500, 0.5)
    doc = report(
        [metric("1", "sum", SUM, lookback=14)],
        {"1": {"control": adjusted_moments(y_c, x_c), "treatment": adjusted_moments(y_t, x_t)}},
    ).model_dump(mode="json")
    for key in ADDED_IN_ENGINE_2_1["document"]:
        del doc[key]
    for m in doc["metrics"]:
        for key in ADDED_IN_ENGINE_2_1["metric"]:
            del m[key]
        for v in m["variants"]:
            for key in ADDED_IN_ENGINE_2_1["variant"]:
                del v[key]
        for x in m["comparisons"]:
            for key in ADDED_IN_ENGINE_2_1["comparison"]:
                del x[key]
    read = as_current(doc, "control")
    assert read.schema_version == 2 and read.timeline == [] and read.breakdowns == []
    assert read.metrics[0].comparisons[0].cuped is None
    assert read.metrics[0].description is None and read.metrics[0].power is None
