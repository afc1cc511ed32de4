"""segment-analytics-python, unmodified, pointed at a running ``liftlab serve``."""

from __future__ import annotations

import base64
import uuid

import pytest
import requests
from segment.analytics import Client
from segment.analytics.request import APIError
from tests.sources.experiments import (
    Running,
    User,
    counted,
    counts_exactly,
    expected,
    running_experiment,
    workload,
)

from liftlab.vocabulary import EXPOSURE_EVENT


def send(client: Client, running: Running, users: list[User]) -> None:
    """Half the users exposed by a ``$flag_exposure`` track, half by Segment's "Experiment
    Viewed"; an identify and a page each (stored as nothing and as ``$page``)."""
    for number, user in enumerate(users):
        client.identify(user.identifier, {"plan": "pro"})
        if number % 2:
            client.track(
                user.identifier,
                "Experiment Viewed",
                {"experiment_id": running.flag, "variation_id": user.variant},
            )
        else:
            client.track(
                user.identifier,
                EXPOSURE_EVENT,
                {"feature_name": running.flag, "value": user.variant},
            )
        client.page(user.identifier, "Docs", "Checkout")
        for value in user.purchases:
            client.track(user.identifier, "purchase", {"value": value})
    client.flush()
    client.shutdown()


def sdk(secret: str, host: str, errors: list) -> Client:
    return Client(
        secret,
        host=host,
        gzip=True,
        upload_size=20,
        upload_interval=0.05,
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
def test_a_bad_write_key_is_a_401_the_sdk_does_not_retry(server, revoked):
    running, errors = running_experiment(server), []
    if revoked:
        running.revoke_key()
    client = sdk(running.secret if revoked else "ll_ik_notakeyatall", server.base, errors)
    send(client, running, workload(3))
    assert [error.status for error in errors] == [401]  # one batch, refused once
    assert isinstance(errors[0], APIError)
    assert counted(running) == expected([])


def test_without_a_write_key_the_answer_says_how_to_send_one(server):
    answer = requests.post(f"{server.base}/v1/batch", json={"batch": []}, timeout=30)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert "write key" in answer.json()["detail"]


def test_no_event_reaches_another_environment(server):
    sender, other = running_experiment(server), running_experiment(server)
    users, errors = workload(10), []
    # The other environment's flag, sent with the sender's key: stored in the sender's only.
    send(sdk(sender.secret, server.base, errors), other, users)
    assert errors == []
    assert counted(other) == expected([])


def basic(secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def post(server, secret: str, path: str, body: dict) -> requests.Response:
    return requests.post(f"{server.base}/v1/{path}", json=body, headers=basic(secret), timeout=30)


def test_single_message_endpoints_and_what_they_answer(server):
    running = running_experiment(server)
    message_id = str(uuid.uuid4())
    track = {
        "userId": "u1",
        "event": "purchase",
        "properties": {"value": 5},
        "messageId": message_id,
    }
    first = post(server, running.secret, "track", track)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "success": True,
        "accepted": 1,
        "duplicates": 0,
        "ignored": 0,
        "rejected": [],
    }
    assert post(server, running.secret, "track", track).json()["duplicates"] == 1
    assert (
        post(server, running.secret, "identify", {"userId": "u1", "traits": {}}).json()["ignored"]
        == 1
    )
    screen = post(server, running.secret, "screen", {"anonymousId": "a1", "name": "Home"})
    assert screen.json()["accepted"] == 1
    in_body = requests.post(
        f"{server.base}/v1/track",
        json={**track, "messageId": str(uuid.uuid4()), "writeKey": running.secret},
        timeout=30,
    )
    assert in_body.json()["accepted"] == 1


def test_refusals_name_the_field_and_keep_their_index(server):
    running = running_experiment(server)
    batch = {
        "batch": [
            {"type": "identify", "userId": "u1"},
            {"type": "track", "event": "purchase"},  # neither userId nor anonymousId
            {"type": "track", "userId": "u2", "event": "purchase", "timestamp": "yesterday"},
        ]
    }
    answer = post(server, running.secret, "batch", batch).json()
    assert answer["accepted"] == 0 and answer["ignored"] == 1
    assert [r["index"] for r in answer["rejected"]] == [1, 2]
    assert "identifier" in answer["rejected"][0]["error"]
    assert "timestamp" in answer["rejected"][1]["error"]
    shape = post(server, running.secret, "batch", {"batch": {"type": "track"}})
    assert shape.status_code == 400 and "batch" in shape.json()["detail"]
    garbled = requests.post(
        f"{server.base}/v1/batch",
        data=b"\x1f\x8bnot gzip",
        headers=basic(running.secret),
        timeout=30,
    )
    assert garbled.status_code == 400 and "gzip" in garbled.json()["detail"]


def test_the_environment_key_as_write_key_only_where_the_environment_allows_it(server):
    running = running_experiment(server)  # new environments never accept their key
    track = {"userId": "u1", "event": "purchase"}
    answer = post(server, running.environment, "track", track)
    assert answer.status_code == 401 and "no longer accepts" in answer.json()["detail"]
