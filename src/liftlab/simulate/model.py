"""The seeded, vectorised event generator: a plan in, chunks of event dicts out.

Users are generated a chunk at a time (``plan.users_per_chunk``), each chunk from its own
random stream derived from the plan's seed and the chunk's index, so memory stays bounded at
any size and a chunk is the same whatever came before it. Within a chunk everything is drawn
with numpy: the users' traits (``traits``), then each stream's events after the first
exposure (with each user's variant's knobs) and before it (with the control's), parents
before the child streams that follow them. Python only assembles the final dicts, in time
order, with duplicate re-sends at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass, field
from datetime import UTC

import numpy as np

from liftlab.simulate.assignment import assign_variants
from liftlab.simulate.calibration import Calibration, StreamModel, calibrate
from liftlab.simulate.filters import ABSENT
from liftlab.simulate.plan import SimulationPlan
from liftlab.simulate.timing import (
    sample_arrivals,
    sample_child_gaps,
    sample_delays,
    sample_lead_times,
)
from liftlab.simulate.traits import Traits, draw_traits

Event = dict[str, object]


@dataclass(frozen=True)
class Counts:
    """What was generated; ``events`` is every line sent, duplicate re-sends included."""

    users: int = 0
    exposures: int = 0
    product_events: int = 0
    pre_exposure_events: int = 0
    duplicates: int = 0
    double_exposed_users: int = 0

    @property
    def events(self) -> int:
        return self.exposures + self.product_events + self.pre_exposure_events + self.duplicates

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


@dataclass(frozen=True)
class EventChunk:
    events: list[Event]
    counts: Counts


@dataclass
class _Part:
    """Events of one kind before ordering: their dicts and their times (seconds from start)."""

    events: list[Event] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)

    def add(self, events: list[Event], times: np.ndarray) -> None:
        self.events.extend(events)
        self.times.append(times)


@dataclass(frozen=True)
class _Users:
    """The chunk's users: identifiers, variant indices and first-exposure times."""

    identifiers: list[str]
    variant: np.ndarray
    arrival: np.ndarray

    def __len__(self) -> int:
        return len(self.identifiers)


@dataclass(frozen=True)
class _Period:
    """One side of the first exposure: the users' traits then, the variant (index) whose
    knobs apply to each user, and when the events of users ``who`` happen (seconds)."""

    traits: Traits
    variant: np.ndarray
    place: Callable[[np.ndarray], np.ndarray]


def generate(plan: SimulationPlan) -> Iterator[EventChunk]:
    """All of the plan's events, a chunk of users at a time (raises ``PlanError`` up front)."""
    return _chunks(plan, calibrate(plan))


def _chunks(plan: SimulationPlan, calibration: Calibration) -> Iterator[EventChunk]:
    for index, first in enumerate(range(0, plan.users, plan.users_per_chunk)):
        rng = np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(index,)))
        last = min(first + plan.users_per_chunk, plan.users)
        yield _chunk(plan, calibration, rng, range(first, last))


def _chunk(
    plan: SimulationPlan, calibration: Calibration, rng: np.random.Generator, numbers: range
) -> EventChunk:
    width = len(str(plan.users - 1))
    identifiers = [f"{plan.identifier_prefix}{i:0{width}d}" for i in numbers]
    users = _Users(
        identifiers,
        assign_variants(plan.flag, identifiers, [v.weight for v in plan.variants]),
        sample_arrivals(rng, len(identifiers), plan.days),
    )
    exposures, double_exposed = _exposures(plan, rng, users)
    product, before = _behaviour(plan, calibration, rng, users)
    events = _in_time_order(plan, rng, [exposures, product, before])
    resent = np.flatnonzero(rng.random(len(events)) < plan.duplicate_share)
    duplicates = [dict(events[i]) for i in resent.tolist()]  # a retry: same event, same id
    counts = Counts(
        users=len(users),
        exposures=len(exposures.events),
        product_events=len(product.events),
        pre_exposure_events=len(before.events),
        duplicates=len(duplicates),
        double_exposed_users=double_exposed,
    )
    return EventChunk(events + duplicates, counts)


def _behaviour(
    plan: SimulationPlan, calibration: Calibration, rng: np.random.Generator, users: _Users
) -> tuple[_Part, _Part]:
    """The users' product events after their first exposure and, unless ``pre_days`` is 0,
    before it: one horizon's worth of control behaviour spread over the pre-period."""
    events = list(calibration.streams)
    after, before = draw_traits(
        rng, len(users), events, plan.propensity_shape, plan.pre_post_correlation
    )

    def following(who: np.ndarray) -> np.ndarray:
        return users.arrival[who] + sample_delays(rng, len(who), plan.horizon_hours)

    def preceding(who: np.ndarray) -> np.ndarray:
        return users.arrival[who] - sample_lead_times(rng, len(who), plan.pre_days)

    product = _period_events(
        plan, calibration, rng, users, _Period(after, users.variant, following)
    )
    if not plan.pre_days:
        return product, _Part()
    control = np.full(len(users), [v.key for v in plan.variants].index(plan.control))
    return product, _period_events(
        plan, calibration, rng, users, _Period(before, control, preceding)
    )


def _exposures(plan: SimulationPlan, rng: np.random.Generator, users: _Users) -> tuple[_Part, int]:
    """First exposures, return visits (same variant) and a second variant for a few users."""
    n, keys = len(users), [v.key for v in plan.variants]
    returning = np.repeat(np.arange(n), rng.poisson(plan.return_visits, n))
    doubled = np.flatnonzero(rng.random(n) < plan.double_exposure_share)
    other = (users.variant[doubled] + rng.integers(1, len(keys), len(doubled))) % len(keys)
    later = np.concatenate([returning, doubled])
    who = np.concatenate([np.arange(n), later])
    variant = np.concatenate([users.variant, users.variant[returning], other])
    delays = sample_delays(rng, len(later), plan.horizon_hours)
    part = _Part()
    part.add(
        [
            {
                "event": plan.exposure_event,
                "identifier": users.identifiers[u],
                "timestamp": "",
                "feature_name": plan.flag,
                "value": keys[v],
            }
            for u, v in zip(who.tolist(), variant.tolist(), strict=True)
        ],
        np.concatenate([users.arrival, users.arrival[later] + delays]),
    )
    return part, len(doubled)


def _per_user(
    plan: SimulationPlan, stream: StreamModel, knob: str, variant: np.ndarray
) -> np.ndarray:
    """A knob's value for each entry of ``variant`` (indices into ``plan.variants``)."""
    return np.array([getattr(stream.knobs[v.key], knob) for v in plan.variants])[variant]


def _period_events(
    plan: SimulationPlan,
    calibration: Calibration,
    rng: np.random.Generator,
    users: _Users,
    period: _Period,
) -> _Part:
    """Every stream's events in one period; a child stream's follow its parent's."""
    part = _Part()
    sent: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for event, stream in calibration.streams.items():
        if stream.spec.parent is None:
            who = _senders(plan, stream, rng, period)
            times = period.place(who)
        else:
            parents, parent_times = sent[stream.spec.parent]
            rate = _per_user(plan, stream, "events", period.variant[parents])
            children = rng.poisson(rate * period.traits.propensity[parents])
            who = np.repeat(parents, children)
            times = np.repeat(parent_times, children) + sample_child_gaps(rng, len(who))
        sent[event] = (who, times)
        part.add(_product_dicts(plan, stream, rng, users, period, who), times)
    return part


def _senders(
    plan: SimulationPlan, stream: StreamModel, rng: np.random.Generator, period: _Period
) -> np.ndarray:
    """The sender of each event: active users send 1 + Poisson(λ·Z) events each."""
    event, traits = stream.spec.event, period.traits
    active = traits.activity[event] < _per_user(plan, stream, "active", period.variant)
    extra = _per_user(plan, stream, "extra", period.variant) * traits.propensity
    sends = np.where(active, 1 + rng.poisson(extra), 0)
    return np.repeat(np.arange(len(active)), sends)


def _properties(stream: StreamModel, rng: np.random.Generator, n: int) -> list[dict[str, object]]:
    """Each property drawn per event from its support; absent ones left out of the dict."""
    names = [s.name for s in stream.supports]
    columns = [
        [s.values[i] for i in rng.choice(len(s.values), size=n, p=s.weights).tolist()]
        for s in stream.supports
    ]
    rows = zip(*columns, strict=True) if columns else [()] * n
    return [{k: v for k, v in zip(names, row, strict=True) if v is not ABSENT} for row in rows]


def _product_dicts(
    plan: SimulationPlan,
    stream: StreamModel,
    rng: np.random.Generator,
    users: _Users,
    period: _Period,
    who: np.ndarray,
) -> list[Event]:
    """Event dicts with drawn properties and, where a metric reads one, a value."""
    properties = _properties(stream, rng, len(who))
    if stream.value_properties or stream.writes_event_value:
        values = _values(plan, stream, rng, period, who).tolist()
        for props, value in zip(properties, values, strict=True):
            props.update(dict.fromkeys(stream.value_properties, value))
    else:
        values = [None] * len(who)
    events: list[Event] = []
    for u, props, value in zip(who.tolist(), properties, values, strict=True):
        event: Event = {
            "event": stream.spec.event,
            "identifier": users.identifiers[u],
            "timestamp": "",
            "properties": props,
        }
        if stream.writes_event_value:
            event["value"] = value
        events.append(event)
    return events


def _values(
    plan: SimulationPlan,
    stream: StreamModel,
    rng: np.random.Generator,
    period: _Period,
    who: np.ndarray,
) -> np.ndarray:
    """Log-normal values of mean 1 (exp(N(μ, σ²)) has mean exp(μ + σ²/2)) times the value
    scale, the mean of a user who is not a whale and, for whales, the whale multiplier;
    rounded to cents."""
    spec, sigma = stream.spec, stream.spec.value_sigma
    whale = period.traits.whale[spec.event][who] < spec.whale_share
    level = _per_user(plan, stream, "scale", period.variant[who]) * spec.base_value
    level = np.where(whale, level * spec.whale_multiplier, level)
    return np.round(rng.lognormal(-(sigma**2) / 2, sigma, len(who)) * level, 2)


def _in_time_order(
    plan: SimulationPlan, rng: np.random.Generator, parts: list[_Part]
) -> list[Event]:
    """Merge the parts by time, then stamp each event with its time and a seeded UUID."""
    events = [e for part in parts for e in part.events]
    seconds = np.concatenate([t for part in parts for t in part.times])
    order = np.argsort(seconds, kind="stable")
    start = np.datetime64(plan.start.astimezone(UTC).replace(tzinfo=None), "ms")
    stamps = start + np.rint(seconds[order] * 1000).astype("timedelta64[ms]")
    ordered = [events[i] for i in order.tolist()]
    for event, stamp, event_id in zip(
        ordered,
        np.datetime_as_string(stamps, unit="ms").tolist(),
        _uuids(rng, len(ordered)),
        strict=True,
    ):
        event["timestamp"] = stamp + "Z"
        event["event_id"] = event_id
    return ordered


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    """Version-4 UUID strings drawn from the seeded stream (reproducible, unlike uuid4())."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    return [
        f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        for h in (text[i : i + 32] for i in range(0, len(text), 32))
    ]
