"""Who is sending, for the Segment and PostHog endpoints: the same ingestion keys (or, while
the environment allows it, the legacy environment key) as ``POST /api/v1/events/``.

Segment's SDKs send the write key as HTTP Basic auth's username (analytics.js, which cannot
set headers cheaply, as ``writeKey`` in the body); PostHog's send it as ``api_key`` (or
``token``) in the body. Both are read once the body is, by the views. A key that is not valid
is a 401, which neither SDK retries; the key alone names the environment, so no event
reaches another one.
"""

from __future__ import annotations

import base64
import binascii

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from liftlab.ingestion_keys.auth import (
    INVALID_KEY,
    IngestionCredential,
    authenticate_with_exposures,
    experimenting,
    legacy_credential,
)

SEND_A_WRITE_KEY = (
    "Send an ingestion key (ll_ik_…) as the write key: HTTP Basic auth, the key as the "
    "username and no password (or as writeKey in the body)."
)
SEND_AN_API_KEY = "Send an ingestion key (ll_ik_…) as api_key in the body."


def credential_of(secret: object, missing: str) -> IngestionCredential:
    """The environment ``secret`` sends for, or a 401 saying why not (``missing`` when there
    is no key at all); a 403 if the environment does not experiment: the native endpoint's
    answers for the same keys. An ingestion key comes with its environment's exposure
    events, from the native endpoint's one query."""
    if not isinstance(secret, str) or not secret:
        raise exceptions.NotAuthenticated(missing)
    credential = authenticate_with_exposures(secret) or legacy_credential(secret, INVALID_KEY)
    return experimenting(credential)


def basic_username(authorization: str) -> str | None:
    """The username of ``Authorization: Basic base64(user:password)``; None without such a
    header, a 401 when it is there but cannot be read."""
    words = authorization.split()
    if not words or words[0].lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(words[1] if len(words) == 2 else "", validate=True)
        username = decoded.decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        username = ""
    if not username:
        raise exceptions.AuthenticationFailed(f"Malformed Basic credentials. {SEND_A_WRITE_KEY}")
    return username


class WriteKeyAuthentication(BaseAuthentication):
    """Names Segment's scheme so that a refused write key is a 401 with ``WWW-Authenticate``
    (DRF answers 403 without one); the key itself is read by the view, with the body."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request) -> str:
        return 'Basic realm="liftlab ingestion"'


class BodyKeyAuthentication(BaseAuthentication):
    """PostHog's key travels in the body, which the view reads: nothing to do here but name
    the scheme, so that a refused key is a 401."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request) -> str:
        return 'ApiKey realm="liftlab ingestion"'
