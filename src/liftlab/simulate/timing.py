"""When things happen: user arrivals over the days, events after the first exposure.

Delays follow a truncated exponential on [1 s, horizon]: most activity comes soon after a
user first sees the flag, and none ever coincides with or precedes it (what first-touch
assignment and the metric windows rely on). Its distribution function is exact, so the
share of events inside a metric's window is known (``delay_cdf``).
"""

from __future__ import annotations

import math

import numpy as np

MIN_DELAY_SECONDS = 1.0
# The delays' mean is about horizon / 4: a visible decay, with a tail up to the horizon.
_DELAY_DECAYS_PER_HORIZON = 4.0
# Arrivals decay over the days (front-loaded, as when an experiment reaches regulars first).
_ARRIVAL_DECAY = 1.5
PRE_EXPOSURE_SECONDS = (60.0, 86_400.0)


def _delay_scale(horizon_seconds: float) -> float:
    return horizon_seconds / _DELAY_DECAYS_PER_HORIZON


def delay_cdf(hours: float, horizon_hours: float) -> float:
    """P(delay < ``hours``): the share of a user's events inside a window of that length."""
    horizon = horizon_hours * 3600.0
    x = min(hours * 3600.0, horizon)
    if x <= MIN_DELAY_SECONDS:
        return 0.0
    scale = _delay_scale(horizon)
    span = horizon - MIN_DELAY_SECONDS
    return -math.expm1(-(x - MIN_DELAY_SECONDS) / scale) / -math.expm1(-span / scale)


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


def sample_lead_times(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds *before* the first exposure for the events that must not count."""
    return rng.uniform(*PRE_EXPOSURE_SECONDS, size=n)
