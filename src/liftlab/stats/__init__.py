"""Statistics over per-variant sufficient statistics: numpy and scipy only.

No I/O, no Django, no SQL: a data scientist can feed these functions the numbers of their
own warehouse. An arm is a summary per kind of metric (``SampleSummary``, ``ProportionSummary``,
``RatioSummary``, ``QuantileSummary``, ``ClusteredQuantileSummary``, and the regression-adjusted
``AdjustedSummary`` and ``AdjustedRatioSummary``, whose θ ``pool_theta`` sets per comparison);
``effect`` turns two arms into an ``Effect`` on a scale; a method (``FixedHorizon``,
``Sequential``, ``Bayesian``) answers from it; ``multiplicity`` corrects a family; ``power``
plans a comparison before the data (identities needed, the effect detectable).
See docs/statistics.md and docs/power.md for the methods.
"""

from liftlab.stats.adjusted import AdjustedRatioSummary, AdjustedSummary, pool_theta
from liftlab.stats.bayesian import Bayesian, Prior
from liftlab.stats.effects import Effect, Scale, effect, variance_reduction
from liftlab.stats.frequentist import FixedHorizon, Sequential
from liftlab.stats.multiplicity import Correction, adjust, adjusted_alpha
from liftlab.stats.power import (
    Design,
    FixedHorizonDesign,
    PlannedComparison,
    SequentialDesign,
    identities_needed,
    minimum_detectable_effect,
    standardised_effect,
)
from liftlab.stats.quantile import (
    ClusteredQuantileSummary,
    QuantileSummary,
    order_statistic_rank,
    quantile_levels,
)
from liftlab.stats.ratio import RatioSummary
from liftlab.stats.srm import SrmResult, sample_ratio_test
from liftlab.stats.summary import ProportionSummary, SampleSummary, Summary

__all__ = [
    "AdjustedRatioSummary",
    "AdjustedSummary",
    "Bayesian",
    "ClusteredQuantileSummary",
    "Correction",
    "Design",
    "Effect",
    "FixedHorizon",
    "FixedHorizonDesign",
    "PlannedComparison",
    "Prior",
    "ProportionSummary",
    "QuantileSummary",
    "RatioSummary",
    "SampleSummary",
    "Scale",
    "Sequential",
    "SequentialDesign",
    "SrmResult",
    "Summary",
    "adjust",
    "adjusted_alpha",
    "effect",
    "identities_needed",
    "minimum_detectable_effect",
    "order_statistic_rank",
    "pool_theta",
    "quantile_levels",
    "sample_ratio_test",
    "standardised_effect",
    "variance_reduction",
]
