"""Simulated traffic with known true effects: for load tests, teaching and checking the statistics.

A ``SimulationPlan`` (plain data) goes into a seeded, vectorised generator (``generate``);
``expected_truth`` / ``true_means`` / ``metric_truths`` say what the results engine should
find; the events go to the ingestion API (``simulate_to_api``) or to an NDJSON file
(``simulate_to_file``).
Nothing here imports Django except ``liftlab.simulate.database``, imported on demand.
"""

from liftlab.simulate.effects import Effect, apply_effects, parse_effect
from liftlab.simulate.experiment import (
    AttachedMetric,
    ExperimentSpec,
    ExperimentUnavailable,
    build_plan,
)
from liftlab.simulate.model import Counts, EventChunk, generate
from liftlab.simulate.ndjson import WriteSummary, simulate_to_file
from liftlab.simulate.plan import (
    CapSpec,
    FilterSpec,
    MetricSpec,
    PartSpec,
    PlanError,
    QuantileSpec,
    SimulationPlan,
    StreamSpec,
    Variant,
    default_start,
)
from liftlab.simulate.send import RetryPolicy, SendError, SendSummary, simulate_to_api
from liftlab.simulate.truth import MetricTruth, expected_truth, metric_truths, true_means

__all__ = [
    "AttachedMetric",
    "CapSpec",
    "Counts",
    "Effect",
    "EventChunk",
    "ExperimentSpec",
    "ExperimentUnavailable",
    "FilterSpec",
    "MetricSpec",
    "MetricTruth",
    "PartSpec",
    "PlanError",
    "QuantileSpec",
    "RetryPolicy",
    "SendError",
    "SendSummary",
    "SimulationPlan",
    "StreamSpec",
    "Variant",
    "WriteSummary",
    "apply_effects",
    "build_plan",
    "default_start",
    "expected_truth",
    "generate",
    "metric_truths",
    "parse_effect",
    "simulate_to_api",
    "simulate_to_file",
    "true_means",
]
