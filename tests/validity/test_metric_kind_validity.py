"""Statistical validity of the ratio, regression-adjusted, capped and quantile kinds, by simulation.

As test_method_validity.py, at the level of the statistics, but from raw per-identity data:
numpy draws EXPERIMENTS experiments at once as arrays (experiments, identities), the summaries
sum or sort along the last axis, and one FixedHorizon call answers all of them. Each kind is
drawn so that what makes it hard is there: identities whose sessions share a click rate
(ratio), a pre-period that explains much of the post-period (CUPED), heavy-tailed revenue
(capping), identities whose events are alike (clustered quantiles).

The checks are those of test_method_validity.py: a count of events (false positives under
A/A, intervals that miss a known effect) accepted within exact binomial bounds that a correct
method at alpha leaves with probability ≤ 10⁻⁴ (two-sided, ±3.9 standard errors: 4,000
experiments at 5 % accept 157..245, a rate of 3.9–6.1 %). Where a naive method is wrong in the
same data (per-session proportions for a ratio, the iid variance for clustered events) the
count must exceed the band of a correct one, which shows the simulation can tell.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special
from tests.stats.kinds_raw_data import (
    adjusted_ratio_summary,
    adjusted_summary,
    ratio_summary,
)
from tests.validity.test_method_validity import (
    ALPHA,
    RateCheck,
    misses,
    rng_for,
    significant,
    verify_exceeds,
)

from liftlab.stats import (
    ClusteredQuantileSummary,
    FixedHorizon,
    ProportionSummary,
    QuantileSummary,
    SampleSummary,
    Summary,
    effect,
    pool_theta,
)

EXPERIMENTS = 4_000
IDENTITIES = 1_000
SESSION_IDENTITIES = 500  # binomial draws of sessions cost most; 500 identities suffice
LIFT = 0.10
BAND = RateCheck(EXPERIMENTS, ALPHA, two_sided=True)
SHAPE = (EXPERIMENTS, IDENTITIES)

Arms = tuple[Summary, Summary]


def check(arms: Arms, scale: str, truth: float, what: str) -> None:
    """A/A (truth 0): false positives within the band; otherwise misses of ``truth`` are."""
    test = FixedHorizon(effect(*arms, scale))
    events = significant(test.p_value) if truth == 0 else misses(test.interval(ALPHA), truth)
    BAND.verify(events, what)


# CUPED: pre ~ N(μ, σ²) and post = μ + ρ(pre − μ) + √(1 − ρ²)·σ·z, plus δ in the treatment.

MEAN, SD = 10.0, 3.0


def covariate_arms(rng: np.random.Generator, rho: float, shift: float) -> tuple[np.ndarray, ...]:
    """(post_c, pre_c, post_t, pre_t), the treatment's post-period shifted by ``shift``."""
    arrays = []
    for arm_shift in (0.0, shift):
        pre = rng.normal(MEAN, SD, SHAPE)
        noise = rng.normal(0.0, SD, SHAPE)
        arrays += [MEAN + rho * (pre - MEAN) + np.sqrt(1 - rho**2) * noise + arm_shift, pre]
    return tuple(arrays)


def adjusted_arms(arrays: tuple[np.ndarray, ...], proportion: bool = False) -> Arms:
    post_c, pre_c, post_t, pre_t = arrays
    control = adjusted_summary(post_c, pre_c, proportion)
    return pool_theta(control, adjusted_summary(post_t, pre_t, proportion))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scale", "shift"), [("absolute", 0.0), ("absolute", 0.3), ("relative", 0.3)]
)
def test_cuped_mean(scale: str, shift: float) -> None:
    arrays = covariate_arms(rng_for("cuped", scale, str(shift)), 0.7, shift)
    truth = shift if scale == "absolute" else shift / MEAN
    check(adjusted_arms(arrays), scale, truth, f"CUPED mean, {scale}, shift {shift}")


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_cuped_variance_falls_by_rho_squared(rho: float) -> None:
    """Var of the adjusted estimate ≈ (1 − ρ²)·Var of the unadjusted one.

    The mean reported variance to 3 % (its sampling error over 4,000 experiments of 1,000
    identities is ~0.1 %); the variance of the 4,000 estimates themselves to 10 % (each
    variance has a relative standard error of √(2/4000) = 2.2 %, their ratio less: correlated).
    """
    arrays = covariate_arms(rng_for("cuped-rho", str(rho)), rho, 0.0)
    adjusted = effect(*adjusted_arms(arrays), "absolute")
    post_c, _, post_t, _ = arrays
    unadjusted = effect(
        SampleSummary.from_values(post_c), SampleSummary.from_values(post_t), "absolute"
    )
    expected = 1 - rho**2
    reported = np.mean(adjusted.variance) / np.mean(unadjusted.variance)
    assert abs(reported / expected - 1) < 0.03, (reported, expected)
    observed = np.var(adjusted.estimate) / np.var(unadjusted.estimate)
    assert abs(observed / expected - 1) < 0.10, (observed, expected)


# CUPED on conversions: converting before (30 %) makes converting after 4 times as likely.

CONVERTED_BEFORE, AFTER = 0.3, (0.1, 0.4)
CONVERSION = (1 - CONVERTED_BEFORE) * AFTER[0] + CONVERTED_BEFORE * AFTER[1]


def conversion_arms(rng: np.random.Generator, lift: float) -> tuple[np.ndarray, ...]:
    arrays = []
    for arm_lift in (0.0, lift):
        pre = rng.random(SHAPE) < CONVERTED_BEFORE
        rate = np.where(pre, AFTER[1], AFTER[0]) * (1 + arm_lift)
        arrays += [(rng.random(SHAPE) < rate).astype(np.float64), pre.astype(np.float64)]
    return tuple(arrays)


@pytest.mark.slow
@pytest.mark.parametrize(("scale", "lift"), [("absolute", 0.0), ("relative", LIFT)])
def test_cuped_proportion(scale: str, lift: float) -> None:
    arrays = conversion_arms(rng_for("cuped-conversion", scale), lift)
    check(adjusted_arms(arrays, proportion=True), scale, lift, f"CUPED proportion, {scale}")


# Ratio: identity i has sessions d ~ 1 + Poisson(3) and a click rate p_i ~ Beta(4, 6)/2 of its own
# (at most 0.5, so a lift keeps it below 1), so its sessions are alike; clicks
# m ~ Binomial(d, p_i·(1 + lift)). E[m]/E[d] = E[p]·(1 + lift): the relative effect is the lift.

CLICK_RATE = 0.2


def session_arms(rng: np.random.Generator, lift: float, pre_period: bool = False) -> list[tuple]:
    """Per arm (m, d), or (m, d, m', d') with a pre-period at the same rate, before the lift."""
    shape = (EXPERIMENTS, SESSION_IDENTITIES)
    arms = []
    for arm_lift in (0.0, lift):
        rate = 0.5 * rng.beta(4.0, 6.0, shape)
        periods = []
        for period_lift in (arm_lift, 0.0) if pre_period else (arm_lift,):
            sessions = rng.poisson(3.0, shape) + 1
            clicks = rng.binomial(sessions, rate * (1 + period_lift))
            periods += [clicks.astype(np.float64), sessions.astype(np.float64)]
        arms.append(tuple(periods))
    return arms


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scale", "lift"), [("absolute", 0.0), ("absolute", LIFT), ("relative", LIFT)]
)
def test_ratio(scale: str, lift: float) -> None:
    arms = [ratio_summary(*arm) for arm in session_arms(rng_for("ratio", scale, str(lift)), lift)]
    truth = lift if scale == "relative" else CLICK_RATE * lift
    check(tuple(arms), scale, truth, f"ratio, {scale}, lift {lift}")


@pytest.mark.slow
def test_per_session_proportions_ignore_that_sessions_of_one_identity_are_alike() -> None:
    """Treating the Σd sessions as independent trials understates the variance: too many hits."""
    control, treatment = session_arms(rng_for("ratio-naive"), 0.0)
    naive = [ProportionSummary.of(d.sum(axis=-1), m.sum(axis=-1)) for m, d in (control, treatment)]
    p_value = FixedHorizon(effect(*naive, "absolute")).p_value
    verify_exceeds(significant(p_value), ALPHA, "per-session proportions, A/A")


@pytest.mark.slow
@pytest.mark.parametrize(("scale", "lift"), [("absolute", 0.0), ("relative", LIFT)])
def test_adjusted_ratio(scale: str, lift: float) -> None:
    arms = session_arms(rng_for("adjusted-ratio", scale), lift, pre_period=True)
    summaries = pool_theta(*(adjusted_ratio_summary(*arm) for arm in arms))
    check(summaries, scale, lift, f"adjusted ratio, {scale}")


# Capped revenue: 30 % buy, lognormal amounts (σ = 1.5) times (1 + lift); both arms are capped at
# the 99th percentile of their pooled values, which the truth takes at the population's.

BUYERS, SIGMA, PERCENTILE = 0.3, 1.5, 99.0


def revenue_arms(rng: np.random.Generator, lift: float) -> Arms:
    values = [
        (rng.random(SHAPE) < BUYERS) * rng.lognormal(0.0, SIGMA, SHAPE) * (1 + arm_lift)
        for arm_lift in (0.0, lift)
    ]
    cap = np.percentile(np.concatenate(values, axis=-1), PERCENTILE, axis=-1, keepdims=True)
    control, treatment = (SampleSummary.from_values(np.minimum(v, cap)) for v in values)
    return control, treatment


def capped_truth(lift: float) -> float:
    """E[min(X_t, c)] − E[min(X_c, c)], c the 99th percentile of the two arms' mixture.

    For buyers' amounts aY, Y lognormal(0, σ): E[min(aY, c)] = a·e^(σ²/2)·Φ((ln(c/a) − σ²)/σ)
    + c·(1 − Φ(ln(c/a)/σ)); non-buyers add 0 (below any cap).
    """
    scales = (1.0, 1.0 + lift)

    def below(c: float) -> float:
        return float(
            np.mean([1 - BUYERS + BUYERS * special.ndtr(np.log(c / a) / SIGMA) for a in scales])
        )

    cap = optimize.brentq(lambda c: below(c) - PERCENTILE / 100, 1e-6, 1e6, xtol=1e-12)

    def capped_mean(a: float) -> float:
        z = np.log(cap / a) / SIGMA
        kept = a * np.exp(SIGMA**2 / 2) * special.ndtr(z - SIGMA) + cap * special.ndtr(-z)
        return BUYERS * kept

    return capped_mean(scales[1]) - capped_mean(scales[0])


@pytest.mark.slow
@pytest.mark.parametrize("lift", [0.0, LIFT])
def test_capped_revenue(lift: float) -> None:
    arms = revenue_arms(rng_for("capped", str(lift)), lift)
    check(arms, "absolute", capped_truth(lift), f"capped revenue, lift {lift}")


# Quantiles: identity-level values lognormal(0, 1) times (1 + lift), whose ν-quantile is then
# (1 + lift) times the control's: a relative effect of exactly the lift, whatever ν.


@pytest.mark.slow
@pytest.mark.parametrize("nu", [0.5, 0.9])
@pytest.mark.parametrize(("scale", "lift"), [("absolute", 0.0), ("relative", LIFT)])
def test_identity_quantile(nu: float, scale: str, lift: float) -> None:
    rng = rng_for("quantile", str(nu), scale)
    arms = tuple(
        QuantileSummary.from_values(rng.lognormal(0.0, 1.0, SHAPE) * (1 + a), nu) for a in (0, lift)
    )
    check(arms, scale, lift, f"p{nu * 100:.0f} of identities, {scale}")


# Event-level quantiles: 300 identities per arm, 1 + Poisson(2) events each (at most 8), every
# identity's events lognormal around a level of its own (σ 1 between, 0.5 within identities).

CLUSTERS, SLOTS = 300, 8


def clustered_arms(
    rng: np.random.Generator, lift: float, nu: float
) -> tuple[ClusteredQuantileSummary, ...]:
    arms = []
    for arm_lift in (0.0, lift):
        level = rng.normal(0.0, 1.0, (EXPERIMENTS, CLUSTERS, 1))
        values = rng.lognormal(level, 0.5, (EXPERIMENTS, CLUSTERS, SLOTS)) * (1 + arm_lift)
        count = np.minimum(rng.poisson(2.0, (EXPERIMENTS, CLUSTERS, 1)) + 1, SLOTS)
        arms.append(
            ClusteredQuantileSummary.from_values(
                np.where(np.arange(SLOTS) < count, values, np.nan), nu
            )
        )
    return tuple(arms)


@pytest.mark.slow
@pytest.mark.parametrize(("scale", "lift"), [("absolute", 0.0), ("relative", LIFT)])
def test_clustered_event_quantile(scale: str, lift: float) -> None:
    arms = clustered_arms(rng_for("clustered", scale), lift, 0.5)
    check(arms, scale, lift, f"median of clustered events, {scale}")


@pytest.mark.slow
def test_the_iid_variance_of_clustered_events_is_too_small() -> None:
    """The same events read as independent values: their quantile's variance is understated."""
    arms = clustered_arms(rng_for("clustered-iid"), 0.0, 0.5)
    iid = [QuantileSummary.of(a.n, a.nu, a.quantile, a.lower, a.upper) for a in arms]
    verify_exceeds(significant(FixedHorizon(effect(*iid, "absolute")).p_value), ALPHA, "iid, A/A")
