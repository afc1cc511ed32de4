"""`liftlab keys create|list|revoke|rotate|legacy ENV_KEY`: the API's rules from a shell."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from liftlab.accounts.models import Environment
from liftlab.audit.models import AuditLogEntry
from liftlab.cli import main
from liftlab.ingestion_keys import tokens
from liftlab.ingestion_keys.models import IngestionKey

EVENTS = "/api/v1/events/"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["keys", *args])
    out, err = capsys.readouterr()
    return code, out, err


def ingests(secret: str) -> int:
    body = json.dumps([{"event": "signup", "identifier": "u1"}])
    response = APIClient().post(
        EVENTS, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    return response.status_code


def create(capsys, environment, name: str = "backend") -> str:
    code, out, err = run(capsys, "create", environment.key, "--name", name, "--actor", "alice")
    assert code == 0, err
    assert len(out.splitlines()) == 1, out  # the secret alone on stdout
    return out.strip()


def test_create_prints_the_secret_once_and_it_ingests(capsys, environment):
    secret = create(capsys, environment)

    assert tokens.KEY_PATTERN.fullmatch(secret)
    assert ingests(secret) == 202
    key = IngestionKey.objects.get()
    assert (key.name, key.prefix) == ("backend", secret[: tokens.PREFIX_LENGTH])
    (entry,) = AuditLogEntry.objects.filter(object_type="ingestion_key")
    assert (entry.action, entry.actor_name) == ("create", "alice")
    assert secret not in json.dumps([entry.before, entry.after, entry.object_repr])


def test_list_shows_prefixes_never_secrets(capsys, environment):
    secret = create(capsys, environment)

    code, out, _ = run(capsys, "list", environment.key)
    assert code == 0
    assert secret[: tokens.PREFIX_LENGTH] + "…" in out and "backend" in out and "never" in out
    assert secret not in out
    assert "Legacy X-Environment-Key ingestion: off." in out

    code, out, _ = run(capsys, "list", environment.key, "--json")
    (listed,) = json.loads(out)
    assert listed["prefix"] == secret[: tokens.PREFIX_LENGTH] and "key" not in listed
    assert secret not in out


def test_revoke_by_id_or_prefix(capsys, environment):
    first, second = create(capsys, environment, "one"), create(capsys, environment, "two")
    one, two = IngestionKey.objects.order_by("id")

    assert run(capsys, "revoke", environment.key, str(one.pk), "--actor", "alice")[0] == 0
    code, out, _ = run(capsys, "revoke", environment.key, two.prefix + "…", "--actor", "alice")
    assert code == 0 and "Revoked" in out

    assert (ingests(first), ingests(second)) == (401, 401)
    code, out, _ = run(capsys, "revoke", environment.key, str(one.pk), "--actor", "alice")
    assert code == 0 and "already revoked" in out
    assert AuditLogEntry.objects.filter(action="revoke").count() == 2


def test_rotate_prints_a_new_secret_and_the_old_one_stops(capsys, environment):
    old = create(capsys, environment)
    key = IngestionKey.objects.get()

    code, out, err = run(capsys, "rotate", environment.key, str(key.pk), "--actor", "alice")

    new = out.strip()
    assert code == 0 and new != old and tokens.KEY_PATTERN.fullmatch(new), err
    assert (ingests(old), ingests(new)) == (401, 202)
    run(capsys, "revoke", environment.key, str(key.pk), "--actor", "alice")
    code, _, err = run(capsys, "rotate", environment.key, str(key.pk), "--actor", "alice")
    assert code == 2 and "revoked" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "{env}", "--name", "x", "--actor", "victor"], "only the environment's admins"),
        (["create", "{env}", "--name", "x", "--actor", "nobody"], "no active user"),
        (["create", "no-such-env", "--name", "x", "--actor", "alice"], "no environment"),
        (["create", "{env}", "--name", "   ", "--actor", "alice"], "name: must not be blank"),
        (["create", "{env}", "--name", "x" * 10_000, "--actor", "alice"], "name: Ensure"),
        (["revoke", "{env}", "12345", "--actor", "alice"], "no ingestion key '12345'"),
        (["rotate", "{env}", "ll_ik_nope", "--actor", "alice"], "no ingestion key"),
        (["revoke", "{env}", "1", "--actor", "victor"], "only the environment's admins"),
        (["legacy", "{env}", "--off"], "--actor USERNAME is needed"),
    ],
)
def test_refusals_are_one_line_and_exit_2(capsys, environment, args, message):
    args = [a.replace("{env}", environment.key) for a in args]

    code, _, err = run(capsys, *args)

    assert code == 2 and message in err, err
    assert not IngestionKey.objects.exists()


def test_hostile_names_are_kept(capsys, environment):
    name = '\'); DROP TABLE x; -- "quoted" 🧪 שלום'
    create(capsys, environment, name)

    assert IngestionKey.objects.get().name == name


def test_legacy_is_shown_and_switched_off_audited(capsys, environment):
    Environment.objects.filter(pk=environment.pk).update(legacy_environment_key_ingestion=True)

    code, out, _ = run(capsys, "legacy", environment.key)
    assert code == 0 and "Legacy ingestion is on" in out

    code, out, _ = run(capsys, "legacy", environment.key, "--off", "--actor", "alice")
    assert code == 0 and "Legacy ingestion is off" in out
    environment.refresh_from_db()
    assert not environment.legacy_environment_key_ingestion
    (entry,) = AuditLogEntry.objects.filter(object_type="environment", action="update")
    assert entry.before["legacy_environment_key_ingestion"] is True
    assert entry.after["legacy_environment_key_ingestion"] is False

    code, out, _ = run(capsys, "legacy", environment.key, "--off", "--actor", "alice")
    assert code == 0 and "nothing changed" in out
