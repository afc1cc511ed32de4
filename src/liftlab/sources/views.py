"""Segment's tracking API and PostHog's capture API, answered by liftlab; the flags that
have an experiment, for SDKs.

Each view reads the body as the native endpoint does (``read_body``: the same byte limit),
inflates gzip, finds the sender's key (``liftlab.sources.auth``), maps every message to a
native event and stores them with ``liftlab.ingest`` under the same rules as
``POST /api/v1/events/``: an event is accepted or refused for the same reasons, a retried
message keeps its id and is stored once, and the answer comes only once accepted events are
on disk. Answers are what each SDK treats as success (a 200) or as a refusal it does not
retry (400, 401, 403, 413); a failing event store is a 503, which both retry.

The Segment and PostHog views speak those vendors' protocols, not liftlab's, so they stay
out of the OpenAPI schema (and its contract tests): docs/sources/ describes them, and the
tests drive them with the vendors' own SDKs. ``ExperimentFlagsView`` is liftlab's own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from liftlab.api.parsers import PayloadTooLarge
from liftlab.api.schema import ERROR_BODY
from liftlab.api.scoping import MethodsFirst
from liftlab.events.views import read_body, request_rules
from liftlab.eventstore import open_store
from liftlab.experiments.models import Experiment, ExperimentStatus
from liftlab.ingest import BodyTooLargeError, IngestResult, Limits, MalformedBodyError, ingest
from liftlab.ingest.body import gunzip, loads
from liftlab.ingest.memory import collector_paused
from liftlab.ingest.pipeline import now_ms
from liftlab.ingestion_keys.auth import AUTHENTICATION, HasIngestionCredential, IngestionCredential
from liftlab.sources import posthog, segment
from liftlab.sources.auth import (
    SEND_A_WRITE_KEY,
    SEND_AN_API_KEY,
    BodyKeyAuthentication,
    WriteKeyAuthentication,
    basic_username,
    credential_of,
)
from liftlab.sources.mapping import ShapeError

_GZIP_MAGIC = b"\x1f\x8b"
Mapper = Callable[[Any, Any, datetime], Any]


def read_document(request: Request, limits: Limits) -> Any:
    """The body as JSON, inflated first when it is gzip: said by ``Content-Encoding`` or, as
    posthog-js sends it (``?compression=gzip-js``, no header), by its magic bytes."""
    raw = read_body(request, limits)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise exceptions.ParseError(f"unsupported Content-Encoding {encoding!r} (use gzip)")
    try:
        if encoding == "gzip" or raw[:2] == _GZIP_MAGIC:
            raw = gunzip(raw, limits)
        return loads(raw)
    except MalformedBodyError as exc:
        raise exceptions.ParseError(str(exc)) from exc
    except BodyTooLargeError as exc:
        raise PayloadTooLarge(str(exc)) from exc
    except (ValueError, RecursionError) as exc:
        raise exceptions.ParseError(f"body is not valid JSON: {exc}") from exc


def store_messages(
    messages: list[Any],
    sent_at: Any,
    to_event: Mapper,
    credential: IngestionCredential,
    limits: Limits,
) -> dict[str, Any]:
    """Map and store a request's messages; rejections are indexed by message, as sent.

    A mapping that stores nothing (Segment's identify) answers None: counted as ignored.
    """
    if len(messages) > limits.max_events:
        raise PayloadTooLarge(
            f"{len(messages)} messages, more than the limit of {limits.max_events}"
        )
    received = now_ms()
    events, positions = [], []
    for index, message in enumerate(messages):
        event = to_event(message, sent_at, received)
        if event is not None:
            events.append(event)
            positions.append(index)
    result = IngestResult(0, 0, [])
    if events:
        with collector_paused():
            try:
                result = ingest(
                    events,
                    credential.environment.key,
                    open_store(),
                    rules=request_rules(credential),
                )
            except MalformedBodyError as exc:  # more months than one request may span
                raise exceptions.ParseError(str(exc)) from exc
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "ignored": len(messages) - len(events),
        "rejected": [
            {"index": positions[refused["index"]], "error": refused["error"]}
            for refused in result.rejected
        ],
    }


class SegmentView(MethodsFirst, APIView):
    """``POST /v1/batch`` and the single-message ``/v1/track``, ``/v1/page``, ``/v1/screen``,
    ``/v1/identify``, ``/v1/group`` and ``/v1/alias``."""

    authentication_classes = [WriteKeyAuthentication]
    permission_classes: list = []  # the write key is checked in post(), with the body
    parser_classes: list = []

    @extend_schema(exclude=True)
    def post(self, request: Request, kind: str) -> Response:
        limits = Limits.from_env()
        write_key = basic_username(str(request.META.get("HTTP_AUTHORIZATION", "")))
        credential = credential_of(write_key, SEND_A_WRITE_KEY) if write_key else None
        document = read_document(request, limits)
        if credential is None:
            in_body = document.get("writeKey") if isinstance(document, dict) else None
            credential = credential_of(in_body, SEND_A_WRITE_KEY)
        try:
            messages, sent_at = segment.batch_messages(document, kind)
        except ShapeError as exc:
            raise exceptions.ParseError(str(exc)) from exc
        answer = store_messages(messages, sent_at, segment.to_event, credential, limits)
        return Response({"success": True, **answer}, status=status.HTTP_200_OK)


class PostHogView(MethodsFirst, APIView):
    """PostHog's ``/batch/``, ``/capture/`` and ``/e/``: the project key in the body."""

    authentication_classes = [BodyKeyAuthentication]
    permission_classes: list = []  # the key is in the body: checked in post()
    parser_classes: list = []

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        limits = Limits.from_env()
        document = read_document(request, limits)
        credential: IngestionCredential = credential_of(
            posthog.project_key(document), SEND_AN_API_KEY
        )
        try:
            events, sent_at = posthog.batch_events(document)
        except ShapeError as exc:
            raise exceptions.ParseError(str(exc)) from exc
        answer = store_messages(events, sent_at, posthog.to_event, credential, limits)
        return Response({"status": 1, **answer}, status=status.HTTP_200_OK)


FLAGS_SCHEMA = {
    "type": "object",
    "properties": {
        "flags": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "flag": {"type": "string"},
                    "experiment": {"type": "integer"},
                    "exposure_event": {"type": "string"},
                    "variants": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


class ExperimentFlagsView(MethodsFirst, ViewSet):
    """``GET /api/v1/experiment-flags/``: the flags of the sender's running and paused
    experiments, so that an SDK records exposures of those flags only, under the exposure
    event each experiment reads (``liftlab.sdk.openfeature``). A view set's ``list``, as the
    schema generator expects of a GET."""

    authentication_classes = AUTHENTICATION
    permission_classes = [HasIngestionCredential]

    @extend_schema(
        summary="Flags that have an experiment",
        description="For SDKs, authenticated by an ingestion key (`Authorization: Bearer "
        "ll_ik_…`): each running or paused experiment's flag, id, exposure event and variant keys.",
        responses={
            200: OpenApiResponse(FLAGS_SCHEMA, "The flags, in the order of their experiments."),
            401: OpenApiResponse(ERROR_BODY, "No valid ingestion key."),
            403: OpenApiResponse(ERROR_BODY, "Experimentation is disabled for the environment."),
        },
    )
    def list(self, request: Request) -> Response:
        experiments = Experiment.objects.alive().filter(
            environment=request.auth.environment,
            status__in=[ExperimentStatus.RUNNING, ExperimentStatus.PAUSED],
        )
        flags = [
            {
                "flag": experiment.feature_name,
                "experiment": experiment.pk,
                "exposure_event": experiment.exposure_event,
                "variants": experiment.variant_keys,
            }
            for experiment in experiments
        ]
        return Response({"flags": flags})
