"""The seeded, vectorised event generator: a plan in, chunks of event dicts out.

Users are generated a chunk at a time (``plan.users_per_chunk``), each chunk from its own
random stream derived from the seed, so memory stays bounded at any size and a chunk is
the same whatever came before it. Within a chunk everything is drawn with numpy; Python
only assembles the final dicts, in time order, with duplicate re-sends at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple, dataclass, field
from datetime import UTC

import numpy as np

from liftlab.simulate.assignment import assign_variants
from liftlab.simulate.calibration import Calibration, StreamModel, calibrate
from liftlab.simulate.filters import ABSENT
from liftlab.simulate.plan import SimulationPlan
from liftlab.simulate.timing import sample_arrivals, sample_delays, sample_lead_times

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
    product, before = _Part(), _Part()
    for stream in calibration.streams.values():
        _stream_events(plan, stream, rng, users, product)
        _pre_exposure_events(plan, stream, rng, users, before)
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


def _stream_events(
    plan: SimulationPlan, stream: StreamModel, rng: np.random.Generator, users: _Users, part: _Part
) -> None:
    """Active users send 1 + Poisson(λ) events each, spread after their first exposure."""
    active = rng.random(len(users)) < _per_user(plan, stream, "active", users.variant)
    sends = np.where(active, 1 + rng.poisson(_per_user(plan, stream, "extra", users.variant)), 0)
    who = np.repeat(np.arange(len(users)), sends)
    times = users.arrival[who] + sample_delays(rng, len(who), plan.horizon_hours)
    part.add(_product_dicts(plan, stream, rng, users, who), times)


def _pre_exposure_events(
    plan: SimulationPlan, stream: StreamModel, rng: np.random.Generator, users: _Users, part: _Part
) -> None:
    """A few users did the event before they ever saw the flag: no metric may count these."""
    who = np.flatnonzero(rng.random(len(users)) < plan.pre_exposure_share)
    times = users.arrival[who] - sample_lead_times(rng, len(who))
    part.add(_product_dicts(plan, stream, rng, users, who), times)


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
    who: np.ndarray,
) -> list[Event]:
    """Event dicts with drawn properties and, where a metric reads one, a log-normal value."""
    properties = _properties(stream, rng, len(who))
    if stream.value_properties or stream.writes_event_value:
        scale = _per_user(plan, stream, "scale", users.variant[who])
        values = np.round(_lognormal(rng, stream, len(who)) * scale, 2).tolist()
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


def _lognormal(rng: np.random.Generator, stream: StreamModel, n: int) -> np.ndarray:
    """Values with mean ``value_mean``: exp(N(μ, σ²)) has mean exp(μ + σ²/2)."""
    sigma = stream.spec.value_sigma
    return rng.lognormal(np.log(stream.spec.value_mean) - sigma**2 / 2, sigma, n)


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
