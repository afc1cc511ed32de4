"""From a metric's per-variant moments to the arm summaries its statistic compares.

The metric's kind picks the summary: a sample mean, a proportion, a ratio or a quantile, and
a regression-adjusted (CUPED) variant of the first three where the moments carry a covariate.
A regression-adjusted pair shares one θ, pooled over its two arms, so pairs are built together:
the control once against all treatments, one θ per treatment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from liftlab.analysis.definition import MetricType
from liftlab.analysis.results import Moments
from liftlab.stats import (
    AdjustedRatioSummary,
    AdjustedSummary,
    ClusteredQuantileSummary,
    ProportionSummary,
    QuantileSummary,
    RatioSummary,
    SampleSummary,
    Summary,
    pool_theta,
)


@dataclass(frozen=True)
class Pair:
    """The control arm (one element) against every treatment (one element each).

    ``unadjusted`` is the same pair without regression adjustment, for the estimate the
    document shows beside the adjusted one; None when the metric is not adjusted.
    """

    control: Summary
    treatment: Summary
    unadjusted: Pair | None = None


def _listed(moments: Sequence[Moments], field: str) -> list[float]:
    return [getattr(m, field) for m in moments]


def _plain(metric_type: MetricType, moments: Sequence[Moments]) -> Summary:
    """The per-identity numbers' summary: a proportion for conversions, else a sample mean."""
    n = _listed(moments, "n")
    if metric_type is MetricType.CONVERSION:
        return ProportionSummary.of(n, _listed(moments, "sum"))
    return SampleSummary.of(n, _listed(moments, "sum"), _listed(moments, "sum_sq"))


def _covariate(metric_type: MetricType, moments: Sequence[Moments]) -> Summary:
    """The pre-period numbers' summary, of the same kind as the post-period one."""
    n = _listed(moments, "n")
    sums = [m.covariate.sum for m in moments]  # type: ignore[union-attr]
    if metric_type is MetricType.CONVERSION:
        return ProportionSummary.of(n, sums)
    return SampleSummary.of(n, sums, [m.covariate.sum_sq for m in moments])  # type: ignore[union-attr]


def _denominator(moments: Sequence[Moments]) -> SampleSummary:
    d = [m.denominator for m in moments]
    return SampleSummary.of(
        _listed(moments, "n"),
        [x.sum for x in d],  # type: ignore[union-attr]
        [x.sum_sq for x in d],  # type: ignore[union-attr]
    )


def _ratio(moments: Sequence[Moments]) -> RatioSummary:
    d = [m.denominator for m in moments]
    return RatioSummary.of(
        _listed(moments, "n"),
        _listed(moments, "sum"),
        _listed(moments, "sum_sq"),
        [x.sum for x in d],  # type: ignore[union-attr]
        [x.sum_sq for x in d],  # type: ignore[union-attr]
        [x.cross for x in d],  # type: ignore[union-attr]
    )


def _adjusted(metric_type: MetricType, moments: Sequence[Moments]) -> AdjustedSummary:
    return AdjustedSummary.of(
        _plain(metric_type, moments),
        _covariate(metric_type, moments),
        [m.covariate.cross for m in moments],  # type: ignore[union-attr]
    )


def _adjusted_ratio(moments: Sequence[Moments]) -> AdjustedRatioSummary:
    n = _listed(moments, "n")
    pre = [m.covariate for m in moments]
    rc = [m.ratio_covariate for m in moments]

    def crosses(field: str) -> list[float]:
        return [getattr(x, field) for x in rc]

    return AdjustedRatioSummary.of(
        SampleSummary.of(n, _listed(moments, "sum"), _listed(moments, "sum_sq")),
        _denominator(moments),
        SampleSummary.of(n, [x.sum for x in pre], [x.sum_sq for x in pre]),  # type: ignore[union-attr]
        SampleSummary.of(n, crosses("denominator_pre_sum"), crosses("denominator_pre_sum_sq")),
        [x.cross for x in pre],  # type: ignore[union-attr]
        crosses("denominator_denominator_pre"),
        crosses("numerator_pre_denominator_pre"),
        [m.denominator.cross for m in moments],  # type: ignore[union-attr]
        crosses("numerator_denominator_pre"),
        crosses("numerator_pre_denominator"),
    )


def _quantile(moments: Sequence[Moments], nu: float) -> Summary:
    q = [m.quantile for m in moments]

    def listed(field: str) -> list[float]:
        return [getattr(x, field) for x in q]

    common = (listed("n"), nu, listed("quantile"), listed("lower"), listed("upper"))
    if all(x.clusters for x in q):  # type: ignore[union-attr]
        return ClusteredQuantileSummary.of(
            *common,
            listed("clusters"),
            listed("below_sum"),
            listed("below_sum_sq"),
            listed("events_sum_sq"),
            listed("below_events_sum"),
        )
    return QuantileSummary.of(*common)


def arm(metric_type: MetricType, moments: Sequence[Moments], nu: float | None = None) -> Summary:
    """The unadjusted summary of the listed arms (what each variant's row of the document shows)."""
    if metric_type is MetricType.QUANTILE:
        return _quantile(moments, nu if nu is not None else 0.5)
    if metric_type is MetricType.RATIO:
        return _ratio(moments)
    return _plain(metric_type, moments)


def _adjusted_arm(metric_type: MetricType, moments: Sequence[Moments]) -> Summary:
    if metric_type is MetricType.RATIO:
        return _adjusted_ratio(moments)
    return _adjusted(metric_type, moments)


def pair(
    metric_type: MetricType,
    control: Moments,
    treatments: Sequence[Moments],
    nu: float | None = None,
) -> Pair:
    """The control against every treatment, regression-adjusted where the moments allow it."""
    plain = Pair(arm(metric_type, [control], nu), arm(metric_type, treatments, nu))
    if control.covariate is None or metric_type is MetricType.QUANTILE:
        return plain
    adjusted_c, adjusted_t = pool_theta(
        _adjusted_arm(metric_type, [control]), _adjusted_arm(metric_type, treatments)
    )
    return Pair(adjusted_c, adjusted_t, unadjusted=plain)
