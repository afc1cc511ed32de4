"""``POST /api/v1/events/``: a batch of events for the environment its ingestion key belongs to.

Thin on purpose: the body is decoded and validated by ``liftlab.ingest`` and stored by the
event store; this view only maps their outcomes to HTTP. Senders are SDKs and servers, not
people, so there is no user token: ``Authorization: Bearer <ingestion key>`` (or, while the
environment allows it, the legacy ``X-Environment-Key``: ``liftlab.ingestion_keys.auth``).
Nothing is stored when the answer is 400, 401, 403 or 413; a 202 means every accepted event
is on disk.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from liftlab.api.parsers import PayloadTooLarge
from liftlab.api.scoping import MethodsFirst
from liftlab.events.services import ingestion_rules
from liftlab.eventstore import open_store
from liftlab.ingest import (
    BodyTooLargeError,
    IngestResult,
    Limits,
    MalformedBodyError,
    decode_slices,
    ingest_slices,
)
from liftlab.ingest.memory import collector_paused
from liftlab.ingest.validation import Rules
from liftlab.ingestion_keys.auth import (
    AUTHENTICATION,
    HasIngestionCredential,
    IngestionCredential,
)

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


class EventsView(MethodsFirst, APIView):
    # A missing or bad key is a 401 with ``WWW-Authenticate: Bearer``.
    authentication_classes = AUTHENTICATION
    permission_classes = [HasIngestionCredential]
    parser_classes: list = []  # the body is read raw: gzip and NDJSON are decoded by ingest

    @property
    def environment(self):
        """The environment the request's ingestion key (or legacy environment key) belongs to."""
        return self.request.auth.environment

    @extend_schema(
        summary="Send a batch of events",
        description="Authenticated by an ingestion key, `Authorization: Bearer ll_ik_…`. "
        "`X-Environment-Key` is accepted only by environments whose "
        "`legacy_environment_key_ingestion` is still on (docs/ingestion-keys.md).",
        request={
            "application/json": {"type": "array", "items": EVENT_SCHEMA},
            "application/x-ndjson": EVENT_SCHEMA,
        },
        responses={
            202: OpenApiResponse(RESULT_SCHEMA, "Accepted events are on disk; see `rejected`."),
            400: OpenApiResponse(description="Malformed body (not JSON, NDJSON or gzip)."),
            401: OpenApiResponse(
                description="No valid ingestion key (unknown, revoked or rotated away), or an "
                "environment key where the environment no longer accepts one."
            ),
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
            slices = decode_slices(
                body,
                request.content_type or "application/json",
                request.headers.get("Content-Encoding", ""),
                limits,
                typed=True,
            )
            rules = request_rules(request.auth)
            # Slices are validated as they are parsed; a failing store is a 503
            # (liftlab.api.exceptions): nothing stored, retry the batch.
            return ingest_slices(slices, self.environment.key, open_store(), rules=rules)
        except MalformedBodyError as exc:  # also more months than one request may span
            raise exceptions.ParseError(str(exc)) from exc
        except BodyTooLargeError as exc:
            raise PayloadTooLarge(str(exc)) from exc


def request_rules(credential: IngestionCredential) -> Rules:
    """The environment's rules, from the exposure events read with its ingestion key when they
    were (``liftlab.ingestion_keys.auth``: the same request, the same query), else read now."""
    if credential.exposure_events is None:
        return ingestion_rules(credential.environment)
    return Rules.for_exposures(credential.exposure_events, Limits.from_env())


def read_body(request, limits: Limits) -> bytes:
    """The raw body, read no further than one byte past the limit.

    Django's ``request.body`` would refuse anything above DATA_UPLOAD_MAX_MEMORY_SIZE
    (2.5 MB) with its own 400; reading the stream keeps the ingestion limit in charge.
    """
    too_large = f"body is larger than the limit of {limits.max_body_bytes} bytes"
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise PayloadTooLarge(too_large)
    body = request._request.read(limits.max_body_bytes + 1)
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLarge(too_large)
    return body
