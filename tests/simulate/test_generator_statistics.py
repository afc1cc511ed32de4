"""The generator's events match the plan's parameters, within sampling error.

Every check allows 5 standard errors (a false alarm about once in 1.7 million checks), so a
failure means a real mismatch between the events and the parameters or the truth.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from functools import cache

import numpy as np
import pytest

from liftlab.simulate import MetricSpec, SimulationPlan, expected_truth, generate, true_means

from .plans import three_variant_plan, two_variant_plan
from .reference import Analysis, analyse, when

Z = 5.0


class Run:
    def __init__(self, plan: SimulationPlan) -> None:
        self.plan = plan
        chunks = list(generate(plan))
        self.counts = sum((c.counts for c in chunks[1:]), chunks[0].counts)
        self.events = [e for c in chunks for e in c.events]
        self.analysis: Analysis = analyse(self.events, plan)


PLANS = {"two variants": two_variant_plan, "three variants": three_variant_plan}


@cache
def run_of(name: str) -> Run:
    return Run(PLANS[name]())


@pytest.fixture(params=sorted(PLANS))
def run(request: pytest.FixtureRequest) -> Run:
    return run_of(request.param)


def within(observed: float, expected: float, standard_error: float) -> bool:
    return abs(observed - expected) <= Z * standard_error


def binomial_se(n: int, p: float) -> float:
    return math.sqrt(n * p * (1 - p))


def test_per_user_means_match_the_truth(run: Run) -> None:
    means = true_means(run.plan)
    for metric in run.plan.metrics:
        for variant, values in run.analysis.values(metric).items():
            se = values.std(ddof=1) / math.sqrt(len(values))
            assert within(values.mean(), means[metric.key][variant], se), (metric.name, variant)


def test_relative_lifts_match_the_truth(run: Run) -> None:
    truth = expected_truth(run.plan)
    for metric in run.plan.metrics:
        values = run.analysis.values(metric)
        control = values[run.plan.control]
        mc, vc = control.mean(), control.var(ddof=1) / len(control)
        for variant, lift in truth[metric.key].items():
            treated = values[variant]
            mt, vt = treated.mean(), treated.var(ddof=1) / len(treated)
            se = math.sqrt(vt / mc**2 + mt**2 * vc / mc**4)  # delta method for mt / mc
            assert within(mt / mc - 1, lift, se), (metric.name, variant)


def test_requested_effects_are_the_true_lifts(run: Run) -> None:
    truth = expected_truth(run.plan)
    for metric in run.plan.metrics:
        for variant, effect in metric.effects.items():
            assert truth[metric.key][variant] == pytest.approx(effect, abs=1e-12)


def test_assignment_follows_the_weights(run: Run) -> None:
    assigned = run.analysis.members()
    n = sum(len(m) for m in assigned.values())
    total = sum(v.weight for v in run.plan.variants)
    for variant in run.plan.variants:
        share = variant.weight / total
        assert within(len(assigned[variant.key]), n * share, binomial_se(n, share))


def test_double_exposed_users_are_the_planned_share(run: Run) -> None:
    p = run.plan.double_exposure_share
    quarantined = len(run.analysis.quarantined)
    assert quarantined == run.counts.double_exposed_users
    assert within(quarantined, run.plan.users * p, binomial_se(run.plan.users, p))


def test_duplicate_sends_repeat_an_event_id_at_the_planned_share(run: Run) -> None:
    p, unique = run.plan.duplicate_share, len(run.analysis.unique)
    assert run.analysis.resent == run.counts.duplicates > 0
    assert within(run.analysis.resent, unique * p, binomial_se(unique, p))
    assert len(run.events) == run.counts.events == unique + run.counts.duplicates


def test_some_events_precede_the_first_exposure_and_only_those_planned(run: Run) -> None:
    first = run.analysis.first_exposure
    before = [
        e
        for e in run.analysis.unique
        if e["event"] != run.plan.exposure_event and when(e) < first[e["identifier"]]
    ]
    trials = run.plan.users * len(run.plan.product_events)
    p = run.plan.pre_exposure_share
    assert len(before) == run.counts.pre_exposure_events
    assert within(len(before), trials * p, binomial_se(trials, p))
    assert all(first[e["identifier"]] - when(e) >= timedelta(minutes=1) for e in before)


def test_every_user_is_exposed_and_returns_at_the_planned_rate(run: Run) -> None:
    exposures = [e for e in run.analysis.unique if e["event"] == run.plan.exposure_event]
    assert len(run.analysis.first_exposure) == run.plan.users == run.counts.users
    returns = len(exposures) - run.plan.users - run.counts.double_exposed_users
    n, rate = run.plan.users, run.plan.return_visits
    assert within(returns, n * rate, math.sqrt(n * rate))


def test_arrivals_are_front_loaded(run: Run) -> None:
    start, days = run.plan.start, run.plan.days
    halfway = start + timedelta(days=days / 2)
    firsts = list(run.analysis.first_exposure.values())
    assert all(start <= t <= start + timedelta(days=days) for t in firsts)
    p = -math.expm1(-0.75) / -math.expm1(-1.5)  # the arrival curve's mass in the first half
    early = sum(t < halfway for t in firsts)
    assert early > len(firsts) / 2
    assert within(early, len(firsts) * p, binomial_se(len(firsts), p))


def test_filtered_and_windowed_metrics_see_events_they_must_ignore(run: Run) -> None:
    for metric in run.plan.metrics:
        if metric.filters or metric.window_hours:
            counted = run.analysis.values(replace(metric, aggregation="count"))
            everything = run.analysis.values(MetricSpec("all", "all", "count", metric.event))
            assert sum(map(np.sum, counted.values())) < sum(map(np.sum, everything.values()))


def test_active_users_send_one_plus_poisson_events() -> None:
    plan, analysis = run_of("two variants").plan, run_of("two variants").analysis
    page_views = next(m for m in plan.metrics if m.event == "page_view")
    control = analysis.values(page_views)["control"]
    active = control[control > 0] - 1
    lam = plan.stream("page_view").extra_events
    assert within(active.mean(), lam, math.sqrt(lam / len(active)))
    assert within(active.var(ddof=1), lam, math.sqrt((lam + 2 * lam**2) / len(active)))


def test_values_are_log_normal_with_the_planned_mean_and_tail() -> None:
    plan, analysis = run_of("two variants").plan, run_of("two variants").analysis
    control = {w for w, k in analysis.variant.items() if k == "control"}
    amounts = np.array(
        [
            e["properties"]["amount"]
            for e in analysis.unique
            if e["event"] == "purchase" and e["identifier"] in control
        ]
    )
    stream = plan.stream("purchase")
    assert within(amounts.mean(), stream.value_mean, amounts.std(ddof=1) / math.sqrt(len(amounts)))
    logs = np.log(amounts)
    sigma = stream.value_sigma
    assert within(logs.std(ddof=1), sigma, sigma / math.sqrt(2 * len(logs)))
    assert np.median(amounts) < 0.7 * amounts.mean()  # the heavy right tail: median e^(-σ²/2)·mean
