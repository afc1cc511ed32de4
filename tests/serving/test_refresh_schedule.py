"""Scheduled results refreshes: ``run_every`` as ``liftlab serve``'s thread runs it.

The schedule runs with a 0.2 s period on a thread of its own; each test stops it from inside
its job (after the runs it needs) and records what happened in order, so nothing asserts a
duration. The refresh itself runs against the test database and the embedded store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import uvicorn
from django.utils import timezone
from tests.api.events import exposure, hours_ago, store_events

from liftlab.accounts.models import Environment
from liftlab.cli import main
from liftlab.eventstore import EventStoreError
from liftlab.experiments import results
from liftlab.experiments.models import (
    Experiment,
    ExperimentMetric,
    ExperimentStatus,
    Metric,
    ResultCache,
)
from liftlab.serving import refresh
from liftlab.serving.refresh import THREAD_NAME, refresh_running_results, run_every

PERIOD = 0.2
IDENTITIES = 6


class RecordedStop(threading.Event):
    """A stop event that notes each wait (with its timeout) in the shared ``log``."""

    def __init__(self, log: list) -> None:
        super().__init__()
        self.log = log

    def wait(self, timeout: float | None = None) -> bool:
        self.log.append(("wait", timeout))
        return super().wait(timeout)


def schedule(job: Callable[[threading.Event], None], log: list | None = None) -> None:
    """Run the schedule on its own thread, as ``liftlab serve`` does, until ``job`` stops it."""
    stop = RecordedStop(log if log is not None else [])
    thread = threading.Thread(target=run_every, args=(PERIOD, lambda: job(stop), stop))
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the schedule did not stop"


def stop_after(runs: int, job: Callable[[threading.Event], None]):
    """``job``, then the schedule's stop once it has run ``runs`` times."""
    done = []

    def counted(stop: threading.Event) -> None:
        try:
            job(stop)
        finally:
            done.append(1)
            if len(done) == runs:
                stop.set()

    return counted


def test_one_run_per_period_and_a_slow_run_delays_the_next_instead_of_overlapping():
    log: list = []

    def slow(stop: threading.Event) -> None:
        log.append("start")
        if log.count("start") == 1:
            time.sleep(3 * PERIOD)  # a first refresh three periods long
        log.append("end")

    schedule(stop_after(2, slow), log)
    wait = ("wait", PERIOD)
    assert log == [wait, "start", "end", wait, "start", "end", wait]


def test_an_error_is_logged_and_the_next_period_runs_again(caplog):
    runs = []

    def failing_once(stop: threading.Event) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the database went away")

    schedule(stop_after(2, failing_once))
    assert runs == [0, 1]
    (record,) = [r for r in caplog.records if r.name == refresh.__name__]
    assert record.levelno == logging.ERROR
    assert "the scheduled results refresh failed" in record.getMessage()
    assert "the database went away" in caplog.text  # with its traceback


# The real job: running experiments' results, recomputed with no request.


def running_experiment(environment: Environment, metric: Metric, name: str, **fields):
    experiment = Experiment.objects.create(
        environment=environment,
        name=name,
        feature_name=name,
        variants=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        control_variant="control",
        status=fields.pop("status", ExperimentStatus.RUNNING),
        started_at=timezone.now() - timedelta(days=2),
        **fields,
    )
    ExperimentMetric.objects.create(
        experiment=experiment, metric=metric, expected_direction="increase"
    )
    store_events(
        [
            exposure(environment.key, name, f"{name}-{i}", ("control", "treatment")[i % 2], at)
            for i, at in enumerate([hours_ago(30)] * IDENTITIES)
        ]
    )
    return experiment


@pytest.fixture
def world(transactional_db):
    """An environment with a metric: committed, so the schedule's thread sees it."""
    environment = Environment.objects.create(name="Scheduled")
    metric = Metric.objects.create(
        environment=environment,
        name="Signed up",
        metric_type="conversion",
        aggregation="occurrence",
        definition={"version": 1, "event": "signup"},
    )
    return environment, metric


def cached_totals() -> dict[int, int]:
    return {c.experiment_id: c.document["exposures"]["total"] for c in ResultCache.objects.all()}


def test_running_experiments_are_refreshed_with_no_request(world):
    environment, metric = world
    running = running_experiment(environment, metric, "running")
    paused = running_experiment(environment, metric, "paused", status=ExperimentStatus.PAUSED)
    stale = timezone.now() - timedelta(hours=3)
    ResultCache.objects.create(
        experiment=paused,
        fingerprint="kept",
        computed_at=stale,
        document={"exposures": {"total": 0}},
    )
    results.results_for(running)  # cached a moment ago: a person's refresh is throttled now
    store_events([exposure(environment.key, "running", "late", "control", hours_ago(1))])

    schedule(stop_after(1, refresh_running_results))

    assert cached_totals()[running.pk] == IDENTITIES + 1  # past the per-request throttle
    kept = ResultCache.objects.get(experiment=paused)
    assert (kept.fingerprint, kept.computed_at) == ("kept", stale)  # a paused one keeps its own


def test_a_store_failure_for_one_experiment_is_logged_the_others_refresh_and_it_is_retried(
    world, monkeypatch, caplog
):
    environment, metric = world
    broken = running_experiment(environment, metric, "broken")
    fine = running_experiment(environment, metric, "fine")
    compute, failures, after_each_run = results.compute_document, [], []

    def down_once_for_broken(experiment, end):
        if experiment.pk == broken.pk and not failures:
            failures.append(end)
            raise EventStoreError("connection refused (127.0.0.1:8123)")
        return compute(experiment, end)

    def job(stop: threading.Event) -> None:
        refresh_running_results(stop)
        after_each_run.append(sorted(cached_totals()))

    monkeypatch.setattr(results, "compute_document", down_once_for_broken)
    caplog.set_level(logging.INFO, logger=refresh.__name__)
    schedule(stop_after(2, job))

    assert after_each_run == [[fine.pk], sorted([broken.pk, fine.pk])]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        f"experiment {broken.pk}'s results (environment {environment.key}) were not "
        "refreshed: connection refused (127.0.0.1:8123)"
    ]


# `liftlab serve` runs the schedule beside uvicorn, and only when asked to.


@pytest.fixture
def served_threads(monkeypatch) -> list[list[str]]:
    """Run ``liftlab serve`` with uvicorn replaced: each entry is the threads alive inside it."""
    seen: list[list[str]] = []
    monkeypatch.setattr("liftlab.cli.server.migrate", lambda: None)
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self: seen.append([t.name for t in threading.enumerate()])
    )
    return seen


def test_serve_runs_the_refresh_thread_while_it_serves(served_threads, settings):
    settings.RESULTS_REFRESH_MINUTES = 30
    assert main(["serve", "--port", "0"]) == 0
    assert THREAD_NAME in served_threads[0]
    assert THREAD_NAME not in [t.name for t in threading.enumerate()]  # stopped on shutdown


def test_serve_runs_no_refresh_thread_when_the_setting_is_0(served_threads, settings):
    settings.RESULTS_REFRESH_MINUTES = 0
    assert main(["serve", "--port", "0"]) == 0
    assert served_threads and THREAD_NAME not in served_threads[0]


def test_serve_refuses_a_negative_period(served_threads, settings, capsys):
    settings.RESULTS_REFRESH_MINUTES = -5
    assert main(["serve", "--port", "0"]) == 2
    assert "RESULTS_REFRESH_MINUTES must be 0 (off) or more, not -5" in capsys.readouterr().err
    assert served_threads == []
