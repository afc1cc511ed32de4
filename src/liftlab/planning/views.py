"""``POST /api/v1/environments/{key}/power/``: how many identities and days an experiment needs.

A question changes nothing, so every member may ask, viewers too; it reads the metric library
and the events, so the experimentation switch applies as it does to metrics. The body is
validated by ``PowerPlan`` (its schema is the one published); a refusal is a 400 naming the
field, an unreachable event store a 503.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from liftlab.analysis.power import PowerError
from liftlab.api.scoping import EXPERIMENTATION_DISABLED, EnvironmentScopedMixin
from liftlab.planning.questions import PowerPlan, PowerResponse, answer


class MembersMayAsk(permissions.BasePermission):
    """Signed in (401), a member (404 otherwise, as if the environment did not exist), and
    experimentation on (403); a POST here is a question, so no role is needed."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not view.environment.experimentation_enabled:
            raise exceptions.PermissionDenied(EXPERIMENTATION_DISABLED)
        return True


class PowerView(EnvironmentScopedMixin, APIView):
    permission_classes = [MembersMayAsk]
    http_method_names = ["post", "options"]

    @extend_schema(
        summary="Identities and days an experiment needs",
        description='For a baseline typed in, or `{"metric": id, "days": 28}` read from the '
        "events (the metric's per-identity mean and variance over the identities active in "
        "those days, whose number over the days is the traffic unless `daily_traffic` is "
        "given): the identities and days each design needs to detect a change of `mde` with "
        "`power`, every treatment against the control (docs/power.md).",
        request=PowerPlan,
        responses={200: PowerResponse},
    )
    def post(self, request: Request, environment_key: str) -> Response:
        try:
            response = answer(self.environment, request.data)
        except PowerError as exc:
            errors = dict(exc.errors)
            if "question" in errors:
                errors["detail"] = errors.pop("question")
            raise exceptions.ValidationError(errors) from exc
        return Response(response.model_dump(mode="json"))
