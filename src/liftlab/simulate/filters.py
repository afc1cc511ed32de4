"""Event properties that some metric filters match and others do not.

Each property of a product event is drawn per event, independently, from a small finite
distribution (its *support*). The support always holds values that satisfy each filter and
values that violate it, so a filtered metric sees counted events *and* look-alikes it must
ignore, and the share it counts is an exact sum over the support (``match_share``).

Values keep the JSON type of the filter that reads them (a number for ``gt``, a string for
``contains``...): a property compared with values of different types, or absent where a
negative filter (``neq``, ``not_in``) reads it, has no unambiguous meaning and is refused.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from liftlab.analysis.filters import FilterOp
from liftlab.simulate.plan import FilterSpec, PlanError


class _Absent:
    """The property is not on the event at all (what ``is_set`` / ``is_not_set`` test)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()

# Properties every product event carries, so filters on them look like real segmentation.
BACKGROUND: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "plan": (("free", "pro", "team"), (0.5, 0.35, 0.15)),
    "country": (("US", "GB", "DE", "FR", "BR"), (0.4, 0.2, 0.15, 0.15, 0.1)),
}
# Share of a background property's draws given to filter-made values it does not already hold.
_NEW_VALUES_SHARE = 0.2
# Items of an `in` list used as candidates: enough to match, few enough to stay small.
_LIST_SAMPLE = 5

_NEGATIVE_OPS = frozenset({FilterOp.NEQ, FilterOp.NOT_IN})
_PRESENCE_OPS = frozenset({FilterOp.IS_SET, FilterOp.IS_NOT_SET})
_NUMBER_OPS = frozenset({FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE})


@dataclass(frozen=True)
class PropertySupport:
    """The values one property takes on a stream's events, with their probabilities."""

    name: str
    values: tuple[object, ...]
    weights: tuple[float, ...]


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise PlanError(f"filter value {value!r} is not a string, number or boolean")


def _same(a: object, b: object) -> bool:
    return _kind(a) == _kind(b) and a == b


def _compare(op: FilterOp, value: object, bound: float) -> bool:
    if _kind(value) != "number":
        return False
    return {
        FilterOp.GT: value > bound,
        FilterOp.GTE: value >= bound,
        FilterOp.LT: value < bound,
        FilterOp.LTE: value <= bound,
    }[op]


def holds(spec: FilterSpec, value: object) -> bool:
    """Does an event whose property is ``value`` (or ``ABSENT``) pass the filter?"""
    op = spec.op
    if op in _PRESENCE_OPS:
        return (value is ABSENT) == (op is FilterOp.IS_NOT_SET)
    if value is ABSENT:
        return False  # never reached for neq / not_in: `property_supports` refuses that case
    if op is FilterOp.EQ:
        return _same(value, spec.value)
    if op is FilterOp.NEQ:
        return not _same(value, spec.value)
    if op is FilterOp.IN:
        return any(_same(value, item) for item in spec.value)
    if op is FilterOp.NOT_IN:
        return not any(_same(value, item) for item in spec.value)
    if op is FilterOp.CONTAINS:
        return isinstance(value, str) and spec.value in value
    return _compare(op, value, spec.value)


def _filter_values(spec: FilterSpec) -> list[object]:
    """The values a filter mentions (all of a list's items)."""
    if spec.value is None:
        return []
    return list(spec.value) if isinstance(spec.value, list | tuple) else [spec.value]


def _property_kind(name: str, filters: Sequence[FilterSpec]) -> str:
    kinds = {_kind(v) for f in filters for v in _filter_values(f)}
    kinds |= {"number" for f in filters if f.op in _NUMBER_OPS}
    kinds |= {"string" for f in filters if f.op is FilterOp.CONTAINS}
    if name in BACKGROUND:
        kinds.add("string")
    if len(kinds) > 1:
        raise PlanError(f"property {name!r} is compared with values of types {sorted(kinds)}")
    return kinds.pop() if kinds else "string"


def _fresh_strings() -> Iterator[str]:
    yield "other"
    yield from (f"other-{i}" for i in range(1, 1000))
    yield from (chr(0x4E00 + i) for i in range(1000))


def _string_candidates(filters: Sequence[FilterSpec]) -> list[object]:
    """Every string a filter names (lists sampled), plus one no filter names or contains."""
    named = [v for f in filters for v in _filter_values(f)[:_LIST_SAMPLE]]
    taken = {v for f in filters for v in _filter_values(f)}
    parts = [f.value for f in filters if f.op is FilterOp.CONTAINS and f.value]
    fresh = next(
        (s for s in _fresh_strings() if s not in taken and not any(p in s for p in parts)),
        None,
    )
    return [*named, *([] if fresh is None else [fresh])]


def _decisive(values: Sequence[object], filters: Sequence[FilterSpec]) -> bool:
    """Does every filter both pass and fail on some of these values?"""
    return all(
        any(holds(f, v) for v in values) and not all(holds(f, v) for v in values) for f in filters
    )


def _number_candidates(filters: Sequence[FilterSpec]) -> list[object]:
    """Each bound, its neighbours and the midpoints between bounds: every interval is hit."""
    everything = [v for f in filters for v in _filter_values(f)]
    bounds = sorted({v for f in filters for v in _filter_values(f)[:_LIST_SAMPLE]})
    around = [x for b in bounds for x in (b - 1, b, b + 1)]
    middles = [(a + b) / 2 for a, b in itertools.pairwise(bounds)]
    return [*around, *middles, max(everything) + 1]


def _candidates(kind: str, filters: Sequence[FilterSpec]) -> list[object]:
    if kind == "boolean":
        return [True, False]
    if kind == "number":
        return _number_candidates(filters)
    return _string_candidates(filters)


def _support(name: str, filters: Sequence[FilterSpec]) -> PropertySupport:
    background, background_weights = BACKGROUND.get(name, ((), ()))
    ops = {f.op for f in filters}
    new = _candidates(_property_kind(name, filters), filters)
    if ops & _PRESENCE_OPS:
        if ops & _NEGATIVE_OPS:
            raise PlanError(
                f"property {name!r}: a filter tests whether it is set and another uses "
                "neq/not_in, which has no agreed meaning on events without it"
            )
        new.append(ABSENT)
    new = [v for v in dict.fromkeys(new) if v not in background]
    if background and _decisive(background, filters):
        new = []  # the background values already show every filter passing and failing
    if not new:
        return PropertySupport(name, background, background_weights)
    new_share = _NEW_VALUES_SHARE if background else 1.0
    weights = [w * (1 - new_share) for w in background_weights] + [new_share / len(new)] * len(new)
    return PropertySupport(name, (*background, *new), tuple(weights))


def property_supports(
    filtered: Iterable[tuple[str, Sequence[FilterSpec]]], value_properties: Iterable[str]
) -> tuple[PropertySupport, ...]:
    """The properties of one stream's events: the background ones and every filtered one.

    ``filtered`` holds each metric's name with its filters on this stream's events.
    ``value_properties`` hold the log-normal value instead; a filter on one of them would
    make the counted share depend on the treatment's effect on values, so it is refused.
    """
    value_properties = set(value_properties)
    by_name: dict[str, list[FilterSpec]] = {name: [] for name in BACKGROUND}
    for name, filters in filtered:
        for spec in filters:
            if spec.property in value_properties:
                raise PlanError(
                    f"metric {name!r}: cannot simulate a filter on {spec.property!r}, "
                    "which is also a value property on this event"
                )
            by_name.setdefault(spec.property, []).append(spec)
    return tuple(
        _support(name, filters) for name, filters in by_name.items() if name not in value_properties
    )


def match_share(
    name: str, filters: Sequence[FilterSpec], supports: Sequence[PropertySupport]
) -> float:
    """The probability that one event of the stream passes all of metric ``name``'s
    ``filters`` on it."""
    share = 1.0
    for support in supports:
        own = [f for f in filters if f.property == support.name]
        if own:
            share *= math.fsum(
                w
                for v, w in zip(support.values, support.weights, strict=True)
                if all(holds(f, v) for f in own)
            )
    if share <= 0:
        raise PlanError(f"metric {name!r}: the simulator finds no event its filters match")
    return share
