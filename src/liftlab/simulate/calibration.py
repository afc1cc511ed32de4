"""From requested effects to the parameters that produce them, per variant and event.

Each product event is one *stream* with three knobs per variant: the active rate ``a`` (a
Bernoulli per user), the events per active user ``1 + λ`` (each sends 1 + Poisson(λ)) and
a value scale ``s`` on the log-normal value. A metric counts the share ``q`` of the stream's
events that pass its filters and fall in its window (``q`` = filter share × window share,
independent draws). Per user, with ``g = P(at least one counted event | active)``:

    g          = 1 − (1 − q)·exp(−λ·q)
    occurrence = a·g                       (0/1: did the user do it at all)
    count      = a·q·(1 + λ)
    sum        = a·q·(1 + λ)·s·E[V]
    mean       = a·g·s·E[V]                (the user's mean value, 0 without events)

A requested effect moves one knob: occurrence effects set ``a``, then count effects set
``λ``, then sum or mean effects set ``s`` — so "conversion +5 %, revenue +0 %" means more
buyers who each spend less. Metrics without an effect move as the knobs imply (more buyers
also means more revenue); ``truth`` reports those lifts. When two requested effects cannot
both hold on one stream, the plan is refused rather than silently missing one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from liftlab.analysis.definition import Aggregation
from liftlab.simulate.filters import PropertySupport, match_share, property_supports
from liftlab.simulate.plan import MetricSpec, PlanError, SimulationPlan, StreamSpec
from liftlab.simulate.timing import delay_cdf

_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Knobs:
    """One variant's parameters of one stream; each metric's mean is linear in each of them."""

    active: float  # a: P(the user sends the event at all)
    events: float  # 1 + λ: mean events per active user
    scale: float  # s: multiplies every value

    @property
    def extra(self) -> float:
        return self.events - 1


@dataclass(frozen=True)
class StreamModel:
    """A product event ready to generate: its baseline, knobs per variant and properties."""

    spec: StreamSpec
    knobs: dict[str, Knobs]
    supports: tuple[PropertySupport, ...]
    value_properties: tuple[str, ...]
    writes_event_value: bool


@dataclass(frozen=True)
class Calibration:
    streams: dict[str, StreamModel]
    shares: dict[str, float]  # metric key -> q, the share of its stream's events it counts


def metric_mean(aggregation: Aggregation, knobs: Knobs, share: float, stream: StreamSpec) -> float:
    """The true per-user mean of a metric (see the module docstring for the formulas)."""
    missed = (1 - share) * math.exp(-knobs.extra * share)  # P(no counted event | active)
    reached = knobs.active * (1 - missed)
    counted = knobs.active * share * knobs.events
    value = knobs.scale * stream.value_mean
    return {
        Aggregation.OCCURRENCE: reached,
        Aggregation.COUNT: counted,
        Aggregation.SUM: counted * value,
        Aggregation.MEAN: reached * value,
    }[aggregation]


# Which knob an effect on each aggregation sets, in the order they are set, and its range.
_KNOBS = (
    ("active", {Aggregation.OCCURRENCE}, 0.0, 1.0),
    ("events", {Aggregation.COUNT}, 1.0, math.inf),
    ("scale", {Aggregation.SUM, Aggregation.MEAN}, 0.0, math.inf),
)


def _window_share(metric: MetricSpec, horizon_hours: float) -> float:
    return 1.0 if metric.window_hours is None else delay_cdf(metric.window_hours, horizon_hours)


def _solve(
    variant: str,
    metrics: Sequence[MetricSpec],
    shares: dict[str, float],
    stream: StreamSpec,
    base: Knobs,
) -> Knobs:
    """Turn one treatment's requested effects on this stream into its knobs.

    The first metric of each kind with an effect for ``variant`` sets its knob; since its
    mean is proportional to that knob, the value is target / (mean with the knob at 1).
    """
    knobs = base
    for knob, kinds, low, high in _KNOBS:
        metric = next((m for m in metrics if variant in m.effects and m.aggregation in kinds), None)
        if metric is None:
            continue
        share = shares[metric.key]
        target = (1 + metric.effects[variant]) * metric_mean(
            metric.aggregation, base, share, stream
        )
        value = target / metric_mean(
            metric.aggregation, replace(knobs, **{knob: 1.0}), share, stream
        )
        if not low - _TOLERANCE <= value <= high + _TOLERANCE:
            raise PlanError(
                f"metric {metric.name!r}: an effect of {metric.effects[variant]:+.2%} for "
                f"{variant!r} is out of reach on event {stream.event!r} "
                f"(it needs {knob} = {value:.4g}, outside [{low:g}, {high:g}])"
            )
        knobs = replace(knobs, **{knob: min(max(value, low), high)})
    return knobs


def _check_effects(plan: SimulationPlan) -> None:
    treatments = set(plan.treatments)
    for metric in plan.metrics:
        for variant, effect in metric.effects.items():
            if variant not in treatments:
                raise PlanError(
                    f"metric {metric.name!r}: {variant!r} is not a treatment variant "
                    f"(treatments: {sorted(treatments)})"
                )
            if not effect > -1 or not math.isfinite(effect):
                raise PlanError(f"metric {metric.name!r}: an effect must be above -100%")


def _verify(
    model: StreamModel, metrics: Sequence[MetricSpec], shares: dict[str, float], control: str
) -> None:
    """Refuse plans where a later knob undid an earlier requested effect on the same stream."""
    for metric in metrics:
        base = metric_mean(metric.aggregation, model.knobs[control], shares[metric.key], model.spec)
        for variant, effect in metric.effects.items():
            got = metric_mean(
                metric.aggregation, model.knobs[variant], shares[metric.key], model.spec
            )
            if abs(got / base - 1 - effect) > _TOLERANCE * max(1.0, abs(effect)):
                raise PlanError(
                    f"effects on event {model.spec.event!r} conflict: metric {metric.name!r} "
                    f"would move {got / base - 1:+.3%} for {variant!r}, not {effect:+.3%}; "
                    "give effects for fewer metrics of this event"
                )


def _stream_model(plan: SimulationPlan, event: str, shares: dict[str, float]) -> StreamModel:
    metrics = [m for m in plan.metrics if m.event == event]
    readers = [m for m in metrics if m.reads_value]
    value_properties = tuple(dict.fromkeys(m.value_property for m in readers if m.value_property))
    supports = property_supports(metrics, value_properties)
    for metric in metrics:
        shares[metric.key] = match_share(metric, supports) * _window_share(
            metric, plan.horizon_hours
        )
    spec = plan.stream(event)
    base = Knobs(spec.active_rate, 1 + spec.extra_events, 1.0)
    knobs = {plan.control: base}
    knobs |= {v: _solve(v, metrics, shares, spec, base) for v in plan.treatments}
    model = StreamModel(
        spec,
        knobs,
        supports,
        value_properties,
        writes_event_value=any(m.value_property is None for m in readers),
    )
    _verify(model, metrics, shares, plan.control)
    return model


def calibrate(plan: SimulationPlan) -> Calibration:
    """Check the plan and derive every stream's knobs; raises ``PlanError`` if it cannot hold."""
    _check_effects(plan)
    shares: dict[str, float] = {}
    streams = {event: _stream_model(plan, event, shares) for event in plan.product_events}
    return Calibration(streams, shares)
