"""Raw per-identity data for ratio, regression-adjusted and quantile metrics, and their summaries.

The builders sum along the last axis, as the event store sums per variant, so one call
summarises one arm or ten thousand. The strategies draw whole arms from a numpy generator seeded
by hypothesis (size, distribution, correlation, scale), as stats_raw_data does for means; like
it, `well_conditioned` keeps the gbstats comparisons to arms whose sums carry their variances.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from liftlab.stats import (
    AdjustedRatioSummary,
    AdjustedSummary,
    ProportionSummary,
    RatioSummary,
    SampleSummary,
)

from .stats_raw_data import ARM_SIZES, well_conditioned

QUANTILE_LEVELS = st.one_of(
    st.sampled_from([0.5, 0.9, 0.1, 0.99, 0.01]), st.floats(0.05, 0.95, allow_subnormal=False)
)


def sums(*values: np.ndarray) -> np.ndarray:
    """Σ of the product of the given arrays along the last axis (Σm·d, Σx², ...)."""
    return np.prod(np.stack(np.broadcast_arrays(*values)), axis=0).sum(axis=-1)


def proportion_summary(values: np.ndarray) -> ProportionSummary:
    return ProportionSummary.of(values.shape[-1], values.sum(axis=-1))


def ratio_summary(m: np.ndarray, d: np.ndarray) -> RatioSummary:
    return RatioSummary.of(m.shape[-1], sums(m), sums(m, m), sums(d), sums(d, d), sums(m, d))


def adjusted_summary(
    post: np.ndarray, pre: np.ndarray, proportion: bool = False
) -> AdjustedSummary:
    """θ not yet pooled; 0/1 data as proportions when ``proportion``."""
    part = proportion_summary if proportion else SampleSummary.from_values
    return AdjustedSummary.of(part(post), part(pre), sums(post, pre))


def adjusted_ratio_summary(
    m: np.ndarray, d: np.ndarray, m_pre: np.ndarray, d_pre: np.ndarray
) -> AdjustedRatioSummary:
    """θ not yet pooled; the six cross sums in the order ``AdjustedRatioSummary.of`` takes."""
    summary = SampleSummary.from_values
    return AdjustedRatioSummary.of(
        summary(m),
        summary(d),
        summary(m_pre),
        summary(d_pre),
        sums(m, m_pre),
        sums(d, d_pre),
        sums(m_pre, d_pre),
        sums(m, d),
        sums(m, d_pre),
        sums(m_pre, d),
    )


def ratio_well_conditioned(m: np.ndarray, d: np.ndarray) -> bool:
    """Both parts well conditioned and the linearised ratio m − R·d not a cancellation residue."""
    if not (well_conditioned(m) and well_conditioned(d)) or d.sum() == 0:
        return False
    ratio = m.sum() / d.sum()
    residual = np.sum((m - ratio * d) ** 2)
    parts = np.sum((m - m.mean()) ** 2) + ratio**2 * np.sum((d - d.mean()) ** 2)
    return bool(residual >= 1e-4 * parts > 0)


def _generator(draw: st.DrawFn) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


@st.composite
def ratio_arm(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """(m, d): clicks per session, revenue per order (orders may be 0) or correlated normals."""
    n, rng = draw(ARM_SIZES), _generator(draw)
    kind = draw(st.sampled_from(["sessions", "orders", "normal"]))
    if kind == "sessions":
        sessions = rng.poisson(draw(st.sampled_from([0.5, 3.0, 20.0])), n) + 1.0
        return rng.binomial(sessions.astype(np.int64), 0.3).astype(np.float64), sessions
    if kind == "orders":
        orders = rng.poisson(2.0, n).astype(np.float64)
        return orders * rng.lognormal(3.0, 1.0, n), orders
    scale = 2.0 ** draw(st.integers(-10, 20))
    d = rng.normal(10.0, 2.0, n) * scale
    return 0.5 * d + rng.normal(0.0, 1.0, n) * scale, d


@st.composite
def covariate_arm(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """(post, pre) of a numeric metric, correlated from not at all to ρ ≈ 0.99."""
    n, rng = draw(ARM_SIZES), _generator(draw)
    rho = draw(st.sampled_from([0.0, 0.3, 0.9, 0.99]))
    scale = 2.0 ** draw(st.integers(-10, 20))
    location = draw(st.integers(-5, 30))
    pre = rng.lognormal(0.0, 1.0, n) if draw(st.booleans()) else rng.normal(0.0, 1.0, n)
    post = rho * pre + np.sqrt(1 - rho**2) * rng.normal(0.0, pre.std() + 1.0, n)
    return (post + location) * scale, (pre + location) * scale


@st.composite
def covariate_conversions(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """(post, pre) conversions: converting before makes converting after more likely."""
    n = draw(st.one_of(st.integers(2, 40), st.sampled_from([3, 5000])))
    rng = _generator(draw)
    pre = rng.random(n) < draw(st.sampled_from([0.05, 0.3, 0.7]))
    after = draw(st.sampled_from([(0.1, 0.5), (0.2, 0.25), (0.05, 0.9)]))
    post = rng.random(n) < np.where(pre, after[1], after[0])
    return post.astype(np.float64), pre.astype(np.float64)


@st.composite
def ratio_covariate_arm(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """(m, d, m', d'): clicks and sessions after and before, through each identity's propensity."""
    n, rng = draw(ARM_SIZES), _generator(draw)
    rate = rng.beta(*draw(st.sampled_from([(2.0, 5.0), (0.5, 0.5), (20.0, 20.0)])), n)
    sessions = draw(st.sampled_from([1.0, 4.0, 30.0]))
    d_pre, d = rng.poisson(sessions, n) + 1, rng.poisson(sessions, n) + 1
    m_pre, m = rng.binomial(d_pre, rate), rng.binomial(d, rate)
    return tuple(x.astype(np.float64) for x in (m, d, m_pre, d_pre))


@st.composite
def quantile_values(draw: st.DrawFn) -> np.ndarray:
    """One arm's values: normal, lognormal latency or small integers (ties)."""
    n = draw(st.one_of(st.integers(2, 60), st.sampled_from([100, 1000, 5000])))
    rng = _generator(draw)
    kind = draw(st.sampled_from(["normal", "lognormal", "integers"]))
    if kind == "normal":
        return rng.normal(draw(st.integers(-50, 50)), 3.0, n)
    if kind == "lognormal":
        return rng.lognormal(3.0, 1.0, n)
    return rng.integers(0, draw(st.sampled_from([5, 1000])), n).astype(np.float64)


@st.composite
def clustered_events(draw: st.DrawFn) -> np.ndarray:
    """Events laid out (identities, slots), nan where an identity has fewer (0 to 8 events).

    Each identity has a level of its own (σ = ``spread``), so its events are alike: clustered.
    """
    identities = draw(st.one_of(st.integers(2, 60), st.sampled_from([300, 1000])))
    rng = _generator(draw)
    spread = draw(st.sampled_from([0.0, 0.5, 2.0]))
    level = rng.normal(3.0, spread, (identities, 1)) if spread else np.full((identities, 1), 3.0)
    values = rng.lognormal(level, 1.0, (identities, 8))
    count = rng.poisson(draw(st.sampled_from([1.0, 3.0])), (identities, 1))
    return np.where(np.arange(8) < count, values, np.nan)
