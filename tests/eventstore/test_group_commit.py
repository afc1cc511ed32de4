"""Group commit: concurrent batches share INSERTs, and every count and id stays exact.

``GroupCommit`` runs the real store's group insert here; ``Held`` only keeps the first
INSERT from starting until the other batches have queued behind it, so that the groups a
test expects are the groups that form.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from liftlab.eventstore import EventColumns, EventStoreError, InsertOutcome
from liftlab.eventstore.group import GroupCommit

from .events import count, events


class Held:
    """The store's group insert, recording each group's size; the first waits for ``release``."""

    def __init__(self, store) -> None:
        self._insert = store._insert_group
        self.release = threading.Event()
        self.sizes: list[int] = []

    def __call__(self, columns: EventColumns) -> Sequence[int]:
        if not self.sizes:
            self.sizes.append(columns.size)
            assert self.release.wait(30)
        else:
            self.sizes.append(columns.size)
        return self._insert(columns)


def wait_for(condition) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the batches never queued"
        time.sleep(0.005)


def outcome_of(
    groups: GroupCommit, key: frozenset, columns: EventColumns
) -> InsertOutcome | EventStoreError:
    """What a caller of ``groups`` gets: its outcome, or the error it is raised."""
    try:
        return groups.insert(key, columns)
    except EventStoreError as exc:
        return exc


def run_grouped(store, env_key: str, first: EventColumns, rest: list[EventColumns]):
    """``first`` alone, then ``rest`` queued behind it: the outcomes (or errors) of each."""
    held = Held(store)
    groups = GroupCommit(held)
    key = frozenset({env_key})
    insert = partial(outcome_of, groups, key)

    with ThreadPoolExecutor(len(rest) + 1) as pool:
        leading = pool.submit(insert, first)
        wait_for(lambda: held.sizes)  # the first INSERT is running
        following = [pool.submit(insert, columns) for columns in rest]
        wait_for(lambda: len(groups._queues[key].waiting) == len(rest))
        held.release.set()
        return held.sizes, leading.result(), [f.result() for f in following]


def columns_of(rows) -> EventColumns:
    return EventColumns.from_rows(rows)


def test_batches_queued_behind_an_insert_share_the_next_one(store, env_key):
    stored_before = events(env_key, 5)
    store.insert(stored_before)
    twin = events(env_key, 20)
    batches = [columns_of(events(env_key, 10)) for _ in range(4)]
    batches += [columns_of(twin), columns_of(twin), columns_of(stored_before + events(env_key, 3))]
    sizes, first, outcomes = run_grouped(store, env_key, columns_of(events(env_key, 7)), batches)

    assert sizes == [7, sum(b.size for b in batches)]  # one INSERT for all that queued
    assert first == InsertOutcome(7, 0)
    assert outcomes[:4] == [InsertOutcome(10, 0)] * 4
    assert sorted(outcomes[4:6]) == [InsertOutcome(0, 20), InsertOutcome(20, 0)]
    assert outcomes[6] == InsertOutcome(3, 5)
    assert count(store, env_key) == 5 + 7 + 40 + 20 + 3


def test_a_batch_that_fails_its_group_fails_alone(store, env_key):
    """The engine refuses the group's INSERT for one batch's sake: every batch is then
    inserted alone, so only that batch's caller gets the error."""
    # One path spelt nested and dotted: the engine refuses the whole INSERT.
    bad = events(env_key, 2, metadata='{"a.b": 1, "a": {"b": 2}}')
    good = [events(env_key, 10) for _ in range(3)]
    batches = [columns_of(rows) for rows in [good[0], bad, *good[1:]]]
    sizes, first, outcomes = run_grouped(store, env_key, columns_of(events(env_key, 4)), batches)

    assert sizes == [4, 32, 10, 2, 10, 10]  # the group, then each of its batches alone
    assert first == InsertOutcome(4, 0)
    assert isinstance(outcomes[1], EventStoreError), outcomes
    assert [outcomes[0], *outcomes[2:]] == [InsertOutcome(10, 0)] * 3
    assert count(store, env_key) == 4 + 30
    # The refused batch stored nothing: its ids are still free for a corrected batch.
    fixed = [row._replace(metadata='{"a": {"b": 2}}') for row in bad]
    assert store.insert(fixed) == InsertOutcome(2, 0)


def test_a_store_that_fails_gives_every_caller_of_the_group_its_own_error(env_key):
    """A failure that is not any one batch's (the store is down) reaches each caller."""
    calls: list[int] = []
    entered, release = threading.Event(), threading.Event()

    def failing(columns: EventColumns) -> Sequence[int]:
        calls.append(columns.size)
        if len(calls) == 1:
            entered.set()
            assert release.wait(30)
            return range(columns.size)
        raise EventStoreError("connection refused")

    groups = GroupCommit(failing)
    key = frozenset({env_key})
    insert = partial(outcome_of, groups, key)

    with ThreadPoolExecutor(4) as pool:
        leading = pool.submit(insert, columns_of(events(env_key, 3)))
        assert entered.wait(30)
        following = [pool.submit(insert, columns_of(events(env_key, 5))) for _ in range(3)]
        wait_for(lambda: len(groups._queues[key].waiting) == 3)
        release.set()
        outcomes = [f.result() for f in following]
    assert leading.result() == InsertOutcome(3, 0)
    assert calls == [3, 15, 5, 5, 5]
    assert all(isinstance(outcome, EventStoreError) for outcome in outcomes), outcomes
    assert len({id(outcome) for outcome in outcomes}) == 3  # one error each
    assert not groups._queues  # nothing left waiting, no leader left behind


def test_concurrent_senders_of_overlapping_batches_get_exact_counts(store, env_key):
    """Each id goes to two senders at once; whatever the grouping, one of them stores it."""
    senders = 8
    shared = [events(env_key, 25) for _ in range(senders // 2)]
    batches = [shared[i // 2] + events(env_key, 5) for i in range(senders)] * 3
    start = threading.Barrier(senders)

    def send(rows) -> InsertOutcome:
        start.wait()
        return store.insert(rows)

    with ThreadPoolExecutor(senders) as pool:
        outcomes = list(pool.map(send, batches[:senders]))
        retried = list(pool.map(store.insert, batches[senders:]))

    for a, b in zip(outcomes[::2], outcomes[1::2], strict=True):
        assert a.accepted + b.accepted == 25 + 10
        assert a.duplicates + b.duplicates == 25
    assert all(outcome == InsertOutcome(0, 30) for outcome in retried)
    assert count(store, env_key) == senders // 2 * 25 + senders * 5
