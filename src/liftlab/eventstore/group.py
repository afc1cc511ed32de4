"""Group commit: concurrent inserts of one environment share an INSERT.

Why: each INSERT costs about 18 ms of fixed work (a new part, written and fsynced) whatever
its size, so SDK traffic (many requests of ~100 events) paid that per request. Here the
first caller of an environment becomes the group's leader and inserts its batch; batches
that arrive meanwhile queue up, and when the INSERT returns one of their callers leads the
next INSERT with all of them at once.

What stays exact: the batches of a group are concatenated in arrival order and go through
the store's one de-duplication step, so an id sent twice (in one batch, in two batches of
a group, or in two groups) is stored once, by whoever sent it first; each caller is told
how many of *its* events were new. Each caller returns only when the INSERT holding its
events has returned (so "accepted" still means on disk).

A failure stays with the batch that caused it: when a group's INSERT fails, each of its
batches is inserted again alone, so a batch the engine refuses fails its own caller and no
neighbour's (a store that is down fails each caller with an error of its own, after one
attempt per batch). An id of the failed INSERT that did reach the table is then found by
the duplicate check and reported as a duplicate, never stored twice.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from liftlab.eventstore.errors import EventStoreError
from liftlab.eventstore.records import EventColumns, InsertOutcome

# Events one INSERT takes at most from the queue (a single larger batch still goes alone):
# beyond this the fixed cost is a few per cent of the insert, and a group's caller waits
# for the whole group.
MAX_GROUP_EVENTS = 50_000

# Stores the concatenated batches; returns the positions of the events it stored (sorted).
Commit = Callable[[EventColumns], Sequence[int]]


@dataclass(eq=False)
class _Waiting:
    """One caller's batch, and what became of it."""

    columns: EventColumns
    outcome: InsertOutcome | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.outcome is not None or self.error is not None

    def result(self) -> InsertOutcome:
        if self.error is None:
            assert self.outcome is not None
            return self.outcome
        if isinstance(self.error, EventStoreError):  # a copy per caller, each with its traceback
            raise EventStoreError(str(self.error), self.error.reason) from self.error
        raise self.error


@dataclass(eq=False)
class _Queue:
    """The batches of one key waiting for an INSERT, and whether a caller is inserting."""

    waiting: list[_Waiting] = field(default_factory=list)
    leading: bool = False

    def take(self, limit: int) -> list[_Waiting]:
        """The oldest batches, at least one, up to ``limit`` events in all."""
        count, total = 0, 0
        for item in self.waiting:
            if count and total + item.columns.size > limit:
                break
            count, total = count + 1, total + item.columns.size
        group, self.waiting = self.waiting[:count], self.waiting[count:]
        return group


class GroupCommit:
    """Runs ``commit`` for the batches of one key at a time, grouping those that queue up.

    Keys (the store uses the batch's environments) never wait for each other's INSERTs.
    """

    def __init__(self, commit: Commit, max_events: int = MAX_GROUP_EVENTS) -> None:
        self._commit = commit
        self._max_events = max_events
        self._changed = threading.Condition()
        self._queues: dict[Hashable, _Queue] = {}

    def insert(self, key: Hashable, columns: EventColumns) -> InsertOutcome:
        """Store ``columns`` with whatever else queues up for ``key``; on disk on return."""
        mine = _Waiting(columns)
        with self._changed:
            queue = self._queues.setdefault(key, _Queue())
            queue.waiting.append(mine)
            while queue.leading and not mine.finished:
                self._changed.wait()
            if mine.finished:
                return mine.result()
            queue.leading = True
        try:
            while not mine.finished:
                with self._changed:
                    group = queue.take(self._max_events)
                self._run(group)
                with self._changed:
                    self._changed.notify_all()
        finally:
            with self._changed:
                queue.leading = False
                if not queue.waiting and self._queues.get(key) is queue:
                    del self._queues[key]
                self._changed.notify_all()
        return mine.result()

    def _run(self, group: list[_Waiting]) -> None:
        """One INSERT for the group; each member gets its own counts, or its own failure.

        Every member is finished on return, whatever happens, so no caller waits forever.
        """
        try:
            stored = self._commit(EventColumns.concat([item.columns for item in group]))
        except BaseException as exc:
            if len(group) == 1 or not isinstance(exc, Exception):
                for item in group:
                    item.error = exc
                return
            for item in group:  # whose batch failed it: each alone
                self._run([item])
            return
        start = 0
        for item in group:
            end = start + item.columns.size
            accepted = bisect.bisect_left(stored, end) - bisect.bisect_left(stored, start)
            item.outcome = InsertOutcome(accepted, item.columns.size - accepted)
            start = end
