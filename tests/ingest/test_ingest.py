"""``ingest``: valid events are stored once, invalid ones reported, environments kept apart."""

from __future__ import annotations

import json
import uuid

from tests.eventstore.events import count

from liftlab.ingest import ingest

HOSTILE = "'; DROP TABLE events; -- \" \\ \t\n ünï 😀 {x:String}"
# NUL is refused where metrics match (event, identifier, feature_name, value, property keys)
# and kept everywhere else.
WITH_NUL = HOSTILE + "\x00"


def test_valid_events_are_stored_and_invalid_ones_reported(store, env_key):
    raws = [
        {"event": "signup", "identifier": "u1"},
        {"event": "signup"},
        {"event": "purchase", "identifier": "u2", "value": 12.5},
    ]
    result = ingest(raws, env_key, store)
    assert (result.accepted, result.duplicates) == (2, 0)
    assert result.rejected == [{"index": 1, "error": "identifier is missing or empty"}]
    assert count(store, env_key) == 2


def test_events_sent_again_with_their_ids_are_duplicates(store, env_key):
    raws = [{"event": "e", "identifier": f"u{i}", "event_id": str(uuid.uuid4())} for i in range(5)]
    ingest(raws, env_key, store)
    again = ingest([*raws, {"event": "e", "identifier": "new"}], env_key, store)
    assert (again.accepted, again.duplicates, again.rejected) == (1, 5, [])
    assert count(store, env_key) == 6


def test_the_environment_is_the_callers_never_the_events(store, env_key):
    other = f"{env_key}-other"
    shared_id = str(uuid.uuid4())
    ingest([{"event": "e", "identifier": "u", "event_id": shared_id}], env_key, store)
    result = ingest([{"event": "e", "identifier": "u", "event_id": shared_id}], other, store)
    assert result.accepted == 1
    assert count(store, env_key) == count(store, other) == 1


def test_hostile_strings_in_every_field_are_stored_unchanged(store, env_key):
    raw = {
        "event": HOSTILE,
        "identifier": HOSTILE,
        "value": HOSTILE,
        "feature_name": HOSTILE,
        "properties": {HOSTILE: WITH_NUL, "nested": {"k": HOSTILE}},
        "traits": {WITH_NUL: WITH_NUL},
        "sdk_language": WITH_NUL,
        "sdk_version": WITH_NUL,
        "event_id": str(uuid.uuid4()),
    }
    assert ingest([raw], env_key, store).accepted == 1
    sql = """
    SELECT event, identifier, value, feature_name, toJSONString(metadata), traits,
           sdk_language, sdk_version, toString(event_id)
    FROM events WHERE environment_key = {env:String}
    """
    (row,) = store.query(sql, {"env": env_key}).rows
    stored = dict(zip(["event", "identifier", "value", "feature_name"], row[:4], strict=True))
    assert stored == {k: HOSTILE for k in stored}
    assert json.loads(row[4]) == raw["properties"]
    assert json.loads(row[5]) == raw["traits"]
    assert row[6:] == (WITH_NUL, WITH_NUL, raw["event_id"])


def test_a_property_spelt_both_nested_and_dotted_does_not_fail_the_batch(store, env_key):
    raws = [
        {"event": "e", "identifier": "u1", "properties": {"a": {"b": 1}, "a.b": 2}},
        {"event": "e", "identifier": "u2", "properties": {"a.b": 1, "a": 2, "c.d": {"e": 3}}},
    ]
    result = ingest(raws, env_key, store)
    assert result.accepted == 1
    assert result.rejected == [
        {"index": 0, "error": "properties has the path 'a.b' twice (nested and dotted keys)"}
    ]
