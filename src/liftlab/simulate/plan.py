"""What a simulation produces, as plain frozen data: no Django, no I/O.

A plan names the experiment (flag, variants, control, exposure event), the metrics with the
relative effects they should show, the baseline behaviour of each product event, and the
shares of the messy cases a real pipeline must survive (double exposure, duplicate sends,
events before exposure). The generator (``model``) and the truth (``truth``) both read it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from liftlab.analysis.definition import Aggregation
from liftlab.analysis.filters import FilterOp
from liftlab.vocabulary import EXPOSURE_EVENT


class PlanError(ValueError):
    """The plan cannot be simulated as asked; the message says which part and why."""


@dataclass(frozen=True)
class Variant:
    key: str
    weight: float


@dataclass(frozen=True)
class FilterSpec:
    """One metric filter, as in a metric definition: ``property op value``."""

    property: str
    op: FilterOp
    value: object = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "op", FilterOp(self.op))
        except ValueError:
            raise PlanError(f"filter on {self.property!r}: unknown operator {self.op!r}") from None
        if isinstance(self.value, list):
            object.__setattr__(self, "value", tuple(self.value))


@dataclass(frozen=True)
class StreamSpec:
    """The baseline behaviour of one product event (in the control variant).

    A user is *active* with probability ``active_rate``; an active user sends
    ``1 + Poisson(extra_events)`` such events, each at an independent delay after the first
    exposure. Events carry a log-normal value with mean ``value_mean`` and log-scale standard
    deviation ``value_sigma`` (the heavy tail of revenue), written wherever a sum or mean
    metric reads it. Every metric on the same event reads this one stream, so their truths
    stay consistent with each other.
    """

    event: str
    active_rate: float = 0.2
    extra_events: float = 1.0
    value_mean: float = 40.0
    value_sigma: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.active_rate <= 1:
            raise PlanError(f"stream {self.event!r}: active_rate must be in (0, 1]")
        if self.extra_events < 0 or not math.isfinite(self.extra_events):
            raise PlanError(f"stream {self.event!r}: extra_events must be ≥ 0")
        if self.value_mean <= 0 or self.value_sigma < 0:
            raise PlanError(f"stream {self.event!r}: value_mean must be > 0, value_sigma ≥ 0")


@dataclass(frozen=True)
class MetricSpec:
    """One metric as the simulator sees it, with the true effect it should show.

    ``effects`` maps a treatment variant to the relative change of this metric's per-user
    mean against control (0.03 is +3 %); see ``truth`` for what that means per aggregation.
    ``value_property`` None means the event's own ``value`` field (sum and mean only).
    """

    key: str
    name: str
    aggregation: Aggregation
    event: str
    value_property: str | None = None
    filters: tuple[FilterSpec, ...] = ()
    window_hours: float | None = None
    effects: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "aggregation", Aggregation(self.aggregation))
        except ValueError:
            raise PlanError(
                f"metric {self.name!r}: unknown aggregation {self.aggregation!r}"
            ) from None
        object.__setattr__(self, "filters", tuple(self.filters))
        if self.window_hours is not None and not self.window_hours > 0:
            raise PlanError(f"metric {self.name!r}: window_hours must be > 0")

    @property
    def reads_value(self) -> bool:
        return self.aggregation in (Aggregation.SUM, Aggregation.MEAN)


@dataclass(frozen=True)
class SimulationPlan:
    """Everything one seeded run depends on; the same plan always yields the same events.

    Users arrive over ``days`` (front-loaded) starting at ``start``; their product events
    follow their first exposure by up to ``horizon_hours``, so the last event is at most
    ``start + days + horizon_hours``. ``users_per_chunk`` bounds memory and is part of
    the random stream: change it and the events change.
    """

    flag: str
    variants: tuple[Variant, ...]
    control: str
    metrics: tuple[MetricSpec, ...]
    users: int
    days: float
    start: datetime
    seed: int = 0
    exposure_event: str = EXPOSURE_EVENT
    streams: tuple[StreamSpec, ...] = ()
    double_exposure_share: float = 0.005
    duplicate_share: float = 0.002
    pre_exposure_share: float = 0.02
    return_visits: float = 1.5
    horizon_hours: float = 168.0
    identifier_prefix: str = "user-"
    users_per_chunk: int = 5000

    def __post_init__(self) -> None:
        keys = [v.key for v in self.variants]
        if len(keys) < 2 or len(set(keys)) != len(keys):
            raise PlanError("variants: need at least two, with distinct keys")
        if any(not v.weight > 0 for v in self.variants):
            raise PlanError("variants: every weight must be > 0")
        if self.control not in keys:
            raise PlanError(f"control {self.control!r} is not one of the variants {keys}")
        if self.users < 1 or self.days <= 0 or self.horizon_hours <= 0:
            raise PlanError("users must be ≥ 1, days and horizon_hours > 0")
        if self.start.tzinfo is None:
            raise PlanError("start must be a timezone-aware datetime")
        for name in ("double_exposure_share", "duplicate_share", "pre_exposure_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise PlanError(f"{name} must be between 0 and 1")
        if self.return_visits < 0 or self.users_per_chunk < 1:
            raise PlanError("return_visits must be ≥ 0 and users_per_chunk ≥ 1")
        if len({m.key for m in self.metrics}) != len(self.metrics):
            raise PlanError("metrics: keys must be distinct")
        if any(m.event == self.exposure_event for m in self.metrics):
            raise PlanError(f"metrics cannot count the exposure event {self.exposure_event!r}")

    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.variants if v.key != self.control)

    def stream(self, event: str) -> StreamSpec:
        """The baseline of ``event``: the one given in ``streams``, else the defaults."""
        return next((s for s in self.streams if s.event == event), StreamSpec(event))

    @property
    def product_events(self) -> tuple[str, ...]:
        """The product events the metrics read, each once, in the metrics' order."""
        return tuple(dict.fromkeys(m.event for m in self.metrics))


def default_start(days: float, horizon_hours: float, now: datetime | None = None) -> datetime:
    """The start that makes the whole simulation end now (to the minute): nothing in the future."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return now - timedelta(days=days, hours=horizon_hours)
