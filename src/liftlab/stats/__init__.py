"""Statistics over per-variant sufficient statistics: numpy and scipy only.

No I/O, no Django, no SQL: a data scientist can feed these functions the
numbers of their own warehouse. See docs/statistics.md for the methods.
"""

from liftlab.stats.comparison import (
    Comparison,
    relative_lift,
    two_proportion_z_test,
    welch_t_test,
)
from liftlab.stats.srm import SrmResult, sample_ratio_test
from liftlab.stats.summary import SampleSummary

__all__ = [
    "Comparison",
    "SampleSummary",
    "SrmResult",
    "relative_lift",
    "sample_ratio_test",
    "two_proportion_z_test",
    "welch_t_test",
]
