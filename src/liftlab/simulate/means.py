"""Closed forms: what one part of a metric is worth per user, and quantiles of event values.

A part counts some of a stream's events. Per user they come in *units*: an active user
(probability ``a``) has 1 + Poisson(λ·Z) units, Z the user's propensity, Gamma with mean 1
and shape k. For a plain stream a unit is one event, counted with probability ``q`` (filter
share × window share); for a child stream a unit is one parent event, followed by
Poisson(κ) children, each counted with its filter share ``f`` and with the chance ``h`` that
it falls inside the window given its parent's delay. With ``c`` the mean counted events per
unit and ``φ`` the chance that a unit adds none:

    count      = a·(1 + λ)·c
    occurrence = 1 − P0,   P0 = 1 − a + a·φ·L(λ·(1 − φ))     with L(t) = E[e^(−tZ)] = (1 + t/k)^(−k)
    sum        = count·s·m
    mean       = occurrence·s·m                              (values do not depend on counts)

where ``s`` is the value scale and ``m`` the stream's mean value. Plain: c = q, φ = 1 − q.
Child: c = κ·f·E[h(D)], φ = E[exp(−κ·f·h(D))] over the parent's delay D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from liftlab.analysis.definition import Aggregation
from liftlab.simulate.plan import StreamSpec

_STANDARD = NormalDist()
_BISECTIONS = 200


def laplace(t: float, shape: float) -> float:
    """E[exp(−t·Z)] for the propensity Z ~ Gamma(shape, mean 1); ``math.inf``: Z = 1."""
    if math.isinf(shape):
        return math.exp(-t)
    return math.exp(-shape * math.log1p(t / shape))


@dataclass(frozen=True)
class Units:
    """How a part's counted events arise per user (see the module docstring)."""

    active: float  # a
    extra: float  # λ: units per active user are 1 + Poisson(λ·Z)
    counted: float  # c: mean counted events per unit
    survival: float  # φ: P(a unit adds no counted event)

    def none_counted(self, shape: float) -> float:
        """P0: the chance that a user has no counted event at all."""
        survive = self.survival * laplace(self.extra * (1 - self.survival), shape)
        return 1 - self.active + self.active * survive

    def count(self) -> float:
        return self.active * (1 + self.extra) * self.counted


def part_mean(aggregation: Aggregation, units: Units, value: float, shape: float) -> float:
    """A part's true per-user mean; ``value`` is the mean value of a counted event (s·m)."""
    if aggregation is Aggregation.COUNT:
        return units.count()
    if aggregation is Aggregation.SUM:
        return units.count() * value
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
