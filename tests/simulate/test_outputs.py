"""NDJSON files and the HTTP sender, against a real HTTP server started in the test."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from liftlab.simulate import (
    RetryPolicy,
    SendError,
    simulate_to_api,
    simulate_to_file,
)

from .plans import events_of, two_variant_plan

FAST = RetryPolicy(attempts=3, first_wait=0.01)


def test_the_ndjson_file_round_trips(tmp_path: Path) -> None:
    plan = two_variant_plan(users=1_500)
    summary = simulate_to_file(plan, tmp_path / "events.ndjson", progress=False)
    lines = (tmp_path / "events.ndjson").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == events_of(plan)
    assert len(lines) == summary.counts.events
    assert summary.counts.users == 1_500


@pytest.mark.parametrize("failure", ["before", "after"])
def test_a_failed_batch_is_resent_with_the_same_ids(serve, failure: str) -> None:
    server = serve(failure)
    plan = two_variant_plan(users=2_000)
    summary = simulate_to_api(plan, server.url, "ll_ik_test-key", progress=False, retry=FAST)

    (path, headers, first), (_, _, again) = server.posts[:2]
    assert first == again  # byte for byte: same events, same event ids
    assert path == "/api/v1/events/"
    assert headers["Authorization"] == "Bearer ll_ik_test-key"
    assert "X-Environment-Key" not in headers
    batches = [json.loads(body) for _, _, body in server.posts[1:]]
    assert [len(b) for b in batches[:-1]] == [5_000] * (len(batches) - 1)
    assert [e for b in batches for e in b] == events_of(plan)
    assert summary.retries == 1
    assert summary.batches == len(batches)
    unique = summary.counts.events - summary.counts.duplicates
    lost_answer = len(batches[0]) if failure == "after" else 0
    assert len(server.stored) == unique
    assert summary.accepted == unique - lost_answer  # the lost answer's events came back as
    assert summary.duplicates == summary.counts.duplicates + lost_answer  # duplicates, not twice
    assert summary.rejected == 0


def test_a_refused_batch_stops_the_run_without_retrying(serve) -> None:
    server = serve("refuse")
    with pytest.raises(SendError, match=r"HTTP 400.*bad events"):
        simulate_to_api(two_variant_plan(users=200), server.url, "k", progress=False, retry=FAST)
    assert len(server.posts) == 1


def test_an_unreachable_server_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SendError, match=r"gave up after 3 attempts.*ConnectionError"):
        simulate_to_api(
            two_variant_plan(users=200), f"http://127.0.0.1:{port}", "k", progress=False, retry=FAST
        )
