"""The experiment lifecycle: draft → running ⇄ paused → completed, and nothing after that."""

from __future__ import annotations

from datetime import datetime

import pytest

from liftlab.audit.models import AuditLogEntry
from liftlab.experiments.models import Experiment

from . import paths
from .expect import ok, refused


@pytest.fixture
def experiment(create_experiment):
    return create_experiment()


@pytest.fixture
def act(admin, environment, experiment):
    def post(action: str):
        return admin.post(paths.experiments(environment.key, experiment["id"], action))

    return post


def test_the_full_lifecycle_sets_status_and_times(act):
    started = ok(act("start"))
    assert started["status"] == "running"
    assert started["started_at"] is not None and started["ended_at"] is None

    paused = ok(act("pause"))
    assert paused["status"] == "paused"

    resumed = ok(act("start"))
    assert resumed["status"] == "running"
    assert resumed["started_at"] == started["started_at"]

    completed = ok(act("complete"))
    assert completed["status"] == "completed"
    assert completed["ended_at"] is not None
    ended_at = datetime.fromisoformat(completed["ended_at"])
    assert ended_at >= datetime.fromisoformat(completed["started_at"])


@pytest.mark.parametrize("before", [("start",), ("start", "pause")], ids=["running", "paused"])
def test_running_and_paused_experiments_can_complete(act, transition, experiment, before):
    transition(experiment["id"], *before)

    assert ok(act("complete"))["status"] == "completed"


@pytest.mark.parametrize(
    ("before", "action", "status"),
    [
        ((), "pause", "draft"),
        ((), "complete", "draft"),
        (("start", "complete"), "start", "completed"),
        (("start", "complete"), "pause", "completed"),
    ],
)
def test_illegal_transitions_are_400_naming_the_current_status(
    act, transition, experiment, before, action, status
):
    transition(experiment["id"], *before)
    entries = AuditLogEntry.objects.count()

    body = refused(act(action), 400, "status")

    assert status in str(body["status"])
    assert Experiment.objects.get(pk=experiment["id"]).status == status
    assert AuditLogEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("before", "action", "status"),
    [
        (("start",), "start", "running"),
        (("start", "pause"), "pause", "paused"),
        (("start", "complete"), "complete", "completed"),
    ],
)
def test_repeating_an_action_is_409_saying_it_was_already_taken(
    act, transition, experiment, before, action, status
):
    """What a second, concurrent click gets too, whichever of the two reads first."""
    transition(experiment["id"], *before)
    entries = AuditLogEntry.objects.count()

    body = refused(act(action), 409, "detail")

    assert f"already {status}" in body["detail"]
    assert Experiment.objects.get(pk=experiment["id"]).status == status
    assert AuditLogEntry.objects.count() == entries


def test_transitions_are_reported_by_the_experiment_itself(viewer, environment, experiment, act):
    ok(act("start"))

    shown = ok(viewer.get(paths.experiments(environment.key, experiment["id"])))

    assert shown["status"] == "running"


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_transitions_only_answer_post(admin, environment, experiment, method):
    url = paths.experiments(environment.key, experiment["id"], "start")

    refused(getattr(admin, method)(url), 405)
    assert Experiment.objects.get(pk=experiment["id"]).status == "draft"
