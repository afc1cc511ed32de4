"""An experiment's analysis settings: which method judges its metrics, on which scale.

One validated model serves the API (its serializer reads the JSON schema from here), the engine,
the cache key and the audit log, so nobody lists these fields again by hand.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from liftlab.analysis.breakdowns import MAX_BREAKDOWNS, Breakdown
from liftlab.stats import Correction, Scale

DEFAULT_ALPHA = 0.05
DEFAULT_SEQUENTIAL_TUNING = 5000.0
DEFAULT_CHANCE_TO_WIN = 0.95


class Engine(StrEnum):
    FREQUENTIST = "frequentist"
    BAYESIAN = "bayesian"


def _choice(vocabulary: type[StrEnum]) -> Any:
    """An enum field that takes its values as JSON strings (strict enums take only members)."""
    return Annotated[vocabulary, Field(strict=False)]


class BayesianPrior(BaseModel):
    """A normal prior on the effect, on the experiment's scale; no ``sd`` means flat."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    mean: float = Field(0.0, allow_inf_nan=False, description="prior mean of the effect")
    sd: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="prior standard deviation of the effect; null for a flat prior",
    )


class AnalysisSettings(BaseModel):
    """How the results of one experiment are computed and judged."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    engine: _choice(Engine) = Field(
        Engine.FREQUENTIST, description="frequentist or bayesian inference"
    )
    sequential: bool = Field(
        False,
        description="always-valid (sequential) intervals and p-values; frequentist only",
    )
    sequential_tuning: float = Field(
        DEFAULT_SEQUENTIAL_TUNING,
        gt=0,
        le=1e12,
        allow_inf_nan=False,
        description="the number of identities (all arms) at which the sequential interval is "
        "narrowest: set it to the identities you expect",
    )
    alpha: float = Field(
        DEFAULT_ALPHA,
        ge=1e-6,
        lt=0.5,
        allow_inf_nan=False,
        description="significance level: intervals are at 1 − alpha",
    )
    scale: _choice(Scale) = Field(Scale.RELATIVE, description="the lift a verdict is judged on")
    correction: _choice(Correction) = Field(
        Correction.BENJAMINI_HOCHBERG,
        description="multiple-testing correction over primary and secondary metrics × "
        "treatments; guardrails are a family of their own",
    )
    prior: BayesianPrior = Field(default_factory=BayesianPrior, description="bayesian only")
    chance_to_win_threshold: float = Field(
        DEFAULT_CHANCE_TO_WIN,
        gt=0.5,
        lt=1,
        allow_inf_nan=False,
        description="bayesian: the chance to win a verdict needs",
    )

    breakdowns: list[Breakdown] = Field(
        default_factory=list,
        max_length=MAX_BREAKDOWNS,
        description="up to three dimensions the results are also shown by (exploratory)",
    )

    @field_validator("breakdowns")
    @classmethod
    def _distinct_breakdowns(cls, breakdowns: list[Breakdown]) -> list[Breakdown]:
        keys = [b.key for b in breakdowns]
        if len(set(keys)) != len(keys):
            raise ValueError("names each dimension once")
        return breakdowns

    @field_validator("sequential")
    @classmethod
    def _sequential_is_frequentist(cls, sequential: bool, info: ValidationInfo) -> bool:
        if sequential and info.data.get("engine") is Engine.BAYESIAN:
            raise ValueError("is a frequentist method; the bayesian engine has no sequential mode")
        return sequential

    @property
    def interval_alpha(self) -> float:
        """The tail mass of the intervals shown: alpha, or 2·(1 − threshold) for bayesian.

        A bayesian verdict needs a chance to win of ``threshold``; the equal-tailed interval
        that excludes 0 exactly then is the one at level 2·threshold − 1.
        """
        if self.engine is Engine.BAYESIAN:
            return 2.0 * (1.0 - self.chance_to_win_threshold)
        return self.alpha

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SettingsError(ValueError):
    """Invalid settings, with one message per offending field (dotted path from the root)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def parse_settings(raw: Any) -> AnalysisSettings:
    """Validate stored or submitted settings; missing fields take their defaults."""
    if raw is None:
        return AnalysisSettings()
    if isinstance(raw, AnalysisSettings):
        return raw
    try:
        return AnalysisSettings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(
            {
                ".".join(str(part) for part in error["loc"]) or "analysis": _message(error["msg"])
                for error in exc.errors()
            }
        ) from exc


def _message(text: str) -> str:
    """pydantic's message without its "Value error, " prefix."""
    return text.removeprefix("Value error, ")
