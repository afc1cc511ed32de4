"""The whole distribution of a part's per-user number, where a mean is not enough.

A capped metric's truth is E[min(X, cap)], a percentile cap is a quantile of X pooled over
the variants, and an identity-level quantile ranks the users' totals: all three need the
distribution of X, not its mean. For a plain stream it is, per user:

- N counted events: N = A·(B + P) with A ~ Bernoulli(a), B ~ Bernoulli(q) (the first event
  counted) and P ~ Poisson(λ·q·Z), Z ~ Gamma(k, mean 1): P is negative binomial, so the
  probabilities of N are exact;
- given N = n ≥ 1, a sum is s·m₀·w·T_n with m₀ the mean value of a user who is not a whale,
  w the whale multiplier (or 1) and T_n a sum of n log-normals of mean 1; a mean is that
  divided by n.

So X is a mixture, with exact weights, of scaled copies of T_n (and of point masses for a
count). T_n has no closed form: ``SUM_ROWS`` draws of it come from fixed random streams
(scaled to the exact mean), and every variant reads the same draws, so two variants differ
only by their exact weights and scales (common random numbers: equal knobs give equal
truths, and a lift's Monte-Carlo error is far below a mean's). Counts an active user reaches
with probability below 1e-12 are left out. Child streams have no such closed form for N and
are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from liftlab.analysis.definition import Aggregation
from liftlab.simulate.means import Units
from liftlab.simulate.plan import StreamSpec

SUM_ROWS = 50_000
"""Draws of each T_n."""
_TAIL = 1e-12
_DRAW_STREAM = 20_261_202
_BISECTIONS = 200


@dataclass(frozen=True)
class Sample:
    """Sorted draws of a positive variable and their running sums (with a leading 0)."""

    values: np.ndarray
    sums: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Sample:
        ordered = np.sort(values)
        return cls(ordered, np.concatenate([[0.0], np.cumsum(ordered)]))


@dataclass(frozen=True)
class Component:
    """``scale`` × a variable drawn from ``sample``, with probability ``weight``."""

    sample: Sample
    scale: float
    weight: float

    def below(self, x: float) -> int:
        """How many of the scaled draws are at most x."""
        return int(np.searchsorted(self.sample.values, x / self.scale, side="right"))


@dataclass(frozen=True)
class Mixture:
    """A distribution of a per-user number: a mixture of scaled samples."""

    components: tuple[Component, ...]

    def cdf(self, x: float) -> float:
        return math.fsum(c.weight * c.below(x) / len(c.sample.values) for c in self.components)

    def mean_capped(self, cap: float) -> float:
        """E[min(X, cap)]: the draws below the cap as they are, the others at the cap."""
        total = 0.0
        for c in self.components:
            size, kept = len(c.sample.values), c.below(cap)
            capped = float(c.sample.sums[kept]) * c.scale + cap * (size - kept)
            total += c.weight * capped / size
        return total

    def quantile(self, q: float) -> float:
        """The smallest draw x (scaled) with P(X ≤ x) ≥ q, found by bisection on the CDF."""
        low, high = 0.0, max(c.scale * c.sample.values[-1] for c in self.components)
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            if middle in (low, high):
                break
            low, high = (low, middle) if self.cdf(middle) >= q else (middle, high)
        return max(
            c.scale * float(c.sample.values[c.below(high) - 1])
            for c in self.components
            if c.below(high)
        )

    def positive(self) -> Mixture:
        """X given X > 0 (the users an identity-level quantile ranks)."""
        kept = [c for c in self.components if c.sample.values[-1] > 0]
        total = math.fsum(c.weight for c in kept)
        return Mixture(tuple(Component(c.sample, c.scale, c.weight / total) for c in kept))


def pool(parts: Sequence[Mixture], shares: Sequence[float]) -> Mixture:
    """The mixture of the variants' distributions, each by its share of the users."""
    return Mixture(
        tuple(
            Component(c.sample, c.scale, c.weight * share)
            for part, share in zip(parts, shares, strict=True)
            for c in part.components
        )
    )


def _negative_binomial(mean: float, shape: float, top: int) -> np.ndarray:
    """P(P = j) for j = 0..top, P ~ Poisson(mean·Z), Z ~ Gamma(shape, mean 1)."""
    j = np.arange(top + 1, dtype=float)
    if mean == 0:
        return (j == 0).astype(float)
    if math.isinf(shape):
        logs = j * math.log(mean) - mean - np.array([math.lgamma(x + 1) for x in j])
    else:
        logs = (
            np.array([math.lgamma(x + shape) - math.lgamma(shape) - math.lgamma(x + 1) for x in j])
            + shape * math.log(shape / (shape + mean))
            + j * math.log(mean / (shape + mean))
        )
    return np.exp(logs)


def count_probabilities(units: Units, shape: float) -> np.ndarray:
    """P(N = n) for n = 0..n_max, N a plain stream's counted events per user.

    The counts of an active user are cut where their cumulative probability reaches
    1 − 1e-12 and renormalised, so that the cut does not depend on the active rate.
    """
    q, top = units.counted, 16
    while True:
        extra = _negative_binomial(units.extra * q, shape, top)
        active = (1 - q) * extra + q * np.concatenate([[0.0], extra[:-1]])
        cumulative = np.cumsum(active)
        if cumulative[-1] >= 1 - _TAIL:
            last = int(np.searchsorted(cumulative, 1 - _TAIL))
            counts = units.active * active[: last + 1] / cumulative[last]
            counts[0] += 1 - units.active
            return counts
        top *= 2


@cache
def _draws(sigma: float, column: int) -> np.ndarray:
    """The ``column``-th log-normal of every row (log-scale sd ``sigma``), from its own
    random stream, so T_n is the same whatever else is asked for; divided by their own
    average, so that T_n's draws have mean n exactly, as T_n does."""
    rng = np.random.default_rng(np.random.SeedSequence(_DRAW_STREAM, spawn_key=(column,)))
    draws = rng.lognormal(-(sigma**2) / 2, sigma, SUM_ROWS)
    return draws / draws.mean()


@cache
def _running(sigma: float, n: int) -> np.ndarray:
    """T_n per row, unsorted: T_{n-1} plus the n-th draw."""
    return _draws(sigma, 0) if n == 1 else _running(sigma, n - 1) + _draws(sigma, n - 1)


@cache
def _sums(sigma: float, n: int) -> Sample:
    """The draws of T_n, sorted."""
    return Sample.of(_running(sigma, n))


@cache
def _point(x: float) -> Sample:
    return Sample.of(np.array([x]))


def per_user(
    aggregation: Aggregation,
    units: Sequence[Units],
    scales: Sequence[float],
    spec: StreamSpec,
    shape: float,
) -> list[Mixture]:
    """The distribution of a plain stream's part per user (count, occurrence, sum or mean)
    for each pair of ``units`` and value ``scales`` (one per variant)."""
    return [
        _per_user(aggregation, count_probabilities(u, shape), spec, scale)
        for u, scale in zip(units, scales, strict=True)
    ]


def _per_user(
    aggregation: Aggregation, probabilities: np.ndarray, spec: StreamSpec, scale: float
) -> Mixture:
    zero = Component(_point(0.0), 1.0, float(probabilities[0]))
    if aggregation is Aggregation.OCCURRENCE:
        return Mixture((zero, Component(_point(1.0), 1.0, 1 - float(probabilities[0]))))
    counts = range(1, len(probabilities))
    if aggregation is Aggregation.COUNT:
        return Mixture(
            (zero, *(Component(_point(float(n)), 1.0, float(probabilities[n])) for n in counts))
        )
    classes = [(1 - spec.whale_share, 1.0), (spec.whale_share, spec.whale_multiplier)]
    per_count = (lambda n: n) if aggregation is Aggregation.MEAN else (lambda n: 1)
    return Mixture(
        (
            zero,
            *(
                Component(
                    _sums(spec.value_sigma, n),
                    scale * spec.base_value * multiplier / per_count(n),
                    share * float(probabilities[n]),
                )
                for n in counts
                for share, multiplier in classes
                if share > 0
            ),
        )
    )
