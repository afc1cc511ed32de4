"""Statistical validity by simulation: the whole engine, not the formulas alone.

Hundreds of seeded experiments go through the simulator, the ingestion pipeline, the event
store, the one-scan query and the report. Under A/A each test must flag about alpha of them;
with a known effect the intervals must cover the true lift at about 1 − alpha. The bands are
exact binomial quantiles, two-sided at 0.001, so a correct engine fails here once in a
thousand runs and a biased one (a miscounted variance, a leaky window) fails reliably.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from scipy import stats

from liftlab.analysis.contract import Comparison, ResultDocument
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.report import AttachedMetric as Attached
from liftlab.analysis.report import Header, build_report
from liftlab.analysis.results import query_results
from liftlab.analysis.settings import parse_settings
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.config import eventstore_url
from liftlab.eventstore import open_store
from liftlab.ingest import ingest
from liftlab.simulate import (
    AttachedMetric,
    Effect,
    StreamSpec,
    Variant,
    build_plan,
    expected_truth,
    generate,
    true_means,
)
from liftlab.simulate import ExperimentSpec as SimulatedExperiment
from liftlab.vocabulary import Verdict

pytestmark = pytest.mark.slow

EXPERIMENTS = 200
USERS = 1_500
ALPHA = 0.05
BAND = 0.001
GROUP = 25
METRICS = (
    AttachedMetric("converted", "converted", "occurrence", {"version": 1, "event": "purchase"}),
    AttachedMetric(
        "revenue", "revenue", "sum", {"version": 1, "event": "purchase", "value": "amount"}
    ),
    AttachedMetric("views", "views", "count", {"version": 1, "event": "page_view"}),
)
STREAMS = (
    StreamSpec("purchase", active_rate=0.3, extra_events=0.5, value_mean=40.0, value_sigma=0.8),
    StreamSpec("page_view", active_rate=0.7, extra_events=2.0, value_mean=1.0, value_sigma=0.0),
)
ATTACHED = [
    Attached(
        key=m.key,
        metric=i,
        name=m.name,
        metric_type="conversion" if m.aggregation == "occurrence" else "numeric",
        aggregation=m.aggregation,
        expected_direction="increase",
        role="primary",
        higher_is_better=True,
    )
    for i, m in enumerate(METRICS)
]
# Each test is judged on its own here (no correction), on the relative scale.
SETTINGS = parse_settings({"alpha": ALPHA, "correction": "none"})
SEQUENTIAL = parse_settings(
    {"alpha": ALPHA, "correction": "none", "sequential": True, "sequential_tuning": 2 * USERS}
)
# A flat prior and a 97.5 % threshold: the same error rate as a two-sided test at 5 %.
BAYESIAN = parse_settings({"engine": "bayesian", "chance_to_win_threshold": 1 - ALPHA / 2})


def simulate_plan(seed: int, effects: list[Effect]):
    """One seeded 50/50 experiment on its own flag, with users of its own."""
    simulated = SimulatedExperiment(
        flag=f"flag-{seed}",
        variants=(Variant("control", 0.5), Variant("treatment", 0.5)),
        control="control",
        exposure_event="$flag_exposure",
        metrics=METRICS,
    )
    return build_plan(
        simulated,
        users=USERS,
        days=3,
        effects=effects,
        seed=seed,
        streams=STREAMS,
        double_exposure_share=0.0,
        duplicate_share=0.0,
        return_visits=0.5,
        pre_days=0,  # its metrics are not regression-adjusted: a pre-period would only cost time
        identifier_prefix=f"experiment-{seed}-user-",
    )


def run_experiments(
    seeds: range, effects: list[Effect], settings=SETTINGS
) -> list[tuple[ResultDocument, object]]:
    """Simulate, ingest and analyse; experiments share an environment in groups.

    Each experiment has its own flag and users, so sharing is harmless; grouping keeps the
    insert calls few (each one pays the de-duplication look-up) and each query's scan short.
    """
    store = open_store(eventstore_url())
    outcomes = []
    for first in range(0, len(seeds), GROUP):
        environment_key = f"validity-{uuid.uuid4().hex}"
        plans = [simulate_plan(seed, effects) for seed in seeds[first : first + GROUP]]
        events = [e for plan in plans for chunk in generate(plan) for e in chunk.events]
        ingest(events, environment_key, store)
        outcomes += [(analyse(store, environment_key, plan, settings), plan) for plan in plans]
    return outcomes


def analyse(store, environment_key: str, plan, settings) -> ResultDocument:
    spec = ExperimentSpec(
        environment_key=environment_key,
        feature_name=plan.flag,
        exposure_event="$flag_exposure",
        variant_keys=("control", "treatment"),
        start=plan.start,
        end=plan.start + timedelta(days=plan.days, hours=plan.horizon_hours),
        metrics=tuple(
            MetricSpec(m.key, m.aggregation, parse_definition(dict(m.definition))) for m in METRICS
        ),
    )
    stats_ = query_results(spec, store.query)
    return build_report(
        spec,
        stats_,
        ATTACHED,
        header=Header(experiment=0, status="completed", is_final=True, computed_at=spec.end),
        weights=[0.5, 0.5],
        control="control",
        settings=settings,
    )


def band(p: float) -> tuple[int, int]:
    """The counts out of EXPERIMENTS a correct procedure lands within, two-sided at BAND."""
    return (
        int(stats.binom.ppf(BAND / 2, EXPERIMENTS, p)),
        int(stats.binom.isf(BAND / 2, EXPERIMENTS, p)),
    )


def comparison(report: ResultDocument, key: str) -> Comparison:
    (row,) = next(m for m in report.metrics if m.name == key).comparisons
    return row


def test_a_a_false_positive_rate_is_alpha_for_every_test():
    significant = dict.fromkeys((m.key for m in METRICS), 0)
    for report, _ in run_experiments(range(EXPERIMENTS), []):
        for key in significant:
            significant[key] += comparison(report, key).p_value < ALPHA
    low, high = band(ALPHA)
    for key, count in significant.items():
        assert low <= count <= high, (key, count, (low, high))


@pytest.mark.parametrize("settings", [SEQUENTIAL, BAYESIAN], ids=["sequential", "bayesian"])
def test_a_a_through_the_engine_with_sequential_and_bayesian_inference(settings):
    """Sequential may only be more careful than alpha; Bayesian with a flat prior at a
    threshold of 1 − alpha/2 errs as often as the two-sided test."""
    decided = dict.fromkeys((m.key for m in METRICS), 0)
    for report, _ in run_experiments(range(20_000, 20_000 + EXPERIMENTS), [], settings):
        for key in decided:
            decided[key] += comparison(report, key).verdict in (Verdict.WIN, Verdict.LOSS)
    low, high = band(ALPHA)
    for key, count in decided.items():
        assert count <= high, (key, count, high)
        if settings is BAYESIAN:
            assert low <= count, (key, count, low)


def test_intervals_cover_a_known_effect_at_the_nominal_rate():
    covered_relative = covered_absolute = 0
    seeds = range(10_000, 10_000 + EXPERIMENTS)
    for report, plan in run_experiments(seeds, [Effect("converted", 0.10, "treatment")]):
        row = comparison(report, "converted")
        true_lift = expected_truth(plan)["converted"]["treatment"]
        means = true_means(plan)["revenue"]
        true_difference = means["treatment"] - means["control"]
        covered_relative += row.relative.ci.low <= true_lift <= row.relative.ci.high
        revenue = comparison(report, "revenue").absolute.ci
        covered_absolute += revenue.low <= true_difference <= revenue.high
    low, high = band(1 - ALPHA)
    assert low <= covered_relative <= high, (covered_relative, (low, high))
    assert low <= covered_absolute <= high, (covered_absolute, (low, high))
