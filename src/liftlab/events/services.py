"""What the ingestion endpoint and the importer ask of the models: the environment and its rules."""

from __future__ import annotations

from liftlab.accounts.models import Environment
from liftlab.experiments.models import Experiment
from liftlab.ingest import Limits, Rules


def environment_with_key(key: str | None) -> Environment | None:
    """The environment an ``X-Environment-Key`` names, or None."""
    if not key:
        return None
    return Environment.objects.filter(key=key).first()


def ingestion_rules(environment: Environment) -> Rules:
    """``$flag_exposure`` and every exposure event the environment's experiments declare."""
    names = (
        Experiment.objects.alive()
        .filter(environment=environment)
        .values_list("exposure_event", flat=True)
        .distinct()
    )
    return Rules.for_exposures(names, Limits.from_env())
