"""Sample-ratio mismatch: do the variants' counts fit the configured split?

A mismatch means assignment or exposure logging is broken, which voids every
other figure of the experiment, so this check is reported beside the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class SrmResult:
    """Pearson's chi-square goodness of fit: statistic, degrees of freedom, p-value."""

    chi2: float
    df: int
    p_value: float


def sample_ratio_test(
    observed_counts: Sequence[int], expected_weights: Sequence[float]
) -> SrmResult:
    """Chi-square test of variant counts against weights (any positive scale).

    Variants with weight 0 take no part unless someone landed in them, which is a
    certain mismatch (chi2 = inf, p = 0). With nobody counted, or fewer than two
    weighted variants, there is nothing to test: chi2 and p are nan (chi2 is 0
    with one weighted variant). Invalid counts or weights raise ValueError.
    """
    counts, weights = _checked(observed_counts, expected_weights)
    total = counts.sum()
    weighted = weights > 0
    df = int(weighted.sum()) - 1
    if total == 0:
        return SrmResult(float("nan"), df, float("nan"))
    if np.any(counts[~weighted] > 0):
        return SrmResult(float("inf"), df, 0.0)
    expected = total * weights[weighted] / weights.sum()
    chi2 = float(np.sum((counts[weighted] - expected) ** 2 / expected))
    p_value = float(special.chdtrc(df, chi2)) if df > 0 else float("nan")
    return SrmResult(chi2, df, p_value)


def _checked(
    observed_counts: Sequence[int], expected_weights: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and weights as float arrays, refused when they cannot describe a split."""
    counts = np.asarray(observed_counts, dtype=np.float64)
    weights = np.asarray(expected_weights, dtype=np.float64)
    if counts.ndim != 1 or counts.shape != weights.shape:
        raise ValueError("observed_counts and expected_weights must be two lists of one length")
    if not np.all(np.isfinite(counts) & (counts >= 0)):
        raise ValueError("observed_counts must be finite and non-negative")
    if not np.all(np.isfinite(weights) & (weights >= 0)) or not np.any(weights > 0):
        raise ValueError("expected_weights must be finite, non-negative and not all zero")
    return counts, weights
