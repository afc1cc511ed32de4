"""Closed forms: what one part of a metric is worth per user, and quantiles of event values.

A part counts some of a stream's events. Per user they come in *units*: an active user
(probability ``a``) has 1 + Poisson(λ·Z) units, Z the user's propensity, Gamma with mean 1
and shape k. For a plain stream a unit is one event, counted with probability ``q`` (filter
share × window share); for a child stream a unit is one parent event, followed by
Poisson(κ·Z) children (an engaged user also clicks more per session), each counted with its
filter share ``f`` and with the chance ``h`` that it falls inside the window given its
parent's delay. With ``c`` the mean counted events per unit (at Z = 1 for a child) and
``φ`` the chance that a unit adds none:

    plain:  count = a·(1 + λ)·c                 P0 = 1 − a + a·φ·L(λ·(1 − φ))
    child:  count = a·(1 + λ·(1 + 1/k))·c       P0 = 1 − a + a·E[φ(Z)·exp(−λ·Z·(1 − φ(Z)))]

    occurrence = 1 − P0,   sum = count·s·m,   mean = occurrence·s·m   (values do not depend
    on counts)

with L(t) = E[e^(−tZ)] = (1 + t/k)^(−k), E[Z²] = 1 + 1/k, ``s`` the value scale and ``m``
the stream's mean value. Plain: c = q, φ = 1 − q. Child: c = κ·f·E[h(D)] and
φ(Z) = E[exp(−κ·f·h(D)·Z)] over the parent's delay D; the expectation over Z is a
Gauss–Laguerre quadrature (exact for polynomials of degree 127 in Z).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import numpy as np
from scipy.special import roots_genlaguerre

from liftlab.analysis.definition import Aggregation
from liftlab.simulate.plan import StreamSpec

_STANDARD = NormalDist()
_BISECTIONS = 200
_PROPENSITY_NODES = 64


def laplace(t: float, shape: float) -> float:
    """E[exp(−t·Z)] for the propensity Z ~ Gamma(shape, mean 1); ``math.inf``: Z = 1."""
    if math.isinf(shape):
        return math.exp(-t)
    return math.exp(-shape * math.log1p(t / shape))


def second_moment(shape: float) -> float:
    """E[Z²] = 1 + Var(Z) = 1 + 1/shape."""
    return 1.0 + 1.0 / shape


@cache
def propensity_points(shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Points z and weights w with Σ w·g(z) = E[g(Z)], Z ~ Gamma(shape, mean 1)."""
    if math.isinf(shape):
        return np.ones(1), np.ones(1)
    x, w = roots_genlaguerre(_PROPENSITY_NODES, shape - 1)
    return x / shape, w / w.sum()


@dataclass(frozen=True)
class Units:
    """How a plain stream's part counts events per user (see the module docstring)."""

    active: float  # a
    extra: float  # λ: units per active user are 1 + Poisson(λ·Z)
    counted: float  # c = q: P(an event is counted)
    survival: float  # φ = 1 − q

    def none_counted(self, shape: float) -> float:
        """P0: the chance that a user has no counted event at all."""
        survive = self.survival * laplace(self.extra * (1 - self.survival), shape)
        return 1 - self.active + self.active * survive

    def count(self, shape: float) -> float:
        """The mean counted events per user (the propensity's spread plays no part)."""
        return self.active * (1 + self.extra) * self.counted


@dataclass(frozen=True)
class ChildUnits:
    """How a child stream's part counts events per user: per parent event, Poisson(κ·Z)."""

    active: float  # the parent's a
    extra: float  # the parent's λ
    counted: float  # c = κ·f·E[h(D)]: counted children per parent event at Z = 1
    survival: Callable[[np.ndarray], np.ndarray]  # φ(Z) for an array of propensities

    def none_counted(self, shape: float) -> float:
        z, w = propensity_points(shape)
        phi = self.survival(z)
        survive = float(np.dot(w, phi * np.exp(-self.extra * z * (1 - phi))))
        return 1 - self.active + self.active * survive

    def count(self, shape: float) -> float:
        return self.active * (1 + self.extra * second_moment(shape)) * self.counted


def part_mean(
    aggregation: Aggregation, units: Units | ChildUnits, value: float, shape: float
) -> float:
    """A part's true per-user mean; ``value`` is the mean value of a counted event (s·m)."""
    if aggregation is Aggregation.COUNT:
        return units.count(shape)
    if aggregation is Aggregation.SUM:
        return units.count(shape) * value
    reached = 1 - units.none_counted(shape)
    return reached * value if aggregation is Aggregation.MEAN else reached


def value_cdf(spec: StreamSpec, scale: float, x: float) -> float:
    """P(one event's value ≤ x): a mixture of two log-normals, whales and the others."""
    if x <= 0:
        return 0.0
    share, sigma = spec.whale_share, spec.value_sigma
    total = 0.0
    for weight, multiplier in ((1 - share, 1.0), (share, spec.whale_multiplier)):
        if weight == 0:
            continue
        mean = scale * spec.base_value * multiplier
        if sigma == 0:
            total += weight * (x >= mean)
        else:
            total += weight * _STANDARD.cdf((math.log(x / mean) + sigma**2 / 2) / sigma)
    return total


def value_quantile(spec: StreamSpec, scale: float, q: float) -> float:
    """The ``q`` quantile of one counted event's value: the smallest x with P(V ≤ x) ≥ q.

    Counted events are a sample of the stream's events independent of their values, so this
    is the quantile of the value distribution itself; found by bisection on its exact CDF.
    """
    low, high = 0.0, scale * spec.base_value * spec.whale_multiplier
    while value_cdf(spec, scale, high) < q:
        high *= 2
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (low, middle) if value_cdf(spec, scale, middle) >= q else (middle, high)
    return high
