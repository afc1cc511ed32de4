"""What a results query needs to know about an experiment, as plain frozen values.

The Django models are turned into these by the service layer, so the query builder (and a
notebook) works from values it can trust: times are aware, keys are unique, nothing is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from liftlab.analysis.definition import Aggregation, MetricDefinition, MetricType, metric_type_for


@dataclass(frozen=True)
class MetricSpec:
    """One metric of the experiment: ``key`` names it in the results (e.g. the metric id)."""

    key: str
    aggregation: Aggregation
    definition: MetricDefinition

    def __post_init__(self) -> None:
        object.__setattr__(self, "aggregation", Aggregation(self.aggregation))

    @property
    def metric_type(self) -> MetricType:
        return metric_type_for(self.aggregation)


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "variant_keys", tuple(self.variant_keys))
        object.__setattr__(self, "metrics", tuple(self.metrics))
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

    @property
    def start_ms(self) -> int:
        """First millisecond analysed: a start between two milliseconds rounds up."""
        return -(-_micros(self.start) // 1000)

    @property
    def end_ms(self) -> int:
        """Last millisecond analysed: an end between two milliseconds rounds down."""
        return _micros(self.end) // 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
