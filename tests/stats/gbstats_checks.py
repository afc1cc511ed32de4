"""The checks every kind of summary runs against gbstats: all methods, both scales, one request.

Shared by test_stats_gbstats.py (sample means, proportions) and test_stats_kinds_gbstats.py
(ratios, regression adjustment, quantiles).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from liftlab.stats import Prior, Summary, effect

from .gbstats_arms import comparisons
from .gbstats_reference import (
    bayesian,
    excluded,
    fixed,
    gbstats_answers,
    liftlab_answers,
    mismatches,
    sequential,
)
from .gbstats_worker import GbstatsWorker, Spec
from .stats_raw_data import ALPHAS

TUNINGS = st.sampled_from([100.0, 5000.0, 1e6])
# The prior's mean and sd in units of the effect's standard error: from dominant to negligible.
PRIOR_MEANS = st.sampled_from([0.0, -2.0, 0.5, 3.0])
PRIOR_SDS = st.sampled_from([0.1, 1.0, 30.0])


@st.composite
def method_specs(draw: st.DrawFn, control: Summary, treatment: Summary) -> list[Spec]:
    """Every method on both scales, a proper prior scaled to the effect so that it matters."""
    alpha, tuning, inverse = draw(ALPHAS), draw(TUNINGS), draw(st.booleans())
    prior_mean, prior_sd = draw(PRIOR_MEANS), draw(PRIOR_SDS)
    specs = []
    for difference in ("relative", "absolute"):
        se = float(effect(control, treatment, difference).se)
        unit = se if np.isfinite(se) and se > 0 else 1.0
        proper = Prior(prior_mean * unit, prior_sd * unit)
        specs += [
            fixed(difference, alpha),
            sequential(difference, alpha, tuning),
            bayesian(difference, alpha, Prior(), inverse),
            bayesian(difference, alpha, proper, inverse),
        ]
    return specs


def assert_agrees_with_gbstats(
    gbstats: GbstatsWorker, control: Summary, treatment: Summary, specs: list[Spec]
) -> list[str]:
    """Each spec agrees unless its inputs are a documented difference; returns what happened."""
    answer = gbstats.run(specs, comparisons(control, treatment))
    outcomes = []
    for spec, results in zip(specs, answer["results"], strict=True):
        reason = str(excluded(spec, control, treatment))
        outcomes.append(reason or f"compared: {spec['method']}")
        if reason:
            continue
        theirs = gbstats_answers(spec, results)
        assert theirs["answered"].all(), (spec, results)
        ours = liftlab_answers(spec, effect(control, treatment, spec["difference"]))
        bad = {
            field: (float(ours[field]), float(theirs[field][0]))
            for field, wrong in mismatches(ours, theirs).items()
            if wrong.any()
        }
        assert not bad, (spec, bad)
    return outcomes


def gbstats_and_liftlab(
    gbstats: GbstatsWorker, spec: Spec, control: Summary, treatment: Summary
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """gbstats' result (as the worker reports it) and liftlab's, for one comparison."""
    (results,) = gbstats.run([spec], comparisons(control, treatment))["results"]
    ours = liftlab_answers(spec, effect(control, treatment, spec["difference"]))
    return results[0], {field: float(value) for field, value in ours.items()}
