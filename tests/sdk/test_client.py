"""``liftlab.sdk.Client``: against a running ``liftlab serve`` (what results count), and
against a recording server (how it batches, retries, drops and shuts down)."""

from __future__ import annotations

import json
import os
import time

from tests.sources.experiments import Running, User, counted, expected, running_experiment, workload

from liftlab.sdk import Client, RetryPolicy

FAST = RetryPolicy(attempts=8, first_wait=0.01, max_wait=0.05)


def send(client: Client, running: Running, users: list[User]) -> int:
    """Every user's exposure and purchases; returns how many events were queued."""
    queued = 0
    for user in users:
        queued += client.expose(running.flag, user.variant, user.identifier)
        for value in user.purchases:
            queued += client.track("purchase", user.identifier, value=value)
    assert client.close()
    return queued


def test_what_the_client_sends_is_counted_exactly(server):
    running, users = running_experiment(server), workload(80)
    client = Client(running.secret, server.base, batch_size=25, flush_interval=0.05)
    queued = send(client, running, users)
    assert client.tally.accepted == queued and client.tally.dropped == client.tally.failed == 0
    assert counted(running) == expected(users)


def test_retries_after_lost_answers_never_double_count(server, proxy):
    running, users = running_experiment(server), workload(80)
    client = Client(running.secret, proxy.base, batch_size=10, flush_interval=0.05, retry=FAST)
    queued = send(client, running, users)
    assert client.tally.failed == 0 and client.tally.retries > 0
    # Each lost answer's batch was stored, then came back whole as duplicates.
    assert client.tally.accepted + client.tally.duplicates == queued
    assert client.tally.duplicates > 0
    assert counted(running) == expected(users)


def test_a_bad_key_fails_its_batches_without_retrying(server):
    running = running_experiment(server)
    errors = []
    client = Client("ll_ik_notakey", server.base, batch_size=5, on_error=errors.append)
    queued = send(client, running, workload(4))  # 7 events: two batches
    assert [error.status for error in errors] == [401, 401]
    assert client.tally.failed == queued == 7 and client.tally.retries == 0
    assert counted(running) == expected([])


def posted(recorder) -> list[list[dict]]:
    batches = []
    for _, headers, body in recorder.posts:
        assert headers["Content-Encoding"] == "gzip"
        batches.append(json.loads(body))  # the recorder inflated it
    return batches


def test_batches_by_size_then_the_rest_on_flush(serve):
    recorder = serve()
    client = Client("ll_ik_k", recorder.url, batch_size=10, flush_interval=30)
    for number in range(25):
        client.track("click", f"u{number}")
    time.sleep(0.3)  # two full batches go at once; the rest waits for its interval
    assert [len(batch) for batch in posted(recorder)] == [10, 10]
    assert client.flush(timeout=10)
    assert [len(batch) for batch in posted(recorder)] == [10, 10, 5]
    client.close()


def test_a_partial_batch_goes_after_the_interval(serve):
    recorder = serve()
    client = Client("ll_ik_k", recorder.url, batch_size=100, flush_interval=0.2)
    client.track("click", "u1", properties={"plan": "pro"})
    client.track("click", "u2")
    deadline = time.monotonic() + 5
    while not recorder.posts and time.monotonic() < deadline:
        time.sleep(0.02)
    [[first, second]] = posted(recorder)
    assert first["properties"] == {"plan": "pro"} and first["sdk_language"] == "python"
    assert first["event_id"] != second["event_id"] and first["timestamp"] <= second["timestamp"]
    client.close()


def test_a_retried_batch_keeps_its_bytes_and_ids(serve):
    recorder = serve("before", "after")  # a 503, then stored but answered 503
    client = Client("ll_ik_k", recorder.url, batch_size=3, retry=FAST)
    for number in range(3):
        client.track("click", f"u{number}")
    assert client.flush(timeout=10)
    bodies = {body for _, _, body in recorder.posts}
    assert len(recorder.posts) == 3 and len(bodies) == 1
    assert (client.tally.accepted, client.tally.duplicates, client.tally.retries) == (0, 3, 2)
    assert len(recorder.stored) == 3
    client.close()


def test_a_full_queue_drops_and_counts_instead_of_blocking(serve):
    recorder = serve("before")  # the first batch waits out a retry: the worker is busy
    slow = RetryPolicy(attempts=2, first_wait=1.0, max_wait=1.0)
    client = Client("ll_ik_k", recorder.url, batch_size=1, max_queue=3, retry=slow)
    client.track("click", "u0")
    deadline = time.monotonic() + 5
    while not recorder.posts and time.monotonic() < deadline:
        time.sleep(0.01)
    began = time.monotonic()
    queued = [client.track("click", f"u{number}") for number in range(1, 8)]
    assert time.monotonic() - began < 0.5  # never waited for the worker
    assert queued.count(False) == client.tally.dropped >= 4
    assert client.close(timeout=10)
    assert len(recorder.stored) == 8 - client.tally.dropped


def test_events_after_close_are_dropped(serve):
    recorder = serve()
    client = Client("ll_ik_k", recorder.url)
    client.track("click", "u1")
    assert client.close(timeout=10)
    assert len(recorder.stored) == 1  # close sent what was queued
    assert client.track("click", "u2") is False and client.tally.dropped == 1


def test_an_idle_client_that_was_flushed_stays_idle(serve):
    recorder = serve()
    client = Client("ll_ik_k", recorder.url)
    assert client.flush(timeout=5)  # nothing queued: answered at once
    began = os.times()
    time.sleep(0.5)
    spent = os.times()
    assert (spent.user + spent.system) - (began.user + began.system) < 0.2  # no busy loop
    client.track("click", "u1")
    assert client.close(timeout=10) and len(recorder.stored) == 1
