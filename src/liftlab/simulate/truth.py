"""What the simulated experiment truly did: each metric's true value per variant, and lifts.

"Per user" means per assigned identity that the analysis keeps (double-exposed users are
quarantined, and since who gets double-exposed is independent of behaviour, leaving them out
changes no mean). A metric's per-user value is 0 for a user without counted events. The true
value of a metric in a variant is

- count, sum, mean, occurrence: the per-user mean (closed forms, ``means``);
- a ratio: E[numerator] / E[denominator], the ratio of expectations that Σ numerator /
  Σ denominator over the users estimates;
- a quantile: the quantile of the generating distribution, of event values (exact) or of the
  totals of users with a counted event (``distribution``);
- capped: E[min(X, cap)] for the per-user number X (a ratio: its numerator), the cap being
  absolute or the percentile of X over all users, every variant pooled at its weight
  (``distribution``). This is the estimand of the capped metric, measured against the cap
  of the population rather than of one sample.

A lift is the treatment's value over the control's, minus 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from liftlab.analysis.definition import Aggregation, CapType
from liftlab.simulate.calibration import Calibration, calibrate
from liftlab.simulate.distribution import per_user, pool
from liftlab.simulate.plan import CapSpec, MetricSpec, SimulationPlan


@dataclass(frozen=True)
class MetricTruth:
    """A metric's true value per variant and, for a capped metric, the cap in its unit."""

    values: dict[str, float]
    cap: float | None = None


def _capped(
    metric: MetricSpec, cap: CapSpec, calibration: Calibration, plan: SimulationPlan
) -> MetricTruth:
    """E[min(X, cap)] per variant, from each variant's distribution of X."""
    behaviour, part = calibration.behaviour, metric.numerator
    variants = [v.key for v in plan.variants]
    knobs = [calibration.knobs(v) for v in variants]
    atoms = per_user(
        part.aggregation,
        [behaviour.plain_units(part, metric.window_hours, k) for k in knobs],
        [k[part.event].scale for k in knobs],
        behaviour.specs[part.event],
        behaviour.shape,
    )
    if cap.type is CapType.ABSOLUTE:
        limit = cap.value
    else:
        shares = plan.variant_shares
        limit = pool(atoms, [shares[v] for v in variants]).quantile(cap.value)
    values = {v: a.mean_capped(limit) for v, a in zip(variants, atoms, strict=True)}
    if metric.aggregation is Aggregation.RATIO:
        denominator = metric.parts[1]
        values = {
            v: values[v] / behaviour.part_value(denominator, metric.window_hours, k)
            for v, k in zip(variants, knobs, strict=True)
        }
    return MetricTruth(values, limit)


def metric_truths(plan: SimulationPlan) -> dict[str, MetricTruth]:
    """``{metric key: MetricTruth}`` for every metric of the plan."""
    calibration = calibrate(plan)
    return {
        metric.key: (
            _capped(metric, metric.cap, calibration, plan)
            if metric.cap is not None
            else MetricTruth({v.key: calibration.value(metric, v.key) for v in plan.variants})
        )
        for metric in plan.metrics
    }


def true_means(plan: SimulationPlan) -> dict[str, dict[str, float]]:
    """``{metric key: {variant: true value}}`` for every variant, control included: the
    per-user mean, or the ratio, quantile or capped mean the metric stands for."""
    return {key: truth.values for key, truth in metric_truths(plan).items()}


def expected_truth(plan: SimulationPlan) -> dict[str, dict[str, float]]:
    """``{metric key: {treatment: true relative lift}}``, lift = value_t / value_control − 1."""
    truth: dict[str, dict[str, float]] = {}
    for key, by_variant in true_means(plan).items():
        control = by_variant[plan.control]
        truth[key] = {v: by_variant[v] / control - 1 for v in plan.treatments}
    return truth
