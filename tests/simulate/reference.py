"""An independent, deliberately plain analysis of simulated events, for checking the generator.

It reads events the way the results engine is specified to (DESIGN.md): de-duplicate by
``event_id``, first-touch assignment from the flag's exposures, quarantine of identities seen
in two variants, one number per identity and metric (0 without events) counting only events
at or after the first exposure, inside the window, passing every filter. It shares no code
with ``liftlab.simulate`` beyond the plan's plain fields.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from liftlab.simulate import FilterSpec, MetricSpec, SimulationPlan


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


@dataclass
class Analysis:
    unique: list[dict]
    resent: int  # copies of an event_id already seen
    first_exposure: dict[str, datetime]
    variant: dict[str, str]  # assigned (not quarantined) identities
    quarantined: set[str]

    def values(self, metric: MetricSpec) -> dict[str, np.ndarray]:
        """Per variant, one number per assigned identity."""
        window = None if metric.window_hours is None else timedelta(hours=metric.window_hours)
        counted: dict[str, list[float]] = defaultdict(list)
        for event in self.unique:
            who = event["identifier"]
            if event["event"] != metric.event or who not in self.variant:
                continue
            delay = when(event) - self.first_exposure[who]
            if delay < timedelta(0) or (window is not None and delay >= window):
                continue
            properties = event.get("properties", {})
            if all(passes(properties, f) for f in metric.filters):
                value = (
                    event.get("value")
                    if metric.value_property is None
                    else properties.get(metric.value_property)
                )
                counted[who].append(value)
        return {
            key: np.array([_one_number(metric, counted.get(who, [])) for who in members])
            for key, members in self.members().items()
        }

    def members(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for who, key in sorted(self.variant.items()):
            groups[key].append(who)
        return groups


def _one_number(metric: MetricSpec, values: list) -> float:
    match str(metric.aggregation):
        case "occurrence":
            return float(bool(values))
        case "count":
            return float(len(values))
        case "sum":
            return float(sum(values))
        case "mean":
            return float(np.mean(values)) if values else 0.0
    raise AssertionError(metric.aggregation)


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
    return Analysis(unique, resent, first, variant, quarantined)
