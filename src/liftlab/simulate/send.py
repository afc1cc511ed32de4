"""Simulated events through the real ingestion API, in batches, surviving a flaky server.

Batches are authenticated by an ingestion key (``Authorization: Bearer ll_ik_…``), never by
the environment's key. A batch is serialised once and re-sent byte for byte on a connection
error, a timeout, a 429 or a 5xx, with exponential backoff: the event ids never change, so a
batch the server stored before failing to answer comes back as duplicates, not as double counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

import requests

from liftlab.simulate.model import Counts, Event, EventChunk, generate
from liftlab.simulate.plan import SimulationPlan
from liftlab.simulate.progress import Advance, user_progress

BATCH_SIZE = 5000
_TIMEOUT = (5.0, 120.0)
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class SendError(Exception):
    """The server refused a batch, or stayed unavailable through every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    first_wait: float = 0.5
    max_wait: float = 10.0

    def wait(self, retry: int) -> float:
        return min(self.first_wait * 2**retry, self.max_wait)


@dataclass(frozen=True)
class SendSummary:
    """What was generated (``counts``) and what the server answered, summed over batches."""

    counts: Counts
    accepted: int
    duplicates: int
    rejected: int
    batches: int
    retries: int
    seconds: float


def _tally(answer: object) -> tuple[int, int, int]:
    """(accepted, duplicates, rejected) from a 202 answer; ``rejected`` may list the events."""
    if not isinstance(answer, dict):
        raise SendError(f"unexpected answer from the ingestion API: {answer!r:.200}")
    rejected = answer.get("rejected", 0)
    return (
        int(answer.get("accepted", 0)),
        int(answer.get("duplicates", 0)),
        len(rejected) if isinstance(rejected, list) else int(rejected),
    )


class EventSender:
    """Posts batches to ``POST /api/v1/events/`` and keeps the running totals."""

    def __init__(self, base_url: str, ingestion_key: str, retry: RetryPolicy) -> None:
        self.url = f"{base_url.rstrip('/')}/api/v1/events/"
        self.retry = retry
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {ingestion_key}", "Content-Type": "application/json"}
        )
        self.accepted = self.duplicates = self.rejected = self.batches = self.retries = 0

    def send(self, batch: list[Event]) -> None:
        body = json.dumps(batch, separators=(",", ":")).encode()
        accepted, duplicates, rejected = _tally(self._post(body))
        self.accepted += accepted
        self.duplicates += duplicates
        self.rejected += rejected
        self.batches += 1

    def _post(self, body: bytes) -> object:
        problem = ""
        for attempt in range(self.retry.attempts):
            if attempt:
                time.sleep(self.retry.wait(attempt - 1))
                self.retries += 1
            try:
                response = self.session.post(self.url, data=body, timeout=_TIMEOUT)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code not in _RETRYABLE_STATUS:
                return self._answer(response)
            problem = f"HTTP {response.status_code}"
        raise SendError(f"{self.url}: gave up after {self.retry.attempts} attempts ({problem})")

    def _answer(self, response: requests.Response) -> object:
        if not response.ok:
            raise SendError(
                f"{self.url} refused a batch: HTTP {response.status_code} {response.text[:300]}"
            )
        try:
            return response.json()
        except ValueError:
            raise SendError(f"{self.url} answered with something that is not JSON") from None

    def close(self) -> None:
        self.session.close()


def send_events(
    chunks: Iterable[EventChunk],
    sender: EventSender,
    advance: Advance,
    batch_size: int = BATCH_SIZE,
) -> Counts:
    """Re-batch the chunks into ``batch_size`` events per request; returns what was generated."""
    total, pending = Counts(), []
    for chunk in chunks:
        pending.extend(chunk.events)
        while len(pending) >= batch_size:
            sender.send(pending[:batch_size])
            del pending[:batch_size]
        total += chunk.counts
        advance(chunk.counts)
    if pending:
        sender.send(pending)
    return total


def simulate_to_api(
    plan: SimulationPlan,
    base_url: str,
    ingestion_key: str,
    progress: bool = True,
    *,
    batch_size: int = BATCH_SIZE,
    retry: RetryPolicy | None = None,
) -> SendSummary:
    """Generate the plan's events and post them to the service at ``base_url``, authenticated
    by ``ingestion_key`` (the environment is the key's)."""
    began = time.monotonic()
    chunks = generate(plan)
    sender = EventSender(base_url, ingestion_key, retry or RetryPolicy())
    try:
        with user_progress(f"sending to {base_url}", plan.users, progress) as advance:
            counts = send_events(chunks, sender, advance, batch_size)
    finally:
        sender.close()
    return SendSummary(
        counts,
        sender.accepted,
        sender.duplicates,
        sender.rejected,
        sender.batches,
        sender.retries,
        time.monotonic() - began,
    )
