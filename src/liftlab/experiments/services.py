"""Experiment lifecycle and deletions: the state changes, each audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from liftlab.audit.models import Action, ObjectType
from liftlab.audit.services import record
from liftlab.experiments import results
from liftlab.experiments.errors import ChangedConcurrently, Conflict, InvalidTransition, Refused
from liftlab.experiments.models import Experiment, ExperimentMetric, ExperimentStatus, Metric
from liftlab.experiments.serializers import ExperimentSerializer

# Which status each action leads to, and from which statuses it may be taken.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (
        frozenset({ExperimentStatus.DRAFT, ExperimentStatus.PAUSED}),
        ExperimentStatus.RUNNING,
    ),
    "pause": (frozenset({ExperimentStatus.RUNNING}), ExperimentStatus.PAUSED),
    "complete": (
        frozenset({ExperimentStatus.RUNNING, ExperimentStatus.PAUSED}),
        ExperimentStatus.COMPLETED,
    ),
}


def transition(
    experiment: Experiment, action: str, started_at: datetime | None = None
) -> Experiment:
    """Move the experiment along its lifecycle, or refuse (``InvalidTransition``) naming the status.

    ``started_at`` lets a first start record an earlier moment, for a flag that was already
    serving its variants before the experiment was set up here (never in the future).
    """
    allowed_from, target = TRANSITIONS[action]
    if experiment.status not in allowed_from:
        raise InvalidTransition(action, experiment.status)
    now = timezone.now()
    if started_at is not None and (experiment.started_at is not None or started_at > now):
        raise Refused("started_at", "may only be given on the first start, and not in the future.")
    previous = experiment.status
    experiment.status = target
    if target == ExperimentStatus.RUNNING and experiment.started_at is None:
        experiment.started_at = started_at or now
    if target == ExperimentStatus.COMPLETED:
        experiment.ended_at = now
    # Only from the status just checked: should another change have got in between (a database
    # that ignores the row lock), nothing is written and the caller is told.
    written = Experiment.objects.filter(pk=experiment.pk, status=previous).update(
        status=experiment.status, started_at=experiment.started_at, ended_at=experiment.ended_at
    )
    if written != 1:
        raise ChangedConcurrently(action)
    return experiment


def change_status(
    experiment: Experiment, action: str, actor, started_at: datetime | None = None
) -> Experiment:
    """Take a lifecycle action as ``actor``: the API and the web pages both come through here.

    The row is locked (on SQLite the transaction takes the write lock as it begins: the
    database settings' ``transaction_mode``), so two concurrent actions cannot both pass the
    status check. The one that waited gets ``ChangedConcurrently`` (a 409) if the experiment
    changed while it waited, or is already where the action leads (a repeated ``complete``);
    an action the status the caller saw does not allow stays an ``InvalidTransition`` (400).
    Completing freezes the results in the same transaction, and the audit entry (the API
    representation before and after) is written with it, so a failure anywhere leaves nothing
    half-done.
    """
    allowed_from, target = TRANSITIONS[action]
    seen = experiment.status
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if locked.status == target or (locked.status != seen and locked.status not in allowed_from):
            raise ChangedConcurrently(action, locked.status, already=locked.status == target)
        before = dict(ExperimentSerializer(locked).data)
        changed = transition(locked, action, started_at)
        if changed.status == ExperimentStatus.COMPLETED:
            results.freeze(changed)
        _audit(changed, Action.STATUS_CHANGE, actor, before)
    return changed


def soft_delete_metric(metric: Metric) -> None:
    """Soft-delete a metric unless an experiment that still runs (or may) uses it."""
    in_use = (
        ExperimentMetric.objects.filter(metric=metric, experiment__deleted_at__isnull=True)
        .exclude(experiment__status=ExperimentStatus.COMPLETED)
        .exists()
    )
    if in_use:
        raise Conflict(
            "This metric is attached to an experiment that is not completed; "
            "detach it or complete the experiment first."
        )
    metric.deleted_at = timezone.now()
    metric.save(update_fields=["deleted_at"])


def soft_delete_experiment(experiment: Experiment) -> None:
    experiment.deleted_at = timezone.now()
    experiment.save(update_fields=["deleted_at"])


def detach_metric(attachment: ExperimentMetric) -> None:
    """Detaching from a completed experiment would change its frozen results: refused."""
    if attachment.experiment.status == ExperimentStatus.COMPLETED:
        raise Refused("experiment", "is completed; its metrics can no longer change.")
    attachment.delete()


def change_analysis(experiment: Experiment, changes: dict[str, Any], actor) -> Experiment:
    """The API's ``PATCH`` of ``analysis`` without HTTP, for the page's form and the CLI.

    ``ExperimentSerializer`` (partial) validates the settings merged over the stored ones, dates
    a change made after the start and refuses one once the experiment is completed (DRF's
    ``ValidationError``, keyed ``analysis.<field>``); the save and its audit entry share one
    transaction, as in ``AuditedMixin.perform_update``.
    """
    serializer = ExperimentSerializer(
        experiment,
        data={"analysis": changes},
        partial=True,
        context={"environment": experiment.environment},
    )
    serializer.is_valid(raise_exception=True)
    before = dict(ExperimentSerializer(serializer.instance).data)
    with transaction.atomic():
        saved = serializer.save()
        _audit(saved, Action.UPDATE, actor, before)
    return saved


def _audit(experiment: Experiment, action: Action, actor, before: dict) -> None:
    """The audit entry of a change: the API representation before and after it."""
    record(
        environment=experiment.environment,
        actor=actor,
        action=action,
        object_type=ObjectType.EXPERIMENT,
        obj=experiment,
        before=before,
        after=dict(ExperimentSerializer(experiment).data),
    )
