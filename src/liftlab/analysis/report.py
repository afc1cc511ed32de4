"""The result document assembled: exposures, SRM, every comparison, verdicts and decisions.

The numbers come from ``inference`` (one method per experiment, all treatments of a metric in
one vectorised call), the words from ``verdicts``; this module only lays them into the
``contract`` models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial

import numpy as np

from liftlab import numerals
from liftlab.analysis import arms, slices
from liftlab.analysis import contract as c
from liftlab.analysis.definition import Aggregation, MetricType
from liftlab.analysis.definition import describe as describe_definition
from liftlab.analysis.inference import Answer, Interval, MetricInference, MetricInput, infer
from liftlab.analysis.power import DEFAULT_POWER, running_power
from liftlab.analysis.results import Moments, ResultStats, TimelinePoint
from liftlab.analysis.settings import AnalysisSettings
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.timeline import cutoffs
from liftlab.analysis.verdicts import Evidence, Judged, decide, summary_verdict, verdict
from liftlab.stats import Bayesian, Scale, sample_ratio_test
from liftlab.vocabulary import ExpectedDirection, MetricRole

SRM_THRESHOLD = 0.001
DEFAULT_NON_INFERIORITY_MARGIN = 0.01


@dataclass(frozen=True)
class Thresholds:
    """Below these, a comparison is ``insufficient_data`` whatever its method says."""

    min_identities: int = 50
    min_conversions: int = 5
    min_quantile_values: int = 100


@dataclass(frozen=True)
class AttachedMetric:
    """What the document says about an attached metric besides its numbers."""

    key: str
    metric: int
    name: str
    metric_type: MetricType
    aggregation: Aggregation
    expected_direction: ExpectedDirection
    role: MetricRole
    higher_is_better: bool
    non_inferiority_margin: float | None = None

    def __post_init__(self) -> None:
        for name, vocabulary in (
            ("metric_type", MetricType),
            ("aggregation", Aggregation),
            ("expected_direction", ExpectedDirection),
            ("role", MetricRole),
        ):
            object.__setattr__(self, name, vocabulary(getattr(self, name)))


@dataclass(frozen=True)
class Header:
    """Facts about the experiment the document is about, not computed from events."""

    experiment: int
    status: str
    is_final: bool
    computed_at: datetime
    analysis_changed_after_start: bool = False


def build_report(
    spec: ExperimentSpec,
    stats: ResultStats,
    attached: Sequence[AttachedMetric],
    *,
    header: Header,
    weights: Sequence[float],
    control: str,
    settings: AnalysisSettings,
    thresholds: Thresholds = Thresholds(),
    daily: Sequence[TimelinePoint] = (),
    timeline: Sequence[tuple[date, ResultStats]] = (),
    segments: Mapping[str, dict[str, ResultStats]] | None = None,
) -> c.ResultDocument:
    """The whole result document of one computation, with its days and segments when given
    (``timeline``: ``analysis.timeline.query_timeline``'s days; ``segments``:
    ``analysis.segments.query_segments``'s)."""
    report = partial(
        _document,
        attached=attached,
        header=header,
        weights=weights,
        control=control,
        settings=settings,
        thresholds=thresholds,
    )
    document = report(spec, stats, daily=daily)
    if not header.is_final:  # only the experiment's own document: days and segments have none
        powered = [_with_power(m, spec, weights, control, settings) for m in document.metrics]
        document = document.model_copy(update={"metrics": powered})
    if not timeline and not segments:
        return document
    return document.model_copy(
        update={
            "timeline": slices.days(spec, timeline, cutoffs(spec), report),
            "timeline_always_valid": settings.sequential,
            "breakdowns": slices.breakdowns(spec, dict(segments or {}), settings, report),
        }
    )


def _document(
    spec: ExperimentSpec,
    stats: ResultStats,
    *,
    attached: Sequence[AttachedMetric],
    header: Header,
    weights: Sequence[float],
    control: str,
    settings: AnalysisSettings,
    thresholds: Thresholds,
    daily: Sequence[TimelinePoint] = (),
) -> c.ResultDocument:
    """The document of one set of statistics: the experiment's, a day's or a segment's."""
    treatments = [key for key in spec.variant_keys if key != control]
    specs = {m.key: m for m in spec.metrics}
    inputs = [_metric_input(a, specs[a.key], stats.metrics[a.key]) for a in attached]
    inferences = infer(inputs, control, treatments, settings)
    srm = _srm(spec, stats, weights)
    metrics = [
        _metric(a, specs[a.key], inference, spec, control, settings, thresholds)
        for a, inference in zip(attached, inferences, strict=True)
    ]
    return c.ResultDocument(
        experiment=header.experiment,
        status=header.status,
        is_final=header.is_final,
        computed_at=header.computed_at,
        analysis=settings,
        analysis_changed_after_start=header.analysis_changed_after_start,
        control=control,
        interval_level=1.0 - settings.interval_alpha,
        window=c.Window(start=spec.start, end=spec.end),
        exposures=_exposures(spec, stats, weights, daily),
        srm=srm,
        metrics=metrics,
        decisions=[_decision(v, metrics, srm, header.is_final) for v in treatments],
    )


def _metric_input(
    attached: AttachedMetric, metric_spec: MetricSpec, moments: dict[str, Moments]
) -> MetricInput:
    """The inference's view of a metric; guardrail-style ones always carry a margin."""
    quantile = metric_spec.quantile
    metric = MetricInput(
        key=attached.key,
        metric_type=attached.metric_type,
        expected_direction=attached.expected_direction,
        role=attached.role,
        higher_is_better=attached.higher_is_better,
        non_inferiority_margin=None,
        moments=moments,
        nu=None if quantile is None else quantile.q,
    )
    if not metric.judged_as_guardrail:
        return metric
    margin = attached.non_inferiority_margin
    return replace(
        metric,
        non_inferiority_margin=DEFAULT_NON_INFERIORITY_MARGIN if margin is None else margin,
    )


def _exposures(
    spec: ExperimentSpec,
    stats: ResultStats,
    weights: Sequence[float],
    daily: Sequence[TimelinePoint],
) -> c.Exposures:
    counts = stats.exposures
    return c.Exposures(
        total=counts.total,
        quarantined=counts.quarantined,
        unknown_variant=counts.unknown_variant,
        variants=[
            c.VariantExposure(variant=key, n=counts.variants[key], expected_share=weight)
            for key, weight in zip(spec.variant_keys, weights, strict=True)
        ],
        daily=[
            c.DailyExposure(date=p.day, variant=p.variant, identities=p.identities) for p in daily
        ],
    )


def _srm(spec: ExperimentSpec, stats: ResultStats, weights: Sequence[float]) -> c.Srm:
    """Chi-square goodness of fit of assigned identities against the configured weights."""
    counts = [stats.exposures.variants[key] for key in spec.variant_keys]
    if sum(counts) == 0:
        return c.Srm(p_value=None, mismatch=False, threshold=SRM_THRESHOLD)
    p_value = sample_ratio_test(counts, weights).p_value
    return c.Srm(
        p_value=_num(p_value), mismatch=bool(p_value < SRM_THRESHOLD), threshold=SRM_THRESHOLD
    )


def _metric(
    attached: AttachedMetric,
    metric_spec: MetricSpec,
    inference: MetricInference,
    spec: ExperimentSpec,
    control: str,
    settings: AnalysisSettings,
    thresholds: Thresholds,
) -> c.MetricResult:
    moments = inference.metric.moments
    comparisons = [
        _comparison(inference, i, moments[control], moments[v], settings, thresholds)
        for i, v in enumerate(inference.treatments)
    ]
    summary, summary_variant = summary_verdict([(x.variant, x.verdict) for x in comparisons])
    return c.MetricResult(
        metric=attached.metric,
        name=attached.name,
        description=describe_definition(metric_spec.definition, metric_spec.aggregation),
        metric_type=attached.metric_type,
        aggregation=attached.aggregation,
        lookback_days=metric_spec.lookback_days,
        cap=_cap(metric_spec, moments[control]),
        quantile=metric_spec.quantile,
        expected_direction=attached.expected_direction,
        role=attached.role,
        higher_is_better=attached.higher_is_better,
        non_inferiority_margin=inference.metric.non_inferiority_margin,
        variants=[_variant_stats(v, moments[v], inference.metric) for v in spec.variant_keys],
        comparisons=comparisons,
        verdict=summary,
        verdict_variant=summary_variant,
    )


def _with_power(
    metric: c.MetricResult,
    spec: ExperimentSpec,
    weights: Sequence[float],
    control_key: str,
    settings: AnalysisSettings,
) -> c.MetricResult:
    """A running primary metric's MDE today and days to decision.

    A regression-adjusted comparison is planned with the variance it is judged on: each arm's
    variance times (1 − narrower_by)², the adjusted over the unadjusted standard error
    squared. The bayesian engine is planned as the fixed-horizon test its verdict amounts to
    under a flat prior: a chance to win past the threshold t is a two-sided test at
    2·(1 − t) (``settings.interval_alpha``).
    """
    arms = metric.variants
    if metric.role is not MetricRole.PRIMARY:
        return metric
    control = next(v for v in arms if v.variant == control_key)
    ordered = [control, *(v for v in arms if v is not control)]
    if control.mean is None or any(v.variance is None or v.n < 2 for v in ordered):
        return metric
    share = {v.variant: w for v, w in zip(arms, weights, strict=True)}
    days_run = (spec.end - spec.start).total_seconds() / 86_400
    answer = running_power(
        control_mean=control.mean,
        variances=[v.variance for v in ordered],  # type: ignore[misc]
        identities=[v.values if v.values is not None else v.n for v in ordered],
        weights=[share[v.variant] for v in ordered],
        days_run=days_run,
        metric_type=metric.metric_type,
        scale=settings.scale,
        alpha=settings.interval_alpha,
        variance_factors=_variance_factors(metric, [v.variant for v in ordered[1:]]),
        sequential=settings.sequential,
        sequential_tuning=settings.sequential_tuning,
    )
    power = c.MetricPower(
        scale=answer.scale,
        target_mde=answer.target_mde,
        power=DEFAULT_POWER,
        daily_traffic=_num(answer.daily_traffic),
        days_to_decision=answer.days_to_decision,
        treatments=[
            c.TreatmentPower(variant=v.variant, mde=mde, days_remaining=days)
            for v, mde, days in zip(ordered[1:], answer.mde, answer.days_remaining, strict=True)
        ],
    )
    return metric.model_copy(update={"power": power})


def _variance_factors(metric: c.MetricResult, treatments: list[str]) -> list[float] | None:
    """Per treatment, how much regression adjustment scaled its comparison's variance; None
    for a metric without it."""
    narrower = {x.variant: x.cuped.narrower_by for x in metric.comparisons if x.cuped}
    if not narrower:
        return None
    return [(1.0 - (narrower.get(t) or 0.0)) ** 2 for t in treatments]


def _cap(metric_spec: MetricSpec, moments: Moments) -> c.AppliedCap | None:
    cap = metric_spec.cap
    if cap is None:
        return None
    applied = None if moments.cap is None else _num(moments.cap)
    return c.AppliedCap(type=cap.type, value=cap.value, applied=applied)


def _variant_stats(key: str, moments: Moments, metric: MetricInput) -> c.VariantStats:
    summary = arms.arm(metric.metric_type, [moments], metric.nu)
    return c.VariantStats(
        variant=key,
        n=moments.n,
        mean=_num(summary.mean[0]),
        variance=_num(summary.variance[0]),
        sum=moments.sum,
        denominator_sum=None if moments.denominator is None else _denominator(moments),
        values=None if moments.quantile is None else _values(moments),
    )


def _comparison(
    inference: MetricInference,
    i: int,
    control: Moments,
    treatment: Moments,
    settings: AnalysisSettings,
    thresholds: Thresholds,
) -> c.Comparison:
    metric = inference.metric
    shortage = _shortage(control, treatment, metric.metric_type, thresholds)
    relative = _estimate(inference, Scale.RELATIVE, i)
    if shortage is None and inference.scale is Scale.RELATIVE and relative is None:
        shortage = "the control mean is 0, so there is no relative lift to judge"
    evidence, reason = _evidence(inference, i, settings, shortage)
    judged = verdict(evidence, guardrail=metric.judged_as_guardrail)
    bayes = inference.judged if isinstance(inference.judged, Bayesian) else None
    return c.Comparison(
        variant=inference.treatments[i],
        method=inference.method,
        scale=inference.scale,
        family=metric.family,
        absolute=_estimate(inference, Scale.ABSOLUTE, i),
        relative=relative,
        relative_reason=None if relative is not None else _no_relative_reason(control),
        p_value=_at(inference.p_value, i),
        p_value_adjusted=_at(inference.p_value_adjusted, i),
        ci_adjusted=_adjusted_interval(inference, i),
        adjusted_level=None
        if inference.adjusted_alpha is None
        else _num(1.0 - inference.adjusted_alpha[i]),
        chance_to_win=None if bayes is None else _num(bayes.chance_to_win[i]),
        risk=None
        if bayes is None
        else c.Risk(control=_num(bayes.risk[0][i]), treatment=_num(bayes.risk[1][i])),
        non_inferiority=_non_inferiority(inference, i),
        cuped=_cuped(inference, i, settings.interval_alpha),
        verdict=judged,
        reason=reason,
    )


def _estimate(inference: MetricInference, scale: Scale, i: int) -> c.Estimate | None:
    return _estimate_at(inference.answers[scale], inference.intervals[scale], scale, i)


def _estimate_of(answer: Answer, alpha: float, scale: Scale, i: int) -> c.Estimate | None:
    return _estimate_at(answer, answer.interval(alpha), scale, i)


def _estimate_at(answer: Answer, interval: Interval, scale: Scale, i: int) -> c.Estimate | None:
    """Comparison ``i``'s estimate on ``scale``; None where a relative lift is undefined."""
    if isinstance(answer, Bayesian):
        estimate, se = answer.posterior_mean[i], answer.posterior_sd[i]
    else:
        estimate, se = answer.effect.estimate[i], answer.effect.se[i]
    if scale is Scale.RELATIVE and math.isnan(estimate):
        return None
    low, high = interval
    return c.Estimate(
        estimate=_num(estimate), se=_num(se), ci=c.Interval(low=_num(low[i]), high=_num(high[i]))
    )


def _cuped(inference: MetricInference, i: int, alpha: float) -> c.Cuped | None:
    """The unadjusted estimates beside the adjusted ones, and the narrowing on the judged scale."""
    unadjusted = inference.unadjusted
    if unadjusted is None:
        return None
    scale = inference.scale
    plain = _spread(unadjusted[scale], i)
    narrower = 1.0 - _spread(inference.answers[scale], i) / plain if plain > 0 else math.nan
    return c.Cuped(
        theta=None if inference.theta is None else _num(inference.theta[i]),
        absolute=_estimate_of(unadjusted[Scale.ABSOLUTE], alpha, Scale.ABSOLUTE, i),
        relative=_estimate_of(unadjusted[Scale.RELATIVE], alpha, Scale.RELATIVE, i),
        narrower_by=_num(narrower),
    )


def _spread(answer: Answer, i: int) -> float:
    """The standard error (posterior sd) behind an answer's interval width."""
    if isinstance(answer, Bayesian):
        return float(answer.posterior_sd[i])
    return float(answer.effect.se[i])


def _adjusted_interval(inference: MetricInference, i: int) -> c.Interval | None:
    if inference.adjusted_interval is None or math.isnan(inference.adjusted_alpha[i]):
        return None
    low, high = inference.adjusted_interval
    return c.Interval(low=_num(low[i]), high=_num(high[i]))


def _evidence(
    inference: MetricInference, i: int, settings: AnalysisSettings, shortage: str | None
) -> tuple[Evidence, str]:
    """The method's rule applied to comparison ``i``, and the sentence that says why."""
    if shortage is not None:
        return Evidence(enough_data=False, better=False, worse=False), shortage
    metric = inference.metric
    non_inferior = _non_inferior(inference, i)
    if isinstance(inference.judged, Bayesian):
        chance = float(inference.judged.chance_to_win[i])
        threshold = settings.chance_to_win_threshold
        better, worse = chance >= threshold, chance <= 1.0 - threshold
        reason = f"chance to win {chance:.1%} against a threshold of {threshold:.0%}"
    else:
        low, high = (float(bounds[i]) for bounds in inference.adjusted_interval)
        above, below = low > 0, high < 0
        better, worse = (above, below) if metric.direction > 0 else (below, above)
        p_adjusted = float(inference.p_value_adjusted[i])
        reason = (
            f"adjusted {_p(p_adjusted)} against alpha {settings.alpha:g}; "
            f"the adjusted interval {'excludes' if better or worse else 'includes'} 0"
        )
    if non_inferior is not None and not worse:
        reason = _non_inferiority_reason(inference, i, non_inferior)
    evidence = Evidence(enough_data=True, better=better, worse=worse, non_inferior=non_inferior)
    return evidence, reason


def _non_inferior(inference: MetricInference, i: int) -> bool | None:
    if inference.non_inferiority_bound is None:
        return None
    bound = float(inference.non_inferiority_bound[i])
    threshold = float(inference.non_inferiority_threshold[i])
    if inference.metric.direction > 0:
        return bool(bound > threshold)
    return bool(bound < threshold)


def _non_inferiority(inference: MetricInference, i: int) -> c.NonInferiority | None:
    passed = _non_inferior(inference, i)
    if passed is None:
        return None
    return c.NonInferiority(
        margin=float(inference.metric.non_inferiority_margin or 0.0),
        threshold=_num(inference.non_inferiority_threshold[i]),
        bound=_num(inference.non_inferiority_bound[i]),
        passed=passed,
    )


def _non_inferiority_reason(inference: MetricInference, i: int, passed: bool) -> str:
    margin = inference.metric.non_inferiority_margin or 0.0
    bound = float(inference.non_inferiority_bound[i])
    shown = f"{bound:+.2%}" if inference.scale is Scale.RELATIVE else f"{bound:+.4g}"
    rules = "rules out" if passed else "does not rule out"
    return f"the harm-side bound {shown} {rules} harm beyond the {margin:.1%} margin"


def _shortage(
    control: Moments, treatment: Moments, metric_type: MetricType, thresholds: Thresholds
) -> str | None:
    """Why there is too little data for a verdict, or None when there is enough."""
    pair = (control, treatment)
    if min(m.n for m in pair) < thresholds.min_identities:
        return f"fewer than {thresholds.min_identities} identities in an arm"
    conversions = min(m.sum for m in pair)
    if metric_type is MetricType.CONVERSION and conversions < thresholds.min_conversions:
        return f"fewer than {thresholds.min_conversions} conversions in an arm"
    if metric_type is MetricType.RATIO and min(_denominator(m) for m in pair) <= 0:
        return "the denominator is 0 in an arm"
    values = min(_values(m) for m in pair)
    if metric_type is MetricType.QUANTILE and values < thresholds.min_quantile_values:
        return f"fewer than {thresholds.min_quantile_values} values in an arm"
    return None


def _denominator(moments: Moments) -> float:
    return 0.0 if moments.denominator is None else moments.denominator.sum


def _values(moments: Moments) -> int:
    return 0 if moments.quantile is None else moments.quantile.n


def _no_relative_reason(control: Moments) -> str:
    return "control has no identities" if control.n == 0 else "control mean is 0"


def _decision(
    variant: str, metrics: Sequence[c.MetricResult], srm: c.Srm, is_final: bool
) -> c.TreatmentDecision:
    judged = [
        Judged(name=m.name, role=m.role, verdict=x.verdict, summary=describe(x, m.metric_type))
        for m in metrics
        for x in m.comparisons
        if x.variant == variant
    ]
    decision, reasons = decide(
        judged,
        srm_mismatch=srm.mismatch,
        srm_text=_p(srm.p_value),
        is_final=is_final,
    )
    return c.TreatmentDecision(variant=variant, decision=decision, reasons=reasons)


def describe(x: c.Comparison, metric_type: MetricType) -> str:
    """A comparison in a few words: its lift on the judged scale, interval and evidence, the
    numbers written as the pages write them (one number of decimals, from the interval)."""
    estimate = x.judged
    if estimate is None or estimate.estimate is None:
        return x.reason
    interval = x.ci_adjusted or estimate.ci
    fmt = numerals.lift_column(
        [(interval.low, interval.high)],
        relative=x.scale is Scale.RELATIVE,
        rate=metric_type is MetricType.CONVERSION,
    )
    text = f"{fmt(estimate.estimate)} [{fmt(interval.low)}, {fmt(interval.high)}]"
    if x.chance_to_win is not None:
        return f"{text}, chance to win {x.chance_to_win:.1%}"
    if x.p_value_adjusted is not None:
        return f"{text}, adjusted {_p(x.p_value_adjusted)}"
    return text


def _p(value: float | None) -> str:
    """A p-value in words: "p = 0.043", "p < 0.001"."""
    if value is None or math.isnan(value):
        return "p = —"
    return "p < 0.001" if value < 0.001 else f"p = {value:.2g}"


def _at(values: np.ndarray | None, i: int) -> float | None:
    return None if values is None else _num(values[i])


def _num(value: float) -> float | None:
    """JSON has no nan or infinity: an undefined figure is null."""
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
