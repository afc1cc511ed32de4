"""Planning an experiment, and how far a running one still has to go.

``plan(question)`` answers a ``PowerQuestion`` (a baseline, the smallest change worth
detecting, the levels, the split and the traffic) with the identities and days each design
needs: the fixed horizon and the sequential test, as ``liftlab.stats.power`` computes them.
``running_power`` asks the same of a running experiment's own numbers: the change it can detect
today, and the days it still needs for a target change. Every treatment is compared with the
control; with several treatments alpha is split between them (Bonferroni) unless the question
says otherwise, and the experiment runs until the last comparison has its power.
See docs/power.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from liftlab.analysis.contract import Method
from liftlab.analysis.definition import MetricType
from liftlab.analysis.filters import Strict, error
from liftlab.analysis.settings import DEFAULT_ALPHA, DEFAULT_SEQUENTIAL_TUNING
from liftlab.stats import (
    Design,
    FixedHorizonDesign,
    PlannedComparison,
    Scale,
    SequentialDesign,
    identities_needed,
    minimum_detectable_effect,
)

DEFAULT_POWER = 0.8
DEFAULT_TARGET_MDE = 0.05
"""What a running experiment is asked to detect when nobody said: a 5 % relative change."""
MAX_IDENTITIES = 10**15
"""More identities than any experiment has: a plan beyond this is refused, not printed."""
MAX_VARIANTS = 20
MAX_NUMBER = 1e15
"""The largest magnitude a baseline or the traffic may have: far beyond any metric's scale."""
MIN_WEIGHT, MAX_WEIGHT = 1e-9, 1e9
"""Weights on any scale, within these bounds so that every arm's share is a positive number."""
MIN_TRAFFIC = 1e-3
"""One identity every thousand days: less traffic than this is no experiment."""


class TreatmentCorrection(StrEnum):
    """How alpha is shared by the treatments: Bonferroni (alpha/K each) or not at all.

    Holm and Benjamini–Hochberg reject whatever Bonferroni rejects, so a plan at alpha/K holds
    its power under either; what they add across other metrics is not planned for.
    """

    BONFERRONI = "bonferroni"
    NONE = "none"


def _number(**bounds: float) -> Any:
    return Field(allow_inf_nan=False, **bounds)


class BaselineNumbers(Strict):
    """The metric before the experiment: its mean per identity and their variance.

    A conversion's mean is its rate p, and its variance p(1 − p) follows from it.
    """

    conversion: bool = Field(False, description="a rate (occurrence metric): variance p(1 − p)")
    mean: float = _number(ge=-MAX_NUMBER, le=MAX_NUMBER, description="mean per identity")
    variance: float | None = Field(
        None,
        gt=0,
        le=MAX_NUMBER**2,
        allow_inf_nan=False,
        validate_default=True,
        description="variance of the per-identity numbers; absent for a conversion",
    )

    @field_validator("mean")
    @classmethod
    def _rate_is_a_share(cls, mean: float, info: ValidationInfo) -> float:
        if info.data.get("conversion") and not 0 < mean < 1:
            raise error("rate", "a conversion rate lies strictly between 0 and 1")
        return mean

    @field_validator("variance")
    @classmethod
    def _variance_fits_the_kind(cls, variance: float | None, info: ValidationInfo) -> float | None:
        conversion = info.data.get("conversion")
        if conversion and variance is not None:
            raise error("variance_forbidden", "a conversion's variance is p(1 − p): leave it out")
        if not conversion and variance is None:
            raise error("variance_missing", "is required for a numeric metric")
        return variance

    def comparison(self, control: float, treatments: np.ndarray) -> PlannedComparison:
        """The control (its share ``control``) against each treatment (its share)."""
        weights = {"control_weight": control, "treatment_weight": treatments}
        if self.conversion:
            return PlannedComparison.of_proportion(self.mean, **weights)
        return PlannedComparison.of(self.mean, self.variance, **weights)


class PowerQuestion(Strict):
    """How many identities and days an experiment needs to detect a change of ``mde``."""

    baseline: BaselineNumbers
    mde: float = _number(
        gt=0, le=MAX_NUMBER, description="the smallest change worth detecting, on `scale`"
    )
    scale: Annotated[Scale, Field(strict=False)] = Field(
        Scale.RELATIVE, description="relative: mde is a share of the baseline mean (0.05: 5 %)"
    )
    alpha: float = _number(
        default=DEFAULT_ALPHA, ge=1e-6, lt=0.5, description="two-sided significance level"
    )
    power: float = _number(
        default=DEFAULT_POWER, ge=0.5, le=0.9999, description="chance of detecting the mde"
    )
    weights: list[Annotated[float, _number(ge=MIN_WEIGHT, le=MAX_WEIGHT)]] = Field(
        default_factory=lambda: [0.5, 0.5],
        min_length=2,
        max_length=MAX_VARIANTS,
        description="every variant's share of traffic, control first, on any scale",
    )
    daily_traffic: float = _number(
        ge=MIN_TRAFFIC, le=MAX_NUMBER, description="identities entering the experiment per day"
    )
    sequential: bool = Field(False, description="the experiment will use the sequential test")
    sequential_tuning: float = _number(
        default=DEFAULT_SEQUENTIAL_TUNING,
        ge=1,
        le=1e12,
        description="identities at which the sequential interval is narrowest",
    )
    correction: Annotated[TreatmentCorrection, Field(strict=False)] = Field(
        TreatmentCorrection.BONFERRONI, description="alpha shared by the treatments, or not"
    )
    identities: int | None = Field(
        None, ge=2, le=MAX_IDENTITIES, description="also say the mde reachable with this many"
    )

    @property
    def alpha_per_comparison(self) -> float:
        return comparison_alpha(self.alpha, len(self.weights) - 1, self.correction)


class DesignAnswer(Strict):
    """What one design needs: identities (all arms, and each arm's share), and days."""

    identities: int = Field(description="identities entering the experiment, all arms")
    identities_per_arm: list[int] = Field(description="each arm's share of them, control first")
    days: int = Field(description="identities / daily traffic, rounded up")
    mde_at_identities: float | None = Field(
        description="the change detectable with the question's `identities`, on its scale; "
        "null when not asked, or when no change is detectable with so few"
    )


class PowerAnswer(Strict):
    """Both designs' needs for the question; ``design`` is the one the experiment will use."""

    baseline: BaselineNumbers
    scale: Scale
    mde: float
    alpha: float
    power: float
    correction: TreatmentCorrection
    alpha_per_comparison: float = Field(description="alpha, shared by the treatments or not")
    daily_traffic: float
    identities: int | None = Field(description="the question's, for `mde_at_identities`")
    design: Method
    fixed_horizon: DesignAnswer
    sequential: DesignAnswer


class PowerError(ValueError):
    """A question that cannot be answered, one message per offending field (dotted path)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors.items()))
        self.errors = errors


def parse_question(raw: Any) -> PowerQuestion:
    """Validate a decoded JSON question; wrong types, unknown fields and bounds name the field."""
    try:
        return PowerQuestion.model_validate(raw)
    except ValidationError as exc:
        raise PowerError(field_errors(exc)) from None


def field_errors(exc: ValidationError, tags: frozenset[str] = frozenset()) -> dict[str, str]:
    """pydantic's errors by dotted path (the first message of each); ``tags`` name the members
    of tagged unions, which pydantic puts in the path but the request never wrote."""
    errors: dict[str, str] = {}
    for problem in exc.errors():
        parts = [str(part) for part in problem["loc"] if part not in tags]
        errors.setdefault(".".join(parts) or "question", problem["msg"])
    return errors


def comparison_alpha(alpha: float, treatments: int, correction: TreatmentCorrection) -> float:
    """The level each treatment's comparison is tested at."""
    if correction is TreatmentCorrection.BONFERRONI:
        return alpha / max(treatments, 1)
    return alpha


def shares(weights: Sequence[float]) -> np.ndarray:
    """Weights on any scale as shares of traffic."""
    total = math.fsum(weights)
    return np.asarray([w / total for w in weights], dtype=np.float64)


def designs(alpha: float, tuning: float) -> dict[Method, Design]:
    """The two frequentist designs; the sequential one tuned for the experiment's alpha."""
    return {
        Method.FIXED_HORIZON: FixedHorizonDesign(),
        Method.SEQUENTIAL: SequentialDesign(alpha, tuning),
    }


def plan(question: PowerQuestion) -> PowerAnswer:
    """Both designs' identities and days for ``question``; ``PowerError`` where it cannot be.

    A relative mde needs a nonzero baseline mean; a change the rate cannot take either way,
    or one needing more than ``MAX_IDENTITIES``, is refused with the reason.
    """
    baseline = question.baseline
    if question.scale is Scale.RELATIVE and baseline.mean == 0:
        raise PowerError({"baseline.mean": "a relative mde needs a nonzero baseline mean"})
    split = shares(question.weights)
    comparison = baseline.comparison(split[0], split[1:])
    answers = {
        method: _design_answer(question, comparison, split, design)
        for method, design in designs(question.alpha, question.sequential_tuning).items()
    }
    return PowerAnswer(
        baseline=baseline,
        scale=question.scale,
        mde=question.mde,
        alpha=question.alpha,
        power=question.power,
        correction=question.correction,
        alpha_per_comparison=question.alpha_per_comparison,
        daily_traffic=question.daily_traffic,
        identities=question.identities,
        design=Method.SEQUENTIAL if question.sequential else Method.FIXED_HORIZON,
        fixed_horizon=answers[Method.FIXED_HORIZON],
        sequential=answers[Method.SEQUENTIAL],
    )


def _design_answer(
    question: PowerQuestion, comparison: PlannedComparison, split: np.ndarray, design: Design
) -> DesignAnswer:
    levels = {"scale": question.scale, "alpha": question.alpha_per_comparison}
    levels |= {"power": question.power, "design": design}
    needed = float(np.max(identities_needed(comparison, question.mde, **levels)))
    if math.isnan(needed):
        raise PowerError(
            {"mde": "a change this large takes the rate below 0 or above 1 either way"}
        )
    if needed > MAX_IDENTITIES:
        raise PowerError(
            {"mde": f"detecting so small a change needs more than {MAX_IDENTITIES:.0e} identities"}
        )
    mde = None
    if question.identities is not None:
        reachable = float(
            np.max(minimum_detectable_effect(comparison, question.identities, **levels))
        )
        mde = reachable if math.isfinite(reachable) else None
    total = math.ceil(needed)
    return DesignAnswer(
        identities=total,
        identities_per_arm=[math.ceil(needed * share) for share in split],
        days=math.ceil(total / question.daily_traffic),
        mde_at_identities=mde,
    )


@dataclass(frozen=True)
class RunningPower:
    """How far a running experiment's primary metric is from detecting ``target_mde``.

    Per treatment (control excluded, in order): ``mde``, the change detectable with the
    identities so far (None where none is, or the data cannot say yet), and ``days_remaining``,
    the days at ``daily_traffic`` until ``target_mde`` is (0: already; None: unknown).
    """

    scale: Scale
    target_mde: float
    daily_traffic: float
    mde: tuple[float | None, ...]
    days_remaining: tuple[int | None, ...]

    @property
    def days_to_decision(self) -> int | None:
        """Days until every treatment can detect the target; None if any cannot say."""
        if any(days is None for days in self.days_remaining):
            return None
        return max(self.days_remaining, default=0)  # type: ignore[type-var]


def running_power(
    *,
    control_mean: float,
    variances: Sequence[float],
    identities: Sequence[int],
    weights: Sequence[float],
    days_run: float,
    metric_type: MetricType | str,
    scale: Scale | str = Scale.RELATIVE,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    sequential: bool = False,
    sequential_tuning: float = DEFAULT_SEQUENTIAL_TUNING,
    correction: TreatmentCorrection | str = TreatmentCorrection.BONFERRONI,
    target_mde: float | None = None,
    variance_factors: Sequence[float] | None = None,
) -> RunningPower:
    """Today's detectable change and the days still needed, from a running experiment's data.

    ``variances`` and ``identities`` are per arm, control first (per-identity variances, as a
    summary's ``variance``); ``weights`` the configured split. A conversion's treatments follow
    the control's rate (p(1 − p)); a numeric metric keeps each arm's observed variance. Traffic
    is the identities so far over ``days_run``, assumed to go on at that rate. ``target_mde`` is
    on ``scale``; without one it is ``DEFAULT_TARGET_MDE`` relative (that share of |control
    mean| on the absolute scale). alpha is shared by the treatments as ``correction`` says.
    ``variance_factors``, per treatment, scale both arms' variances in that comparison (a
    regression-adjusted one is judged on a smaller variance); a conversion so scaled is
    planned as a numeric metric of variance p(1 − p) times the factor.
    """
    scale = Scale(scale)
    target = _target(target_mde, scale, control_mean)
    split = shares(weights)
    conversion = MetricType(metric_type) is MetricType.CONVERSION
    comparison = _observed(control_mean, variances, split, conversion, variance_factors)
    level = comparison_alpha(alpha, len(weights) - 1, TreatmentCorrection(correction))
    design = designs(alpha, sequential_tuning)[
        Method.SEQUENTIAL if sequential else Method.FIXED_HORIZON
    ]
    levels = {"scale": scale, "alpha": level, "power": power, "design": design}
    so_far = float(sum(identities))
    traffic = so_far / days_run if days_run > 0 else math.nan
    mde = minimum_detectable_effect(comparison, so_far, **levels)
    needed = identities_needed(comparison, target, **levels)
    return RunningPower(
        scale=scale,
        target_mde=target,
        daily_traffic=traffic,
        mde=tuple(float(m) if math.isfinite(m) else None for m in mde),
        days_remaining=tuple(_days_left(float(n), traffic, days_run) for n in needed),
    )


def _target(target_mde: float | None, scale: Scale, control_mean: float) -> float:
    if target_mde is not None:
        return target_mde
    if scale is Scale.RELATIVE:
        return DEFAULT_TARGET_MDE
    return DEFAULT_TARGET_MDE * abs(control_mean)


def _observed(
    mean: float,
    variances: Sequence[float],
    split: np.ndarray,
    conversion: bool,
    factors: Sequence[float] | None,
) -> PlannedComparison:
    """The control against each treatment as observed: its rate, or each arm's variance."""
    weights = {"control_weight": split[0], "treatment_weight": split[1:]}
    if conversion and factors is None:
        return PlannedComparison.of_proportion(mean, **weights)
    if conversion:
        variances = [mean * (1.0 - mean)] * len(split)
    scaled = np.ones(len(split) - 1) if factors is None else np.asarray(factors, float)
    return PlannedComparison.of(
        np.full(len(scaled), mean),
        variances[0] * scaled,
        treatment_variance=np.asarray(variances[1:], float) * scaled,
        **weights,
    )


def _days_left(needed: float, traffic: float, days_run: float) -> int | None:
    """Whole days from now until ``needed`` identities at ``traffic`` a day; None if unknown."""
    if not (math.isfinite(needed) and math.isfinite(traffic) and traffic > 0):
        return None
    return max(0, math.ceil(needed / traffic - days_run))
