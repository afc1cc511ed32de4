"""One error shape for the whole API: never a 500 for something the caller can fix."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError
from django.http import JsonResponse
from django.views.defaults import bad_request as default_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from liftlab.api.parsers import PayloadTooLarge, body_too_large_detail
from liftlab.eventstore import EventStoreError
from liftlab.experiments import errors as experiment_errors

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """The request is valid but the current state forbids it (e.g. deleting a metric in use)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    """A backing service (the event store) failed; retrying later may work."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A backing service is unavailable; please retry later."
    default_code = "unavailable"


# The models database failing for want of disk, writability or its lock, not for the request:
# SQLite's messages, and PostgreSQL's SQLSTATE classes (53 resources, 25006 read-only).
_DATABASE_FAILURES = (
    ("database or disk is full", "The database is out of disk space."),
    ("no space left on device", "The database is out of disk space."),
    ("readonly database", "The database is read-only."),
    ("read-only transaction", "The database is read-only."),
    ("database is locked", "The database is busy."),
    ("disk i/o error", "The database cannot use its disk."),
    ("unable to open database file", "The database cannot use its disk."),
)


def database_unavailable(exc: DatabaseError) -> str | None:
    """General words for a database failure that retrying later may cure, else None."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    if sqlstate.startswith("53"):
        return "The database is out of disk space or memory."
    if sqlstate == "25006":
        return "The database is read-only."
    text = str(exc).lower()
    return next((reason for needle, reason in _DATABASE_FAILURES if needle in text), None)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus Django validation errors as 400 and lost uniqueness races as 409.

    The experiments' own refusals become what the services used to raise themselves: a
    ``Refused`` a 400 whose body names the field (``{"status": "cannot start…"}``), a
    ``Conflict`` a 409 (``{"detail": "…"}``).
    """
    if isinstance(exc, experiment_errors.Refused):
        exc = exceptions.ValidationError(exc.detail)
    elif isinstance(exc, experiment_errors.Conflict):
        exc = Conflict(exc.message)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    elif isinstance(exc, EventStoreError):
        logger.error("event store: %s", exc)  # the details stay here; the client gets words
        exc = ServiceUnavailable(f"{exc.reason} Please retry later.")
    elif isinstance(exc, DatabaseError) and (reason := database_unavailable(exc)):
        logger.error("database: %s", exc)
        exc = ServiceUnavailable(f"{reason} Please retry later.")
    elif isinstance(exc, IntegrityError):
        exc = Conflict("A concurrent change conflicts with this request; please retry.")
    elif isinstance(exc, RequestDataTooBig):  # Django's, reading request.body past the limit
        exc = PayloadTooLarge(body_too_large_detail())
    return drf_exception_handler(exc, context)


def error_lines(detail: Any, path: str = "") -> list[str]:
    """Every message of a DRF error body, each with its field: ``analysis.alpha: …``.

    For people rather than programs: the page's messages and the CLI's one-line errors.
    """
    if isinstance(detail, dict):
        return [
            line
            for key, value in detail.items()
            for line in error_lines(value, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(detail, list):
        return [line for value in detail for line in error_lines(value, path)]
    return [f"{path}: {detail}" if path else str(detail)]


def bad_request(request, exception=None):
    """Django's own 400s (SuspiciousOperation) under /api/ are JSON; a body over the size
    limit met outside a DRF view is a 413 there too. Pages keep HTML."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"detail": body_too_large_detail()}, status=413)
        return JsonResponse({"detail": "Bad request."}, status=400)
    return default_bad_request(request, exception)


def not_found(request, exception=None):
    """Unknown URLs under /api/ answer JSON like every other API error; pages keep HTML."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    """Last resort: a JSON body for API clients instead of an HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return default_server_error(request)
