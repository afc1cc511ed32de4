"""Inserting: what is accepted is stored once, whatever the retries, threads and restarts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from liftlab.eventstore import EventColumns, InsertOutcome
from liftlab.eventstore.store import ClickHouseEventStore, batch_token

from .events import BASE_TIME, count, event, events


def test_a_batch_is_stored_and_counted(store, env_key):
    assert store.insert(events(env_key, 50)) == InsertOutcome(accepted=50, duplicates=0)
    assert count(store, env_key) == 50


def test_an_empty_batch_stores_nothing(store, env_key):
    assert store.insert([]) == InsertOutcome(accepted=0, duplicates=0)
    assert count(store, env_key) == 0


def test_a_retried_batch_is_stored_once(store, env_key):
    batch = events(env_key, 20)
    store.insert(batch)
    assert store.insert(batch) == InsertOutcome(accepted=0, duplicates=20)
    assert count(store, env_key) == 20


def test_a_partly_new_batch_stores_only_its_new_events(store, env_key):
    first = events(env_key, 10)
    store.insert(first)
    outcome = store.insert(first[:4] + events(env_key, 6))
    assert outcome == InsertOutcome(accepted=6, duplicates=4)
    assert count(store, env_key) == 16


def test_a_repeated_id_inside_one_batch_keeps_the_first(store, env_key):
    original = event(env_key, value="first")
    repeat = original._replace(value="second")
    assert store.insert([original, repeat]) == InsertOutcome(accepted=1, duplicates=1)
    rows = store.query(
        "SELECT value FROM events WHERE environment_key = {env:String}", {"env": env_key}
    ).rows
    assert rows == [("first",)]


def test_the_same_id_in_two_environments_is_two_events(store, env_key):
    shared = event(env_key)
    other_env = f"{env_key}-other"
    outcome = store.insert([shared, shared._replace(environment_key=other_env)])
    assert outcome == InsertOutcome(accepted=2, duplicates=0)
    assert count(store, env_key) == count(store, other_env) == 1


def test_a_same_id_with_other_content_is_still_a_duplicate(store, env_key):
    stored = event(env_key)
    store.insert([stored])
    later = stored._replace(timestamp=BASE_TIME + timedelta(days=3), value="other")
    assert store.insert([later]) == InsertOutcome(accepted=0, duplicates=1)


def test_a_fresh_store_object_still_knows_what_was_stored(store, env_key):
    """A new store object starts with no memory of ids, as after a restart."""
    batch = events(env_key, 30)
    store.insert(batch)
    restarted = ClickHouseEventStore(store.location)
    try:
        assert restarted.insert(batch + events(env_key, 5)) == InsertOutcome(5, 30)
    finally:
        restarted.close()
    assert count(store, env_key) == 35


def test_concurrent_retries_store_each_event_once(store, env_key):
    batch = events(env_key, 200)
    outcomes: list[InsertOutcome] = []

    def send() -> None:
        outcomes.append(store.insert(batch))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.accepted for o in outcomes) == [0, 0, 0, 200]
    assert count(store, env_key) == 200


def test_a_batch_spanning_more_than_a_hundred_days_is_stored(store, env_key):
    """ClickHouse refuses more than 100 new partitions per insert unless told otherwise."""
    span = 101
    batch = [
        event(env_key, identifier=f"user-{day}", timestamp=BASE_TIME - timedelta(days=day))
        for day in range(span)
    ]
    assert store.insert(batch).accepted == span
    stored_days = store.query(
        "SELECT uniqExact(toDate(timestamp)) FROM events WHERE environment_key = {env:String}",
        {"env": env_key},
    ).rows[0][0]
    assert stored_days == span


def test_the_block_token_repeats_only_for_the_same_rows_in_the_same_minute(env_key):
    rows = events(env_key, 3)
    columns = EventColumns.from_rows(rows)
    assert batch_token(columns, 600.0) == batch_token(EventColumns.from_rows(list(rows)), 659.9)
    assert batch_token(columns, 600.0) != batch_token(columns, 660.0)
    assert batch_token(columns, 600.0) != batch_token(EventColumns.from_rows(rows[:2]), 600.0)


def test_events_deleted_with_sql_can_be_stored_again(store, env_key):
    """A statement that writes makes the store forget which ids it saw."""
    day = datetime(2024, 6, 15, tzinfo=UTC)  # a month no other test writes to
    batch = [e._replace(timestamp=day) for e in events(env_key, 5)]
    store.insert(batch)
    store.query("ALTER TABLE events DROP PARTITION {month:UInt32}", {"month": 202406})
    assert count(store, env_key) == 0
    assert store.insert(batch) == InsertOutcome(accepted=5, duplicates=0)
