"""The behaviour a regression adjustment, a cap, a ratio and a quantile need, as the events
show it: users who resemble their own past, whales, clicks inside sessions, slow users.

Correlations are checked against their documented values within 5 bootstrap standard errors;
everything else within 5 standard errors, as in ``test_generator_statistics``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from statistics import NormalDist

import numpy as np
import pytest

from liftlab.simulate import PartSpec, SimulationPlan
from liftlab.simulate.traits import draw_traits

from .plans import behaviour_plan
from .reference import when
from .runs import Run, ratio_and_se, run_of, within

BOOTSTRAPS = 200


def uncorrelated_plan() -> SimulationPlan:
    return behaviour_plan(users=4_000, seed=14, pre_post_correlation=0.0)


def correlation_and_se(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson's r and its bootstrap standard error (heavy tails make the normal-theory one
    too small)."""
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(x), size=(BOOTSTRAPS, len(x)))
    boots = [np.corrcoef(x[r], y[r])[0, 1] for r in rows]
    return float(np.corrcoef(x, y)[0, 1]), float(np.std(boots, ddof=1))


def before_and_after(run: Run, part: PartSpec) -> tuple[np.ndarray, np.ndarray]:
    """Control users' number over the pre-period and after the first exposure: the same
    behaviour (a control user's horizon) on both sides."""
    plan = run.plan
    after = run.analysis.numbers(part, None)[plan.control]
    before = run.analysis.numbers(part, None, before_days=plan.pre_days)[plan.control]
    return before, after


def explained_share(plan: SimulationPlan, part: PartSpec, q: float) -> float:
    """R² = Var(E[N | traits]) / Var(N) for a count N of a plain stream, each event counted
    with probability q: with A active, Z the propensity, E[N | traits] = A·q·(1 + λZ)."""
    spec, k = plan.stream(part.event), plan.propensity_shape
    a, lam = spec.active_rate, spec.extra_events
    explained = a * q**2 * ((1 - a) * (1 + lam) ** 2 + lam**2 / k)
    noise = a * q * (1 - q + lam)  # E[Var(N | traits)]: the thinned first event and Poisson
    return explained / (explained + noise)


def test_traits_carry_over_with_the_planned_correlation() -> None:
    rng, n, rho = np.random.default_rng(1), 200_000, 0.6
    after, before = draw_traits(rng, n, ["buy"], shape=1.5, carry_over=rho)
    whales = after.whale["buy"] < 0.05, before.whale["buy"] < 0.05
    for pair in [
        (after.propensity, before.propensity),
        (after.activity["buy"], before.activity["buy"]),
        whales,
    ]:
        assert np.corrcoef(*pair)[0, 1] == pytest.approx(rho, abs=0.01)
    assert before.propensity.mean() == pytest.approx(1, abs=0.01)
    assert before.propensity.var() == pytest.approx(1 / 1.5, abs=0.02)


def test_a_conversion_before_and_after_exposure_correlates_as_planned() -> None:
    """Every active buyer buys at least once, so conversion is its trait alone: r = ρ."""
    run = run_of(behaviour_plan)
    before, after = before_and_after(run, PartSpec("purchase", "occurrence"))
    r, se = correlation_and_se(before, after)
    assert within(r, run.plan.pre_post_correlation, se), (r, se)


def test_a_count_correlates_as_planned_times_its_explained_share() -> None:
    run = run_of(behaviour_plan)
    part = next(m for m in run.plan.metrics if m.key == "requests").numerator
    before, after = before_and_after(run, part)
    r, se = correlation_and_se(before, after)
    expected = run.plan.pre_post_correlation * explained_share(run.plan, part, q=0.5)
    assert within(r, expected, se), (r, expected, se)


def test_without_carry_over_before_and_after_are_unrelated() -> None:
    run = run_of(uncorrelated_plan)
    for part in (PartSpec("purchase", "occurrence"), PartSpec("request", "count")):
        r, se = correlation_and_se(*before_and_after(run, part))
        assert within(r, 0.0, se), (part.event, r, se)


def values_by_user(run: Run, event: str, prop: str) -> dict[str, list[float]]:
    """Each identity's values of ``prop`` on its ``event`` events after its first exposure."""
    found: dict[str, list[float]] = defaultdict(list)
    for row in run.analysis.rows[event]:
        if row.delay.total_seconds() >= 0:
            found[row.who].append(row.properties[prop])
    return found


@pytest.mark.parametrize(("event", "prop"), [("purchase", "amount"), ("request", "latency_ms")])
def test_whales_are_the_planned_share_and_whole_users(event: str, prop: str) -> None:
    """Above the geometric middle between a whale's and another user's typical value lie
    the whales' values and few others (the exact log-normal mixture says how many); and a
    user's values share one multiplier: their logs correlate by p(1−p)·ln²M / (that + σ²).
    Control users only: the request stream's values scale with the treatment."""
    run = run_of(behaviour_plan)
    spec = run.plan.stream(event)
    p, multiplier, sigma = spec.whale_share, spec.whale_multiplier, spec.value_sigma
    by_user = values_by_user(run, event, prop)
    control = {w for w, v in run.analysis.variant.items() if v == run.plan.control}
    mine = {w: np.array(v) for w, v in by_user.items() if w in control}
    typical = spec.base_value * math.exp(-(sigma**2) / 2)
    middle = typical * math.sqrt(multiplier)
    z = (math.log(middle / typical)) / sigma
    above = (1 - p) * (1 - NormalDist().cdf(z)) + p * NormalDist().cdf(z)
    counts = np.array([np.sum(v > middle) for v in mine.values()], float)
    sizes = np.array([len(v) for v in mine.values()], float)
    share, se = ratio_and_se(counts, sizes)
    assert within(share, above, se), (share, above, se)
    pairs = np.log([v[:2] for v in mine.values() if len(v) >= 2])
    spread = p * (1 - p) * math.log(multiplier) ** 2
    r, se = correlation_and_se(pairs[:, 0], pairs[:, 1])
    assert within(r, spread / (spread + sigma**2), se), (r, se)


def test_clicks_follow_a_session_of_their_user_the_more_the_more_engaged() -> None:
    run = run_of(behaviour_plan)
    plan, analysis = run.plan, run.analysis
    sessions: dict[str, list[float]] = defaultdict(list)
    for e in analysis.unique:
        if e["event"] == "session":
            sessions[e["identifier"]].append(when(e).timestamp())
    for who in sessions:
        sessions[who].sort()
    for e in analysis.unique:
        if e["event"] == "click":
            t = when(e).timestamp()
            starts = np.array(sessions[e["identifier"]])
            assert np.any((starts <= t - 1.0 + 1e-3) & (starts >= t - 300.0 - 1e-3)), e
    clicks = analysis.numbers(PartSpec("click", "count"), None)
    visits = analysis.numbers(PartSpec("session", "count"), None)
    # Poisson(κZ) clicks per session, 1 + Poisson(λZ) sessions: E[(1 + λZ)Z] / (1 + λ) · κ
    lam, k = plan.stream("session").extra_events, plan.propensity_shape
    kappa = plan.stream("click").per_parent * (1 + lam * (1 + 1 / k)) / (1 + lam)
    effect = next(m for m in plan.metrics if m.key == "clicks").effects["treatment"]
    for variant, expected in (("control", kappa), ("treatment", kappa * (1 + effect))):
        ratio, se = ratio_and_se(clicks[variant], visits[variant])
        assert within(ratio, expected, se), (variant, ratio, expected)


def test_latencies_have_the_planned_mean_in_each_variant() -> None:
    """The p90 effect scales every latency: the mean moves by the same factor."""
    run = run_of(behaviour_plan)
    spec = run.plan.stream("request")
    effect = next(m for m in run.plan.metrics if m.key == "latency").effects["treatment"]
    by_user = values_by_user(run, "request", "latency_ms")
    for variant, scale in (("control", 1.0), ("treatment", 1 + effect)):
        members = [w for w, v in run.analysis.variant.items() if v == variant]
        totals = np.array([sum(by_user.get(w, [])) for w in members])
        sizes = np.array([len(by_user.get(w, [])) for w in members], float)
        mean, se = ratio_and_se(totals, sizes)
        assert within(mean, spec.value_mean * scale, se), (variant, mean)
