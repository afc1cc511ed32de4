"""``POST /api/v1/events/``: the answers an SDK gets, and what is (not) stored behind them."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from rest_framework.test import APIClient
from tests.eventstore.events import count

from liftlab.accounts.models import Environment
from liftlab.eventstore import EventStoreError, open_store
from liftlab.experiments.models import Experiment
from liftlab.ingestion_keys.services import create_key

pytestmark = pytest.mark.django_db
URL = "/api/v1/events/"


@pytest.fixture(autouse=True)
def _static_files_looked_up_lazily(settings) -> None:
    """As in tests/api: no client here fetches a static file."""
    settings.WHITENOISE_AUTOREFRESH = True


# Environment key → the secret of an ingestion key made for it (``sendable``).
SECRETS: dict[str, str] = {}


def sendable(environment: Environment) -> Environment:
    """The environment, with an ingestion key that ``send(environment.key, …)`` then uses."""
    SECRETS[environment.key] = create_key(environment, "tests", None)[1]
    return environment


@pytest.fixture
def environment() -> Environment:
    return sendable(Environment.objects.create(name="Production"))


def send(key: str | None, body: bytes, content_type="application/json", **headers):
    """Post as the sender of environment ``key`` (its ingestion key), or with ``key`` as the
    bearer token itself when it is no environment's."""
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {SECRETS.get(key, key)}"
    return APIClient().post(URL, data=body, content_type=content_type, **headers)


def batch(n: int, **fields) -> list[dict]:
    return [
        {"event": "purchase", "identifier": f"u{i}", "event_id": str(uuid.uuid4()), **fields}
        for i in range(n)
    ]


def stored(environment) -> int:
    return count(open_store(), environment.key)


def test_a_batch_is_accepted_with_counts(environment):
    events = [*batch(3), {"event": "purchase"}]
    response = send(environment.key, json.dumps(events).encode())
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": [{"index": 3, "error": "identifier is missing or empty"}],
    }
    assert stored(environment) == 3


def test_a_retried_batch_is_counted_as_duplicates(environment):
    body = json.dumps({"events": batch(4)}).encode()
    send(environment.key, body)
    response = send(environment.key, body)
    assert (response.status_code, response.json()["duplicates"]) == (202, 4)
    assert stored(environment) == 4


def test_ndjson_and_gzip(environment):
    ndjson = "\n".join(json.dumps(e) for e in batch(5)).encode()
    response = send(
        environment.key, gzip.compress(ndjson), "application/x-ndjson", HTTP_CONTENT_ENCODING="gzip"
    )
    assert (response.status_code, response.json()["accepted"]) == (202, 5)


@pytest.mark.parametrize("key", [None, "", "no-such-key"])
def test_a_missing_or_unknown_key_is_401_and_stores_nothing(environment, key):
    response = send(key, json.dumps(batch(2, identifier="x")).encode())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="liftlab ingestion"'
    assert "ingestion key" in response.json()["detail"]
    assert stored(environment) == 0


def test_an_environment_with_experimentation_off_is_403(environment):
    environment.experimentation_enabled = False
    environment.save()
    assert send(environment.key, json.dumps(batch(1)).encode()).status_code == 403
    assert stored(environment) == 0


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"{nope", {}, "not valid JSON"),
        (b'{"event": "a"}', {}, "JSON array"),
        (b"[]", {"HTTP_CONTENT_ENCODING": "gzip"}, "not valid gzip"),
    ],
)
def test_a_malformed_body_is_400_with_the_reason(environment, body, headers, reason):
    response = send(environment.key, body, **headers)
    assert response.status_code == 400
    assert reason in response.json()["detail"]


def test_too_many_events_is_413_and_stores_nothing(environment, monkeypatch):
    monkeypatch.setenv("INGEST_MAX_EVENTS", "3")
    response = send(environment.key, json.dumps(batch(4)).encode())
    assert response.status_code == 413
    assert "more than the limit of 3" in response.json()["detail"]
    assert stored(environment) == 0


@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_too_many_bytes_is_413_and_stores_nothing(environment, monkeypatch, encoding):
    monkeypatch.setenv("INGEST_MAX_BODY_BYTES", "2000")
    body = json.dumps(batch(40)).encode()
    if encoding:
        body = gzip.compress(body)
        assert len(body) < 2000
    response = send(environment.key, body, HTTP_CONTENT_ENCODING=encoding)
    assert response.status_code == 413
    assert stored(environment) == 0


def test_a_body_larger_than_djangos_upload_limit_is_still_taken(environment, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps(batch(200, properties={"pad": "x" * 100})).encode()
    assert len(body) > 10_000
    assert send(environment.key, body).status_code == 202
    assert stored(environment) == 200


def test_environments_are_isolated_and_the_body_cannot_choose_one(environment):
    other = sendable(Environment.objects.create(name="Staging"))
    events = batch(2)
    send(environment.key, json.dumps(events).encode())
    assert send(other.key, json.dumps(events).encode()).json()["accepted"] == 2
    smuggled = [dict(events[0], environment_key=environment.key)]
    response = send(other.key, json.dumps(smuggled).encode())
    assert response.json()["rejected"][0]["error"] == "unknown field(s) 'environment_key'"
    assert (stored(environment), stored(other)) == (2, 2)


def test_the_environments_experiment_exposure_events_are_checked(environment):
    Experiment.objects.create(
        environment=environment,
        name="Paywall",
        feature_name="paywall",
        variants=[{"key": "control", "weight": 0.5}, {"key": "test", "weight": 0.5}],
        control_variant="control",
        exposure_event="saw_paywall",
    )
    response = send(environment.key, json.dumps(batch(1, event="saw_paywall")).encode())
    assert "needs a feature_name and a value" in response.json()["rejected"][0]["error"]


def test_hostile_strings_travel_through_the_api_unchanged(environment):
    hostile = "'; DROP TABLE events; -- \" \\ \t\n ünï 😀 {x:String}"
    event = {"event": hostile, "identifier": hostile, "properties": {hostile: hostile + "\x00"}}
    assert send(environment.key, json.dumps([event]).encode()).json()["accepted"] == 1
    rows = (
        open_store()
        .query(
            "SELECT event, identifier, toJSONString(metadata) FROM events "
            "WHERE environment_key = {env:String}",
            {"env": environment.key},
        )
        .rows
    )
    assert rows[0][:2] == (hostile, hostile)
    assert json.loads(rows[0][2]) == {hostile: hostile + "\x00"}


def test_nul_characters_reject_their_event_naming_the_field(environment):
    events = [*batch(2), *batch(1, identifier="u\x00"), *batch(1, properties={"a\x00": 1})]
    response = send(environment.key, json.dumps(events).encode())
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert response.json()["rejected"] == [
        {"index": 2, "error": "identifier contains a NUL character (\\u0000)"},
        {"index": 3, "error": "properties has a key containing a NUL character (\\u0000)"},
    ]
    assert stored(environment) == 2


def test_other_methods_are_not_allowed(environment):
    client = APIClient()
    bearer = f"Bearer {SECRETS[environment.key]}"
    assert client.get(URL, HTTP_AUTHORIZATION=bearer).status_code == 405


def test_the_openapi_schema_describes_the_endpoint():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/events/"]["post"]
    assert {"202", "400", "401", "403", "413"} <= set(operation["responses"])
    assert operation["security"] == [{"ingestionKey": []}, {"legacyEnvironmentKey": []}]
    assert schema["components"]["securitySchemes"]["ingestionKey"]["scheme"] == "bearer"


class _BrokenStore:
    """A store whose server went away: every insert fails as the real client reports it."""

    def insert_columns(self, columns):
        raise EventStoreError(
            "cannot open the event store clickhouse://liftlab@10.0.0.7:8123/events: "
            "HTTPConnectionPool(host='10.0.0.7', port=8123): connection refused"
        )

    insert = insert_columns


def test_a_failing_store_is_503_in_general_words_with_the_details_logged(
    environment, monkeypatch, caplog
):
    monkeypatch.setattr("liftlab.events.views.open_store", lambda: _BrokenStore())
    response = send(environment.key, json.dumps(batch(2)).encode())
    assert response.status_code == 503
    assert response.json() == {"detail": "The event store is unavailable. Please retry later."}
    assert "10.0.0.7:8123" in caplog.text and "connection refused" in caplog.text


def test_a_browsers_preflight_needs_no_key_and_other_methods_are_405():
    """A browser sends OPTIONS without credentials before a cross-origin POST."""
    preflight = APIClient().options(URL)
    assert preflight.status_code == 200
    assert "POST" in preflight["Allow"]
    for method in ("get", "put", "patch", "delete"):
        response = getattr(APIClient(), method)(URL)
        assert response.status_code == 405, (method, response.content)
