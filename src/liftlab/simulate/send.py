"""Simulated events through the real ingestion API, by ``liftlab.sdk.Client``.

The client batches the events (``BATCH_SIZE`` each), gzips them and posts them from its
worker thread, authenticated by an ingestion key (``Authorization: Bearer ll_ik_…``), never
by the environment's key. A batch is re-sent byte for byte on a connection error, a timeout,
a 429 or a 5xx, with exponential backoff: the event ids never change, so a batch the server
stored before failing to answer comes back as duplicates, not as double counts. The
generator waits when the client's queue is full (it would rather slow down than drop), and
a batch the server refuses, or that stays undelivered, stops the run (``SendError``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from liftlab.sdk import Client, RetryPolicy
from liftlab.simulate.model import Counts, EventChunk, generate
from liftlab.simulate.plan import SimulationPlan
from liftlab.simulate.progress import Advance, user_progress

BATCH_SIZE = 5000
# Batches are cut by size: the generator outruns the sender, so this wait is never reached
# but by the last, partial batch, which ``flush`` sends at once anyway.
_FLUSH_SECONDS = 60.0
_TIMEOUT = (5.0, 120.0)

__all__ = ["RetryPolicy", "SendError", "SendSummary", "send_events", "simulate_to_api"]


class SendError(Exception):
    """The server refused a batch, or stayed unavailable through every retry."""


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


def _raise_if_failed(client: Client) -> None:
    if client.last_error is not None:
        raise SendError(str(client.last_error))


def send_events(chunks: Iterable[EventChunk], client: Client, advance: Advance) -> Counts:
    """Queue every chunk's events on ``client``; returns what was generated. Stops with
    ``SendError`` as soon as a batch has failed."""
    total = Counts()
    for chunk in chunks:
        for event in chunk.events:
            client.send(event)
        _raise_if_failed(client)
        total += chunk.counts
        advance(chunk.counts)
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
    client = Client(
        ingestion_key,
        base_url,
        batch_size=batch_size,
        flush_interval=_FLUSH_SECONDS,
        max_queue=2 * batch_size,
        when_full="wait",
        timeout=_TIMEOUT,
        retry=retry,
    )
    delivered = False
    try:
        with user_progress(f"sending to {base_url}", plan.users, progress) as advance:
            counts = send_events(generate(plan), client, advance)
            client.flush()
        _raise_if_failed(client)
        delivered = True
    finally:
        client.close(timeout=None, drain=delivered)  # after a failure the rest is not sent
    tally = client.tally
    return SendSummary(
        counts,
        tally.accepted,
        tally.duplicates,
        tally.rejected,
        tally.batches,
        tally.retries,
        time.monotonic() - began,
    )
