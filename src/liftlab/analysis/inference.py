"""From per-variant moments and the experiment's settings to every comparison's answer.

The dispatch lives here: the metric's kind picks the arm summaries (``arms``: a sample mean,
a proportion, a ratio or a quantile, regression-adjusted where the metric has a covariate), the
settings pick the method (fixed-horizon, sequential or Bayesian) and the scale,
and the families (primary and secondary metrics together, guardrails on their own) are
corrected together. Everything a verdict needs is computed here; ``verdicts`` only reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from liftlab.analysis import arms
from liftlab.analysis.contract import Family, Method
from liftlab.analysis.definition import MetricType
from liftlab.analysis.results import Moments
from liftlab.analysis.settings import AnalysisSettings, Engine
from liftlab.stats import (
    Bayesian,
    Correction,
    Effect,
    FixedHorizon,
    Prior,
    Scale,
    Sequential,
    adjust,
    adjusted_alpha,
    effect,
)
from liftlab.vocabulary import (
    ExpectedDirection,
    MetricRole,
    improves_upward,
    judged_as_guardrail,
)

Answer = FixedHorizon | Sequential | Bayesian
Interval = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class MetricInput:
    """One attached metric: how it is judged, and its moments per variant key."""

    key: str
    metric_type: MetricType
    expected_direction: ExpectedDirection
    role: MetricRole
    higher_is_better: bool
    non_inferiority_margin: float | None
    moments: dict[str, Moments]
    nu: float | None = None  # a quantile metric's level

    def pair(self, control: str, treatments: Sequence[str]) -> arms.Pair:
        """The control's and the treatments' summaries (regression-adjusted where they can be)."""
        return arms.pair(
            self.metric_type,
            self.moments[control],
            [self.moments[v] for v in treatments],
            self.nu,
        )

    @property
    def judged_as_guardrail(self) -> bool:
        return judged_as_guardrail(self.role, self.expected_direction)

    @property
    def direction(self) -> float:
        """+1 where an increase is good news, −1 where a decrease is."""
        return 1.0 if improves_upward(self.expected_direction, self.higher_is_better) else -1.0

    @property
    def family(self) -> Family:
        return Family.GUARDRAIL if self.role is MetricRole.GUARDRAIL else Family.DECISION


@dataclass(frozen=True)
class MetricInference:
    """A metric's answers over its treatments (arrays, one element per treatment)."""

    metric: MetricInput
    treatments: tuple[str, ...]
    method: Method
    scale: Scale
    answers: dict[Scale, Answer]
    intervals: dict[Scale, Interval]  # each scale's interval at the document's level
    p_value_adjusted: np.ndarray | None = None
    adjusted_alpha: np.ndarray | None = None
    adjusted_interval: Interval | None = None  # the judged scale's, at ``adjusted_alpha``
    non_inferiority_bound: np.ndarray | None = None
    non_inferiority_threshold: np.ndarray | None = None
    # Regression-adjusted metrics: the same method on the unadjusted summaries, and θ.
    unadjusted: dict[Scale, Answer] | None = None
    theta: np.ndarray | None = None

    @property
    def judged(self) -> Answer:
        """The answer on the scale the verdict is judged on."""
        return self.answers[self.scale]

    @property
    def p_value(self) -> np.ndarray | None:
        """The judged scale's p-value; None for a Bayesian answer, which has none."""
        judged = self.judged
        return None if isinstance(judged, Bayesian) else np.asarray(judged.p_value, np.float64)


def method_of(settings: AnalysisSettings) -> Method:
    if settings.engine is Engine.BAYESIAN:
        return Method.BAYESIAN
    return Method.SEQUENTIAL if settings.sequential else Method.FIXED_HORIZON


def infer(
    metrics: Sequence[MetricInput],
    control: str,
    treatments: Sequence[str],
    settings: AnalysisSettings,
) -> list[MetricInference]:
    """Every metric's answers, corrected family by family, with non-inferiority bounds."""
    raw = [_answers(m, control, tuple(treatments), settings) for m in metrics]
    if settings.engine is Engine.BAYESIAN:
        return [_with_non_inferiority(r, settings) for r in raw]
    corrected = _corrected(raw, settings)
    return [_with_non_inferiority(r, settings) for r in corrected]


def _answers(
    metric: MetricInput, control: str, treatments: tuple[str, ...], settings: AnalysisSettings
) -> MetricInference:
    """Both scales' answers; a Bayesian prior applies on the judged scale only."""
    pair = metric.pair(control, treatments)
    answers = _both_scales(pair, metric, settings)
    intervals = {
        scale: answer.interval(settings.interval_alpha) for scale, answer in answers.items()
    }
    unadjusted = (
        None if pair.unadjusted is None else _both_scales(pair.unadjusted, metric, settings)
    )
    return MetricInference(
        metric,
        treatments,
        method_of(settings),
        settings.scale,
        answers,
        intervals,
        unadjusted=unadjusted,
        theta=getattr(pair.treatment, "theta", None),
    )


def _both_scales(
    pair: arms.Pair, metric: MetricInput, settings: AnalysisSettings
) -> dict[Scale, Answer]:
    judged = settings.scale
    return {
        scale: _answer(
            settings, effect(pair.control, pair.treatment, scale), metric.direction, scale is judged
        )
        for scale in (judged, judged.other)
    }


def _answer(settings: AnalysisSettings, eff: Effect, direction: float, judged: bool) -> Answer:
    if settings.engine is Engine.BAYESIAN:
        prior = Prior(settings.prior.mean, settings.prior.sd) if judged else Prior()
        return Bayesian(eff, prior, direction)
    if settings.sequential:
        return Sequential(eff, settings.alpha, settings.sequential_tuning)
    return FixedHorizon(eff)


def _corrected(raw: list[MetricInference], settings: AnalysisSettings) -> list[MetricInference]:
    """Adjusted p-values and interval levels, each family corrected on its own."""
    p_values = [r.p_value for r in raw]
    out: list[MetricInference] = list(raw)
    for family in Family:
        members = [i for i, r in enumerate(raw) if r.metric.family is family]
        if not members:
            continue
        flat = np.concatenate([p_values[i] for i in members])
        adjusted = adjust(flat, Correction(settings.correction))
        levels = adjusted_alpha(flat, adjusted, settings.alpha)
        offset = 0
        for i in members:
            size = p_values[i].size
            own = levels[offset : offset + size]
            out[i] = replace(
                raw[i],
                p_value_adjusted=adjusted[offset : offset + size],
                adjusted_alpha=own,
                adjusted_interval=_interval_at(raw[i].judged, own),
            )
            offset += size
    return out


def _interval_at(answer: Answer, levels: np.ndarray) -> Interval:
    """Each comparison's interval at its own level; nan where the level is (no p-value)."""
    missing = np.isnan(levels)
    low, high = answer.interval(np.where(missing, 0.5, levels))
    return np.where(missing, np.nan, low), np.where(missing, np.nan, high)


def _with_non_inferiority(
    inference: MetricInference, settings: AnalysisSettings
) -> MetricInference:
    """For guardrail-style metrics: the harm-side one-sided bound and the margin it must beat.

    Frequentist: the one-sided (1 − alpha) bound is an end of the two-sided interval at
    1 − 2·alpha. Bayesian: the end of the credible interval shown, whose tail is
    1 − threshold, so "passed" means P(harm within the margin) ≥ threshold.
    """
    metric = inference.metric
    if not metric.judged_as_guardrail:
        return inference
    margin = metric.non_inferiority_margin or 0.0
    tail = settings.interval_alpha if settings.engine is Engine.BAYESIAN else 2.0 * settings.alpha
    low, high = inference.judged.interval(tail)
    bound = low if metric.direction > 0 else high
    eff = inference.judged.effect
    unit = 1.0 if eff.scale is Scale.RELATIVE else np.abs(eff.control_mean)
    threshold = -metric.direction * margin * unit
    return replace(
        inference,
        non_inferiority_bound=np.asarray(bound, dtype=np.float64),
        non_inferiority_threshold=np.broadcast_to(threshold, eff.shape).astype(np.float64),
    )
