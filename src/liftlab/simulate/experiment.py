"""An experiment as read from the database or the API, and the plan derived from it.

The readers (``database``, ``remote``) only fetch; this module turns what they fetched into
a ``SimulationPlan`` from the metric definitions: the event a metric counts (a ratio: its
numerator's and its denominator's), the property its value comes from, its filters, window,
cap and quantile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from liftlab.analysis.definition import (
    Aggregation,
    DefinitionError,
    Measure,
    Part,
    RatioDefinition,
    check_metric,
    parse_definition,
)
from liftlab.simulate.calibration import calibrate
from liftlab.simulate.effects import Effect, apply_effects
from liftlab.simulate.plan import (
    CapSpec,
    FilterSpec,
    MetricSpec,
    PartSpec,
    PlanError,
    QuantileSpec,
    SimulationPlan,
    Variant,
    default_start,
)


class ExperimentUnavailable(Exception):
    """The experiment could not be read: not found, access refused, or the server unreachable."""


@dataclass(frozen=True)
class AttachedMetric:
    """A metric attached to the experiment, as stored: ``definition`` is the JSON document."""

    key: str
    name: str
    aggregation: str
    definition: Mapping[str, Any]


@dataclass(frozen=True)
class ExperimentSpec:
    flag: str
    variants: tuple[Variant, ...]
    control: str
    exposure_event: str
    metrics: tuple[AttachedMetric, ...]


def _filters(measure: Measure) -> tuple[FilterSpec, ...]:
    return tuple(FilterSpec(f.property, f.op, f.value) for f in measure.filters)


def _part(part: Part) -> PartSpec:
    return PartSpec(part.event, Aggregation(part.aggregation), part.value, _filters(part))


def metric_spec(metric: AttachedMetric) -> MetricSpec:
    """What the simulator needs from a stored metric definition (either version)."""
    try:
        definition = parse_definition(dict(metric.definition))
    except DefinitionError as exc:
        raise PlanError(f"metric {metric.name!r}: {exc}") from None
    try:
        problems = check_metric(metric.aggregation, definition)
    except ValueError:
        message = f"metric {metric.name!r}: unknown aggregation {metric.aggregation!r}"
        raise PlanError(message) from None
    if problems:
        raise PlanError(f"metric {metric.name!r}: {DefinitionError(problems)}")
    cap = definition.cap
    common = {
        "key": metric.key,
        "name": metric.name,
        "aggregation": metric.aggregation,
        "window_hours": None if definition.window is None else definition.window.hours,
        "cap": None if cap is None else CapSpec(cap.type, cap.value),
    }
    if isinstance(definition, RatioDefinition):
        numerator = _part(definition.numerator)
        return MetricSpec(
            event=numerator.event,
            value_property=numerator.value_property,
            filters=numerator.filters,
            numerator_aggregation=numerator.aggregation,
            denominator=_part(definition.denominator),
            **common,
        )
    quantile = definition.quantile
    return MetricSpec(
        event=definition.event,
        value_property=definition.value,
        filters=_filters(definition),
        quantile=None if quantile is None else QuantileSpec(quantile.q, quantile.level),
        **common,
    )


def build_plan(
    experiment: ExperimentSpec,
    *,
    users: int,
    days: float,
    effects: Iterable[Effect] = (),
    seed: int = 0,
    start: datetime | None = None,
    **options: Any,
) -> SimulationPlan:
    """A checked plan for the experiment (``options``: any other ``SimulationPlan`` field).

    ``start`` defaults to the moment that makes the last possible event land now.
    Raises ``PlanError`` when the effects or filters cannot be simulated.
    """
    metrics = tuple(metric_spec(m) for m in experiment.metrics)
    treatments = tuple(v.key for v in experiment.variants if v.key != experiment.control)
    horizon = options.get("horizon_hours", SimulationPlan.horizon_hours)
    plan = SimulationPlan(
        flag=experiment.flag,
        variants=experiment.variants,
        control=experiment.control,
        exposure_event=experiment.exposure_event,
        metrics=apply_effects(metrics, effects, treatments),
        users=users,
        days=days,
        start=start or default_start(days, horizon),
        seed=seed,
        **options,
    )
    calibrate(plan)
    return plan
