"""Concurrent lifecycle actions: one wins, every other one is a 409 saying why, never a 500.

Six ``complete`` calls at once used to be one 200 and five 500s ("database is locked") on
SQLite, which ignores the row lock ``change_status`` takes; six ``start`` calls up to five
500s. Real threads, each with its own database connection (Django's are per thread), send
the requests at the same moment; the same runs on PostgreSQL in CI.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from liftlab.audit.models import Action, AuditLogEntry
from liftlab.experiments.models import Experiment, ResultSnapshot

from . import paths
from .conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)
CALLERS = 6


def at_once(user, url: str) -> list[tuple[int, dict]]:
    """POST ``url`` from CALLERS threads released together; each answer's status and body."""
    barrier = threading.Barrier(CALLERS)

    def call(_: int) -> tuple[int, dict]:
        client = client_for(user)
        client.raise_request_exception = False
        try:
            barrier.wait(timeout=30)
            response = client.post(url)
            return response.status_code, response.json()
        finally:
            connections.close_all()  # this thread's connection, before the test database goes

    with ThreadPoolExecutor(CALLERS) as pool:
        return list(pool.map(call, range(CALLERS)))


def _losers_say_why(answers: list[tuple[int, dict]], status: str) -> None:
    codes = sorted(code for code, _ in answers)
    assert codes == [200] + [409] * (CALLERS - 1), answers
    for code, body in answers:
        if code == 409:
            detail = body["detail"]
            assert f"already {status}" in detail or "changed concurrently" in detail, body


def test_concurrent_completes_one_wins_the_rest_are_409(
    admin_user, environment, create_experiment, create_metric, attach, transition
):
    experiment = create_experiment()
    attach(experiment["id"], create_metric()["id"])
    transition(experiment["id"], "start")
    url = paths.experiments(environment.key, experiment["id"], "complete")

    answers = at_once(admin_user, url)

    _losers_say_why(answers, "completed")
    assert Experiment.objects.get(pk=experiment["id"]).status == "completed"
    assert ResultSnapshot.objects.filter(experiment_id=experiment["id"]).count() == 1
    changes = AuditLogEntry.objects.filter(
        action=Action.STATUS_CHANGE, object_id=str(experiment["id"])
    )
    assert [e.after["status"] for e in changes] == ["completed", "running"]


@pytest.mark.parametrize("before", [(), ("start", "pause")], ids=["draft", "paused"])
def test_concurrent_starts_one_wins_the_rest_are_409(
    admin_user, environment, create_experiment, transition, before
):
    experiment = create_experiment()
    transition(experiment["id"], *before)
    url = paths.experiments(environment.key, experiment["id"], "start")

    answers = at_once(admin_user, url)

    _losers_say_why(answers, "running")
    assert Experiment.objects.get(pk=experiment["id"]).status == "running"
    starts = AuditLogEntry.objects.filter(
        action=Action.STATUS_CHANGE, object_id=str(experiment["id"]), after__status="running"
    )
    assert starts.count() == 1 + before.count("start")
