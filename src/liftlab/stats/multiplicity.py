"""Multiple-testing corrections over a family of comparisons: Holm and Benjamini–Hochberg.

``adjust`` gives the adjusted p-values statsmodels' ``multipletests`` gives (``holm``,
``fdr_bh``). ``adjusted_alpha`` gives, per comparison, the level its adjusted interval is drawn
at: alpha·p / p_adjusted. For Holm that is the threshold the step-down procedure tested the
comparison at (alpha/m for the smallest p-value: Bonferroni), for Benjamini–Hochberg the
step-up threshold (alpha·rank/m). Because a test's interval at level 1 − a excludes 0 exactly
when p < a, the adjusted interval excludes 0 exactly when the adjusted p-value is below alpha.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt


class Correction(StrEnum):
    NONE = "none"
    HOLM = "holm"
    BENJAMINI_HOCHBERG = "benjamini_hochberg"


def adjust(p_values: npt.ArrayLike, correction: Correction | str) -> np.ndarray:
    """Adjusted p-values of one family (a 1-d array); nan p-values stay nan and do not count."""
    correction = Correction(correction)
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("a family of p-values is a one-dimensional array")
    adjusted = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    tested = p[present]
    m = tested.size
    if correction is Correction.NONE or m == 0:
        adjusted[present] = tested
        return adjusted
    order = np.argsort(tested, kind="stable")
    ranked = tested[order]
    rank = np.arange(1, m + 1, dtype=np.float64)
    if correction is Correction.HOLM:
        steps = np.maximum.accumulate(np.minimum((m - rank + 1.0) * ranked, 1.0))
    else:
        steps = np.minimum.accumulate(np.minimum(m * ranked / rank, 1.0)[::-1])[::-1]
    in_place = np.empty(m)
    in_place[order] = steps
    adjusted[present] = in_place
    return adjusted


def adjusted_alpha(p_values: npt.ArrayLike, adjusted: npt.ArrayLike, alpha: float) -> np.ndarray:
    """The level of each comparison's adjusted interval: alpha·p / p_adjusted.

    Where the adjusted p-value is 0 (so is p) any level gives the same verdict; the
    Bonferroni level alpha/m is used there. nan where p is nan.
    """
    p = np.asarray(p_values, dtype=np.float64)
    p_adjusted = np.asarray(adjusted, dtype=np.float64)
    m = max(int(np.sum(~np.isnan(p))), 1)
    with np.errstate(all="ignore"):
        level = np.where(p_adjusted > 0, alpha * (p / p_adjusted), alpha / m)
    return np.where(np.isnan(p), np.nan, np.minimum(level, alpha))
