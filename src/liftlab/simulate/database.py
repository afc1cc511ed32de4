"""Read an experiment and its attached metrics from the database (Django must be set up).

Kept apart so that the generator and the rest of ``liftlab.simulate`` never import Django:
call ``liftlab.cli.setup_django()`` before importing this module.
"""

from __future__ import annotations

from liftlab.experiments.models import Experiment
from liftlab.simulate.experiment import AttachedMetric, ExperimentSpec, ExperimentUnavailable
from liftlab.simulate.plan import Variant


def load_experiment(environment_key: str, experiment_id: int) -> ExperimentSpec:
    """The live (not deleted) experiment ``experiment_id`` of environment ``environment_key``."""
    experiment = (
        Experiment.objects.alive()
        .filter(environment__key=environment_key, pk=experiment_id)
        .first()
    )
    if experiment is None:
        raise ExperimentUnavailable(
            f"no experiment {experiment_id} in environment {environment_key!r}"
        )
    attachments = experiment.experiment_metrics.select_related("metric").order_by("id")
    return ExperimentSpec(
        flag=experiment.feature_name,
        variants=tuple(Variant(v["key"], float(v["weight"])) for v in experiment.variants),
        control=experiment.control_variant,
        exposure_event=experiment.exposure_event,
        metrics=tuple(
            AttachedMetric(
                key=str(a.metric.pk),
                name=a.metric.name,
                aggregation=a.metric.aggregation,
                definition=a.metric.definition,
            )
            for a in attachments
        ),
    )
