"""The pages. Thin: access rules in ``access``, arrangement in ``presenters``, changes in services.

Every change is a POST with a CSRF token that redirects back (post/redirect/get), so reloading a
page never repeats an action; what happened is told with a one-line message.

The experiment page, its permanent link and its CSV are gzipped for browsers that accept it
(about a sixth of the bytes). The experiments list is not: it may show a new ingestion key's
secret, and a compressed page that reflects a secret is what BREACH-style attacks read.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST

from liftlab import formatting
from liftlab.accounts.models import Environment, Membership, Role
from liftlab.analysis.documents import as_current
from liftlab.eventstore import EventStoreError
from liftlab.experiments import services
from liftlab.experiments.errors import Conflict, Refused
from liftlab.experiments.models import Experiment, ExperimentStatus, Metric
from liftlab.experiments.results import results_for
from liftlab.web import analysis, keys, presenters
from liftlab.web.access import Access, environment_access

logger = logging.getLogger(__name__)
REFRESH = "refresh"
ACTIONS = (*services.TRANSITIONS, REFRESH)
NOT_RUNNING = "Only a running experiment's results can be refreshed."
NOT_REFRESHABLE = {
    ExperimentStatus.DRAFT: f"{NOT_RUNNING} This one has not started: it has no results yet.",
    ExperimentStatus.PAUSED: f"{NOT_RUNNING} This one is paused: its results stay as they are "
    "until it resumes.",
    ExperimentStatus.COMPLETED: f"{NOT_RUNNING} This one is completed: its results are final.",
}
DONE = {
    "start": "The experiment is running.",
    "pause": "The experiment is paused; its results stay as they are until it resumes.",
    "complete": "The experiment is completed; its results are now final.",
}


def _document(experiment: Experiment) -> dict | None:
    """The experiment's result document (cached or frozen), or ``None`` while it is a draft."""
    if experiment.status == ExperimentStatus.DRAFT:
        return None
    return results_for(experiment)


def _age(document: dict | None) -> str:
    """How old a result document is, in words ("updated 12 min ago"); empty for none."""
    if document is None:
        return ""
    computed_at = datetime.fromisoformat(document["computed_at"])
    return formatting.results_age(computed_at, timezone.now(), final=document["is_final"])


def _refresh(request: HttpRequest, experiment: Experiment) -> None:
    """Recompute now, within the API's throttle (whose explanation is shown when it applies)."""
    if experiment.status != ExperimentStatus.RUNNING:
        messages.error(request, NOT_REFRESHABLE.get(experiment.status, NOT_RUNNING))
        return
    document = results_for(experiment, refresh=True)
    messages.info(request, document.get("refresh") or "Results recomputed from the latest events.")


def store_errors_as_503(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An unreachable event store answers 503 with its reason, as the API does, not a 500.

    Changes run in a transaction that the error rolls back, so the page can say nothing changed.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except EventStoreError as exc:
            logger.error("event store unavailable for %s: %s", request.path, exc)
            context = {"reason": exc.reason, "was_change": request.method == "POST"}
            return render(request, "web/unavailable.html", context, status=503)

    return wrapper


def _experiment(access: Access, pk: str) -> Experiment:
    return get_object_or_404(Experiment.objects.alive(), environment=access.environment, pk=pk)


@login_required
def environment_list(request: HttpRequest) -> HttpResponse:
    """The environments the person belongs to (all of them for a superuser)."""
    environments = Environment.objects.annotate(
        experiment_count=Count("experiments", filter=Q(experiments__deleted_at__isnull=True))
    )
    if request.user.is_superuser:
        rows = [(e, Role.ADMIN) for e in environments]
    else:
        roles = dict(
            Membership.objects.filter(user=request.user).values_list("environment_id", "role")
        )
        rows = [(e, roles[e.pk]) for e in environments.filter(pk__in=roles)]
    return render(request, "web/environments.html", {"rows": rows})


@login_required
@store_errors_as_503
def experiment_list(request: HttpRequest, key: str) -> HttpResponse:
    access = environment_access(request, key)
    experiments = Experiment.objects.alive().filter(environment=access.environment)
    documents = [(e, _document(e)) for e in experiments.order_by("-id")]
    rows = [(e, presenters.list_summary(d, e.control_variant), _age(d)) for e, d in documents]
    ingestion = keys.panel(request, access)  # admins only: None for viewers
    context = {"access": access, "rows": rows, "ingestion": ingestion}
    return keys.never_cached_if_secret(render(request, "web/experiments.html", context), ingestion)


SNAPSHOT_STAMP = "%Y%m%dT%H%M%SZ"


def snapshot_stamp(document: dict | None) -> str | None:
    """The frozen results' time as it appears in their permanent link; ``None`` until final."""
    if document is None or not document["is_final"]:
        return None
    return datetime.fromisoformat(document["computed_at"]).strftime(SNAPSHOT_STAMP)


def _render_experiment(
    request: HttpRequest, access: Access, experiment: Experiment, document: dict | None
) -> HttpResponse:
    results = document and presenters.results_view(document, experiment.control_variant)
    stamp = snapshot_stamp(document)
    key = access.environment.key
    context = {
        "access": access,
        "experiment": experiment,
        "actions": [
            name
            for name, (allowed_from, _) in services.TRANSITIONS.items()
            if experiment.status in allowed_from
        ],
        # Offered while running only: a paused experiment's results stay until it resumes.
        "can_refresh": experiment.status == ExperimentStatus.RUNNING,
        "results": results,
        "age": _age(document),
        "analysis": presenters.analysis_panel(experiment, results),
        "analysis_form": access.is_admin and analysis.analysis_form(experiment),
        "attached": experiment.experiment_metrics.select_related("metric").order_by("id"),
        "csv_url": reverse("web:results-csv", kwargs={"key": key, "pk": experiment.pk}),
        "snapshot_url": stamp
        and reverse("web:snapshot", kwargs={"key": key, "pk": experiment.pk, "stamp": stamp}),
    }
    return render(request, "web/experiment.html", context)


@login_required
@gzip_page
@store_errors_as_503
def experiment_detail(request: HttpRequest, key: str, pk: str) -> HttpResponse:
    access = environment_access(request, key)
    experiment = _experiment(access, pk)
    return _render_experiment(request, access, experiment, _document(experiment))


@login_required
@gzip_page
@store_errors_as_503
def experiment_snapshot(request: HttpRequest, key: str, pk: str, stamp: str) -> HttpResponse:
    """The permanent link to a completed experiment's frozen results.

    The link names the time the results were frozen, so it shows exactly those results or
    none: a 404 that says why, never other numbers under the same address.
    """
    access = environment_access(request, key)
    experiment = _experiment(access, pk)
    document = _document(experiment) if experiment.status == ExperimentStatus.COMPLETED else None
    if snapshot_stamp(document) != stamp:
        raise Http404("No results were frozen at that time for this experiment.")
    return _render_experiment(request, access, experiment, document)


@login_required
@gzip_page
@store_errors_as_503
def results_csv(request: HttpRequest, key: str, pk: str) -> HttpResponse:
    """The scorecard as CSV: the frozen results of a completed experiment, else the current."""
    access = environment_access(request, key)
    experiment = _experiment(access, pk)
    document = _document(experiment)
    if document is None:
        return HttpResponse(
            "This experiment has no results yet: it has not started.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    doc = as_current(document, experiment.control_variant)
    stamp = doc.computed_at.strftime(SNAPSHOT_STAMP) if doc.computed_at else "results"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{experiment.feature_name}-{stamp}{'-final' if doc.is_final else ''}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    csv.writer(response).writerows(presenters.scorecard_csv(doc))
    return response


@login_required
@require_POST
@store_errors_as_503
def experiment_action(request: HttpRequest, key: str, pk: str, action: str) -> HttpResponse:
    """Start, pause, complete or refresh: admins only, as in the API."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    access = environment_access(request, key)
    access.require_admin()
    experiment = _experiment(access, pk)
    if action == REFRESH:
        _refresh(request, experiment)
        return redirect("web:experiment", key=key, pk=pk)
    try:
        services.change_status(experiment, action, request.user)
        messages.success(request, DONE[action])
    except (Refused, Conflict) as exc:  # e.g. "the experiment is already running: …"
        messages.error(request, exc.message)
    return redirect("web:experiment", key=key, pk=pk)


@login_required
@require_POST
def experiment_analysis(request: HttpRequest, key: str, pk: str) -> HttpResponse:
    """Change the analysis settings: admins only, through the API's serializer and audit."""
    access = environment_access(request, key)
    access.require_admin()
    analysis.submit(request, _experiment(access, pk))
    return redirect("web:experiment", key=key, pk=pk)


@login_required
def metric_library(request: HttpRequest, key: str) -> HttpResponse:
    access = environment_access(request, key)
    metrics = Metric.objects.alive().filter(environment=access.environment).order_by("name")
    rows = [(m, presenters.sentence(m)) for m in metrics]
    return render(request, "web/metrics.html", {"access": access, "rows": rows})
