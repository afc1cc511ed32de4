"""What the simulated experiment truly did: per-user means and relative lifts.

"Per user" means per assigned identity that the analysis keeps (double-exposed users are
quarantined, and since who gets double-exposed is independent of behaviour, leaving them out
changes no mean). A metric's per-user value is 0 for a user without counted events. The
formulas are in ``calibration``; here they are evaluated for each variant.
"""

from __future__ import annotations

from liftlab.simulate.calibration import calibrate, metric_mean
from liftlab.simulate.plan import SimulationPlan


def true_means(plan: SimulationPlan) -> dict[str, dict[str, float]]:
    """``{metric key: {variant: true per-user mean}}`` for every variant, control included."""
    calibration = calibrate(plan)
    means: dict[str, dict[str, float]] = {}
    for metric in plan.metrics:
        stream = calibration.streams[metric.event]
        share = calibration.shares[metric.key]
        means[metric.key] = {
            variant.key: metric_mean(
                metric.aggregation, stream.knobs[variant.key], share, stream.spec
            )
            for variant in plan.variants
        }
    return means


def expected_truth(plan: SimulationPlan) -> dict[str, dict[str, float]]:
    """``{metric key: {treatment: true relative lift}}``, lift = mean_t / mean_control − 1."""
    truth: dict[str, dict[str, float]] = {}
    for key, by_variant in true_means(plan).items():
        control = by_variant[plan.control]
        truth[key] = {v: by_variant[v] / control - 1 for v in plan.treatments}
    return truth
