"""Metric library, experiment and attachment endpoints: thin, rules in serializers/services."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from liftlab.accounts.models import Role
from liftlab.analysis.documents import AnyResultDocument
from liftlab.api.audited import AuditedMixin
from liftlab.api.scoping import EnvironmentAccess, EnvironmentScopedMixin
from liftlab.audit.models import ObjectType
from liftlab.experiments import results as experiment_results
from liftlab.experiments import services
from liftlab.experiments.models import Experiment, ExperimentMetric, Metric
from liftlab.experiments.serializers import (
    ExperimentMetricSerializer,
    ExperimentSerializer,
    MetricSerializer,
    StartSerializer,
)

VIEWERS_DO_NOT_REFRESH = (
    "only the environment's admins may refresh results on demand; running experiments' "
    "results are recomputed on a schedule, and computed_at says when these were."
)


class ExperimentationViewSet(AuditedMixin, EnvironmentScopedMixin, viewsets.ModelViewSet):
    """Shared by every experiment and metric endpoint: membership, role and the gate."""

    permission_classes = [EnvironmentAccess]
    requires_experimentation = True
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if "environment_key" in self.kwargs:
            context["environment"] = self.environment
        return context

    def save_kwargs(self) -> dict:
        return {"environment": self.environment}


@extend_schema_view(
    destroy=extend_schema(
        responses={204: None, 409: OpenApiResponse(description="Attached to a running experiment.")}
    )
)
class MetricViewSet(ExperimentationViewSet):
    """The environment's metric library."""

    serializer_class = MetricSerializer
    lookup_value_regex = r"\d+"
    audit_object_type = ObjectType.METRIC

    def get_queryset(self):
        return Metric.objects.alive().filter(environment=self.environment)

    def delete_instance(self, instance: Metric) -> None:
        services.soft_delete_metric(instance)


def _one_breakdown(document: dict, key: str) -> list[dict]:
    """``?breakdown=KEY``: that dimension's segments alone, or a 400 naming the known keys."""
    chosen = [b for b in document.get("breakdowns", []) if b["key"] == key]
    if not chosen:
        known = ", ".join(b["key"] for b in document.get("breakdowns", [])) or "none"
        raise ValidationError(
            {"breakdown": f"is not one of the experiment's breakdowns (configured: {known})."}
        )
    return chosen


class ExperimentViewSet(ExperimentationViewSet):
    """Experiments and their lifecycle (start, pause, complete)."""

    serializer_class = ExperimentSerializer
    lookup_value_regex = r"\d+"
    audit_object_type = ObjectType.EXPERIMENT

    def get_queryset(self):
        return Experiment.objects.alive().filter(environment=self.environment)

    def delete_instance(self, instance: Experiment) -> None:
        services.soft_delete_experiment(instance)

    def _transition(
        self, name: str, started_at: datetime | None = None, experiment: Experiment | None = None
    ) -> Response:
        experiment = experiment or self.get_object()
        changed = services.change_status(experiment, name, self.request.user, started_at)
        return Response(self.snapshot(changed))

    @extend_schema(request=StartSerializer, responses=ExperimentSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, *args, **kwargs) -> Response:
        """Start or resume; a first start may record an earlier ``started_at``."""
        experiment = self.get_object()  # a missing experiment is a 404 whatever the body
        body = StartSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        return self._transition("start", body.validated_data.get("started_at"), experiment)

    @extend_schema(request=None, responses=ExperimentSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, *args, **kwargs) -> Response:
        return self._transition("pause")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "refresh",
                bool,
                description="recompute now: the environment's admins only, at most once a minute "
                "per experiment; a viewer's request is ignored and `refresh` says why",
            ),
            OpenApiParameter(
                "breakdown",
                str,
                description="only this breakdown dimension's segments (its key, e.g. `country`)",
            ),
        ],
        responses=AnyResultDocument,
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, *args, **kwargs) -> Response:
        """Per-metric, per-variant results; the frozen snapshot once completed.

        A viewer's ``?refresh=true`` is a read like any other, answered with the results as
        they are and the reason in ``refresh``, as a throttled refresh is: reads stay open to
        every member, recomputing on demand is the admins' (the schedule refreshes for all).
        """
        experiment = self.get_object()
        refresh = request.query_params.get("refresh", "false")
        if refresh not in ("true", "false"):
            raise ValidationError({"refresh": "must be true or false."})
        allowed = refresh == "true" and self.role == Role.ADMIN
        document = experiment_results.results_for(experiment, refresh=allowed)
        if refresh == "true" and not allowed and not document["is_final"]:
            document["refresh"] = VIEWERS_DO_NOT_REFRESH
        breakdown = request.query_params.get("breakdown")
        if breakdown is not None:
            document["breakdowns"] = _one_breakdown(document, breakdown)
        return Response(document)

    @extend_schema(request=None, responses=ExperimentSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, *args, **kwargs) -> Response:
        return self._transition("complete")


class ExperimentMetricViewSet(ExperimentationViewSet):
    """Metrics attached to one experiment, with their expected direction and role."""

    serializer_class = ExperimentMetricSerializer
    lookup_value_regex = r"\d+"
    audit_object_type = ObjectType.ATTACHMENT

    @cached_property
    def experiment(self) -> Experiment:
        experiment = (
            Experiment.objects.alive()
            .filter(environment=self.environment, pk=self.kwargs["experiment_pk"])
            .first()
        )
        if experiment is None:
            raise Http404("No experiment with that id.")
        return experiment

    def get_queryset(self):
        return self.experiment.experiment_metrics.select_related("metric")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if "experiment_pk" in self.kwargs:
            context["experiment"] = self.experiment
        return context

    def save_kwargs(self) -> dict:
        return {"experiment": self.experiment}

    def delete_instance(self, instance: ExperimentMetric) -> None:
        services.detach_metric(instance)
