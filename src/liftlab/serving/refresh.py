"""Scheduled results refreshes: ``liftlab serve`` recomputes running experiments' results.

A thread of the serving process (embedded chDB allows one process per data folder, and a
thread shares its store) runs ``run_every``: it waits ``RESULTS_REFRESH_MINUTES``, refreshes
every running experiment one after another, and waits again. One thread and one run at a time,
so runs never overlap: a run longer than the period delays the next. Every error is logged and
the next period tries again. With several ``liftlab serve`` processes on a ClickHouse server,
set the variable to 0 and run ``liftlab results refresh --all`` from cron instead.

It imports the models: import it once Django is set up (``liftlab serve`` migrates first).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from django.db import connections

from liftlab.experiments.results import Refreshed, refresh_each, running_experiments

logger = logging.getLogger(__name__)
THREAD_NAME = "liftlab-results-refresh"
STOP_SECONDS = 10  # how long shutdown waits for an experiment's refresh in progress


def run_every(period: float, job: Callable[[], None], stop: threading.Event) -> None:
    """Run ``job`` each time ``period`` seconds pass, until ``stop`` is set.

    The wait starts after the previous run ends, in this one thread: a slow run delays the
    next one instead of stacking on it. Whatever a run raises is logged, never the end of
    the schedule.
    """
    while not stop.wait(period):
        try:
            job()
        except Exception:
            logger.exception("the scheduled results refresh failed; trying again in %g s", period)


def refresh_running_results(stop: threading.Event) -> None:
    """One scheduled run: every running experiment's results, each failure logged.

    Stops between experiments once ``stop`` is set. The thread's database connections are
    closed afterwards, as after a request: the next run is a period away.
    """
    try:
        for outcome in refresh_each(running_experiments()):
            _log(outcome)
            if stop.is_set():
                break
    finally:
        connections.close_all()


def _log(outcome: Refreshed) -> None:
    experiment = outcome.experiment
    if outcome.error is None:
        logger.info("refreshed experiment %s's results in %.2f s", experiment.pk, outcome.seconds)
        return
    logger.error(
        "experiment %s's results (environment %s) were not refreshed: %s",
        experiment.pk,
        experiment.environment.key,
        outcome.error,
        exc_info=outcome.error,
    )


@contextmanager
def scheduled_refreshes(minutes: float) -> Iterator[threading.Thread | None]:
    """While the block runs, a thread refreshes running experiments every ``minutes``.

    No thread when ``minutes`` is 0. On leaving, the thread is told to stop and given
    ``STOP_SECONDS`` to finish the experiment it is refreshing; it is a daemon, so a refresh
    that takes longer never keeps the process from exiting.
    """
    if minutes <= 0:
        yield None
        return
    stop = threading.Event()
    job = partial(refresh_running_results, stop)
    thread = threading.Thread(
        target=run_every, args=(minutes * 60, job, stop), name=THREAD_NAME, daemon=True
    )
    thread.start()
    logger.info("refreshing running experiments' results every %g min", minutes)
    try:
        yield thread
    finally:
        stop.set()
        thread.join(STOP_SECONDS)
        if thread.is_alive():
            logger.warning("a results refresh was still running at shutdown; it is abandoned")
