"""The result document: one test per comparison on the judged scale, corrections, verdicts.

Every figure is checked against an independent computation from raw per-identity values
(numpy, scipy, statsmodels), never against numbers the engine produced before.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from liftlab.analysis.contract import ResultDocument
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.report import AttachedMetric, Header, Thresholds, build_report
from liftlab.analysis.results import ExposureCounts, Moments, ResultStats
from liftlab.analysis.settings import parse_settings
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.vocabulary import Decision, Verdict

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)


def moments_of(values) -> Moments:
    x = np.asarray(values, dtype=float)
    return Moments(len(x), float(x.sum()), float((x * x).sum()))


def attached(
    key: str,
    aggregation: str,
    direction: str = "increase",
    higher: bool = True,
    role: str = "primary",
    margin: float | None = None,
) -> AttachedMetric:
    return AttachedMetric(
        key=key,
        metric=int(key),
        name=f"metric {key}",
        metric_type="conversion" if aggregation == "occurrence" else "numeric",
        aggregation=aggregation,
        expected_direction=direction,
        role=role,
        higher_is_better=higher,
        non_inferiority_margin=margin,
    )


def report_for(
    arms: dict[str, dict[str, Moments]],
    metrics: list[AttachedMetric],
    *,
    analysis: dict | None = None,
    weights: list[float] | None = None,
    thresholds: Thresholds | None = None,
    is_final: bool = False,
) -> ResultDocument:
    """A report over given per-metric moments; exposures are the first metric's n."""
    variants = tuple(next(iter(arms.values())))
    definition = parse_definition({"version": 1, "event": "e"})
    spec = ExperimentSpec(
        "env",
        "flag",
        "$flag_exposure",
        variants,
        START,
        END,
        tuple(MetricSpec(m.key, m.aggregation, definition) for m in metrics),
    )
    first = next(iter(arms.values()))
    stats = ResultStats(ExposureCounts({v: first[v].n for v in variants}, 2, 1), arms)
    return build_report(
        spec,
        stats,
        metrics,
        header=Header(1, "completed" if is_final else "running", is_final, END),
        weights=weights or [1 / len(variants)] * len(variants),
        control=variants[0],
        settings=parse_settings(analysis or {}),
        thresholds=thresholds or Thresholds(),
    )


def welch_reference(control: np.ndarray, treatment: np.ndarray, ddof: int = 1) -> dict:
    """Welch's test of both lifts from raw values: the delta method for the relative one."""
    var_c = control.var(ddof=ddof) / control.size
    var_t = treatment.var(ddof=ddof) / treatment.size
    df = (var_c + var_t) ** 2 / (var_c**2 / (control.size - 1) + var_t**2 / (treatment.size - 1))
    m_c, m_t = control.mean(), treatment.mean()
    relative = (m_t - m_c) / abs(m_c)
    relative_se = np.sqrt(var_t + (m_t / m_c) ** 2 * var_c) / abs(m_c)
    return {
        "df": df,
        "absolute": m_t - m_c,
        "absolute_se": np.sqrt(var_c + var_t),
        "relative": relative,
        "relative_se": relative_se,
        "relative_p": 2 * scipy_stats.t.sf(abs(relative / relative_se), df),
        "absolute_p": 2 * scipy_stats.t.sf(abs((m_t - m_c) / np.sqrt(var_c + var_t)), df),
    }


rng = np.random.default_rng(7)
CONTROL = rng.normal(10, 2, 400)
BETTER = rng.normal(11, 2, 400)
SAME = rng.normal(10, 2, 400)


def test_the_relative_test_uses_the_delta_method_and_welch_df() -> None:
    document = report_for(
        {"1": {"control": moments_of(CONTROL), "treatment": moments_of(BETTER)}},
        [attached("1", "sum")],
    )
    comparison = document.metrics[0].comparisons[0]
    expected = welch_reference(CONTROL, BETTER)
    quantile = scipy_stats.t.ppf(0.975, expected["df"])
    assert (comparison.method, comparison.scale) == ("fixed_horizon", "relative")
    assert comparison.relative.estimate == pytest.approx(expected["relative"], rel=1e-12)
    assert comparison.relative.se == pytest.approx(expected["relative_se"], rel=1e-12)
    assert comparison.p_value == pytest.approx(expected["relative_p"], rel=1e-9)
    half = quantile * expected["relative_se"]
    low, high = expected["relative"] - half, expected["relative"] + half
    assert comparison.relative.ci.low == pytest.approx(low, rel=1e-9)
    assert comparison.relative.ci.high == pytest.approx(high, rel=1e-9)
    # One comparison in its family: the correction changes nothing.
    assert comparison.p_value_adjusted == pytest.approx(comparison.p_value, rel=1e-15)
    assert comparison.verdict is Verdict.WIN


def test_the_absolute_scale_is_scipys_welch_test() -> None:
    document = report_for(
        {"1": {"control": moments_of(CONTROL), "treatment": moments_of(BETTER)}},
        [attached("1", "sum")],
        analysis={"scale": "absolute"},
    )
    comparison = document.metrics[0].comparisons[0]
    reference = scipy_stats.ttest_ind(BETTER, CONTROL, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert comparison.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert comparison.absolute.ci.low == pytest.approx(interval.low, rel=1e-9)
    assert comparison.absolute.ci.high == pytest.approx(interval.high, rel=1e-9)
    assert comparison.relative is not None  # both lifts are reported


def test_conversions_use_the_binomial_variance() -> None:
    control = (rng.random(3000) < 0.10).astype(float)
    treatment = (rng.random(3000) < 0.13).astype(float)
    document = report_for(
        {"1": {"control": moments_of(control), "treatment": moments_of(treatment)}},
        [attached("1", "occurrence")],
        analysis={"scale": "absolute"},
    )
    comparison = document.metrics[0].comparisons[0]
    std = [np.sqrt(x.mean() * (1 - x.mean())) for x in (treatment, control)]
    reference = scipy_stats.ttest_ind_from_stats(
        treatment.mean(), std[0], treatment.size, control.mean(), std[1], control.size, False
    )
    assert comparison.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    variants = document.metrics[0].variants
    assert variants[0].variance == pytest.approx(control.var(ddof=0), rel=1e-12)


def test_the_p_value_and_the_interval_never_disagree() -> None:
    """The case where the old engine said p = 0.020 and `win` over a relative interval
    spanning 0; gbstats' relative test gives p = 0.0619, CI (−0.03526, 1.44989)."""
    arms = {
        "control": Moments(3407, 1396.87, 52377.9767),
        "treatment": Moments(3461, 2422.7, 134698.29),
    }
    comparison = report_for({"1": arms}, [attached("1", "sum")]).metrics[0].comparisons[0]
    assert comparison.p_value == pytest.approx(0.0619, abs=5e-5)
    assert comparison.relative.ci.low == pytest.approx(-0.03526, abs=5e-6)
    assert comparison.relative.ci.high == pytest.approx(1.44989, abs=5e-6)
    assert comparison.verdict is Verdict.INCONCLUSIVE


def three_arms(metric_count: int, seed: int) -> dict[str, dict[str, Moments]]:
    generator = np.random.default_rng(seed)
    return {
        str(k + 1): {
            v: moments_of(generator.normal(10 + 0.15 * k * i, 2, 500))
            for i, v in enumerate(("control", "a", "b"))
        }
        for k in range(metric_count)
    }


@pytest.mark.parametrize(
    ("correction", "statsmodels_method"), [("benjamini_hochberg", "fdr_bh"), ("holm", "holm")]
)
def test_corrections_cover_metrics_and_treatments_with_guardrails_apart(
    correction: str, statsmodels_method: str
) -> None:
    arms = three_arms(5, seed=3)
    metrics = [attached(str(k), "sum") for k in (1, 2, 3)] + [
        attached(str(k), "sum", direction="no_change", role="guardrail") for k in (4, 5)
    ]
    document = report_for(arms, metrics, analysis={"correction": correction})
    for family in (document.metrics[:3], document.metrics[3:]):
        comparisons = [x for m in family for x in m.comparisons]
        raw = [x.p_value for x in comparisons]
        expected = multipletests(raw, method=statsmodels_method)[1]
        assert [x.p_value_adjusted for x in comparisons] == pytest.approx(expected, rel=1e-12)
        for x in comparisons:
            excludes_zero = x.ci_adjusted.low > 0 or x.ci_adjusted.high < 0
            assert excludes_zero == (x.p_value_adjusted < 0.05)


def test_no_correction_leaves_p_values_alone() -> None:
    document = report_for(
        three_arms(3, seed=4), [attached(k, "sum") for k in "123"], analysis={"correction": "none"}
    )
    for x in (x for m in document.metrics for x in m.comparisons):
        assert x.p_value_adjusted == x.p_value
        assert x.ci_adjusted == x.relative.ci


def test_bayesian_posterior_chance_to_win_and_risk_with_a_prior() -> None:
    document = report_for(
        {"1": {"control": moments_of(CONTROL), "treatment": moments_of(SAME + 0.3)}},
        [attached("1", "sum")],
        analysis={"engine": "bayesian", "prior": {"mean": 0.0, "sd": 0.02}},
    )
    comparison = document.metrics[0].comparisons[0]
    expected = welch_reference(CONTROL, SAME + 0.3)
    data_precision = 1 / expected["relative_se"] ** 2
    precision = data_precision + 1 / 0.02**2
    mean = expected["relative"] * data_precision / precision
    sd = np.sqrt(1 / precision)
    posterior = scipy_stats.norm(mean, sd)
    assert comparison.relative.estimate == pytest.approx(mean, rel=1e-12)
    assert comparison.chance_to_win == pytest.approx(posterior.sf(0), rel=1e-12)
    gain = integrate.quad(lambda x: x * posterior.pdf(x), 0, np.inf)[0]
    loss = integrate.quad(lambda x: -x * posterior.pdf(x), -np.inf, 0)[0]
    assert comparison.risk.control == pytest.approx(gain, rel=1e-7)
    assert comparison.risk.treatment == pytest.approx(loss, rel=1e-7)
    # The credible interval shown matches the threshold: 2·0.95 − 1 = 90 %.
    assert document.interval_level == pytest.approx(0.90)
    assert comparison.relative.ci.low == pytest.approx(posterior.ppf(0.05), rel=1e-9)
    assert comparison.p_value is None and comparison.p_value_adjusted is None


def test_bayesian_verdicts_follow_the_chance_to_win_threshold() -> None:
    arms = {
        "control": moments_of(CONTROL),
        "better": moments_of(BETTER),
        "worse": moments_of(CONTROL - 1),
        "same": moments_of(SAME),
    }
    document = report_for({"1": arms}, [attached("1", "sum")], analysis={"engine": "bayesian"})
    verdicts = [x.verdict for x in document.metrics[0].comparisons]
    assert verdicts == [Verdict.WIN, Verdict.LOSS, Verdict.INCONCLUSIVE]
    decreasing = report_for(
        {"1": arms}, [attached("1", "sum", direction="decrease")], analysis={"engine": "bayesian"}
    )
    comparisons = decreasing.metrics[0].comparisons
    assert [x.verdict for x in comparisons] == [Verdict.LOSS, Verdict.WIN, Verdict.INCONCLUSIVE]
    assert comparisons[1].chance_to_win > 0.95  # "win" is in the expected direction


def test_sequential_intervals_are_wider_and_always_labelled() -> None:
    arms = {"1": {"control": moments_of(CONTROL), "treatment": moments_of(BETTER)}}
    fixed = report_for(arms, [attached("1", "sum")]).metrics[0].comparisons[0]
    sequential = report_for(arms, [attached("1", "sum")], analysis={"sequential": True})
    always_valid = sequential.metrics[0].comparisons[0]
    assert always_valid.method == "sequential"
    assert always_valid.relative.ci.low < fixed.relative.ci.low
    assert always_valid.relative.ci.high > fixed.relative.ci.high
    assert always_valid.p_value > fixed.p_value


def guardrail_arms(n: int, harm: float, seed: int) -> dict[str, Moments]:
    generator = np.random.default_rng(seed)
    return {
        "control": moments_of(generator.normal(100, 5, n)),
        "treatment": moments_of(generator.normal(100 * (1 + harm), 5, n)),
    }


@pytest.mark.parametrize(
    ("n", "harm", "verdict"),
    [
        (20_000, 0.0, Verdict.PASS),  # safe, and shown to be: the bound is inside 1 %
        (60, 0.0, Verdict.AT_RISK),  # no harm seen, but the margin is not ruled out
        (5_000, 0.05, Verdict.LOSS),  # significant harm
    ],
)
def test_guardrails_are_non_inferiority_tests(n: int, harm: float, verdict: Verdict) -> None:
    metric = attached("1", "mean", direction="no_change", higher=False, role="guardrail")
    comparison = report_for({"1": guardrail_arms(n, harm, seed=5)}, [metric]).metrics[0]
    x = comparison.comparisons[0]
    assert x.verdict is verdict
    assert x.non_inferiority.margin == 0.01
    # Lower is better here: harm is an increase, so the margin is +1 %.
    assert x.non_inferiority.threshold == 0.01
    assert x.non_inferiority.passed is (verdict is Verdict.PASS)


def test_the_non_inferiority_bound_is_the_one_sided_interval() -> None:
    generator = np.random.default_rng(8)
    control, treatment = generator.normal(100, 5, 3000), generator.normal(100, 5, 3000)
    metric = attached(
        "1", "mean", direction="no_change", higher=True, role="guardrail", margin=0.02
    )
    arms = {"1": {"control": moments_of(control), "treatment": moments_of(treatment)}}
    x = report_for(arms, [metric]).metrics[0].comparisons[0]
    expected = welch_reference(control, treatment)
    one_sided = (
        expected["relative"] - scipy_stats.t.ppf(0.95, expected["df"]) * expected["relative_se"]
    )
    assert x.non_inferiority.bound == pytest.approx(one_sided, rel=1e-9)
    assert x.non_inferiority.threshold == -0.02
    absolute = report_for(arms, [metric], analysis={"scale": "absolute"}).metrics[0]
    assert absolute.comparisons[0].non_inferiority.threshold == pytest.approx(
        -0.02 * control.mean(), rel=1e-12
    )


def test_three_variants_a_loss_outweighs_a_win_and_the_verdict_names_its_arm() -> None:
    worse = rng.normal(9, 2, 400)
    arms = {
        "control": moments_of(CONTROL),
        "better": moments_of(BETTER),
        "worse": moments_of(worse),
    }
    document = report_for(
        {"1": arms, "2": arms},
        [
            attached("1", "count"),
            attached("2", "mean", direction="no_change", higher=False, role="guardrail"),
        ],
    )
    primary, guardrail = document.metrics
    assert [x.verdict for x in primary.comparisons] == [Verdict.WIN, Verdict.LOSS]
    assert (primary.verdict, primary.verdict_variant) == (Verdict.LOSS, "worse")
    assert guardrail.comparisons[0].verdict is Verdict.LOSS
    assert guardrail.verdict_variant == "better"
    decisions = {d.variant: d for d in document.decisions}
    assert decisions["better"].decision is Decision.DO_NOT_SHIP
    assert "guardrail 'metric 2' got worse" in decisions["better"].reasons[0]
    assert decisions["worse"].decision is Decision.DO_NOT_SHIP


def test_a_primary_win_with_safe_guardrails_ships() -> None:
    generator = np.random.default_rng(9)
    control, treatment = generator.normal(100, 5, 20_000), generator.normal(101, 5, 20_000)
    arms = {"control": moments_of(control), "treatment": moments_of(treatment)}
    guardrail = attached("2", "mean", direction="no_change", higher=True, role="guardrail")
    document = report_for({"1": arms, "2": arms}, [attached("1", "sum"), guardrail])
    (decision,) = document.decisions
    assert decision.decision is Decision.SHIP
    assert decision.reasons[0].startswith("primary metric 'metric 1' won: +1.")


def test_nothing_decisive_keeps_running_until_the_experiment_is_final() -> None:
    arms = {"1": {"control": moments_of(CONTROL), "treatment": moments_of(SAME)}}
    running = report_for(arms, [attached("1", "sum")])
    assert running.decisions[0].decision is Decision.KEEP_RUNNING
    assert "shows no clear effect yet" in running.decisions[0].reasons[0]
    final = report_for(arms, [attached("1", "sum")], is_final=True)
    assert final.decisions[0].decision is Decision.NO_DECISION


def test_a_sample_ratio_mismatch_overrides_every_verdict() -> None:
    arms = {"control": moments_of(CONTROL), "treatment": moments_of(np.tile(BETTER, 2))}
    document = report_for({"1": arms}, [attached("1", "sum")])
    assert document.srm.mismatch
    assert document.metrics[0].comparisons[0].verdict is Verdict.WIN
    assert document.decisions[0].decision is Decision.INVESTIGATE_ASSIGNMENT


def test_too_few_identities_or_conversions_is_insufficient_data() -> None:
    document = report_for(
        {
            "1": {"control": moments_of(CONTROL[:40]), "treatment": moments_of(BETTER[:40] + 5)},
            "2": {"control": Moments(5000, 4.0, 4.0), "treatment": Moments(5000, 60.0, 60.0)},
        },
        [attached("1", "sum"), attached("2", "occurrence")],
    )
    for metric in document.metrics:
        assert metric.comparisons[0].verdict is Verdict.INSUFFICIENT_DATA
        assert "fewer than" in metric.comparisons[0].reason
    relaxed = report_for(
        {"1": {"control": moments_of(CONTROL[:40]), "treatment": moments_of(BETTER[:40] + 5)}},
        [attached("1", "sum")],
        thresholds=Thresholds(min_identities=40),
    )
    assert relaxed.metrics[0].verdict is Verdict.WIN


def test_relative_lift_is_null_with_a_reason_when_it_cannot_exist() -> None:
    document = report_for(
        {
            "1": {"control": Moments(100, 0.0, 0.0), "treatment": moments_of(SAME[:100])},
            "2": {"control": Moments(0, 0.0, 0.0), "treatment": moments_of(SAME[:100])},
        },
        [attached("1", "sum"), attached("2", "sum")],
    )
    zero, empty = (m.comparisons[0] for m in document.metrics)
    assert zero.relative is None and zero.relative_reason == "control mean is 0"
    assert zero.verdict is Verdict.INSUFFICIENT_DATA
    assert zero.absolute.estimate == pytest.approx(SAME[:100].mean())
    assert empty.relative_reason == "control has no identities"
    assert empty.p_value is None


def test_undefined_numbers_are_null_and_the_document_is_strict_json() -> None:
    document = report_for(
        {"1": {"control": Moments(1, 3.0, 9.0), "treatment": Moments(0, 0.0, 0.0)}},
        [attached("1", "mean")],
    )
    variants = document.metrics[0].variants
    assert variants[0].mean == 3.0 and variants[0].variance is None
    assert variants[1].mean is None and variants[1].variance is None
    comparison = document.metrics[0].comparisons[0]
    assert comparison.p_value is None and comparison.absolute.estimate is None
    text = document.model_dump_json()
    assert ResultDocument.model_validate_json(text) == document
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the document"))


@pytest.mark.parametrize(
    ("counts", "mismatch"),
    [((5000, 5000), False), ((5000, 4900), False), ((5000, 4500), True)],
)
def test_srm_flags_a_split_that_does_not_fit_the_weights(counts, mismatch: bool) -> None:
    arms = {v: Moments(n, 0.0, 0.0) for v, n in zip(("control", "treatment"), counts, strict=True)}
    document = report_for({"1": arms}, [attached("1", "count")])
    expected = scipy_stats.chisquare(counts).pvalue
    assert document.srm.p_value == pytest.approx(expected, rel=1e-9)
    assert document.srm.mismatch is mismatch


def test_exposures_part_counts_everyone_and_states_the_expected_split() -> None:
    arms = {"control": Moments(30, 0.0, 0.0), "treatment": Moments(10, 0.0, 0.0)}
    document = report_for(
        {"1": arms}, [attached("1", "count")], weights=[0.75, 0.25], analysis={"alpha": 0.1}
    )
    assert document.analysis.alpha == 0.1 and document.interval_level == pytest.approx(0.9)
    assert (document.window.start, document.window.end) == (START, END)
    exposures = document.exposures.model_dump()
    assert exposures["total"] == 43
    assert (exposures["quarantined"], exposures["unknown_variant"]) == (2, 1)
    assert exposures["variants"] == [
        {"variant": "control", "n": 30, "expected_share": 0.75},
        {"variant": "treatment", "n": 10, "expected_share": 0.25},
    ]
    assert not math.isnan(document.srm.p_value)


def test_no_exposures_gives_no_srm_p_value() -> None:
    arms = {"control": Moments(0, 0.0, 0.0), "treatment": Moments(0, 0.0, 0.0)}
    document = report_for({"1": arms}, [attached("1", "count")])
    assert (document.srm.p_value, document.srm.mismatch) == (None, False)
    assert document.metrics[0].verdict is Verdict.INSUFFICIENT_DATA
