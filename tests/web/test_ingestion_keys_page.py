"""The ingestion keys section of the experiments page: admins manage keys, viewers see nothing."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from tests.web.conftest import client_for

from liftlab.accounts.models import Environment
from liftlab.audit.models import AuditLogEntry
from liftlab.ingestion_keys import services, tokens
from liftlab.ingestion_keys.models import IngestionKey

pytestmark = pytest.mark.django_db
SECRET = re.compile(r"ll_ik_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}")


def page_url(environment) -> str:
    return reverse("web:experiments", kwargs={"key": environment.key})


def create_url(environment) -> str:
    return reverse("web:ingestion-key-create", kwargs={"key": environment.key})


def action_url(environment, key: IngestionKey, action: str) -> str:
    return reverse(
        "web:ingestion-key-action", kwargs={"key": environment.key, "pk": key.pk, "action": action}
    )


def legacy_url(environment) -> str:
    return reverse("web:legacy-ingestion", kwargs={"key": environment.key})


def ingests(secret: str) -> int:
    body = json.dumps([{"event": "signup", "identifier": "u1"}])
    response = APIClient().post(
        "/api/v1/events/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    return response.status_code


@pytest.fixture
def existing(environment, admin) -> tuple[IngestionKey, str]:
    return services.create_key(environment, "web app", admin)


def test_an_admin_sees_the_keys_by_prefix_only(environment, admin, existing):
    key, secret = existing

    page = client_for(admin).get(page_url(environment)).content.decode()

    assert 'id="ingestion-keys"' in page and "Ingestion keys" in page
    assert f"{key.prefix}…" in page and "web app" in page and "never" in page
    assert secret not in page and not SECRET.search(page)
    assert action_url(environment, key, "rotate") in page
    assert action_url(environment, key, "revoke") in page


def test_a_viewer_sees_nothing_of_the_keys(environment, viewer, existing):
    page = client_for(viewer).get(page_url(environment)).content.decode()

    assert "Ingestion keys" not in page and "ll_ik_" not in page and "web app" not in page
    assert create_url(environment) not in page


def test_a_viewer_cannot_change_keys_from_the_pages(environment, viewer, existing):
    key, secret = existing
    client = client_for(viewer)
    Environment.objects.filter(pk=environment.pk).update(legacy_environment_key_ingestion=True)

    for url in (
        create_url(environment),
        action_url(environment, key, "rotate"),
        action_url(environment, key, "revoke"),
        legacy_url(environment),
    ):
        assert client.post(url, {"name": "mine"}).status_code == 403

    assert list(IngestionKey.objects.values_list("name", "revoked_at")) == [("web app", None)]
    assert ingests(secret) == 202
    environment.refresh_from_db()
    assert environment.legacy_environment_key_ingestion


def test_non_members_get_404(environment, outsider, existing):
    key, _ = existing
    client = client_for(outsider)

    assert client.post(create_url(environment), {"name": "x"}).status_code == 404
    assert client.post(action_url(environment, key, "revoke")).status_code == 404


def test_a_created_key_is_shown_once_and_not_cached(environment, admin):
    client = client_for(admin)

    response = client.post(create_url(environment), {"name": "backend"})
    assert response.status_code == 302
    assert response["Location"] == page_url(environment) + "#ingestion-keys"

    shown = client.get(page_url(environment))
    (secret,) = SECRET.findall(shown.content.decode())
    assert "no-store" in shown["Cache-Control"]
    assert "will not be shown again" in shown.content.decode()
    again = client.get(page_url(environment)).content.decode()
    assert secret not in again and not SECRET.search(again)
    assert IngestionKey.objects.get().prefix == secret[: tokens.PREFIX_LENGTH]
    assert ingests(secret) == 202
    (entry,) = AuditLogEntry.objects.filter(object_type="ingestion_key")
    assert (entry.action, entry.actor_name) == ("create", "ada")
    assert secret not in json.dumps([entry.before, entry.after])


def test_the_fresh_secret_is_not_shown_on_another_environments_page(environment, admin):
    other = Environment.objects.create(name="Other")
    other.memberships.create(user=admin, role="admin")
    client = client_for(admin)

    client.post(create_url(environment), {"name": "backend"})

    assert not SECRET.search(client.get(page_url(other)).content.decode())


def test_rotating_shows_the_new_secret_and_the_old_one_stops(environment, admin, existing):
    key, old = existing
    client = client_for(admin)

    assert client.post(action_url(environment, key, "rotate")).status_code == 302
    (new,) = SECRET.findall(client.get(page_url(environment)).content.decode())

    assert new != old
    assert (ingests(old), ingests(new)) == (401, 202)


def test_revoking_marks_the_key_and_refuses_it(environment, admin, existing):
    key, secret = existing
    client = client_for(admin)

    client.post(action_url(environment, key, "revoke"))
    page = client.get(page_url(environment)).content.decode()

    assert "revoked" in page and action_url(environment, key, "rotate") not in page
    assert ingests(secret) == 401
    assert client.post(action_url(environment, key, "rotate")).status_code == 302
    assert "the key is revoked" in client.get(page_url(environment)).content.decode()


@pytest.mark.parametrize("name", ["", "   ", "x" * 10_000, "a\x00b"])
def test_an_unusable_name_is_explained_and_nothing_is_made(environment, admin, name):
    client = client_for(admin)

    client.post(create_url(environment), {"name": name})

    assert "The key was not created: name:" in client.get(page_url(environment)).content.decode()
    assert not IngestionKey.objects.exists()


def test_a_hostile_name_is_escaped(environment, admin):
    client = client_for(admin)

    client.post(create_url(environment), {"name": "<script>alert(1)</script>"})
    page = client.get(page_url(environment)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_unknown_action_is_404(environment, admin, existing):
    key, _ = existing
    assert client_for(admin).post(action_url(environment, key, "delete")).status_code == 404


def test_an_admin_turns_legacy_ingestion_off(environment, admin):
    Environment.objects.filter(pk=environment.pk).update(legacy_environment_key_ingestion=True)
    client = client_for(admin)
    assert legacy_url(environment) in client.get(page_url(environment)).content.decode()

    assert client.post(legacy_url(environment)).status_code == 302

    environment.refresh_from_db()
    assert not environment.legacy_environment_key_ingestion
    assert legacy_url(environment) not in client.get(page_url(environment)).content.decode()
    (entry,) = AuditLogEntry.objects.filter(object_type="environment")
    assert entry.after["legacy_environment_key_ingestion"] is False
