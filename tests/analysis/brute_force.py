"""The results semantics written plainly in Python, identity by identity, to check the SQL against.

This is the executable form of docs/metrics.md: first-touch assignment, quarantine, unknown
variants, events counted from the first exposure (inclusive) to the window's end and the
experiment's end (inclusive), filters, and what counts as a number.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable

from liftlab.analysis.definition import Aggregation
from liftlab.analysis.filters import Filter, FilterOp
from liftlab.analysis.results import Moments
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.eventstore import StoredEvent

DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def ms(event: StoredEvent) -> int:
    return round(event.timestamp.timestamp() * 1000)


def number_of_text(text: str) -> float | None:
    """A finite decimal number written as text, else None."""
    if not DECIMAL.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def prop(event: StoredEvent, name: str) -> object:
    """The scalar metadata property, or None when missing, null or not a scalar."""
    value = json.loads(event.metadata).get(name)
    return value if isinstance(value, str | int | float | bool) else None


def text_of(value: object) -> str:
    """The text ClickHouse writes for a JSON scalar (the floats tests use are simple)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def number_of(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return number_of_text(str(value))


def _equals(value: object, expected: object) -> bool:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return number_of(value) == float(expected)
    return value is not None and text_of(value) == text_of(expected)


def passes(event: StoredEvent, flt: Filter) -> bool:
    value = prop(event, flt.property)
    op = flt.op
    if op is FilterOp.IS_SET:
        return value is not None
    if op is FilterOp.IS_NOT_SET:
        return value is None
    if op in (FilterOp.EQ, FilterOp.NEQ):
        return _equals(value, flt.value) == (op is FilterOp.EQ)
    if op in (FilterOp.IN, FilterOp.NOT_IN):
        return any(_equals(value, v) for v in flt.value) == (op is FilterOp.IN)
    if op is FilterOp.CONTAINS:
        return value is not None and flt.value in text_of(value)
    number = number_of(value)
    if number is None:
        return False
    return {
        FilterOp.GT: number > flt.value,
        FilterOp.GTE: number >= flt.value,
        FilterOp.LT: number < flt.value,
        FilterOp.LTE: number <= flt.value,
    }[op]


def metric_value(metric: MetricSpec, events: list[StoredEvent], first_ms: int) -> float:
    """One identity's value of the metric, from all of that identity's events."""
    definition = metric.definition
    last_ms = first_ms + definition.window.hours * 3_600_000 if definition.window else None
    counted = [
        e
        for e in events
        if e.event == definition.event
        and ms(e) >= first_ms
        and (last_ms is None or ms(e) <= last_ms)
        and all(passes(e, f) for f in definition.filters)
    ]
    if metric.aggregation is Aggregation.COUNT:
        return len(counted)
    if metric.aggregation is Aggregation.OCCURRENCE:
        return 1 if counted else 0
    if definition.value is None:
        numbers = [number_of_text(e.value) for e in counted]
    else:
        numbers = [number_of(prop(e, definition.value)) for e in counted]
    present = [x for x in numbers if x is not None]
    if metric.aggregation is Aggregation.SUM:
        return sum(present)
    return sum(present) / len(present) if present else 0.0


def expected(
    spec: ExperimentSpec, stored: Iterable[StoredEvent]
) -> tuple[dict[str, object], dict[str, dict[str, Moments]]]:
    """(exposure counts, metric moments) as ``read_results`` should return them."""
    in_range = [
        e
        for e in stored
        if e.environment_key == spec.environment_key and spec.start_ms <= ms(e) <= spec.end_ms
    ]
    by_identity: dict[str, list[StoredEvent]] = defaultdict(list)
    for e in in_range:
        by_identity[e.identifier].append(e)

    counts = {"variants": dict.fromkeys(spec.variant_keys, 0), "quarantined": 0, "unknown": 0}
    values: dict[str, dict[str, list[float]]] = {
        m.key: {v: [] for v in spec.variant_keys} for m in spec.metrics
    }
    for events in by_identity.values():
        exposures = [
            e
            for e in events
            if e.event == spec.exposure_event and e.feature_name == spec.feature_name
        ]
        if not exposures:
            continue
        if len({e.value for e in exposures}) > 1:
            counts["quarantined"] += 1
            continue
        first = min(exposures, key=ms)
        if first.value not in spec.variant_keys:
            counts["unknown"] += 1
            continue
        counts["variants"][first.value] += 1
        for metric in spec.metrics:
            values[metric.key][first.value].append(metric_value(metric, events, ms(first)))

    moments = {
        key: {
            v: Moments(len(xs), float(sum(xs)), float(sum(x * x for x in xs)))
            for v, xs in per_variant.items()
        }
        for key, per_variant in values.items()
    }
    return counts, moments
