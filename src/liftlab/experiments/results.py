"""Experiment results: computed from the event store, cached while running, frozen at completion.

The statistics and the SQL live in ``liftlab.analysis``; this module only turns models into
the analysis' plain inputs, runs the query on the configured store and keeps the outcome.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from liftlab.analysis.contract import ENGINE_VERSION, SCHEMA_VERSION
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.documents import versioned
from liftlab.analysis.query import build_exposure_timeline_query
from liftlab.analysis.report import AttachedMetric, Header, Thresholds, build_report
from liftlab.analysis.results import query_results, read_exposure_timeline
from liftlab.analysis.segments import query_segments
from liftlab.analysis.settings import parse_settings
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.timeline import query_timeline
from liftlab.eventstore import open_store
from liftlab.experiments.errors import NotStarted, Refused
from liftlab.experiments.models import (
    Experiment,
    ExperimentMetric,
    ExperimentStatus,
    MetricResultSnapshot,
    ResultCache,
    ResultSnapshot,
)

REFRESH_INTERVAL = timedelta(minutes=1)


def attachments(experiment: Experiment) -> list[ExperimentMetric]:
    return list(experiment.experiment_metrics.select_related("metric").order_by("id"))


def experiment_spec(
    experiment: Experiment, end: datetime, attached: list[ExperimentMetric]
) -> ExperimentSpec:
    """The analysis' view of an experiment: flag, variants, window and metric definitions."""
    return ExperimentSpec(
        environment_key=experiment.environment.key,
        feature_name=experiment.feature_name,
        exposure_event=experiment.exposure_event,
        variant_keys=tuple(experiment.variant_keys),
        start=experiment.started_at,
        end=end,
        metrics=tuple(
            MetricSpec(
                key=str(a.metric_id),
                aggregation=a.metric.aggregation,
                definition=parse_definition(a.metric.definition),
                lookback_days=a.lookback_days,
            )
            for a in attached
        ),
        breakdowns=tuple(parse_settings(experiment.analysis).breakdowns),
    )


def attached_metrics(attached: list[ExperimentMetric]) -> list[AttachedMetric]:
    """What the report says about each attached metric besides its numbers."""
    return [
        AttachedMetric(
            key=str(a.metric_id),
            metric=a.metric_id,
            name=a.metric.name,
            metric_type=a.metric.metric_type,
            aggregation=a.metric.aggregation,
            expected_direction=a.expected_direction,
            role=a.role,
            higher_is_better=a.metric.higher_is_better,
            non_inferiority_margin=a.non_inferiority_margin,
        )
        for a in attached
    ]


def compute_document(experiment: Experiment, end: datetime) -> dict:
    """Run the one-scan query and the statistics; the whole result document as JSON."""
    now = timezone.now()
    attached = attachments(experiment)
    spec = experiment_spec(experiment, end, attached)
    store = open_store(settings.EVENTSTORE_URL)
    days = query_timeline(spec, store.query)
    stats = days[-1][1] if days else query_results(spec, store.query)
    timeline = read_exposure_timeline(store.query(*build_exposure_timeline_query(spec)))
    document = build_report(
        spec,
        stats,
        attached_metrics(attached),
        header=Header(
            experiment=experiment.pk,
            status=experiment.status,
            is_final=experiment.status == ExperimentStatus.COMPLETED,
            computed_at=now,
            analysis_changed_after_start=experiment.analysis_changed_at is not None,
        ),
        weights=[v["weight"] for v in experiment.variants],
        control=experiment.control_variant,
        settings=parse_settings(experiment.analysis),
        thresholds=Thresholds(settings.RESULTS_MIN_IDENTITIES, settings.RESULTS_MIN_CONVERSIONS),
        daily=timeline,
        timeline=days,
        segments=query_segments(spec, store.query),
    )
    return document.model_dump(mode="json")


def fingerprint(experiment: Experiment) -> str:
    """Everything besides the events that the document depends on, and the engine's version."""
    parts = {
        "schema_version": SCHEMA_VERSION,
        "engine_version": ENGINE_VERSION,
        "status": experiment.status,
        "variants": experiment.variants,
        "control": experiment.control_variant,
        "analysis": parse_settings(experiment.analysis).to_json(),
        "analysis_changed_at": str(experiment.analysis_changed_at),
        "exposure_event": experiment.exposure_event,
        "feature_name": experiment.feature_name,
        "thresholds": [settings.RESULTS_MIN_IDENTITIES, settings.RESULTS_MIN_CONVERSIONS],
        "metrics": [
            [
                a.metric_id,
                a.expected_direction,
                a.role,
                a.non_inferiority_margin,
                a.lookback_days,
                a.metric.name,
                a.metric.higher_is_better,
            ]
            for a in attachments(experiment)
        ],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def results_for(experiment: Experiment, *, refresh: bool = False) -> dict:
    """The document the results endpoint serves.

    Completed: the frozen snapshot, never the event store. Running or paused: the cached
    document unless it is stale (configuration changed) or a refresh is asked for; refreshes
    run at most once per ``REFRESH_INTERVAL`` per experiment.
    """
    if experiment.status == ExperimentStatus.DRAFT:
        raise NotStarted()
    if experiment.status == ExperimentStatus.COMPLETED:
        return frozen_document(experiment)
    current = fingerprint(experiment)
    cache = ResultCache.objects.filter(experiment=experiment).first()
    if cache is not None and cache.fingerprint == current:
        _store_answers()
        age = timezone.now() - cache.computed_at
        if not refresh or age < REFRESH_INTERVAL:
            return _cached(cache, throttled=refresh)
    return _recompute(experiment, current)


def _recompute(experiment: Experiment, current: str) -> dict:
    """Compute the document from the latest events and cache it under its fingerprint."""
    document = compute_document(experiment, timezone.now())
    ResultCache.objects.update_or_create(
        experiment=experiment,
        defaults={
            "fingerprint": current,
            "computed_at": datetime.fromisoformat(document["computed_at"]),
            "document": document,
        },
    )
    return {**document, "cached": False}


def refresh_now(experiment: Experiment) -> dict:
    """Recompute a running experiment's results now, as ``results_for(refresh=True)`` does,
    but past ``REFRESH_INTERVAL``: that throttle spares the store from people pressing a button,
    and the schedule (``liftlab serve``, ``liftlab results refresh``) refreshes on purpose.

    Only running experiments: a paused one keeps its results until it resumes, a completed
    one is frozen.
    """
    if experiment.status != ExperimentStatus.RUNNING:
        raise Refused(
            "status",
            f"only running experiments' results are refreshed; this one is {experiment.status}.",
        )
    return _recompute(experiment, fingerprint(experiment))


def running_experiments() -> list[Experiment]:
    """What a scheduled refresh recomputes: every running experiment, oldest first.

    Environments with experimentation off are left out: nobody can read their results (the
    API and the pages refuse them), so recomputing them would only load the event store.
    """
    experiments = Experiment.objects.alive().filter(
        status=ExperimentStatus.RUNNING, environment__experimentation_enabled=True
    )
    return list(experiments.select_related("environment").order_by("id"))


@dataclass(frozen=True)
class Refreshed:
    """One experiment's refresh: how long it took, and why it failed if it did."""

    experiment: Experiment
    seconds: float
    error: Exception | None = None


def refresh_each(experiments: Iterable[Experiment]) -> Iterator[Refreshed]:
    """Refresh one experiment after another, as each finishes.

    A failure (the event store down, a query refused) is reported, not raised: one
    experiment's problem must not keep the others' results from being refreshed.
    """
    for experiment in experiments:
        started = time.monotonic()
        try:
            refresh_now(experiment)
        except Exception as exc:  # any error: reported to the caller, who logs or prints it
            yield Refreshed(experiment, time.monotonic() - started, exc)
        else:
            yield Refreshed(experiment, time.monotonic() - started)


def _store_answers() -> None:
    """Raise ``EventStoreError`` unless the event store answers a trivial query.

    A cached document of a running experiment is only as good as the store it came from: if
    the store has lost its data (its folder removed under the service) or is down, the results
    must say so, not serve figures that new events can no longer change.
    """
    open_store(settings.EVENTSTORE_URL).query("SELECT 1")


def _cached(cache: ResultCache, *, throttled: bool) -> dict:
    document = {**cache.document, "cached": True}
    if throttled:
        next_at = cache.computed_at + REFRESH_INTERVAL
        document["refresh"] = (
            f"results were computed at {cache.computed_at.isoformat()}; "
            f"they can be refreshed again after {next_at.isoformat()}."
        )
    return document


def freeze(experiment: Experiment) -> ResultSnapshot:
    """Compute the final results of a just-completed experiment and keep them for good."""
    document = compute_document(experiment, experiment.ended_at)
    summary = {k: v for k, v in document.items() if k != "metrics"}
    with transaction.atomic():
        snapshot = ResultSnapshot.objects.create(
            experiment=experiment,
            computed_at=datetime.fromisoformat(document["computed_at"]),
            summary=summary,
        )
        MetricResultSnapshot.objects.bulk_create(
            MetricResultSnapshot(snapshot=snapshot, metric_id=m["metric"], position=i, result=m)
            for i, m in enumerate(document["metrics"])
        )
        ResultCache.objects.filter(experiment=experiment).delete()
    return snapshot


def frozen_document(experiment: Experiment) -> dict:
    snapshot = (
        ResultSnapshot.objects.filter(experiment=experiment)
        .prefetch_related("metric_results")
        .first()
    )
    if snapshot is None:  # completed before results existed (e.g. a failed freeze): freeze now
        snapshot = freeze(experiment)
    return versioned(
        {
            **snapshot.summary,
            "status": experiment.status,
            "is_final": True,
            "cached": True,
            "metrics": [m.result for m in snapshot.metric_results.all()],
        }
    )
