"""Ingestion keys: admins make, list, rotate and revoke them; only they authenticate ingestion.

The environment's key names the environment in URLs and every member can read it, so it must
not be what lets a sender write events: a viewer who knows it cannot change results.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone
from rest_framework.test import APIClient
from tests.eventstore.events import count

from liftlab.accounts.models import Environment
from liftlab.audit.models import AuditLogEntry
from liftlab.eventstore import open_store
from liftlab.ingestion_keys import services, tokens
from liftlab.ingestion_keys.models import IngestionKey

from . import paths
from .expect import created, ok, refused
from .test_hostile_strings import HOSTILE, NUL, SURROGATE

EVENTS = "/api/v1/events/"
LISTED = {"id", "name", "prefix", "active", "created_at", "rotated_at", "last_used_at"}
LISTED |= {"revoked_at"}


def batch(n: int = 2) -> bytes:
    return json.dumps(
        [
            {"event": "signup", "identifier": f"u{i}", "event_id": str(uuid.uuid4())}
            for i in range(n)
        ]
    ).encode()


def post_events(body: bytes | None = None, **headers):
    return APIClient().post(
        EVENTS, data=body or batch(), content_type="application/json", **headers
    )


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def stored(environment: Environment) -> int:
    return count(open_store(), environment.key)


def make_key(client, environment, name: str = "web app") -> dict:
    return created(
        client.post(paths.ingestion_keys(environment.key), {"name": name}, format="json")
    )


def everything_said(client, environment) -> str:
    """Every answer about the environment's keys and its audit log, as one text."""
    answers = [
        client.get(paths.ingestion_keys(environment.key)).content,
        client.get(paths.audit_log(environment.key), {"page_size": 500}).content,
    ]
    answers += [
        client.get(paths.ingestion_keys(environment.key, key.pk)).content
        for key in IngestionKey.objects.filter(environment=environment)
    ]
    return b"\n".join(answers).decode()


# --- who may see and manage keys ---------------------------------------------------------


def test_an_admin_creates_a_key_and_sees_its_secret_once(admin, environment):
    body = make_key(admin, environment)

    assert set(body) == LISTED | {"key"}
    assert body["key"].startswith("ll_ik_") and body["key"].startswith(body["prefix"])
    assert tokens.KEY_PATTERN.fullmatch(body["key"])
    assert (body["name"], body["active"], body["last_used_at"]) == ("web app", True, None)
    listed = ok(admin.get(paths.ingestion_keys(environment.key)))
    assert listed == [{k: v for k, v in body.items() if k != "key"}]
    assert ok(admin.get(paths.ingestion_keys(environment.key, body["id"]))) == listed[0]
    assert body["key"] not in everything_said(admin, environment)


def test_the_secret_is_stored_only_as_its_hash(admin, environment):
    body = make_key(admin, environment)

    row = IngestionKey.objects.get(pk=body["id"])
    assert row.secret_hash == tokens.digest(body["key"]) and len(row.secret_hash) == 64
    assert body["key"] not in json.dumps(list(IngestionKey.objects.values()), default=str)


def test_an_environment_has_several_keys(admin, environment):
    names = ["web", "ios", "backend"]
    made = [make_key(admin, environment, name) for name in names]

    assert len({m["key"] for m in made}) == 3
    assert [k["name"] for k in ok(admin.get(paths.ingestion_keys(environment.key)))] == names
    for key in made:
        assert post_events(**bearer(key["key"])).status_code == 202


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("get", None, None),
        ("post", None, {"name": "sneaky"}),
        ("get", "one", None),
        ("delete", "one", None),
        ("post", "rotate", None),
        ("post", "revoke", None),
    ],
)
def test_a_viewer_gets_403_on_every_keys_endpoint(admin, viewer, environment, method, action, body):
    key = make_key(admin, environment)
    url = (
        paths.ingestion_keys(environment.key)
        if action is None
        else paths.ingestion_keys(environment.key, key["id"], None if action == "one" else action)
    )

    response = getattr(viewer, method)(url, body, format="json")

    assert refused(response, 403)["detail"].startswith("Only the environment's admins")
    assert ok(admin.get(paths.ingestion_keys(environment.key, key["id"])))["active"]
    assert IngestionKey.objects.filter(environment=environment).count() == 1
    assert post_events(**bearer(key["key"])).status_code == 202


def test_non_members_get_404_and_anonymous_callers_401(admin, outsider, anonymous, environment):
    key = make_key(admin, environment)

    refused(outsider.get(paths.ingestion_keys(environment.key)), 404)
    refused(outsider.post(paths.ingestion_keys(environment.key, key["id"], "rotate")), 404)
    refused(anonymous.get(paths.ingestion_keys(environment.key)), 401)
    refused(
        anonymous.post(paths.ingestion_keys(environment.key), {"name": "x"}, format="json"), 401
    )


def test_a_superuser_manages_keys_of_any_environment(superuser, environment):
    assert make_key(superuser, environment)["key"].startswith("ll_ik_")


def test_keys_of_another_environment_are_404(admin, environment, other_environment, outsider):
    theirs = make_key(outsider, other_environment)

    refused(admin.get(paths.ingestion_keys(environment.key, theirs["id"])), 404)
    refused(admin.post(paths.ingestion_keys(environment.key, theirs["id"], "revoke")), 404)
    assert post_events(**bearer(theirs["key"])).status_code == 202


# --- what a key can do at the events endpoint -------------------------------------------


def test_an_admins_key_ingests_into_its_own_environment(admin, environment):
    key = make_key(admin, environment)

    response = post_events(batch(3), **bearer(key["key"]))

    assert (response.status_code, response.json()["accepted"]) == (202, 3)
    assert stored(environment) == 3


def test_the_key_alone_chooses_the_environment(admin, environment, other_environment):
    key = make_key(admin, environment)

    response = post_events(**bearer(key["key"]), HTTP_X_ENVIRONMENT_KEY=other_environment.key)

    assert response.status_code == 202
    assert (stored(environment), stored(other_environment)) == (2, 0)


@pytest.mark.parametrize("via", ["delete", "revoke"])
def test_a_revoked_key_gets_401_at_once_and_stays_listed(admin, environment, via):
    key = make_key(admin, environment)
    assert post_events(**bearer(key["key"])).status_code == 202

    if via == "delete":
        assert admin.delete(paths.ingestion_keys(environment.key, key["id"])).status_code == 204
    else:
        answer = ok(admin.post(paths.ingestion_keys(environment.key, key["id"], "revoke")))
        assert answer["active"] is False and "key" not in answer

    response = post_events(**bearer(key["key"]))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in response.json()["detail"]
    (listed,) = ok(admin.get(paths.ingestion_keys(environment.key)))
    assert listed["active"] is False and listed["revoked_at"] is not None
    assert stored(environment) == 2


def test_revoking_twice_changes_nothing_more(admin, environment):
    key = make_key(admin, environment)
    url = paths.ingestion_keys(environment.key, key["id"], "revoke")
    first = ok(admin.post(url))

    assert ok(admin.post(url)) == first
    assert admin.delete(paths.ingestion_keys(environment.key, key["id"])).status_code == 204
    assert AuditLogEntry.objects.filter(object_type="ingestion_key", action="revoke").count() == 1


def test_rotation_gives_a_new_secret_and_the_old_one_stops_working(admin, environment):
    key = make_key(admin, environment)
    assert post_events(**bearer(key["key"])).status_code == 202

    rotated = ok(admin.post(paths.ingestion_keys(environment.key, key["id"], "rotate")))

    assert (rotated["id"], rotated["name"], rotated["created_at"]) == (
        key["id"],
        key["name"],
        key["created_at"],
    )
    assert rotated["key"] != key["key"] and rotated["prefix"] != key["prefix"]
    assert rotated["key"].startswith(rotated["prefix"]) and rotated["rotated_at"]
    assert post_events(**bearer(key["key"])).status_code == 401
    assert post_events(**bearer(rotated["key"])).status_code == 202
    assert rotated["key"] not in everything_said(admin, environment)


def test_a_revoked_key_cannot_be_rotated(admin, environment):
    key = make_key(admin, environment)
    ok(admin.post(paths.ingestion_keys(environment.key, key["id"], "revoke")))

    body = refused(admin.post(paths.ingestion_keys(environment.key, key["id"], "rotate")), 409)

    assert "revoked" in body["detail"]
    assert post_events(**bearer(key["key"])).status_code == 401


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "ll_ik_",
        "not-a-key",
        "ll_ik_AAAAAAAAAAAA_" + "A" * 43,  # the right shape, no such key
        "'; DROP TABLE ingestion_keys_ingestionkey; --",
        "ll_ik_🧪",
        "a b",
    ],
)
def test_anything_but_a_valid_key_is_401_and_stores_nothing(admin, environment, presented):
    make_key(admin, environment)

    response = post_events(HTTP_AUTHORIZATION=f"Bearer {presented}")

    assert response.status_code == 401
    assert "ingestion key" in response.json()["detail"]
    assert stored(environment) == 0


def test_a_right_prefix_with_a_wrong_secret_is_401(admin, environment):
    key = make_key(admin, environment)
    forged = key["prefix"] + "_" + "x" * 43

    assert post_events(**bearer(forged)).status_code == 401
    assert stored(environment) == 0


def test_a_user_token_does_not_authenticate_ingestion(admin, admin_user, environment):
    response = post_events(HTTP_AUTHORIZATION=f"Token {admin_user.auth_token.key}")

    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]


def test_a_key_of_an_environment_with_experimentation_off_is_403(admin, environment):
    key = make_key(admin, environment)
    Environment.objects.filter(pk=environment.pk).update(experimentation_enabled=False)

    assert post_events(**bearer(key["key"])).status_code == 403
    assert stored(environment) == 0


# --- last used: recorded, cheaply -------------------------------------------------------


@pytest.fixture
def fresh_use_notes(monkeypatch):
    """Forget which keys this process recorded a use of."""
    monkeypatch.setattr(services, "_written", {})


def test_last_used_is_recorded_at_most_once_a_minute(admin, environment, fresh_use_notes):
    key = make_key(admin, environment)
    post_events(**bearer(key["key"]))
    first = IngestionKey.objects.get(pk=key["id"]).last_used_at
    assert first is not None

    post_events(**bearer(key["key"]))
    assert IngestionKey.objects.get(pk=key["id"]).last_used_at == first

    long_ago = timezone.now() - timedelta(minutes=5)
    IngestionKey.objects.filter(pk=key["id"]).update(last_used_at=long_ago)
    services._written.clear()
    post_events(**bearer(key["key"]))
    assert IngestionKey.objects.get(pk=key["id"]).last_used_at > long_ago
    listed = ok(admin.get(paths.ingestion_keys(environment.key, key["id"])))
    assert listed["last_used_at"] is not None


def test_a_failure_to_record_the_use_never_fails_the_batch(
    admin, environment, fresh_use_notes, monkeypatch
):
    key = make_key(admin, environment)

    def broken(*args, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(services, "_write_last_used", broken)
    response = post_events(**bearer(key["key"]))

    assert response.status_code == 202 and stored(environment) == 2


# --- the audit log ----------------------------------------------------------------------


def test_every_change_is_audited_without_the_secret(admin, environment):
    key = make_key(admin, environment, "backend")
    rotated = ok(admin.post(paths.ingestion_keys(environment.key, key["id"], "rotate")))
    ok(admin.post(paths.ingestion_keys(environment.key, key["id"], "revoke")))

    entries = ok(admin.get(paths.audit_log(environment.key), {"page_size": 500}))["results"]
    mine = [e for e in entries if e["object_type"] == "ingestion_key"]

    assert [(e["action"], e["actor"], e["object_id"]) for e in mine] == [
        ("revoke", "alice", str(key["id"])),
        ("rotate", "alice", str(key["id"])),
        ("create", "alice", str(key["id"])),
    ]
    revoke, rotate, create = mine
    assert create["before"] is None and create["after"]["prefix"] == key["prefix"]
    assert (rotate["before"]["prefix"], rotate["after"]["prefix"]) == (
        key["prefix"],
        rotated["prefix"],
    )
    assert revoke["before"]["active"] is True and revoke["after"]["active"] is False
    said = json.dumps(entries)
    for secret in (key["key"], rotated["key"]):
        assert secret not in said and secret[len(tokens.PREFIX) + 13 :] not in said
    assert "secret_hash" not in said and tokens.digest(key["key"]) not in said


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_names_are_kept_as_given(admin, environment, name):
    key = make_key(admin, environment, name)

    assert key["name"] == name
    assert ok(admin.get(paths.ingestion_keys(environment.key, key["id"])))["name"] == name


@pytest.mark.parametrize(
    "name",
    [NUL, SURROGATE, "x" * 201, "x" * 10_000, "", "   ", None, 12, ["a"], {"a": 1}],
    ids=["nul", "surrogate", "201", "10k", "empty", "blank", "null", "number", "list", "object"],
)
def test_unusable_names_are_a_clean_400_naming_the_field(admin, environment, name):
    body = json.dumps({"name": name})

    response = admin.post(
        paths.ingestion_keys(environment.key), body, content_type="application/json"
    )

    assert refused(response, 400, "name")
    assert not IngestionKey.objects.exists()


def test_a_missing_name_is_a_400(admin, environment):
    refused(admin.post(paths.ingestion_keys(environment.key), {}, format="json"), 400, "name")


def test_a_name_at_the_limit_is_taken(admin, environment):
    assert make_key(admin, environment, "🧪" * 200)["name"] == "🧪" * 200


def test_the_number_of_active_keys_is_bounded(admin, environment, monkeypatch):
    monkeypatch.setattr("liftlab.ingestion_keys.serializers.MAX_ACTIVE_KEYS", 2)
    first = make_key(admin, environment, "one")
    make_key(admin, environment, "two")

    body = refused(
        admin.post(paths.ingestion_keys(environment.key), {"name": "three"}, format="json"), 400
    )
    assert "revoke one first" in body["name"][0]

    ok(admin.post(paths.ingestion_keys(environment.key, first["id"], "revoke")))
    make_key(admin, environment, "three")


@pytest.mark.parametrize("key_id", ["0", "99999999", "abc", "%00"])
def test_unknown_key_ids_are_json_404(admin, environment, key_id):
    refused(admin.get(paths.ingestion_keys(environment.key) + f"{key_id}/"), 404)


# --- the legacy environment key --------------------------------------------------------


def legacy(environment) -> dict[str, str]:
    return {"HTTP_X_ENVIRONMENT_KEY": environment.key}


def test_a_new_environment_does_not_take_its_environment_key(superuser):
    body = created(superuser.post(paths.ENVIRONMENTS, {"name": "New"}, format="json"))
    environment = Environment.objects.get(key=body["key"])

    response = post_events(**legacy(environment))

    assert body["legacy_environment_key_ingestion"] is False
    assert response.status_code == 401
    assert "no longer accepts its environment key" in response.json()["detail"]
    assert stored(environment) == 0


def test_a_viewer_who_reads_the_environment_key_cannot_change_results(viewer, environment):
    """The reported attack: the key every member reads sends exposures and signups."""
    key = ok(viewer.get(paths.environment(environment.key)))["key"]
    exposures = [
        {
            "event": "$flag_exposure",
            "identifier": f"fake-{i}",
            "feature_name": "checkout",
            "value": "treatment",
        }
        for i in range(300)
    ]

    response = post_events(json.dumps(exposures).encode(), HTTP_X_ENVIRONMENT_KEY=key)

    assert response.status_code == 401
    assert refused(viewer.get(paths.ingestion_keys(environment.key)), 403)
    assert stored(environment) == 0


def test_while_legacy_is_on_the_environment_key_still_ingests(admin, environment):
    Environment.objects.filter(pk=environment.pk).update(legacy_environment_key_ingestion=True)

    response = post_events(**legacy(environment))

    assert response.status_code == 202 and stored(environment) == 2


def test_an_admin_turns_legacy_off_and_the_environment_key_stops_at_once(
    admin, viewer, environment
):
    Environment.objects.filter(pk=environment.pk).update(legacy_environment_key_ingestion=True)
    key = make_key(admin, environment)
    off = {"legacy_environment_key_ingestion": False}

    refused(viewer.patch(paths.environment(environment.key), off, format="json"), 403)
    assert post_events(**legacy(environment)).status_code == 202
    body = ok(admin.patch(paths.environment(environment.key), off, format="json"))

    assert body["legacy_environment_key_ingestion"] is False
    assert post_events(**legacy(environment)).status_code == 401
    assert post_events(**bearer(key["key"])).status_code == 202
    (change,) = AuditLogEntry.objects.filter(object_type="environment", action="update")
    assert change.before["legacy_environment_key_ingestion"] is True
    assert change.after["legacy_environment_key_ingestion"] is False


def test_an_unknown_environment_key_is_401(environment):
    response = post_events(HTTP_X_ENVIRONMENT_KEY="no-such-environment")

    assert response.status_code == 401 and "ingestion key" in response.json()["detail"]


# --- the migration ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_environments_made_before_the_change_keep_legacy_ingestion_on():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("accounts", "0001_initial")]
    after = [("accounts", "0002_legacy_environment_key_ingestion")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("accounts", "Environment")
    old.objects.create(name="Old", key="old-environment")

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert Environment.objects.get(key="old-environment").legacy_environment_key_ingestion
    assert not Environment.objects.create(name="New").legacy_environment_key_ingestion


def test_unknown_fields_are_refused_not_dropped(admin, environment):
    response = admin.post(
        f"/api/v1/environments/{environment.key}/ingestion-keys/",
        {"name": "web", "secret": "mine", "active": False},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert {"secret", "active"} <= set(response.json())
