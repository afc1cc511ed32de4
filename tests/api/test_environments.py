"""Environments: superusers create them, members see them, admins change them."""

from __future__ import annotations

import re

from liftlab.accounts.models import Environment

from . import paths
from .expect import created, ok, refused

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def test_a_superuser_creates_an_environment_with_a_random_url_safe_key(superuser):
    first = created(superuser.post(paths.ENVIRONMENTS, {"name": "Production"}, format="json"))
    second = created(superuser.post(paths.ENVIRONMENTS, {"name": "Production"}, format="json"))

    assert set(first) == {
        "id",
        "name",
        "key",
        "experimentation_enabled",
        "legacy_environment_key_ingestion",
        "created_at",
    }
    assert first["legacy_environment_key_ingestion"] is False
    assert first["name"] == "Production"
    assert first["experimentation_enabled"] is True
    assert first["created_at"]
    assert URL_SAFE.match(first["key"]) and len(first["key"]) >= 16
    assert first["key"] != second["key"]


def test_the_creator_becomes_the_environments_admin(superuser):
    environment = created(superuser.post(paths.ENVIRONMENTS, {"name": "Staging"}, format="json"))

    members = ok(superuser.get(paths.members(environment["key"])))

    assert [(m["username"], m["role"]) for m in members] == [("root", "admin")]


def test_experimentation_can_be_switched_off_at_creation(superuser):
    body = {"name": "Quiet", "experimentation_enabled": False}

    environment = created(superuser.post(paths.ENVIRONMENTS, body, format="json"))

    assert environment["experimentation_enabled"] is False
    assert Environment.objects.get(key=environment["key"]).experimentation_enabled is False


def test_the_key_cannot_be_chosen_or_changed(superuser):
    refused(
        superuser.post(paths.ENVIRONMENTS, {"name": "P", "key": "chosen"}, format="json"),
        400,
        "key",
    )
    environment = created(superuser.post(paths.ENVIRONMENTS, {"name": "P"}, format="json"))

    url = paths.environment(environment["key"])
    refused(superuser.patch(url, {"key": "x"}, format="json"), 400, "key")

    assert ok(superuser.get(url))["key"] == environment["key"]


def test_only_superusers_create_environments(admin, environment):
    refused(admin.post(paths.ENVIRONMENTS, {"name": "Mine"}, format="json"), 403)

    assert Environment.objects.count() == 1


def test_a_name_is_required_and_not_blank(superuser):
    refused(superuser.post(paths.ENVIRONMENTS, {}, format="json"), 400, "name")
    refused(superuser.post(paths.ENVIRONMENTS, {"name": "  "}, format="json"), 400, "name")


def test_the_list_holds_only_the_callers_environments(admin, viewer, outsider, environment):
    other = Environment.objects.create(name="Nobody's")

    for client in (admin, viewer):
        assert [e["key"] for e in ok(client.get(paths.ENVIRONMENTS))] == [environment.key]
    assert ok(outsider.get(paths.ENVIRONMENTS)) == []
    assert other.key not in {e["key"] for e in ok(admin.get(paths.ENVIRONMENTS))}


def test_members_read_an_environment_by_key(viewer, environment):
    body = ok(viewer.get(paths.environment(environment.key)))

    assert body["key"] == environment.key
    assert body["name"] == environment.name


def test_an_admin_renames_and_switches_experimentation(admin, environment):
    body = {"name": "Renamed", "experimentation_enabled": False}

    patched = ok(admin.patch(paths.environment(environment.key), body, format="json"))

    environment.refresh_from_db()
    assert patched["name"] == environment.name == "Renamed"
    assert patched["experimentation_enabled"] is environment.experimentation_enabled is False


def test_a_superuser_manages_an_environment_without_being_a_member(superuser, environment):
    patched = superuser.patch(paths.environment(environment.key), {"name": "R"}, format="json")

    assert ok(patched)["name"] == "R"


def test_a_viewer_cannot_change_an_environment(viewer, environment):
    refused(viewer.patch(paths.environment(environment.key), {"name": "X"}, format="json"), 403)

    environment.refresh_from_db()
    assert environment.name == "Production"


def test_anonymous_callers_can_neither_list_nor_create(anonymous):
    refused(anonymous.get(paths.ENVIRONMENTS), 401)
    refused(anonymous.post(paths.ENVIRONMENTS, {"name": "P"}, format="json"), 401)

    assert not Environment.objects.exists()
