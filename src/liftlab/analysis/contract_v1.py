"""Version 1 of the result document: what results looked like before ``schema_version``.

Snapshots frozen then keep their shape: the API serves them as they are (with
``schema_version: 1``), described by ``ResultDocumentV1``, and ``upgrade`` reads one as the
current model so the page and the CLI render every version with one code path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from liftlab.analysis import contract as c
from liftlab.analysis.settings import AnalysisSettings
from liftlab.stats import Correction, Scale
from liftlab.vocabulary import MetricRole, Verdict

V1_REASON = "computed by engine version 1: one test per comparison, no correction"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ComparisonV1(_Model):
    variant: str
    test: str = Field(description="welch_t or z")
    absolute_lift: float | None
    absolute_ci: list[float | None]
    relative_lift: float | None
    relative_ci: list[float | None] | None
    relative_lift_reason: str | None = None
    p_value: float | None
    significant: bool
    verdict: Verdict


class MetricResultV1(_Model):
    metric: int
    name: str
    metric_type: str
    aggregation: str
    expected_direction: str
    role: str
    higher_is_better: bool
    variants: list[c.VariantStats]
    comparisons: list[ComparisonV1]
    verdict: Verdict


class SrmV1(_Model):
    p_value: float | None
    mismatch: bool


class ResultDocumentV1(_Model):
    """An experiment's results as engine version 1 computed them."""

    schema_version: Literal[1] = 1
    experiment: int
    status: str
    is_final: bool
    computed_at: datetime
    cached: bool = False
    refresh: str | None = None
    alpha: float
    window: c.Window
    exposures: c.Exposures
    srm: SrmV1
    metrics: list[MetricResultV1]


def upgrade(document: ResultDocumentV1, control: str) -> c.ResultDocument:
    """The same results in the current model; what version 1 did not compute stays empty."""
    settings = AnalysisSettings(
        alpha=document.alpha, scale=Scale.ABSOLUTE, correction=Correction.NONE
    )
    return c.ResultDocument(
        schema_version=c.SCHEMA_VERSION,
        engine_version="1",
        experiment=document.experiment,
        status=document.status,
        is_final=document.is_final,
        computed_at=document.computed_at,
        cached=document.cached,
        refresh=document.refresh,
        analysis=settings,
        analysis_changed_after_start=False,
        control=control,
        interval_level=1.0 - document.alpha,
        window=document.window,
        exposures=document.exposures,
        srm=c.Srm(p_value=document.srm.p_value, mismatch=document.srm.mismatch, threshold=0.001),
        metrics=[_metric(m) for m in document.metrics],
        decisions=[],
    )


def _metric(metric: MetricResultV1) -> c.MetricResult:
    comparisons = [_comparison(x, metric.role) for x in metric.comparisons]
    telling = next((x.variant for x in comparisons if x.verdict is metric.verdict), None)
    return c.MetricResult(
        metric=metric.metric,
        name=metric.name,
        metric_type=metric.metric_type,
        aggregation=metric.aggregation,
        expected_direction=metric.expected_direction,
        role=metric.role,
        higher_is_better=metric.higher_is_better,
        non_inferiority_margin=None,
        variants=metric.variants,
        comparisons=comparisons,
        verdict=metric.verdict,
        verdict_variant=telling,
    )


def _comparison(x: ComparisonV1, role: str) -> c.Comparison:
    relative = None
    if x.relative_lift is not None and x.relative_ci is not None:
        relative = c.Estimate(estimate=x.relative_lift, se=None, ci=_interval(x.relative_ci))
    return c.Comparison(
        variant=x.variant,
        method=c.Method.FIXED_HORIZON,
        scale=Scale.ABSOLUTE,
        family=c.Family.GUARDRAIL if role == MetricRole.GUARDRAIL else c.Family.DECISION,
        absolute=c.Estimate(estimate=x.absolute_lift, se=None, ci=_interval(x.absolute_ci)),
        relative=relative,
        relative_reason=x.relative_lift_reason,
        p_value=x.p_value,
        p_value_adjusted=None,
        ci_adjusted=None,
        adjusted_level=None,
        chance_to_win=None,
        risk=None,
        non_inferiority=None,
        verdict=x.verdict,
        reason=V1_REASON,
    )


def _interval(bounds: list[float | None]) -> c.Interval:
    return c.Interval(low=bounds[0], high=bounds[1])
