"""The results semantics written plainly in Python, identity by identity, to check the SQL against.

This is the executable form of docs/metrics.md: first-touch assignment, quarantine, unknown
variants, events counted from the first exposure (inclusive) to the window's end and the
experiment's end (inclusive), filters, and what counts as a number; the pre-period covariate
(the lookback's days before the first exposure), ratios, caps (absolute, and percentile over
every assigned identity) and quantiles (of identities' totals or of events). Results over
time are ``expected`` with the end at each cutoff; a breakdown's segments are
``expected_segments``.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from liftlab.analysis.breakdowns import MISSING, OTHER, TOP_SEGMENTS, Breakdown, Source
from liftlab.analysis.definition import Aggregation, CapType, Quantile, QuantileLevel
from liftlab.analysis.filters import Filter, FilterOp
from liftlab.analysis.results import CrossMoments, Moments, QuantileMoments, RatioCovariate
from liftlab.analysis.spec import ExperimentSpec, MetricSpec, Part
from liftlab.eventstore import StoredEvent

DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
HOUR = 3_600_000
DAY = 24 * HOUR
Z = 1.959963984540054
"""Φ⁻¹(0.975)."""


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


def _numbers(part: Part, events: list[StoredEvent]) -> list[float]:
    """The numbers of the counted events that have one."""
    if part.value is None:
        numbers = [number_of_text(e.value) for e in events]
    else:
        numbers = [number_of(prop(e, part.value)) for e in events]
    return [x for x in numbers if x is not None]


def part_value(part: Part, events: list[StoredEvent]) -> float:
    """One identity's number of a part over its counted events."""
    if part.aggregation is Aggregation.COUNT:
        return len(events)
    if part.aggregation is Aggregation.OCCURRENCE:
        return 1 if events else 0
    present = _numbers(part, events)
    if part.aggregation is Aggregation.SUM:
        return sum(present)
    return sum(present) / len(present) if present else 0.0


def counted(
    part: Part, events: list[StoredEvent], inside: Callable[[int], bool]
) -> list[StoredEvent]:
    """The part's events (name and filters) whose time is ``inside`` the period."""
    return [
        e
        for e in events
        if e.event == part.event and inside(ms(e)) and all(passes(e, f) for f in part.filters)
    ]


def post_events(part: Part, metric: MetricSpec, events, first_ms: int) -> list[StoredEvent]:
    """From the first exposure (inclusive) to the window's end (inclusive)."""
    hours = metric.window_hours
    last_ms = math.inf if hours is None else first_ms + hours * HOUR
    return counted(part, events, lambda t: first_ms <= t <= last_ms)


def pre_events(part: Part, metric: MetricSpec, events, first_ms: int) -> list[StoredEvent]:
    """The lookback's days before the first exposure: [first − days, first)."""
    since_ms = first_ms - metric.lookback_days * DAY
    return counted(part, events, lambda t: since_ms <= t < first_ms)


def identity_numbers(
    metric: MetricSpec, events: list[StoredEvent], first_ms: int
) -> dict[str, object]:
    """Everything one identity contributes to a metric, before any cap: x, and as the metric
    needs them x' (pre-period), d and d' (a ratio's denominator), its numbers (quantiles)."""
    numbers: dict[str, object] = {}
    names = [("x", metric.numerator), ("d", metric.denominator)]
    for name, part in names:
        if part is None:
            continue
        numbers[name] = part_value(part, post_events(part, metric, events, first_ms))
        if metric.lookback_days is not None:
            numbers[name + "_pre"] = part_value(part, pre_events(part, metric, events, first_ms))
    if metric.quantile is not None:
        part = metric.numerator
        numbers["values"] = _numbers(part, post_events(part, metric, events, first_ms))
    return numbers


def order_statistic(values: list[float], level: float) -> float:
    """x_(k) of the values, k = max(1, ceil(n·level)), at most n."""
    ranked = sorted(values)
    return ranked[min(len(ranked), max(1, math.ceil(len(ranked) * level))) - 1]


def cap_value(metric: MetricSpec, identities: list[dict[str, object]]) -> float | None:
    """The cap: an absolute one's value, or the level's order statistic of every assigned
    identity's number (zeros included); None without a cap or without identities."""
    cap = metric.cap
    if cap is None:
        return None
    if cap.type is CapType.ABSOLUTE:
        return cap.value
    if not identities:
        return None
    return order_statistic([float(i["x"]) for i in identities], cap.value)  # type: ignore[arg-type]


def quantile_moments(quantile: Quantile, identities: list[dict[str, object]]) -> QuantileMoments:
    """The quantile statistic of one arm from its identities' lists of numbers."""
    lists: list[list[float]] = [i["values"] for i in identities if i["values"]]  # type: ignore[misc]
    if quantile.level is QuantileLevel.IDENTITY:
        values = [sum(v) for v in lists]
    else:
        values = [x for v in lists for x in v]
    n, q = len(values), quantile.q
    if not n:
        return QuantileMoments(0, math.nan, math.nan, math.nan)
    estimate = order_statistic(values, q)
    spread = Z * math.sqrt(q * (1 - q) / n)
    lower, upper = (min(max(level, 1e-8), 1 - 1e-8) for level in (q - spread, q + spread))
    bounds = (n, estimate, order_statistic(values, lower), order_statistic(values, upper))
    if quantile.level is QuantileLevel.IDENTITY:
        return QuantileMoments(*bounds)
    below = [sum(1 for x in v if x <= estimate) for v in lists]
    sizes = [len(v) for v in lists]
    return QuantileMoments(
        *bounds,
        clusters=len(lists),
        below_sum=sum(below),
        below_sum_sq=sum(b * b for b in below),
        events_sum_sq=sum(e * e for e in sizes),
        below_events_sum=sum(b * e for b, e in zip(below, sizes, strict=True)),
    )


def _capped(identity: dict[str, object], cap: float | None) -> dict[str, float]:
    numbers = {k: float(v) for k, v in identity.items() if k != "values"}  # type: ignore[arg-type]
    if cap is not None:
        for name in ("x", "x_pre"):
            if name in numbers:
                numbers[name] = min(numbers[name], cap)
    return numbers


def _total(rows: list[dict[str, float]], *names: str) -> float:
    return float(sum(math.prod(row[name] for name in names) for row in rows))


def arm_moments(
    metric: MetricSpec, identities: list[dict[str, object]], cap: float | None
) -> Moments:
    """One arm's moments of the metric, written out sum by sum."""
    rows = [_capped(i, cap) for i in identities]
    adjusted, ratio = metric.lookback_days is not None, metric.denominator is not None
    return Moments(
        len(rows),
        _total(rows, "x"),
        _total(rows, "x", "x"),
        covariate=CrossMoments(
            _total(rows, "x_pre"), _total(rows, "x_pre", "x_pre"), _total(rows, "x", "x_pre")
        )
        if adjusted
        else None,
        denominator=CrossMoments(_total(rows, "d"), _total(rows, "d", "d"), _total(rows, "x", "d"))
        if ratio
        else None,
        ratio_covariate=RatioCovariate(
            _total(rows, "d_pre"),
            _total(rows, "d_pre", "d_pre"),
            _total(rows, "x_pre", "d_pre"),
            _total(rows, "x", "d_pre"),
            _total(rows, "x_pre", "d"),
            _total(rows, "d", "d_pre"),
        )
        if adjusted and ratio
        else None,
        quantile=None if metric.quantile is None else quantile_moments(metric.quantile, identities),
        cap=cap,
    )


def exposures_of(spec: ExperimentSpec, events: list[StoredEvent]) -> list[StoredEvent]:
    """The identity's exposures to the experiment's flag from its start on."""
    return [
        e
        for e in events
        if e.event == spec.exposure_event
        and e.feature_name == spec.feature_name
        and ms(e) >= spec.start_ms
    ]


def status_of(spec: ExperimentSpec, exposures: list[StoredEvent]) -> str:
    """quarantined (two values), unknown (one value, not a variant) or assigned."""
    if len({e.value for e in exposures}) > 1:
        return "quarantined"
    return "assigned" if exposures[0].value in spec.variant_keys else "unknown"


def exposed_identities(
    spec: ExperimentSpec, stored: Iterable[StoredEvent]
) -> dict[str, tuple[list[StoredEvent], list[StoredEvent]]]:
    """Per exposed identifier of the environment: (its events up to the end, its exposures)."""
    by_identity: dict[str, list[StoredEvent]] = defaultdict(list)
    for e in stored:
        if e.environment_key == spec.environment_key and ms(e) <= spec.end_ms:
            by_identity[e.identifier].append(e)
    exposed = {who: (events, exposures_of(spec, events)) for who, events in by_identity.items()}
    return {who: pair for who, pair in exposed.items() if pair[1]}


def expected(
    spec: ExperimentSpec, stored: Iterable[StoredEvent], members: set[str] | None = None
) -> tuple[dict[str, object], dict[str, dict[str, Moments]]]:
    """(exposure counts, metric moments) as ``read_results`` should return them; with
    ``members``, those of these identities only (a segment), under the caps of all of them."""
    counts = {"variants": dict.fromkeys(spec.variant_keys, 0), "quarantined": 0, "unknown": 0}
    numbers: dict[str, dict[str, list[dict[str, object]]]] = {
        m.key: {v: [] for v in spec.variant_keys} for m in spec.metrics
    }
    everyone: dict[str, list[dict[str, object]]] = {m.key: [] for m in spec.metrics}
    for who, (events, exposures) in exposed_identities(spec, stored).items():
        inside = members is None or who in members
        status = status_of(spec, exposures)
        if status != "assigned":
            counts[status] += inside
            continue
        first = min(exposures, key=ms)
        counts["variants"][first.value] += inside
        for metric in spec.metrics:
            identity = identity_numbers(metric, events, ms(first))
            everyone[metric.key].append(identity)
            if inside:
                numbers[metric.key][first.value].append(identity)

    moments = {}
    for metric in spec.metrics:
        per_variant = numbers[metric.key]
        ranked = everyone[metric.key] if any(per_variant.values()) else []
        cap = cap_value(metric, ranked)
        moments[metric.key] = {v: arm_moments(metric, arm, cap) for v, arm in per_variant.items()}
    return counts, moments


def breakdown_text(breakdown: Breakdown, event: StoredEvent) -> str:
    """The dimension's text on one exposure, ``MISSING`` where it has none: a trait's JSON
    scalar as written (a string's own text), a metadata property's text, an SDK column."""
    if breakdown.source is Source.TRAIT:
        value = json.loads(event.traits).get(breakdown.property)
        if isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, int | float | bool) else MISSING
    if breakdown.source is Source.METADATA:
        value = prop(event, breakdown.property)  # type: ignore[arg-type]
        return MISSING if value is None else text_of(value)
    return getattr(event, breakdown.source.value) or MISSING


def uuid_order(event: StoredEvent) -> tuple[int, int]:
    """How ClickHouse orders UUIDs: by their low 64 bits, then their high ones."""
    number = event.event_id.int
    return number & (2**64 - 1), number >> 64


def raw_segments(breakdowns: tuple[Breakdown, ...], exposures: list[StoredEvent]) -> list[str]:
    """The texts on the first exposure; at a tie of first moments, the smallest event id's."""
    first = min(exposures, key=lambda e: (ms(e), uuid_order(e)))
    return [breakdown_text(b, first) for b in breakdowns]


def expected_segments(
    spec: ExperimentSpec, stored: list[StoredEvent]
) -> dict[str, dict[str, tuple[dict[str, object], dict[str, dict[str, Moments]]]]]:
    """Per dimension and segment: ``expected`` over the segment's identities. The top
    ``TOP_SEGMENTS`` raw values by assigned identities (ties by text) are segments, the rest
    (and the value ``OTHER`` itself) ``OTHER``."""
    exposed = exposed_identities(spec, stored)
    result = {}
    texts = {
        who: raw_segments(spec.breakdowns, exposures) for who, (_, exposures) in exposed.items()
    }
    for k, breakdown in enumerate(spec.breakdowns):
        raw = {who: values[k] for who, values in texts.items()}
        assigned: dict[str, int] = defaultdict(int)
        for who, (_, exposures) in exposed.items():
            assigned[raw[who]] += status_of(spec, exposures) == "assigned"
        ranked = sorted(assigned, key=lambda value: (-assigned[value], value))
        top = [value for value in ranked if value != OTHER][:TOP_SEGMENTS]
        members: dict[str, set[str]] = defaultdict(set)
        for who, value in raw.items():
            members[value if value in top else OTHER].add(who)
        result[breakdown.key] = {
            segment: expected(spec, stored, who) for segment, who in members.items()
        }
    return result
