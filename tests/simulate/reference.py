"""An independent, deliberately plain analysis of simulated events, for checking the generator.

It reads events the way the results engine is specified to (docs/metrics.md): de-duplicate by
``event_id``, first-touch assignment from the flag's exposures, quarantine of identities seen
in two variants, one number per identity and part (0 without events) counting only events at
or after the first exposure, inside the window, passing every filter; and, for a regression
adjustment's covariate, the same number over the days before the first exposure. Ratios,
quantiles and caps are computed from those numbers and from the counted events' values. It
shares no code with ``liftlab.simulate`` beyond the plan's plain fields.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from liftlab.simulate import FilterSpec, MetricSpec, PartSpec, SimulationPlan


def when(event: dict) -> datetime:
    return datetime.fromisoformat(event["timestamp"])


def passes(properties: dict, spec: FilterSpec) -> bool:
    op = str(spec.op)
    if op == "is_set":
        return spec.property in properties
    if op == "is_not_set":
        return spec.property not in properties
    if spec.property not in properties:
        return False
    value, bound = properties[spec.property], spec.value
    match op:
        case "eq":
            return value == bound
        case "neq":
            return value != bound
        case "in":
            return value in bound
        case "not_in":
            return value not in bound
        case "gt":
            return value > bound
        case "gte":
            return value >= bound
        case "lt":
            return value < bound
        case "lte":
            return value <= bound
        case "contains":
            return bound in value
    raise AssertionError(op)


@dataclass(frozen=True)
class Row:
    """One stored product event: who, how long after (or before, negative) their first
    exposure, its properties and value."""

    who: str
    delay: timedelta
    properties: dict
    value: object


@dataclass
class Analysis:
    unique: list[dict]
    resent: int  # copies of an event_id already seen
    first_exposure: dict[str, datetime]
    variant: dict[str, str]  # assigned (not quarantined) identities
    quarantined: set[str]
    rows: dict[str, list[Row]]  # event name -> its rows, assigned identities only
    _numbers: dict[tuple, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    def counted(
        self, part: PartSpec, window_hours: float | None, before_days: float | None = None
    ) -> dict[str, list[float]]:
        """Per identity, the number read from each counted event (1 when none is read).

        After the first exposure by default; with ``before_days``, over that many days
        before it instead (what a covariate reads).
        """
        window = None if window_hours is None else timedelta(hours=window_hours)
        found: dict[str, list[float]] = defaultdict(list)
        for row in self.rows.get(part.event, []):
            if before_days is None:
                if row.delay < timedelta(0) or (window is not None and row.delay > window):
                    continue
            elif not -timedelta(days=before_days) <= row.delay < timedelta(0):
                continue
            if all(passes(row.properties, f) for f in part.filters):
                value = (
                    row.value
                    if part.value_property is None
                    else row.properties.get(part.value_property)
                )
                found[row.who].append(1.0 if value is None else float(value))
        return found

    def numbers(
        self, part: PartSpec, window_hours: float | None, before_days: float | None = None
    ) -> dict[str, np.ndarray]:
        """Per variant, one number per assigned identity (each computed once)."""
        key = (part, window_hours, before_days)
        if key not in self._numbers:
            counted = self.counted(part, window_hours, before_days)
            self._numbers[key] = {
                variant: np.array([_one_number(part, counted.get(who, [])) for who in members])
                for variant, members in self.members().items()
            }
        return self._numbers[key]

    def values(self, metric: MetricSpec) -> dict[str, np.ndarray]:
        """Per variant, the metric's (first) number per assigned identity."""
        return self.numbers(metric.numerator, metric.window_hours)

    def event_values(self, metric: MetricSpec) -> dict[str, list[np.ndarray]]:
        """Per variant, each identity's counted values (identities with one, at least)."""
        counted = self.counted(metric.numerator, metric.window_hours)
        return {
            key: [np.array(counted[who]) for who in members if who in counted]
            for key, members in self.members().items()
        }

    def members(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for who, key in sorted(self.variant.items()):
            groups[key].append(who)
        return groups


def _one_number(part: PartSpec, values: list) -> float:
    match str(part.aggregation):
        case "occurrence":
            return float(bool(values))
        case "count":
            return float(len(values))
        case "sum" | "quantile":
            return float(sum(values))
        case "mean":
            return float(np.mean(values)) if values else 0.0
    raise AssertionError(part.aggregation)


def percentile(values: np.ndarray, level: float) -> float:
    """The smallest value with at least ``level`` of the values at or below it."""
    ordered = np.sort(values)
    return float(ordered[int(np.ceil(level * len(ordered))) - 1])


def analyse(events: list[dict], plan: SimulationPlan) -> Analysis:
    by_id: dict[str, dict] = {}
    resent = 0
    for event in events:
        if event["event_id"] in by_id:
            assert by_id[event["event_id"]] == event, "a re-send must repeat the event exactly"
            resent += 1
        else:
            by_id[event["event_id"]] = event
    unique = list(by_id.values())
    exposures = sorted(
        (e for e in unique if e["event"] == plan.exposure_event and e["feature_name"] == plan.flag),
        key=when,
    )
    first: dict[str, datetime] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    variant: dict[str, str] = {}
    for exposure in exposures:
        who = exposure["identifier"]
        first.setdefault(who, when(exposure))
        variant.setdefault(who, exposure["value"])
        seen[who].add(exposure["value"])
    quarantined = {who for who, keys in seen.items() if len(keys) > 1}
    for who in quarantined:
        del variant[who]
    rows: dict[str, list[Row]] = defaultdict(list)
    for e in unique:
        if e["event"] != plan.exposure_event and e["identifier"] in variant:
            delay = when(e) - first[e["identifier"]]
            rows[e["event"]].append(
                Row(e["identifier"], delay, e.get("properties", {}), e.get("value"))
            )
    return Analysis(unique, resent, first, variant, quarantined, dict(rows))
