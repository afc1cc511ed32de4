"""The result document: what an experiment's results are, as typed, versioned models.

The API serves this model (its OpenAPI schema is generated from it), the page, the CLI and the
demo read its fields, and a frozen snapshot keeps the ``schema_version`` it was made with
(``contract_v1`` reads the documents made before versions existed). Field by field in
docs/results.md. Numbers that are undefined (an empty arm, a control mean of 0) are ``null``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from liftlab.analysis.definition import Aggregation, CapType, MetricType, Quantile
from liftlab.analysis.settings import AnalysisSettings
from liftlab.stats import Scale
from liftlab.vocabulary import Decision, ExpectedDirection, MetricRole, Verdict

SCHEMA_VERSION = 2
# Raised whenever the same events and settings could give a different figure: part of the
# cache key, so a new engine never serves numbers an older one computed.
ENGINE_VERSION = "2.1.0"


class Method(StrEnum):
    FIXED_HORIZON = "fixed_horizon"
    SEQUENTIAL = "sequential"
    BAYESIAN = "bayesian"


class Family(StrEnum):
    """Comparisons corrected together: primary and secondary metrics, or the guardrails."""

    DECISION = "decision"
    GUARDRAIL = "guardrail"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Model):
    low: float | None
    high: float | None


class Window(_Model):
    start: datetime
    end: datetime


class VariantExposure(_Model):
    variant: str
    n: int = Field(description="identities assigned to the variant (first exposure)")
    expected_share: float = Field(description="the variant's configured weight")


class DailyExposure(_Model):
    date: date
    variant: str
    identities: int = Field(description="identities whose first exposure fell on this day (UTC)")


class Exposures(_Model):
    total: int = Field(description="every exposed identity: assigned, quarantined or unknown")
    quarantined: int = Field(description="identities exposed to more than one variant, left out")
    unknown_variant: int = Field(description="identities exposed to a variant not configured")
    variants: list[VariantExposure]
    daily: list[DailyExposure] = Field(default_factory=list)


class Srm(_Model):
    p_value: float | None = Field(description="chi-square goodness of fit to the weights")
    mismatch: bool
    threshold: float = Field(description="p below this is a sample-ratio mismatch")


class VariantStats(_Model):
    variant: str
    n: int
    mean: float | None = Field(
        description="the metric in this variant: a mean, a rate, a ratio or a quantile"
    )
    variance: float | None = Field(description="per-identity variance")
    sum: float = Field(description="Σ of the per-identity numbers (a ratio's numerator)")
    denominator_sum: float | None = Field(None, description="ratio: Σ of the denominators")
    values: int | None = Field(None, description="quantile: how many values were ranked")


class Estimate(_Model):
    """One scale's lift of a treatment, with the interval of the comparison's method."""

    estimate: float | None = Field(description="the lift (posterior mean for bayesian)")
    se: float | None = Field(description="standard error (posterior sd for bayesian)")
    ci: Interval = Field(description="interval at the document's interval_level")


class Risk(_Model):
    """Expected loss on the judged scale: what choosing each arm gives up, on average."""

    control: float | None
    treatment: float | None


class Cuped(_Model):
    """What regression adjustment did to one comparison: the estimate without it, and how much
    narrower the interval is with it."""

    theta: float | None = Field(description="the covariate's coefficient, pooled over both arms")
    absolute: Estimate = Field(description="the unadjusted absolute lift")
    relative: Estimate | None = Field(description="the unadjusted relative lift")
    narrower_by: float | None = Field(
        description="1 − adjusted se / unadjusted se on the judged scale (0.31: 31 % narrower)"
    )


class NonInferiority(_Model):
    """A guardrail's test that the treatment is not worse than control by more than a margin."""

    margin: float = Field(description="relative harm tolerated (0.01 = 1 % worse)")
    threshold: float | None = Field(description="the margin on the judged scale, signed as harm")
    bound: float | None = Field(
        description="the harm-side end of the one-sided interval (or credible bound)"
    )
    passed: bool = Field(description="the bound rules out harm beyond the margin")


class Comparison(_Model):
    """One treatment against control on one metric: every figure from one test."""

    variant: str
    method: Method
    scale: Scale = Field(description="the scale the verdict is judged on")
    family: Family
    absolute: Estimate
    relative: Estimate | None = Field(description="null when the control mean is 0")
    relative_reason: str | None = Field(description="why relative is null")
    p_value: float | None = Field(description="frequentist, on the judged scale")
    p_value_adjusted: float | None = Field(description="after the family's correction")
    ci_adjusted: Interval | None = Field(
        description="the judged scale's interval matching the adjusted p-value"
    )
    adjusted_level: float | None = Field(description="the confidence level of ci_adjusted")
    chance_to_win: float | None = Field(description="bayesian: P(treatment is better)")
    risk: Risk | None = Field(description="bayesian")
    non_inferiority: NonInferiority | None = Field(description="guardrails")
    cuped: Cuped | None = Field(None, description="regression-adjusted metrics")
    verdict: Verdict
    reason: str = Field(description="the verdict in words")

    def on(self, scale: Scale) -> Estimate | None:
        """The estimate on ``scale``: ``relative`` or ``absolute``."""
        return self.relative if scale is Scale.RELATIVE else self.absolute

    @property
    def judged(self) -> Estimate | None:
        """The estimate on the scale the verdict is judged on."""
        return self.on(self.scale)


class AppliedCap(_Model):
    """The cap each identity's number was held to."""

    type: CapType
    value: float = Field(description="as defined: the cap, or the percentile level")
    applied: float | None = Field(description="the cap in the metric's unit, as applied")


class TreatmentPower(_Model):
    variant: str
    mde: float | None = Field(description="the change detectable with the identities so far")
    days_remaining: int | None = Field(
        description="days at the observed traffic until target_mde is detectable (0: already)"
    )


class MetricPower(_Model):
    """A running primary metric's distance from a decision (any engine, power.md)."""

    scale: Scale
    target_mde: float = Field(description="the change the experiment should be able to detect")
    power: float = Field(description="the power the figures are computed for")
    daily_traffic: float | None = Field(description="identities per day so far")
    days_to_decision: int | None = Field(description="the most days_remaining of any treatment")
    treatments: list[TreatmentPower]


class MetricResult(_Model):
    metric: int
    name: str
    description: str | None = Field(None, description="the metric's definition in words")
    metric_type: MetricType
    aggregation: Aggregation
    lookback_days: int | None = Field(
        None, description="regression adjustment (CUPED): the covariate's days before exposure"
    )
    cap: AppliedCap | None = Field(None, description="winsorization")
    quantile: Quantile | None = Field(None, description="quantile metrics: level and values")
    expected_direction: ExpectedDirection
    role: MetricRole
    higher_is_better: bool
    non_inferiority_margin: float | None = Field(description="guardrails and no_change metrics")
    variants: list[VariantStats]
    comparisons: list[Comparison]
    power: MetricPower | None = Field(None, description="primary metrics of a running experiment")
    verdict: Verdict = Field(description="the most telling verdict across treatments")
    verdict_variant: str | None = Field(description="the treatment that verdict belongs to")


class TreatmentDecision(_Model):
    variant: str
    decision: Decision
    reasons: list[str] = Field(description="why, in words, most important first")


class DayComparison(_Model):
    """One treatment on one metric as the results stood at the end of a day."""

    variant: str
    estimate: Estimate | None = Field(description="the lift on the judged scale")
    p_value_adjusted: float | None = Field(description="frequentist, after the correction")
    chance_to_win: float | None = Field(description="bayesian")
    verdict: Verdict


class DayMetric(_Model):
    metric: int
    comparisons: list[DayComparison]


class Day(_Model):
    """The results as computed with the events up to the end of ``date`` (UTC)."""

    date: date
    cutoff: datetime = Field(description="the end of the day, or the document's end")
    exposures: list[VariantExposure]
    metrics: list[DayMetric]


class SegmentComparison(_Model):
    """One treatment on one metric within a segment; exploratory."""

    variant: str
    estimate: Estimate | None = Field(description="the lift on the judged scale")
    p_value: float | None = Field(description="frequentist, within the segment")
    p_value_adjusted: float | None = Field(
        description="corrected across every segment, metric and treatment of the dimension"
    )
    chance_to_win: float | None = Field(description="bayesian")
    significant: bool = Field(
        description="frequentist: p_value_adjusted below alpha; bayesian: chance to win past "
        "the threshold either way"
    )


class SegmentMetric(_Model):
    metric: int
    comparisons: list[SegmentComparison]


class Segment(_Model):
    value: str = Field(description="the dimension's value on the first exposure, or other")
    exposures: list[VariantExposure]
    srm: Srm
    metrics: list[SegmentMetric]


class Breakdown(_Model):
    """The results split by one dimension: exploratory, never part of a decision."""

    key: str = Field(description="the dimension's name, as ?breakdown= takes it")
    source: str = Field(description="trait, metadata, sdk_language or sdk_version")
    property: str | None
    exploratory: Literal[True] = True
    segments: list[Segment] = Field(description="top 20 by exposures, then other")


class ResultDocument(_Model):
    """An experiment's results; the frozen snapshot once it completes."""

    schema_version: Literal[2] = SCHEMA_VERSION
    engine_version: str = ENGINE_VERSION
    experiment: int
    status: str
    is_final: bool = Field(description="frozen: new events no longer change it")
    computed_at: datetime
    cached: bool = False
    refresh: str | None = Field(None, description="why a requested refresh did not run")
    analysis: AnalysisSettings
    analysis_changed_after_start: bool = Field(
        description="an analysis setting changed after the experiment started"
    )
    control: str
    interval_level: float = Field(description="the confidence (or credible) level of every ci")
    window: Window
    exposures: Exposures
    srm: Srm
    metrics: list[MetricResult]
    decisions: list[TreatmentDecision]
    timeline: list[Day] = Field(
        default_factory=list, description="the results at the end of each day, in order"
    )
    timeline_always_valid: bool = Field(
        False, description="sequential: each day's intervals hold however often they are read"
    )
    breakdowns: list[Breakdown] = Field(default_factory=list)
