"""From requested effects to the parameters that produce them, per variant and event.

Each product event is one *stream* with three knobs per variant: the active rate ``a`` (a
Bernoulli per user), the events per active user ``1 + λ`` (each sends 1 + Poisson(λ·Z), Z
the user's propensity) — for a child stream, its events per parent event ``κ`` (Poisson(κ·Z)
each) instead —
and a value scale ``s`` on the values. ``means`` has the closed forms of each part's
per-user mean; a metric's true value (uncapped) is that mean for count, sum, mean and
occurrence, the ratio of its parts' means for a ratio, and the quantile of the values (or of
the users' totals) for a quantile.

A requested effect moves one knob of the stream the metric (a ratio: its numerator) reads:
occurrence effects set ``a`` (a child stream's ``κ``), then count effects set ``λ`` or
``κ``, then sum, mean and quantile effects set ``s`` — so "conversion +5 %, revenue +0 %"
means more buyers who each spend less. An effect on a capped metric is an effect on the
behaviour before the cap (the truth then says what the cap makes of it). Metrics without an
effect move as the knobs imply (more buyers also means more revenue); ``truth`` reports
those lifts. When two requested effects cannot both hold on one stream, the plan is refused
rather than silently missing one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from liftlab.analysis.definition import Aggregation, CapType, QuantileLevel
from liftlab.simulate.distribution import per_user
from liftlab.simulate.filters import PropertySupport, match_share, property_supports
from liftlab.simulate.means import ChildUnits, Units, part_mean, value_quantile
from liftlab.simulate.plan import MetricSpec, PartSpec, PlanError, SimulationPlan, StreamSpec
from liftlab.simulate.timing import child_window_points, delay_cdf

_TOLERANCE = 1e-9
_BISECTIONS = 200
_DOUBLINGS = 60


@dataclass(frozen=True)
class Knobs:
    """One variant's parameters of one stream."""

    active: float  # a: P(the user sends the event at all); 1 for a child stream
    events: float  # 1 + λ: mean events per active user; κ per parent event for a child
    scale: float  # s: multiplies every value

    @property
    def extra(self) -> float:
        return self.events - 1


@dataclass(frozen=True)
class Behaviour:
    """What does not vary by variant: the streams, the parts' filter shares, the timing and
    the spread of the users' propensity; evaluates any metric for a set of knobs."""

    specs: dict[str, StreamSpec]
    shares: dict[PartSpec, float]  # P(one event of the part's stream passes its filters)
    horizon_hours: float
    shape: float

    def units(
        self, part: PartSpec, window: float | None, knobs: Mapping[str, Knobs]
    ) -> Units | ChildUnits:
        """How the part's counted events arise per user under ``knobs`` (event → Knobs)."""
        spec, share = self.specs[part.event], self.shares[part]
        if spec.parent is None:
            own = knobs[part.event]
            q = share * (1.0 if window is None else delay_cdf(window, self.horizon_hours))
            return Units(own.active, own.extra, q, 1 - q)
        parent, rate = knobs[spec.parent], knobs[part.event].events * share
        h, weights = child_window_points(window, self.horizon_hours)

        def survival(z: np.ndarray) -> np.ndarray:
            return weights @ np.exp(-rate * np.outer(h, z))

        return ChildUnits(parent.active, parent.extra, rate * float(weights @ h), survival)

    def plain_units(
        self, part: PartSpec, window: float | None, knobs: Mapping[str, Knobs]
    ) -> Units:
        """``units`` of a part whose whole per-user distribution is known: a plain stream's
        (``calibrate`` refuses the metrics that would need a child stream's)."""
        units = self.units(part, window, knobs)
        if not isinstance(units, Units):
            raise PlanError(f"event {part.event!r} follows another: no per-user distribution")
        return units

    def part_value(self, part: PartSpec, window: float | None, knobs: Mapping[str, Knobs]) -> float:
        """The part's true per-user mean."""
        value = knobs[part.event].scale * self.specs[part.event].value_mean
        units = self.units(part, window, knobs)
        return part_mean(part.aggregation, units, value, self.shape)

    def value(self, metric: MetricSpec, knobs: Mapping[str, Knobs]) -> float:
        """The metric's true value before any cap (see the module docstring)."""
        if metric.aggregation is Aggregation.RATIO:
            numerator, denominator = metric.parts
            return self.part_value(numerator, metric.window_hours, knobs) / self.part_value(
                denominator, metric.window_hours, knobs
            )
        if metric.quantile is None:
            return self.part_value(metric.numerator, metric.window_hours, knobs)
        part, q = metric.numerator, metric.quantile.q
        scale = knobs[part.event].scale
        if metric.quantile.level is QuantileLevel.EVENT:
            return value_quantile(self.specs[part.event], scale, q)
        units = self.plain_units(part, metric.window_hours, knobs)
        (totals,) = per_user(Aggregation.SUM, [units], [scale], self.specs[part.event], self.shape)
        return totals.positive().quantile(q)


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
    behaviour: Behaviour

    def knobs(self, variant: str) -> dict[str, Knobs]:
        """Every stream's knobs in one variant (event → Knobs)."""
        return {event: model.knobs[variant] for event, model in self.streams.items()}

    def value(self, metric: MetricSpec, variant: str) -> float:
        """The metric's true value in ``variant``, before any cap."""
        return self.behaviour.value(metric, self.knobs(variant))


# The knobs in the order effects set them, with their ranges.
_KNOBS = (
    ("active", 0.0, 1.0),
    ("events", 0.0, math.inf),
    ("scale", 0.0, math.inf),
)
_PLAIN_EVENTS_LOW = 1.0  # a plain stream's active users send at least one event


def _driven_knob(metric: MetricSpec, specs: Mapping[str, StreamSpec]) -> tuple[str, str]:
    """(event, knob) an effect on the metric sets: its numerator's stream, by aggregation."""
    part = metric.numerator
    child = specs[part.event].parent is not None
    if part.aggregation is Aggregation.OCCURRENCE:
        return part.event, "events" if child else "active"
    return part.event, "events" if part.aggregation is Aggregation.COUNT else "scale"


def _out_of_reach(metric: MetricSpec, variant: str, event: str, detail: str) -> PlanError:
    return PlanError(
        f"metric {metric.name!r}: an effect of {metric.effects[variant]:+.2%} for "
        f"{variant!r} is out of reach on event {event!r} ({detail})"
    )


def _close(got: float, target: float) -> bool:
    return abs(got - target) <= _TOLERANCE * max(abs(target), 1e-300)


def _solve_knob(
    f: Callable[[float], float], target: float, current: float, low: float, high: float
) -> float | str:
    """The knob value where the increasing ``f`` meets ``target``, or why there is none.

    Most metrics are proportional to the knob they drive: one step from its ``current``
    value finds it (exactly that value when the target is already met); the rest (a child
    stream's occurrence) are found by bisection.
    """
    guess = _proportional(f, target, current)
    if guess is None:
        return _bisect(f, target, low, high)
    if not low - _TOLERANCE <= guess <= high + _TOLERANCE:
        return f"it needs {guess:.4g}, outside [{low:g}, {high:g}]"
    return min(max(guess, low), high)


def _proportional(f: Callable[[float], float], target: float, current: float) -> float | None:
    """``current · target / f(current)`` if ``f`` is proportional to its knob, else None."""
    now = f(current)
    if not now > 0:
        return None
    guess = current * (target / now)
    try:
        return guess if _close(f(guess), target) else None
    except (ArithmeticError, ValueError):  # the formulas do not extend that far
        return None


def _bisect(f: Callable[[float], float], target: float, low: float, high: float) -> float | str:
    """Bracket ``target`` by doubling from 1 (up to ``high``), then halve the bracket."""
    top = min(high, max(low, 1.0))
    for _ in range(_DOUBLINGS):
        if f(top) >= target or top >= high:
            break
        top = min(high, top * 2)
    if not f(low) <= target <= f(top):
        return f"no value in [{low:g}, {high:g}] reaches it"
    bottom = low
    for _ in range(_BISECTIONS):
        middle = (bottom + top) / 2
        if middle in (bottom, top):
            break
        bottom, top = (middle, top) if f(middle) < target else (bottom, middle)
    return top


def _solve(
    variant: str, metrics: Sequence[MetricSpec], behaviour: Behaviour, base: dict[str, Knobs]
) -> dict[str, Knobs]:
    """Turn one treatment's requested effects into its knobs, stream by stream (parents
    before children) and knob by knob; the first metric driving a knob with an effect for
    ``variant`` sets it."""
    knobs = dict(base)
    for event, spec in behaviour.specs.items():
        for knob, low, high in _KNOBS:
            metric = next(
                (
                    m
                    for m in metrics
                    if variant in m.effects and _driven_knob(m, behaviour.specs) == (event, knob)
                ),
                None,
            )
            if metric is None:
                continue
            if knob == "events" and spec.parent is None:
                low = _PLAIN_EVENTS_LOW
            target = (1 + metric.effects[variant]) * behaviour.value(metric, base)

            def f(x: float, event: str = event, knob: str = knob, metric: MetricSpec = metric):
                tried = {**knobs, event: replace(knobs[event], **{knob: x})}
                return behaviour.value(metric, tried)

            found = _solve_knob(f, target, getattr(knobs[event], knob), low, high)
            if isinstance(found, str):
                raise _out_of_reach(metric, variant, event, f"{knob}: {found}")
            knobs[event] = replace(knobs[event], **{knob: found})
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


def _check_distributions(plan: SimulationPlan) -> None:
    """Refuse metrics whose truth needs a per-user distribution a child stream lacks."""
    for metric in plan.metrics:
        needs = metric.cap is not None or (
            metric.quantile is not None and metric.quantile.level is QuantileLevel.IDENTITY
        )
        event = metric.numerator.event
        if needs and plan.stream(event).parent is not None:
            raise PlanError(
                f"metric {metric.name!r}: the simulator states no truth for a capped metric "
                f"or an identity-level quantile on {event!r}, which follows another event"
            )


def _verify(calibration: Calibration, metrics: Sequence[MetricSpec], control: str) -> None:
    """Refuse plans where a later knob undid an earlier requested effect."""
    for metric in (m for m in metrics if m.effects):
        base = calibration.value(metric, control)
        for variant, effect in metric.effects.items():
            got = calibration.value(metric, variant)
            if abs(got / base - 1 - effect) > _TOLERANCE * max(1.0, abs(effect)):
                raise PlanError(
                    f"effects on event {metric.numerator.event!r} conflict: metric "
                    f"{metric.name!r} would move {got / base - 1:+.3%} for {variant!r}, not "
                    f"{effect:+.3%}; give effects for fewer metrics of this event"
                )


def _check_caps(calibration: Calibration, plan: SimulationPlan) -> None:
    """Refuse a percentile cap at or below the share of users with nothing counted: it would
    be 0, and so would the capped metric in every variant."""
    shares = plan.variant_shares
    for metric in plan.metrics:
        if metric.cap is None or metric.cap.type is not CapType.PERCENTILE:
            continue
        zero = sum(
            share
            * calibration.behaviour.units(
                metric.numerator, metric.window_hours, calibration.knobs(variant)
            ).none_counted(plan.propensity_shape)
            for variant, share in shares.items()
        )
        if zero >= metric.cap.value:
            raise PlanError(
                f"metric {metric.name!r}: its {metric.cap.value:g} percentile cap is 0 "
                f"({zero:.1%} of users have no counted event), so is the capped metric"
            )


def _parts_on(plan: SimulationPlan, event: str) -> list[tuple[MetricSpec, PartSpec]]:
    return [(m, p) for m in plan.metrics for p in m.parts if p.event == event]


def _stream_parts(
    plan: SimulationPlan, event: str, shares: dict[PartSpec, float]
) -> tuple[tuple[PropertySupport, ...], tuple[str, ...], bool]:
    """The stream's property supports, value properties and whether it writes ``value``;
    records each of its parts' filter share in ``shares``."""
    parts = _parts_on(plan, event)
    readers = [p for _, p in parts if p.reads_value]
    value_properties = tuple(dict.fromkeys(p.value_property for p in readers if p.value_property))
    supports = property_supports(((m.name, p.filters) for m, p in parts), value_properties)
    for metric, part in parts:
        shares[part] = match_share(metric.name, part.filters, supports)
    return supports, value_properties, any(p.value_property is None for p in readers)


def _base_knobs(spec: StreamSpec) -> Knobs:
    if spec.parent is not None:
        return Knobs(1.0, spec.per_parent, 1.0)
    return Knobs(spec.active_rate, 1 + spec.extra_events, 1.0)


def calibrate(plan: SimulationPlan) -> Calibration:
    """Check the plan and derive every stream's knobs; raises ``PlanError`` if it cannot hold."""
    _check_effects(plan)
    _check_distributions(plan)
    shares: dict[PartSpec, float] = {}
    events = plan.product_events
    layout = {event: _stream_parts(plan, event, shares) for event in events}
    specs = {event: plan.stream(event) for event in events}
    behaviour = Behaviour(specs, shares, plan.horizon_hours, plan.propensity_shape)
    base = {event: _base_knobs(spec) for event, spec in specs.items()}
    by_variant = {plan.control: base}
    by_variant |= {v: _solve(v, plan.metrics, behaviour, base) for v in plan.treatments}
    streams = {
        event: StreamModel(
            specs[event],
            {variant: knobs[event] for variant, knobs in by_variant.items()},
            *layout[event],
        )
        for event in events
    }
    calibration = Calibration(streams, behaviour)
    _verify(calibration, plan.metrics, plan.control)
    _check_caps(calibration, plan)
    return calibration
