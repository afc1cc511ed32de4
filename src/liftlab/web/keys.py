"""The ingestion keys section of an environment's page: admins only, nothing at all for viewers.

Creating and rotating redirect back (post/redirect/get) with the new secret kept in the
server-side session for exactly one page view: it is shown once, on the next page, and popped
from the session there; that page is sent ``Cache-Control: no-store``. The changes go through
``liftlab.ingestion_keys.services``, as the API's and the CLI's do, audited without the secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from liftlab.api.exceptions import error_lines
from liftlab.ingestion_keys import services
from liftlab.ingestion_keys.models import IngestionKey
from liftlab.web.access import Access, environment_access

FRESH_SECRET = "liftlab.fresh_ingestion_key"
ACTIONS = ("rotate", "revoke")


@dataclass(frozen=True)
class FreshSecret:
    key_id: int
    secret: str
    verb: str  # "created" or "rotated"


@dataclass(frozen=True)
class KeysPanel:
    keys: list[IngestionKey]
    legacy: bool
    fresh: FreshSecret | None


def panel(request: HttpRequest, access: Access) -> KeysPanel | None:
    """The section's content for an admin (popping a secret made on the previous request), or
    None for anyone else: a viewer's page says nothing about keys."""
    if not access.is_admin:
        return None
    fresh = request.session.pop(FRESH_SECRET, None)
    if fresh and fresh.get("environment") == access.environment.pk:
        fresh = FreshSecret(fresh["key_id"], fresh["secret"], fresh["verb"])
    else:
        fresh = None
    return KeysPanel(
        list(IngestionKey.objects.filter(environment=access.environment)),
        access.environment.legacy_environment_key_ingestion,
        fresh,
    )


def never_cached_if_secret(response: HttpResponse, keys: KeysPanel | None) -> HttpResponse:
    if keys is not None and keys.fresh is not None:
        add_never_cache_headers(response)
    return response


def _keep_secret(request: HttpRequest, access: Access, key: IngestionKey, secret: str, verb: str):
    request.session[FRESH_SECRET] = {
        "environment": access.environment.pk,
        "key_id": key.pk,
        "secret": secret,
        "verb": verb,
    }


def _admin_access(request: HttpRequest, key: str) -> Access:
    access = environment_access(request, key)
    access.require_admin()
    return access


def _back(key: str) -> HttpResponse:
    return redirect(reverse("web:experiments", kwargs={"key": key}) + "#ingestion-keys")


@login_required
@require_POST
def create(request: HttpRequest, key: str) -> HttpResponse:
    access = _admin_access(request, key)
    try:
        made, secret = services.create_key(
            access.environment, request.POST.get("name", ""), request.user
        )
    except ValidationError as exc:
        messages.error(request, f"The key was not created: {error_lines(exc.detail)[0]}")
        return _back(key)
    _keep_secret(request, access, made, secret, "created")
    messages.success(request, f"Ingestion key “{made.name}” created.")
    return _back(key)


@login_required
@require_POST
def change(request: HttpRequest, key: str, pk: str, action: str) -> HttpResponse:
    """Rotate or revoke one key."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    access = _admin_access(request, key)
    target = get_object_or_404(IngestionKey, environment=access.environment, pk=pk)
    if action == "revoke":
        was_active = target.active
        services.revoke_key(target, request.user)
        if was_active:
            messages.success(request, f"Ingestion key “{target.name}” revoked.")
        return _back(key)
    try:
        secret = services.rotate_key(target, request.user)
    except services.KeyRevoked as exc:
        messages.error(request, f"“{target.name}”: {exc}")
        return _back(key)
    _keep_secret(request, access, target, secret, "rotated")
    messages.success(request, f"Ingestion key “{target.name}” rotated: the old secret is refused.")
    return _back(key)


@login_required
@require_POST
def legacy_off(request: HttpRequest, key: str) -> HttpResponse:
    """Stop taking the environment key (X-Environment-Key) as an ingestion credential."""
    access = _admin_access(request, key)
    if services.set_legacy_ingestion(access.environment, False, request.user):
        messages.success(
            request, "The environment key no longer authenticates ingestion: only ingestion keys."
        )
    return _back(key)
