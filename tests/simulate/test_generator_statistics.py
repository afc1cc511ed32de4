"""The generator's events match the plan's parameters, within sampling error.

Every check allows 5 standard errors (a false alarm about once in 1.7 million checks), so a
failure means a real mismatch between the events and the parameters or the truth. Quantile
metrics are checked by the share of their ranked values at or below the true quantile.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest

from liftlab.simulate import (
    MetricSpec,
    PartSpec,
    SimulationPlan,
    expected_truth,
    true_means,
)

from .plans import behaviour_plan, three_variant_plan, two_variant_plan
from .reference import percentile, when
from .runs import Run, binomial_se, ratio_and_se, run_of, within

PLANS = {
    "two variants": two_variant_plan,
    "three variants": three_variant_plan,
    "new kinds": behaviour_plan,
}


@pytest.fixture(params=sorted(PLANS))
def run(request: pytest.FixtureRequest) -> Run:
    return run_of(PLANS[request.param])


Z = 5.0


def realised(run: Run, metric: MetricSpec) -> dict[str, tuple[float, float]]:
    """Per variant, the metric as the events show it, with its standard error: a mean, a
    capped mean (the cap from all assigned identities), or a ratio of sums."""
    analysis, window = run.analysis, metric.window_hours
    numbers = analysis.numbers(metric.numerator, window)
    if metric.cap is not None:
        pooled = np.concatenate(list(numbers.values()))
        cap = metric.cap.value
        if metric.cap.type == "percentile":
            cap = percentile(pooled, cap)
        numbers = {v: np.minimum(x, cap) for v, x in numbers.items()}
    if metric.denominator is not None:
        bottoms = analysis.numbers(metric.denominator, window)
        return {v: ratio_and_se(x, bottoms[v]) for v, x in numbers.items()}
    return {v: (x.mean(), x.std(ddof=1) / math.sqrt(len(x))) for v, x in numbers.items()}


def ranked_values(run: Run, metric: MetricSpec) -> dict[str, list[np.ndarray]]:
    """For a quantile metric, per variant, the values it ranks grouped by identity: each
    identity's counted values, or (identity level) its total, alone."""
    assert metric.quantile is not None
    if metric.quantile.level == "event":
        return run.analysis.event_values(metric)
    totals = run.analysis.numbers(metric.numerator, metric.window_hours)
    return {v: [np.array([t]) for t in x if t > 0] for v, x in totals.items()}


def test_per_user_means_match_the_truth(run: Run) -> None:
    means = true_means(run.plan)
    for metric in run.plan.metrics:
        if metric.quantile is not None:
            continue
        for variant, (value, se) in realised(run, metric).items():
            assert within(value, means[metric.key][variant], se), (metric.name, variant)


def test_quantiles_match_the_truth(run: Run) -> None:
    """A true quantile has its level's share of the ranked values at or below it."""
    means = true_means(run.plan)
    for metric in run.plan.metrics:
        if metric.quantile is None:
            continue
        for variant, ranked in ranked_values(run, metric).items():
            below = [np.sum(v <= means[metric.key][variant]) for v in ranked]
            sizes = [len(v) for v in ranked]
            share, se = ratio_and_se(np.array(below, float), np.array(sizes, float))
            assert within(share, metric.quantile.q, se), (metric.name, variant)


def test_relative_lifts_match_the_truth(run: Run) -> None:
    truth = expected_truth(run.plan)
    for metric in run.plan.metrics:
        if metric.quantile is not None:
            continue
        values = realised(run, metric)
        mc, sc = values[run.plan.control]
        for variant, lift in truth[metric.key].items():
            mt, st = values[variant]
            se = math.sqrt(st**2 / mc**2 + mt**2 * sc**2 / mc**4)  # delta method for mt / mc
            assert within(mt / mc - 1, lift, se), (metric.name, variant)


def test_requested_effects_are_the_true_lifts(run: Run) -> None:
    truth = expected_truth(run.plan)
    for metric in run.plan.metrics:
        if metric.cap is not None:
            continue  # an effect is set before the cap; the capped truth is tested above
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


def control_horizon(plan: SimulationPlan, event: str) -> float:
    """A control user's mean events of one stream over a horizon (all of them counted): a
    child's are κZ per parent event, E[(1 + λZ)·Z] = 1 + λ(1 + 1/k) per active user."""
    spec = plan.stream(event)
    if spec.parent is None:
        return spec.active_rate * (1 + spec.extra_events)
    parent = plan.stream(spec.parent)
    engaged = 1 + parent.extra_events * (1 + 1 / plan.propensity_shape)
    return parent.active_rate * engaged * spec.per_parent


def test_before_the_first_exposure_users_do_what_control_does_in_a_horizon(run: Run) -> None:
    first, plan = run.analysis.first_exposure, run.plan
    before = [
        e
        for e in run.analysis.unique
        if e["event"] != plan.exposure_event and when(e) < first[e["identifier"]]
    ]
    assert len(before) == run.counts.pre_exposure_events
    for event in plan.product_events:
        mine = [e for e in before if e["event"] == event]
        latest = timedelta(minutes=5 if plan.stream(event).parent else 10)  # a child's gap
        leads = [first[e["identifier"]] - when(e) for e in mine]
        assert latest <= min(leads) and max(leads) <= timedelta(days=plan.pre_days), event
        per_user = Counter(e["identifier"] for e in mine)
        counts = np.array([per_user[who] for who in first], float)
        se = counts.std(ddof=1) / math.sqrt(len(counts))
        assert within(counts.mean(), control_horizon(plan, event), se), event


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
        for part in metric.parts:
            if part.filters or metric.window_hours:
                counted = run.analysis.numbers(
                    PartSpec(part.event, "count", filters=part.filters), metric.window_hours
                )
                everything = run.analysis.numbers(PartSpec(part.event, "count"), None)
                assert sum(map(np.sum, counted.values())) < sum(map(np.sum, everything.values()))


def test_active_users_send_one_plus_poisson_events_at_their_propensity() -> None:
    """1 + Poisson(λ·Z), Z ~ Gamma(k, mean 1): the extra events have mean λ and the
    negative binomial's variance λ + λ²/k."""
    plan, analysis = run_of(two_variant_plan).plan, run_of(two_variant_plan).analysis
    page_views = next(m for m in plan.metrics if m.event == "page_view")
    control = analysis.values(page_views)["control"]
    extra = control[control > 0] - 1
    lam, k = plan.stream("page_view").extra_events, plan.propensity_shape
    variance = lam + lam**2 / k
    assert within(extra.mean(), lam, math.sqrt(variance / len(extra)))
    fourth = np.mean((extra - extra.mean()) ** 4)
    assert within(extra.var(ddof=1), variance, math.sqrt((fourth - variance**2) / len(extra)))


def test_values_are_log_normal_with_the_planned_mean_and_tail() -> None:
    plan, analysis = run_of(two_variant_plan).plan, run_of(two_variant_plan).analysis
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
