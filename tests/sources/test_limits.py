"""The Segment and PostHog paths keep the native endpoint's limits and refusals, in-process:
403 where the environment does not experiment, 413 past the byte or event limit (gzip
counted inflated), 400 for a batch spread over too many months; nothing is stored then."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient
from tests.eventstore.events import count

from liftlab.accounts.models import Environment
from liftlab.eventstore import open_store
from liftlab.ingestion_keys.services import create_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _static_files_looked_up_lazily(settings) -> None:
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def sender() -> tuple[Environment, str]:
    environment = Environment.objects.create(name="Production")
    return environment, create_key(environment, "tests", None)[1]


def segment(secret: str, body: bytes, **headers):
    basic = base64.b64encode(f"{secret}:".encode()).decode()
    return APIClient().post(
        "/v1/batch",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {basic}",
        **headers,
    )


def posthog(secret: str, body: bytes, **headers):
    del secret  # in the body
    return APIClient().post("/batch/", data=body, content_type="application/json", **headers)


def messages(n: int, days_apart: int = 0) -> list[dict]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "type": "track",
            "event": "purchase",
            "userId": f"u{i}",
            "distinct_id": f"u{i}",
            "messageId": str(uuid.uuid4()),
            "timestamp": (start + timedelta(days=i * days_apart)).isoformat(),
        }
        for i in range(n)
    ]


def body(secret: str, batch: list[dict]) -> bytes:
    return json.dumps({"batch": batch, "api_key": secret}).encode()


SOURCES = pytest.mark.parametrize("post", [segment, posthog], ids=["segment", "posthog"])


@SOURCES
def test_an_environment_that_does_not_experiment_is_403(sender, post):
    environment, secret = sender
    environment.experimentation_enabled = False
    environment.save()
    assert post(secret, body(secret, messages(1))).status_code == 403
    assert count(open_store(), environment.key) == 0


@SOURCES
def test_more_messages_than_the_limit_is_413(sender, post, monkeypatch):
    environment, secret = sender
    monkeypatch.setenv("INGEST_MAX_EVENTS", "3")
    answer = post(secret, body(secret, messages(4)))
    assert answer.status_code == 413 and "more than the limit of 3" in answer.json()["detail"]
    assert post(secret, body(secret, messages(3))).status_code == 200
    assert count(open_store(), environment.key) == 3


@SOURCES
@pytest.mark.parametrize("zipped", [False, True])
def test_more_bytes_than_the_limit_is_413(sender, post, monkeypatch, zipped):
    environment, secret = sender
    monkeypatch.setenv("INGEST_MAX_BODY_BYTES", "2000")
    data = body(secret, messages(40))
    headers = {}
    if zipped:
        data, headers["HTTP_CONTENT_ENCODING"] = gzip.compress(data), "gzip"
        assert len(data) < 2000  # too large only once inflated
    assert post(secret, data, **headers).status_code == 413
    assert count(open_store(), environment.key) == 0


@SOURCES
def test_a_batch_over_too_many_months_is_400_naming_the_timestamp(sender, post, monkeypatch):
    environment, secret = sender
    monkeypatch.setenv("INGEST_MAX_MONTHS", "2")
    answer = post(secret, body(secret, messages(4, days_apart=40)))
    assert answer.status_code == 400 and "timestamp" in answer.json()["detail"]
    assert count(open_store(), environment.key) == 0
