"""posthog (the Python SDK), unmodified, pointed at a running ``liftlab serve``."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
import requests
from posthog import Posthog
from posthog.request import APIError
from tests.sources.experiments import (
    Running,
    User,
    counted,
    counts_exactly,
    expected,
    running_experiment,
    workload,
)


def send(client: Posthog, running: Running, users: list[User]) -> None:
    """Each user's flag evaluation as the SDK reports one (``$feature_flag_called``), then
    their purchases; a pageview each, stored as an event no metric reads."""
    for user in users:
        client.capture(
            "$feature_flag_called",
            distinct_id=user.identifier,
            properties={"$feature_flag": running.flag, "$feature_flag_response": user.variant},
        )
        client.capture("$pageview", distinct_id=user.identifier, properties={"$current_url": "/"})
        client.set(distinct_id=user.identifier, properties={"plan": "pro"})  # $set: nothing
        for value in user.purchases:
            client.capture("purchase", distinct_id=user.identifier, properties={"value": value})
    client.flush()
    client.shutdown()


def sdk(secret: str, host: str, errors: list) -> Posthog:
    return Posthog(
        secret,
        host=host,
        gzip=True,
        flush_at=20,
        flush_interval=0.05,
        max_retries=10,
        on_error=lambda error, batch: errors.append(error),
    )


def through(running: Running, users: list[User], base: str, errors: list) -> None:
    send(sdk(running.secret, base, errors), running, users)


def test_what_the_sdk_sends_is_counted_exactly(server):
    counts_exactly(through, server)


def test_retries_after_lost_answers_never_double_count(server, proxy):
    counts_exactly(through, server, proxy)


@pytest.mark.parametrize("revoked", [False, True])
def test_a_bad_api_key_is_a_401_the_sdk_does_not_retry(server, revoked):
    running, errors = running_experiment(server), []
    if revoked:
        running.revoke_key()
    send(
        sdk(running.secret if revoked else "ll_ik_notakey", server.base, errors),
        running,
        workload(3),
    )
    assert [(type(error), error.status) for error in errors] == [(APIError, 401)]
    assert counted(running) == expected([])


def test_no_event_reaches_another_environment(server):
    sender, other = running_experiment(server), running_experiment(server)
    errors: list = []
    send(sdk(sender.secret, server.base, errors), other, workload(10))
    assert errors == []
    assert counted(other) == expected([])


def capture(server, path: str, body, **headers) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{server.base}/{path}", data=data, headers=headers, timeout=30)


def test_capture_and_e_take_one_event_and_the_key_in_it(server):
    running = running_experiment(server)
    event = {"event": "purchase", "distinct_id": "u1", "uuid": str(uuid.uuid4())}
    single = capture(server, "capture/", {**event, "api_key": running.secret})
    assert single.status_code == 200, single.text
    assert single.json() == {
        "status": 1,
        "accepted": 1,
        "duplicates": 0,
        "ignored": 0,
        "rejected": [],
    }
    # posthog-js: gzip without a Content-Encoding (?compression=gzip-js), the key in properties
    again = {**event, "properties": {"token": running.secret}}
    zipped = capture(server, "e/?compression=gzip-js", gzip.compress(json.dumps([again]).encode()))
    assert zipped.json()["duplicates"] == 1


def test_refusals(server):
    running = running_experiment(server)
    missing = capture(server, "batch/", {"batch": [{"event": "x", "distinct_id": "u"}]})
    assert missing.status_code == 401 and "api_key" in missing.json()["detail"]
    shape = capture(server, "batch/", {"api_key": running.secret, "batch": "x"})
    assert shape.status_code == 400 and "batch" in shape.json()["detail"]
    answer = capture(
        server,
        "batch/",
        {
            "api_key": running.secret,
            "batch": [{"event": "x"}, {"event": "$feature_flag_called", "distinct_id": "u"}],
        },
    ).json()
    assert [r["index"] for r in answer["rejected"]] == [0, 1]
    assert "identifier" in answer["rejected"][0]["error"]
    assert "feature_name" in answer["rejected"][1]["error"]
    encoded = capture(server, "batch/", b"{}", **{"Content-Encoding": "br"})
    assert encoded.status_code == 400 and "Content-Encoding" in encoded.json()["detail"]
