"""When things happen: user arrivals over the days, events before and after the first exposure.

Delays follow a truncated exponential on [1 s, horizon]: most activity comes soon after a
user first sees the flag, and none ever coincides with or precedes it (what first-touch
assignment and the metric windows rely on). Its distribution function is exact, so the
share of events inside a metric's window is known (``delay_cdf``), and so is the chance of a
child event's (its parent's delay plus a uniform gap, ``child_window_points``).
Events before the first exposure are spread uniformly over the pre-period, ending 10 minutes
before it, so that no child of theirs reaches the exposure.
"""

from __future__ import annotations

import math

import numpy as np

MIN_DELAY_SECONDS = 1.0
# The delays' mean is about horizon / 4: a visible decay, with a tail up to the horizon.
_DELAY_DECAYS_PER_HORIZON = 4.0
# Arrivals decay over the days (front-loaded, as when an experiment reaches regulars first).
_ARRIVAL_DECAY = 1.5
# A child event follows its parent by a uniform gap in this range (seconds).
CHILD_GAP_SECONDS = (1.0, 300.0)
# Events before the first exposure end this long before it (longer than any child gap).
PRE_EXPOSURE_GAP_SECONDS = 600.0
# Gauss–Legendre nodes for the window boundary a child gap straddles (its integrand is smooth).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)


def _delay_scale(horizon_seconds: float) -> float:
    return horizon_seconds / _DELAY_DECAYS_PER_HORIZON


def delay_cdf(hours: float, horizon_hours: float) -> float:
    """P(delay < ``hours``): the share of a user's events inside a window of that length."""
    return _cdf_seconds(hours * 3600.0, horizon_hours * 3600.0)


def _cdf_seconds(x: float, horizon: float) -> float:
    x = min(x, horizon)
    if x <= MIN_DELAY_SECONDS:
        return 0.0
    scale = _delay_scale(horizon)
    span = horizon - MIN_DELAY_SECONDS
    return -math.expm1(-(x - MIN_DELAY_SECONDS) / scale) / -math.expm1(-span / scale)


def _density_seconds(x: np.ndarray, horizon: float) -> np.ndarray:
    scale = _delay_scale(horizon)
    span = horizon - MIN_DELAY_SECONDS
    return np.exp(-(x - MIN_DELAY_SECONDS) / scale) / (scale * -math.expm1(-span / scale))


def child_window_points(
    window_hours: float | None, horizon_hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """Values h and weights w with Σ w·g(h) = E[g(h(D))] over a parent's delay D, where h(D)
    is the chance that a child of it falls inside the window: P(D + gap ≤ window), the gap
    uniform on ``CHILD_GAP_SECONDS``.

    h is 1 for parents early enough, 0 for parents too late, linear in between: the first two
    are exact masses of the delay distribution, the short stretch between is integrated.
    """
    if window_hours is None:
        return np.ones(1), np.ones(1)
    horizon, window = horizon_hours * 3600.0, window_hours * 3600.0
    low_gap, high_gap = CHILD_GAP_SECONDS
    inside = _cdf_seconds(window - high_gap, horizon)
    outside = 1.0 - _cdf_seconds(window - low_gap, horizon)
    low = max(MIN_DELAY_SECONDS, window - high_gap)
    high = min(horizon, window - low_gap)
    if not low < high:
        return np.array([1.0, 0.0]), np.array([inside, outside])
    x = (high - low) / 2 * _NODES + (high + low) / 2
    h = np.clip((window - x - low_gap) / (high_gap - low_gap), 0.0, 1.0)
    weights = (high - low) / 2 * _WEIGHTS * _density_seconds(x, horizon)
    return np.concatenate([[1.0, 0.0], h]), np.concatenate([[inside, outside], weights])


def sample_delays(rng: np.random.Generator, n: int, horizon_hours: float) -> np.ndarray:
    """Seconds after the first exposure, by inverting ``delay_cdf``."""
    horizon = horizon_hours * 3600.0
    scale = _delay_scale(horizon)
    top = -math.expm1(-(horizon - MIN_DELAY_SECONDS) / scale)
    return MIN_DELAY_SECONDS - scale * np.log1p(-rng.random(n) * top)


def sample_arrivals(rng: np.random.Generator, n: int, days: float) -> np.ndarray:
    """Seconds after the start at which each user is first exposed, densest on day one."""
    top = -math.expm1(-_ARRIVAL_DECAY)
    share = -np.log1p(-rng.random(n) * top) / _ARRIVAL_DECAY
    return share * days * 86_400.0


def sample_lead_times(rng: np.random.Generator, n: int, pre_days: float) -> np.ndarray:
    """Seconds *before* the first exposure of the pre-period's events (none may count, but a
    regression adjustment reads them)."""
    return rng.uniform(PRE_EXPOSURE_GAP_SECONDS, pre_days * 86_400.0, size=n)


def sample_child_gaps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds from a parent event to each of its children."""
    return rng.uniform(*CHILD_GAP_SECONDS, size=n)
