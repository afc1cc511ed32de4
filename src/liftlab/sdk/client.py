"""``liftlab.sdk.Client``: events to ``POST /api/v1/events/`` from a background thread.

The application's thread only puts an event on a bounded queue (``track``, ``expose``,
``send``); a worker thread takes them off in batches of up to ``batch_size`` events, or
whatever has arrived ``flush_interval`` seconds after a batch's first event, and posts each
batch gzipped. A batch is serialised once and re-sent byte for byte after a connection
error, a timeout, a 429 or a 5xx, with exponential backoff (jittered, at least what a
``Retry-After`` asks): every event got its ``event_id`` when it was queued, so a batch the
server stored before its answer was lost comes back as duplicates, never as double counts.
Any other refusal (400, 401, 403, 413) is final: retrying cannot change it.

A full queue drops the event and counts it (``dropped``) rather than block the application
(``when_full="wait"`` blocks instead, for producers such as the simulator that would rather
slow down). ``flush()`` waits until everything queued so far is answered; ``close()``
flushes and stops the worker, and runs at interpreter exit for a client not closed.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import orjson
import requests

from liftlab.vocabulary import EXPOSURE_EVENT

log = logging.getLogger("liftlab.sdk")

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
EVENTS_PATH = "/api/v1/events/"
FLAGS_PATH = "/api/v1/experiment-flags/"
_WAKE = object()  # put on the queue to end a batch's wait early (flush, close)
_HURRIED_WAIT = 0.05  # while a flush waits: how long an empty queue is waited on


def _sdk_version() -> str:
    try:
        return version("liftlab")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0"


SDK_LANGUAGE = "python"
SDK_VERSION = _sdk_version()


class DeliveryError(Exception):
    """A batch the server refused, or that stayed undelivered through every attempt."""

    def __init__(self, message: str, events: int, status: int | None = None) -> None:
        super().__init__(message)
        self.events = events
        self.status = status


@dataclass(frozen=True)
class FlagExperiment:
    """The experiment a flag has: its id, and the exposure event it reads."""

    experiment: int
    exposure_event: str


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` posts at most per batch; the n-th retry waits about ``first_wait · 2ⁿ``
    (between half and all of it, so that many clients cut off together do not come back
    together), at most ``max_wait``."""

    attempts: int = 6
    first_wait: float = 0.5
    max_wait: float = 10.0

    def wait(self, retry: int, asked: float | None = None) -> float:
        backoff = min(self.first_wait * 2**retry, self.max_wait)
        jittered = backoff * random.uniform(0.5, 1.0)
        return min(max(jittered, asked or 0.0), self.max_wait)


@dataclass
class Tally:
    """What the server answered, summed over the client's batches, and what never went."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0  # refused one by one in a 202 (each with its reason, logged)
    failed: int = 0  # in batches refused whole, or undelivered after every attempt
    dropped: int = 0  # never queued: the queue was full, or the client closed
    batches: int = 0  # answered 202
    retries: int = 0


class Client:
    """Send events to a liftlab service with an ingestion key (``ll_ik_…``).

    ``on_error(error)`` is called from the worker thread with each ``DeliveryError``; the
    last one is also kept as ``last_error``.
    """

    def __init__(
        self,
        ingestion_key: str,
        host: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue: int = 10_000,
        when_full: Literal["drop", "wait"] = "drop",
        compress: bool = True,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        on_error: Callable[[DeliveryError], None] | None = None,
    ) -> None:
        if batch_size < 1 or max_queue < 1 or flush_interval <= 0:
            raise ValueError("batch_size and max_queue must be ≥ 1, flush_interval > 0")
        if when_full not in ("drop", "wait"):
            raise ValueError("when_full must be 'drop' or 'wait'")
        self.url = host.rstrip("/") + EVENTS_PATH
        self.flags_url = host.rstrip("/") + FLAGS_PATH
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.when_full = when_full
        self.compress = compress
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.on_error = on_error
        self.tally = Tally()
        self.last_error: DeliveryError | None = None
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {ingestion_key}", "Content-Type": "application/json"}
        )
        self._post_headers = {"Content-Encoding": "gzip"} if compress else {}
        self._pending = 0  # queued and not yet answered
        self._idle = threading.Condition()
        self._hurry = threading.Event()  # a flush or close is waiting: send what there is
        self._closed = threading.Event()
        self._abandon = threading.Event()  # close(drain=False): send nothing more
        self._worker = threading.Thread(target=self._run, name="liftlab-sdk", daemon=True)
        self._worker.start()
        atexit.register(self.close)

    # The application's side.

    def track(
        self,
        event: str,
        identifier: str,
        *,
        value: float | str | None = None,
        properties: Mapping[str, Any] | None = None,
        traits: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
        event_id: str | None = None,
    ) -> bool:
        """Queue one event, stamped now unless ``timestamp`` says when; False if dropped."""
        return self.send(
            {
                "event": event,
                "identifier": identifier,
                "value": value,
                "properties": dict(properties) if properties else None,
                "traits": dict(traits) if traits else None,
                "timestamp": _iso(timestamp or datetime.now(UTC)),
                "event_id": event_id,
                "sdk_language": SDK_LANGUAGE,
                "sdk_version": SDK_VERSION,
            }
        )

    def expose(
        self,
        flag: str,
        variant: str,
        identifier: str,
        *,
        event: str = EXPOSURE_EVENT,
        **fields: Any,
    ) -> bool:
        """Queue an exposure of ``identifier`` to ``flag``'s ``variant``, as ``event`` (the
        experiment's exposure event; ``$flag_exposure`` unless it declares another)."""
        return self.send(
            {
                "event": event,
                "identifier": identifier,
                "feature_name": flag,
                "value": variant,
                "timestamp": _iso(fields.pop("timestamp", None) or datetime.now(UTC)),
                "sdk_language": SDK_LANGUAGE,
                "sdk_version": SDK_VERSION,
                **fields,
            }
        )

    def experiment_flags(self) -> dict[str, FlagExperiment]:
        """The flags of the environment's running and paused experiments, each with its
        experiment and the exposure event it reads; a DeliveryError if the server does not
        say."""
        try:
            # Not the worker's session: this runs on another thread (liftlab.sdk.openfeature).
            response = requests.get(
                self.flags_url, headers=self._session.headers, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise DeliveryError(f"{self.flags_url}: {type(exc).__name__}: {exc}", 0) from exc
        if not response.ok:
            raise DeliveryError(
                f"{self.flags_url}: HTTP {response.status_code} {response.text[:300]}",
                0,
                response.status_code,
            )
        try:
            return {
                row["flag"]: FlagExperiment(row["experiment"], row["exposure_event"])
                for row in response.json()["flags"]
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(f"{self.flags_url}: an answer of another shape", 0) from exc

    def send(self, event: Mapping[str, Any]) -> bool:
        """Queue a native event as is (absent fields left out, an ``event_id`` added if it
        has none); False if it was dropped."""
        if self._closed.is_set():
            self.tally.dropped += 1
            return False
        message = {name: value for name, value in event.items() if value is not None}
        message.setdefault("event_id", str(uuid.uuid4()))
        with self._idle:
            self._pending += 1
        try:
            self._queue.put(message, block=self.when_full == "wait")
        except queue.Full:
            self.tally.dropped += 1
            self._finished(1)
            return False
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event queued so far is answered (or given up); False if
        ``timeout`` seconds passed first."""
        self._wake()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self, timeout: float | None = 30.0, *, drain: bool = True) -> bool:
        """Flush (unless ``drain`` is False: what is still queued is dropped), then stop the
        worker. Events sent after this are dropped. True if everything was answered."""
        atexit.unregister(self.close)
        if not drain:
            self._abandon.set()
        self._closed.set()
        done = self.flush(timeout)
        self._wake()
        self._worker.join(timeout)
        self._session.close()
        return done

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The worker's side.

    def _wake(self) -> None:
        self._hurry.set()
        with contextlib.suppress(queue.Full):  # if full, the worker has a batch to take anyway
            self._queue.put_nowait(_WAKE)

    def _finished(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if not self._pending:
                self._hurry.clear()
                self._idle.notify_all()

    def _settle(self) -> None:
        """A flush asked of an idle client is done: stop hurrying (else the worker spins)."""
        with self._idle:
            if not self._pending:
                self._hurry.clear()

    def _run(self) -> None:
        while not (self._closed.is_set() and not self._pending):
            batch = self._collect()
            if not batch:
                continue
            try:
                if self._abandon.is_set():
                    self.tally.dropped += len(batch)
                else:
                    self._deliver(batch)
            except Exception as exc:  # an event orjson cannot encode: the worker lives on
                self._failed(DeliveryError(f"a batch could not be sent: {exc}", len(batch)))
            finally:
                self._finished(len(batch))

    def _collect(self) -> list[dict[str, Any]]:
        """Up to ``batch_size`` events: waits for a first, then for more until
        ``flush_interval`` has passed since it, or at once when a flush is waiting."""
        batch: list[dict[str, Any]] = []
        deadline = None
        while len(batch) < self.batch_size:
            try:
                if self._hurry.is_set():
                    item = self._queue.get(timeout=_HURRIED_WAIT)
                elif deadline is None:
                    item = self._queue.get(timeout=self.flush_interval)
                else:
                    item = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                if not batch:
                    self._settle()
                if batch or self._hurry.is_set() or self._closed.is_set():
                    break
                continue
            if item is _WAKE:
                if batch:
                    break
                continue
            batch.append(item)
            deadline = deadline or time.monotonic() + self.flush_interval
        return batch

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        body = orjson.dumps(batch)
        if self.compress:
            body = gzip.compress(body, compresslevel=5)
        try:
            answer = self._post(body, len(batch))
        except DeliveryError as error:
            self._failed(error)
            return
        self.tally.batches += 1
        self.tally.accepted += int(answer.get("accepted", 0))
        self.tally.duplicates += int(answer.get("duplicates", 0))
        rejected = answer.get("rejected") or []
        self.tally.rejected += len(rejected)
        if rejected:
            log.warning("%d events refused, the first: %s", len(rejected), rejected[0])

    def _failed(self, error: DeliveryError) -> None:
        self.tally.failed += error.events
        self.last_error = error
        log.warning("%s", error)
        if self.on_error is not None:
            self.on_error(error)

    def _post(self, body: bytes, events: int) -> dict[str, Any]:
        problem, asked = "", None
        for attempt in range(self.retry.attempts):
            if attempt:
                self.tally.retries += 1
                if self._abandon.wait(self.retry.wait(attempt - 1, asked)):
                    break
            try:
                response = self._session.post(
                    self.url, data=body, headers=self._post_headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem, asked = f"{type(exc).__name__}: {exc}", None
                continue
            if response.status_code in RETRYABLE_STATUS:
                problem = f"HTTP {response.status_code}"
                asked = _seconds(response.headers.get("Retry-After"))
                continue
            if not response.ok:
                raise DeliveryError(
                    f"{self.url} refused a batch: HTTP {response.status_code} "
                    f"{response.text[:300]}",
                    events,
                    response.status_code,
                )
            try:
                answer = response.json()
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise DeliveryError(f"{self.url} answered with something that is not JSON", events)
            return answer
        raise DeliveryError(
            f"{self.url}: gave up after {self.retry.attempts} attempts ({problem})", events
        )


def _seconds(retry_after: str | None) -> float | None:
    """A ``Retry-After`` of seconds (its HTTP-date form is not worth a parser here)."""
    try:
        return float(retry_after) if retry_after else None
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
