"""True effects as people write them: ``METRIC=+3%`` or ``METRIC:VARIANT=-1.5%``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from liftlab.simulate.plan import MetricSpec, PlanError

_PERCENT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)%")


@dataclass(frozen=True)
class Effect:
    """A relative effect on one metric (its key, i.e. id, or its name).

    ``variant`` None means every treatment variant; ``parse_effect`` leaves a ``:VARIANT``
    suffix inside ``metric``, since names may contain colons, and ``apply_effects`` resolves it.
    """

    metric: str
    lift: float
    variant: str | None = None


def parse_effect(text: str) -> Effect:
    """``"revenue=+3%"`` → Effect("revenue", 0.03); the percent sign is required."""
    target, equals, amount = text.rpartition("=")
    amount = amount.strip()
    if not equals or not target.strip() or not _PERCENT.fullmatch(amount):
        raise PlanError(f"effect {text!r}: write METRIC=+3% or METRIC:VARIANT=-1.5%")
    return Effect(target.strip(), float(amount[:-1]) / 100)


def _find(metrics: Sequence[MetricSpec], name: str) -> MetricSpec | None:
    """A metric by key first (ids are unambiguous), then by name."""
    return next((m for m in metrics if m.key == name), None) or next(
        (m for m in metrics if m.name == name), None
    )


def _resolve(
    effect: Effect, metrics: Sequence[MetricSpec], treatments: Sequence[str]
) -> tuple[MetricSpec, tuple[str, ...]]:
    metric = _find(metrics, effect.metric)
    if effect.variant is not None or metric is not None:
        if metric is None:
            raise PlanError(f"effect on {effect.metric!r}: no such metric on the experiment")
        return metric, (effect.variant,) if effect.variant else tuple(treatments)
    name, colon, variant = effect.metric.rpartition(":")
    metric = _find(metrics, name) if colon else None
    if metric is None:
        known = ", ".join(f"{m.key} ({m.name})" for m in metrics) or "none"
        raise PlanError(f"effect on {effect.metric!r}: no such metric (attached: {known})")
    return metric, (variant,)


def apply_effects(
    metrics: Sequence[MetricSpec], effects: Iterable[Effect], treatments: Sequence[str]
) -> tuple[MetricSpec, ...]:
    """The metrics with the effects set; a later effect on the same metric and variant wins."""
    wanted: dict[str, dict[str, float]] = {m.key: dict(m.effects) for m in metrics}
    for effect in effects:
        metric, variants = _resolve(effect, metrics, treatments)
        for variant in variants:
            if variant not in treatments:
                raise PlanError(
                    f"effect on {metric.name!r}: {variant!r} is not a treatment variant "
                    f"(treatments: {', '.join(treatments)})"
                )
            wanted[metric.key][variant] = effect.lift
    return tuple(dataclasses.replace(m, effects=wanted[m.key]) for m in metrics)
