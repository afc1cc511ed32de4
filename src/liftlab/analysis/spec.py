"""What a results query needs to know about an experiment, as plain frozen values.

The Django models are turned into these by the service layer, so the query builder (and a
notebook) works from values it can trust: times are aware, keys are unique, nothing is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from liftlab.analysis.breakdowns import Breakdown
from liftlab.analysis.definition import (
    Aggregation,
    Cap,
    Filter,
    MetricDefinition,
    MetricType,
    Quantile,
    RatioDefinition,
    check_metric,
    metric_type_for,
)

MAX_LOOKBACK_DAYS = 365


@dataclass(frozen=True)
class Part:
    """One per-identity number of a metric: which events count, their number, how they add up.

    A count, sum, mean or occurrence metric has one part; a ratio has a numerator and a
    denominator; a quantile metric's part says which values it ranks (``aggregation`` is
    ``sum``: an identity's total, for identity-level quantiles).
    """

    event: str
    value: str | None
    filters: tuple[Filter, ...]
    aggregation: Aggregation


@dataclass(frozen=True)
class MetricSpec:
    """One metric of the experiment: ``key`` names it in the results (e.g. the metric id).

    ``lookback_days`` turns on regression adjustment (CUPED): the covariate is the same metric
    over the days before each identity's first exposure. None: no adjustment.
    """

    key: str
    aggregation: Aggregation
    definition: MetricDefinition
    lookback_days: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "aggregation", Aggregation(self.aggregation))
        problems = check_metric(self.aggregation, self.definition)
        if problems:
            raise ValueError("; ".join(f"{p['path']}: {p['message']}" for p in problems))
        if self.lookback_days is not None:
            if self.metric_type is MetricType.QUANTILE:
                raise ValueError("a quantile metric cannot be regression-adjusted")
            if not 1 <= self.lookback_days <= MAX_LOOKBACK_DAYS:
                raise ValueError(f"lookback_days must be between 1 and {MAX_LOOKBACK_DAYS}")

    @property
    def metric_type(self) -> MetricType:
        return metric_type_for(self.aggregation)

    @property
    def numerator(self) -> Part:
        """The metric's (first) per-identity number: the whole metric unless it is a ratio."""
        definition = self.definition
        if isinstance(definition, RatioDefinition):
            return _part(definition.numerator, definition.numerator.aggregation)
        aggregation = (
            Aggregation.SUM if self.aggregation is Aggregation.QUANTILE else self.aggregation
        )
        return _part(definition, aggregation)

    @property
    def denominator(self) -> Part | None:
        """A ratio's denominator; None for every other metric."""
        definition = self.definition
        if isinstance(definition, RatioDefinition):
            return _part(definition.denominator, definition.denominator.aggregation)
        return None

    @property
    def parts(self) -> tuple[Part, ...]:
        denominator = self.denominator
        return (self.numerator,) if denominator is None else (self.numerator, denominator)

    @property
    def window_hours(self) -> int | None:
        window = self.definition.window
        return None if window is None else window.hours

    @property
    def cap(self) -> Cap | None:
        return self.definition.cap

    @property
    def quantile(self) -> Quantile | None:
        return self.definition.quantile


def _part(measure: object, aggregation: Aggregation) -> Part:
    return Part(
        event=measure.event,  # type: ignore[attr-defined]
        value=measure.value,  # type: ignore[attr-defined]
        filters=tuple(measure.filters),  # type: ignore[attr-defined]
        aggregation=Aggregation(aggregation),
    )


@dataclass(frozen=True)
class ExperimentSpec:
    """The flag, its variants, the time range analysed and the metrics to compute.

    ``start`` and ``end`` are inclusive and kept to the millisecond, the table's precision.
    """

    environment_key: str
    feature_name: str
    exposure_event: str
    variant_keys: tuple[str, ...]
    start: datetime
    end: datetime
    metrics: tuple[MetricSpec, ...] = field(default=())
    breakdowns: tuple[Breakdown, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "variant_keys", tuple(self.variant_keys))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "breakdowns", tuple(self.breakdowns))
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} must be a timezone-aware datetime")
        if self.start > self.end:
            raise ValueError("start must not be after end")
        if not self.variant_keys:
            raise ValueError("an experiment needs at least one variant")
        if len(set(self.variant_keys)) != len(self.variant_keys):
            raise ValueError("variant keys must be unique")
        if len({m.key for m in self.metrics}) != len(self.metrics):
            raise ValueError("metric keys must be unique")
        if len({b.key for b in self.breakdowns}) != len(self.breakdowns):
            raise ValueError("breakdown keys must be unique")

    @property
    def start_ms(self) -> int:
        """First millisecond analysed: a start between two milliseconds rounds up."""
        return -(-_micros(self.start) // 1000)

    @property
    def end_ms(self) -> int:
        """Last millisecond analysed: an end between two milliseconds rounds down."""
        return _micros(self.end) // 1000

    @property
    def lookback_ms(self) -> int:
        """How far before ``start`` the query reads metric events: the longest lookback."""
        days = max((m.lookback_days or 0 for m in self.metrics), default=0)
        return days * 86_400_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
