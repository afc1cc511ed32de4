"""Who each user is: latent traits that drive what they do, before and after exposure.

Each user has a *propensity* Z (Gamma with mean 1 and shape k, shared by every stream: an
engaged user does more of everything) and, per stream, an *activity draw* (active when it is
below the stream's active rate) and a *whale draw* (a whale when it is below the whale
share). Before the first exposure the user has traits too: with probability ρ
(``pre_post_correlation``) the same ones, carried over, otherwise drawn afresh. Each trait's
correlation between the two periods is then exactly ρ, and for any per-user number X,
Cov(X_before, X_after) = ρ · Cov(E[X_before | traits], E[X_after | traits]).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Traits:
    """One period's traits of a chunk's users (arrays indexed by user)."""

    propensity: np.ndarray
    activity: dict[str, np.ndarray]  # event -> uniform draw
    whale: dict[str, np.ndarray]  # event -> uniform draw


def _propensity(rng: np.random.Generator, n: int, shape: float) -> np.ndarray:
    return np.ones(n) if math.isinf(shape) else rng.gamma(shape, 1 / shape, n)


def _fresh(rng: np.random.Generator, n: int, events: Sequence[str], shape: float) -> Traits:
    return Traits(
        _propensity(rng, n, shape),
        {event: rng.random(n) for event in events},
        {event: rng.random(n) for event in events},
    )


def draw_traits(
    rng: np.random.Generator, n: int, events: Sequence[str], shape: float, carry_over: float
) -> tuple[Traits, Traits]:
    """(after the first exposure, before it): the second keeps each user's traits with
    probability ``carry_over`` and draws the others afresh."""
    after = _fresh(rng, n, events, shape)
    other = _fresh(rng, n, events, shape)
    kept = rng.random(n) < carry_over

    def mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(kept, a, b)

    before = Traits(
        mix(after.propensity, other.propensity),
        {e: mix(after.activity[e], other.activity[e]) for e in events},
        {e: mix(after.whale[e], other.whale[e]) for e in events},
    )
    return after, before
