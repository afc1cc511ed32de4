"""Pausing Python's cyclic garbage collector while a batch is decoded and validated.

A batch of 5,000 events allocates some 50,000 dicts, lists and strings, which sets off
dozens of collections that walk the whole heap (in the service, Django's too) and find
nothing: decoded JSON holds no reference cycles, so reference counting frees all of it.
Pausing the collector cut the decode time of a batch by a third (21 -> 14 ms; docs/eventstore.md).

The collector is process-wide and the service serves requests on threads, so pauses are
counted: the first batch in pauses it, the last one out resumes it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """How many batches are inside ``collector_paused``, and whether the last one resumes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.resume = False


_pauses = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector is left as it was found."""
    with _pauses.lock:
        if _pauses.count == 0:
            _pauses.resume = gc.isenabled()
            gc.disable()
        _pauses.count += 1
    try:
        yield
    finally:
        with _pauses.lock:
            _pauses.count -= 1
            if _pauses.count == 0 and _pauses.resume:
                gc.enable()
