"""``POST /api/v1/events/``: a batch of events for the environment its ``X-Environment-Key`` names.

Thin on purpose: the body is decoded and validated by ``liftlab.ingest`` and stored by the
event store; this view only maps their outcomes to HTTP. Senders are SDKs and servers, not
people, so there is no user token, only the environment key. Nothing is stored when the
answer is 400, 401, 403 or 413; a 202 means every accepted event is on disk.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from liftlab.api.scoping import EXPERIMENTATION_DISABLED
from liftlab.events.services import environment_with_key, ingestion_rules
from liftlab.eventstore import open_store
from liftlab.ingest import (
    BodyTooLargeError,
    IngestResult,
    Limits,
    MalformedBodyError,
    decode_body,
    ingest,
)
from liftlab.ingest.memory import collector_paused

KEY_HEADER = "X-Environment-Key"
_TEXT = {"type": "string"}
EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "identifier"],
    "additionalProperties": False,
    "properties": {
        "event": {**_TEXT, "maxLength": 200, "example": "$flag_exposure"},
        "identifier": {**_TEXT, "maxLength": 400},
        "timestamp": {"description": "ISO-8601, or epoch milliseconds; default: now"},
        "value": {"description": "number or string; for exposures the variant"},
        "feature_name": {**_TEXT, "maxLength": 200, "description": "for exposures, the flag"},
        "properties": {"type": "object", "description": "at most 64 KB of JSON"},
        "traits": {"type": "object", "description": "at most 64 KB of JSON"},
        "event_id": {**_TEXT, "format": "uuid", "description": "makes retries safe"},
        "sdk_language": {**_TEXT, "maxLength": 200},
        "sdk_version": {**_TEXT, "maxLength": 200},
    },
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"index": {"type": "integer"}, "error": _TEXT},
            },
        },
    },
}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class HasEnvironmentKey(permissions.BasePermission):
    """The request names an existing environment; the view then knows it as ``environment``."""

    def has_permission(self, request, view) -> bool:
        view.environment = environment_with_key(request.headers.get(KEY_HEADER))
        if view.environment is None:
            raise exceptions.NotAuthenticated(f"Send a valid environment key in {KEY_HEADER}.")
        if not view.environment.experimentation_enabled:
            raise exceptions.PermissionDenied(EXPERIMENTATION_DISABLED)
        return True


class EventsView(APIView):
    authentication_classes: list = []
    permission_classes = [HasEnvironmentKey]
    parser_classes: list = []  # the body is read raw: gzip and NDJSON are decoded by ingest

    def get_authenticate_header(self, request) -> str:
        """Makes a missing or unknown key a 401, as DRF answers 403 without a challenge."""
        return KEY_HEADER

    @extend_schema(
        summary="Send a batch of events",
        auth=[],
        parameters=[
            OpenApiParameter(
                KEY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="The environment's key: it names the environment and authorises.",
            )
        ],
        request={
            "application/json": {"type": "array", "items": EVENT_SCHEMA},
            "application/x-ndjson": EVENT_SCHEMA,
        },
        responses={
            202: OpenApiResponse(RESULT_SCHEMA, "Accepted events are on disk; see `rejected`."),
            400: OpenApiResponse(description="Malformed body (not JSON, NDJSON or gzip)."),
            401: OpenApiResponse(description=f"No valid environment key in {KEY_HEADER}."),
            403: OpenApiResponse(description="Experimentation is disabled for the environment."),
            413: OpenApiResponse(description="More bytes or events than the limits allow."),
            503: OpenApiResponse(description="The event store failed; retry the batch."),
        },
    )
    def post(self, request) -> Response:
        limits = Limits.from_env()
        body = read_body(request, limits)
        with collector_paused():
            result = self._store(request, body, limits)
        return Response(result._asdict(), status=status.HTTP_202_ACCEPTED)

    def _store(self, request, body: bytes, limits: Limits) -> IngestResult:
        """Decode and store the batch; its events are freed on return, before the collector
        resumes, so they are never scanned (liftlab.ingest.memory)."""
        try:
            events = decode_body(
                body,
                request.content_type or "application/json",
                request.headers.get("Content-Encoding", ""),
                limits,
            )
        except MalformedBodyError as exc:
            raise exceptions.ParseError(str(exc)) from exc
        except BodyTooLargeError as exc:
            raise PayloadTooLarge(str(exc)) from exc
        # A failing store is a 503 (liftlab.api.exceptions): nothing stored, retry the batch.
        rules = ingestion_rules(self.environment)
        return ingest(events, self.environment.key, open_store(), rules=rules)


def read_body(request, limits: Limits) -> bytes:
    """The raw body, read no further than one byte past the limit.

    Django's ``request.body`` would refuse anything above DATA_UPLOAD_MAX_MEMORY_SIZE
    (2.5 MB) with its own 400; reading the stream keeps the ingestion limit in charge.
    """
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise PayloadTooLarge(f"body is larger than the limit of {limits.max_body_bytes} bytes")
    body = request._request.read(limits.max_body_bytes + 1)
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLarge(f"body is larger than the limit of {limits.max_body_bytes} bytes")
    return body
