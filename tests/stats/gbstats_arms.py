"""Each kind of liftlab summary as the gbstats statistic it is checked against.

A summary of shape s becomes prod(s) comparisons, element by element, each arm spelled as
``gbstats_worker`` reads it: ``[n, sum, sum_sq]`` for a mean or a proportion, the keyword
arguments of the gbstats statistic for the other kinds (see ``gbstats_worker.KINDS``).
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np

from liftlab.stats import (
    AdjustedRatioSummary,
    AdjustedSummary,
    ClusteredQuantileSummary,
    ProportionSummary,
    QuantileSummary,
    RatioSummary,
    SampleSummary,
    Summary,
)

from .gbstats_worker import Comparison


def comparisons(control: Summary, treatment: Summary) -> list[Comparison]:
    """One worker comparison per element of the two arms, broadcast to one shape."""
    shape = np.broadcast_shapes(np.shape(control.n), np.shape(treatment.n))
    kind, control_fields = gbstats_arm(control)
    _, treatment_fields = gbstats_arm(treatment)
    return [
        {
            "statistic": kind,
            "control": _element(control_fields, index, shape),
            "treatment": _element(treatment_fields, index, shape),
        }
        for index in np.ndindex(shape)
    ]


def _element(fields: Any, index: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """Element ``index`` of every array in ``fields`` as a float; None stays None."""
    if isinstance(fields, dict):
        return {name: _element(value, index, shape) for name, value in fields.items()}
    if isinstance(fields, list):
        return [_element(value, index, shape) for value in fields]
    if fields is None:
        return None
    return float(np.broadcast_to(fields, shape)[index])


@singledispatch
def gbstats_arm(summary: Any) -> tuple[str, Any]:
    """(the worker's statistic kind, the arm's fields) for a liftlab summary."""
    raise TypeError(f"no gbstats statistic for {type(summary).__name__}")


@gbstats_arm.register
def _(summary: SampleSummary) -> tuple[str, Any]:
    return "mean", [summary.n, summary.sum, summary.sum_sq]


@gbstats_arm.register
def _(summary: ProportionSummary) -> tuple[str, Any]:
    return "proportion", [summary.n, summary.sum, summary.sum]  # 0/1 values: Σx² is Σx


def _nested(summary: SampleSummary | ProportionSummary) -> dict[str, Any]:
    """A part of a composite statistic: a proportion is the one without sum_squares."""
    fields = {"n": summary.n, "sum": summary.sum}
    if isinstance(summary, SampleSummary):
        fields["sum_squares"] = summary.sum_sq
    return fields


@gbstats_arm.register
def _(summary: RatioSummary) -> tuple[str, Any]:
    return "ratio", {
        "n": summary.n,
        "m_statistic": _nested(summary.numerator),
        "d_statistic": _nested(summary.denominator),
        "m_d_sum_of_products": summary.cross_sum,
    }


@gbstats_arm.register
def _(summary: AdjustedSummary) -> tuple[str, Any]:
    """gbstats 0.8.0 requires a θ and always replaces it by the pooled one."""
    return "cuped", {
        "n": summary.n,
        "post_statistic": _nested(summary.post),
        "pre_statistic": _nested(summary.pre),
        "post_pre_sum_of_products": summary.cross_sum,
        "theta": 0.0,
    }


@gbstats_arm.register
def _(summary: AdjustedRatioSummary) -> tuple[str, Any]:
    """θ None: gbstats pools it only where it is not given."""
    return "cuped_ratio", {
        "n": summary.n,
        "m_statistic_post": _nested(summary.numerator),
        "d_statistic_post": _nested(summary.denominator),
        "m_statistic_pre": _nested(summary.numerator_pre),
        "d_statistic_pre": _nested(summary.denominator_pre),
        "m_post_m_pre_sum_of_products": summary.num_num_pre,
        "d_post_d_pre_sum_of_products": summary.den_den_pre,
        "m_pre_d_pre_sum_of_products": summary.num_pre_den_pre,
        "m_post_d_post_sum_of_products": summary.num_den,
        "m_post_d_pre_sum_of_products": summary.num_den_pre,
        "m_pre_d_post_sum_of_products": summary.num_pre_den,
        "theta": None,
    }


def _quantile_fields(summary: QuantileSummary) -> dict[str, Any]:
    """liftlab reads the order statistics at n itself: n_star = n."""
    return {
        "n": summary.n,
        "n_star": summary.n,
        "nu": summary.nu,
        "quantile_hat": summary.quantile,
        "quantile_lower": summary.lower,
        "quantile_upper": summary.upper,
    }


@gbstats_arm.register
def _(summary: QuantileSummary) -> tuple[str, Any]:
    return "quantile", _quantile_fields(summary)


@gbstats_arm.register
def _(summary: ClusteredQuantileSummary) -> tuple[str, Any]:
    return "quantile_clustered", {
        **_quantile_fields(summary),
        "main_sum": summary.below_sum,
        "main_sum_squares": summary.below_sum_sq,
        "denominator_sum": summary.n,
        "denominator_sum_squares": summary.events_sum_sq,
        "main_denominator_sum_product": summary.below_events_sum,
        "n_clusters": summary.clusters,
    }
