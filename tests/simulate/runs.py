"""Simulated runs the statistical tests share (each generated and analysed once per process),
and the checks they make: 5 standard errors either way."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np

from liftlab.simulate import SimulationPlan, generate

from .reference import Analysis, analyse

Z = 5.0


class Run:
    def __init__(self, plan: SimulationPlan) -> None:
        self.plan = plan
        chunks = list(generate(plan))
        self.counts = sum((c.counts for c in chunks[1:]), chunks[0].counts)
        self.events = [e for c in chunks for e in c.events]
        self.analysis: Analysis = analyse(self.events, plan)


@cache
def run_of(make: Callable[[], SimulationPlan]) -> Run:
    """The run of ``make()``'s plan (``make`` takes no arguments: a plan's defaults)."""
    return Run(make())


def within(observed: float, expected: float, standard_error: float) -> bool:
    return abs(observed - expected) <= Z * standard_error


def binomial_se(n: int, p: float) -> float:
    return math.sqrt(n * p * (1 - p))


def ratio_and_se(top: np.ndarray, bottom: np.ndarray) -> tuple[float, float]:
    """Σ top / Σ bottom over identities, with its delta-method standard error."""
    ratio = top.sum() / bottom.sum()
    residual = top - ratio * bottom
    return ratio, residual.std(ddof=1) / (math.sqrt(len(top)) * bottom.mean())
