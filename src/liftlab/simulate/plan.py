"""What a simulation produces, as plain frozen data: no Django, no I/O.

A plan names the experiment (flag, variants, control, exposure event), the metrics with the
relative effects they should show, the baseline behaviour of each product event, how users
differ from each other and from their own past (propensity, carry-over), and the shares of
the messy cases a real pipeline must survive (double exposure, duplicate sends). The
generator (``model``) and the truth (``truth``) both read it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from liftlab.analysis.definition import Aggregation, CapType, QuantileLevel
from liftlab.analysis.filters import FilterOp
from liftlab.simulate.timing import CHILD_GAP_SECONDS, PRE_EXPOSURE_GAP_SECONDS
from liftlab.vocabulary import EXPOSURE_EVENT

RATIO_PARTS = (Aggregation.COUNT, Aggregation.SUM, Aggregation.OCCURRENCE)


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
    ``1 + Poisson(extra_events × Z)`` such events, Z being the user's propensity (mean 1),
    each at an independent delay after the first exposure. Events carry a log-normal value
    with log-scale standard deviation ``value_sigma``; a share ``whale_share`` of users, the
    *whales* (big spenders, or users on slow connections), have every value
    ``whale_multiplier`` times larger. ``value_mean`` is the mean value over all users,
    whales included. The value is written wherever a sum, mean or quantile reads it.

    With ``parent`` set the stream is a *child*: each ``parent`` event is followed, 1 s to
    5 min later, by Poisson(``per_parent`` × Z) events of this one (clicks in a session);
    ``active_rate`` and ``extra_events`` do not apply to it. Every metric on the same event
    reads this one stream, so their truths stay consistent with each other.
    """

    event: str
    active_rate: float = 0.2
    extra_events: float = 1.0
    value_mean: float = 40.0
    value_sigma: float = 1.0
    whale_share: float = 0.0
    whale_multiplier: float = 30.0
    parent: str | None = None
    per_parent: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.active_rate <= 1:
            raise PlanError(f"stream {self.event!r}: active_rate must be in (0, 1]")
        for name in ("extra_events", "per_parent"):
            value = getattr(self, name)
            if value < 0 or not math.isfinite(value):
                raise PlanError(f"stream {self.event!r}: {name} must be ≥ 0")
        if self.value_mean <= 0 or self.value_sigma < 0:
            raise PlanError(f"stream {self.event!r}: value_mean must be > 0, value_sigma ≥ 0")
        if not 0 <= self.whale_share < 1 or not 0 < self.whale_multiplier < math.inf:
            raise PlanError(
                f"stream {self.event!r}: whale_share must be in [0, 1), whale_multiplier > 0"
            )
        if self.parent == self.event:
            raise PlanError(f"stream {self.event!r} cannot follow itself")

    @property
    def base_value(self) -> float:
        """The mean value of a user who is not a whale."""
        return self.value_mean / (1 + self.whale_share * (self.whale_multiplier - 1))


@dataclass(frozen=True)
class CapSpec:
    """A metric's cap: an absolute number, or a percentile level of the pooled identities."""

    type: CapType
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", CapType(self.type))
        if self.type is CapType.PERCENTILE and not 0 < self.value < 1:
            raise PlanError("a percentile cap is a level between 0 and 1")
        if self.type is CapType.ABSOLUTE and not 0 < self.value < math.inf:
            raise PlanError("an absolute cap must be a positive number")


@dataclass(frozen=True)
class QuantileSpec:
    """A quantile metric's level ``q`` and whose values it ranks (events or identities)."""

    q: float
    level: QuantileLevel

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", QuantileLevel(self.level))
        if not 0 < self.q < 1:
            raise PlanError("a quantile's level q must be between 0 and 1")


@dataclass(frozen=True)
class PartSpec:
    """One per-identity number a metric reads: which events, how they add up, which value.

    ``value_property`` None means the event's own ``value`` field.
    """

    event: str
    aggregation: Aggregation
    value_property: str | None = None
    filters: tuple[FilterSpec, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "aggregation", Aggregation(self.aggregation))
        object.__setattr__(self, "filters", tuple(self.filters))

    @property
    def reads_value(self) -> bool:
        return self.aggregation in (Aggregation.SUM, Aggregation.MEAN, Aggregation.QUANTILE)


def _aggregation(name: str, aggregation: object) -> Aggregation:
    try:
        return Aggregation(aggregation)
    except ValueError:
        raise PlanError(f"metric {name!r}: unknown aggregation {aggregation!r}") from None


@dataclass(frozen=True)
class MetricSpec:
    """One metric as the simulator sees it, with the true effect it should show.

    ``event``, ``value_property`` and ``filters`` say which events it reads; for a ratio they
    are the numerator's, whose aggregation is ``numerator_aggregation``, and ``denominator``
    is the other part. ``effects`` maps a treatment variant to the relative change of the
    metric against control (0.03 is +3 %), before any cap; see ``truth`` for what that means
    per aggregation and for the capped truth.
    """

    key: str
    name: str
    aggregation: Aggregation
    event: str
    value_property: str | None = None
    filters: tuple[FilterSpec, ...] = ()
    window_hours: float | None = None
    effects: Mapping[str, float] = field(default_factory=dict)
    cap: CapSpec | None = None
    quantile: QuantileSpec | None = None
    numerator_aggregation: Aggregation | None = None
    denominator: PartSpec | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "aggregation", _aggregation(self.name, self.aggregation))
        object.__setattr__(self, "filters", tuple(self.filters))
        if self.numerator_aggregation is not None:
            numerator = _aggregation(self.name, self.numerator_aggregation)
            object.__setattr__(self, "numerator_aggregation", numerator)
        if self.window_hours is not None and not self.window_hours > 0:
            raise PlanError(f"metric {self.name!r}: window_hours must be > 0")
        problem = self._shape_problem()
        if problem:
            raise PlanError(f"metric {self.name!r}: {problem}")

    def _shape_problem(self) -> str:
        """What, if anything, does not fit the aggregation: parts, quantile and cap."""
        is_ratio = self.aggregation is Aggregation.RATIO
        if is_ratio != (self.denominator is not None and self.numerator_aggregation is not None):
            return "a ratio needs numerator_aggregation and a denominator, nothing else does"
        if is_ratio and any(p.aggregation not in RATIO_PARTS for p in self.parts):
            return "a ratio's parts are counts, sums or occurrences"
        if (self.aggregation is Aggregation.QUANTILE) != (self.quantile is not None):
            return "a quantile metric needs its quantile, and only it may have one"
        if self.cap is not None and self.aggregation in (
            Aggregation.OCCURRENCE,
            Aggregation.QUANTILE,
        ):
            return f"a {self.aggregation.value} metric cannot be capped"
        return ""

    @property
    def numerator(self) -> PartSpec:
        """The metric's (first) per-identity number: the whole metric unless it is a ratio."""
        return PartSpec(
            self.event,
            self.numerator_aggregation or self.aggregation,
            self.value_property,
            self.filters,
        )

    @property
    def parts(self) -> tuple[PartSpec, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)


@dataclass(frozen=True)
class SimulationPlan:
    """Everything one seeded run depends on; the same plan always yields the same events.

    Users arrive over ``days`` (front-loaded) starting at ``start``; their product events
    follow their first exposure by up to ``horizon_hours`` (child events up to 5 minutes
    more). In the ``pre_days`` before it, each user already behaves as a control user does
    over one horizon (0: no events before exposure). A user's propensity is Gamma with mean
    1 and shape ``propensity_shape`` (variance 1 / shape; ``math.inf``: all alike); with
    probability ``pre_post_correlation`` a user's traits carry over from before the first
    exposure to after it, otherwise they are drawn afresh. ``users_per_chunk`` bounds memory
    and is part of the random stream: change it and the events change.
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
    pre_days: float = 14.0
    pre_post_correlation: float = 0.6
    propensity_shape: float = 1.0
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
        for name in ("double_exposure_share", "duplicate_share", "pre_post_correlation"):
            if not 0 <= getattr(self, name) <= 1:
                raise PlanError(f"{name} must be between 0 and 1")
        if self.return_visits < 0 or self.users_per_chunk < 1:
            raise PlanError("return_visits must be ≥ 0 and users_per_chunk ≥ 1")
        if not self.propensity_shape > 0:
            raise PlanError("propensity_shape must be > 0 (math.inf: every user alike)")
        if self.pre_days != 0 and not PRE_EXPOSURE_GAP_SECONDS < self.pre_days * 86_400 < math.inf:
            raise PlanError("pre_days must be 0 or longer than 10 minutes")
        self._check_metrics()
        self._check_streams()

    def _check_metrics(self) -> None:
        if len({m.key for m in self.metrics}) != len(self.metrics):
            raise PlanError("metrics: keys must be distinct")
        if any(p.event == self.exposure_event for m in self.metrics for p in m.parts):
            raise PlanError(f"metrics cannot count the exposure event {self.exposure_event!r}")

    def _check_streams(self) -> None:
        for event in self.product_events:
            parent = self.stream(event).parent
            if parent is None:
                continue
            if parent == self.exposure_event or self.stream(parent).parent is not None:
                raise PlanError(
                    f"stream {event!r} follows {parent!r}, which is not a plain product event"
                )

    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.variants if v.key != self.control)

    def stream(self, event: str) -> StreamSpec:
        """The baseline of ``event``: the one given in ``streams``, else the defaults."""
        return next((s for s in self.streams if s.event == event), StreamSpec(event))

    @property
    def product_events(self) -> tuple[str, ...]:
        """The product events to generate, each once: the events the metrics read, in their
        order, and the parents their child streams follow; parents before children."""
        read = dict.fromkeys(p.event for m in self.metrics for p in m.parts)
        parents = dict.fromkeys(
            parent for event in read if (parent := self.stream(event).parent) is not None
        )
        events = list(dict.fromkeys([*read, *parents]))
        return tuple(sorted(events, key=lambda e: self.stream(e).parent is not None))

    @property
    def variant_shares(self) -> dict[str, float]:
        """Each variant's share of the assigned users (its weight over their sum)."""
        total = math.fsum(v.weight for v in self.variants)
        return {v.key: v.weight / total for v in self.variants}


def default_start(days: float, horizon_hours: float, now: datetime | None = None) -> datetime:
    """The start that makes the whole simulation end now (to the minute): nothing in the future,
    child events (up to 5 minutes after their parent) included."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return now - timedelta(days=days, hours=horizon_hours, seconds=CHILD_GAP_SECONDS[1])
