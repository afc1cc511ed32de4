"""Every field comes back exactly as it went in, hostile strings included."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from .events import event

HOSTILE = [
    "plain",
    "",
    "quote ' and \" double",
    "back\\slash \\' \\N",
    "tab\tnew\nline\rreturn",
    "nul\x00byte",
    "'; DROP TABLE events; --",
    "{env:String} {0} %(x)s %s",
    "ünïcödé 😀 中文 \u202e",
    "x" * 5000,
]

SELECT_ROW = """
SELECT environment_key, event, feature_name, identifier, value, timestamp, collected_at,
       traits, toJSONString(metadata), sdk_language, sdk_version, event_id
FROM events WHERE environment_key = {env:String} AND event_id = {id:UUID}
"""


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_round_trip_in_every_string_column(store, env_key, text):
    metadata = {"text": text, "nested": {"inner": text}, "amount": 12.5, "count": 3}
    stored = event(
        env_key,
        event=text,
        feature_name=text,
        identifier=text,
        value=text,
        traits=json.dumps({"name": text}),
        metadata=json.dumps(metadata),
        sdk_language=text,
        sdk_version=text,
    )
    store.insert([stored])
    (row,) = store.query(SELECT_ROW, {"env": env_key, "id": stored.event_id}).rows
    assert row[:8] == stored[:8]
    assert json.loads(row[8]) == metadata
    assert row[9:] == stored[9:]


def test_timestamps_keep_their_milliseconds_and_come_back_aware(store, env_key):
    moment = datetime(2025, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    stored = event(env_key, timestamp=moment, collected_at=moment)
    store.insert([stored])
    (row,) = store.query(SELECT_ROW, {"env": env_key, "id": stored.event_id}).rows
    assert row[5] == row[6] == moment


def test_metadata_properties_are_typed_subcolumns(store, env_key):
    """What the results query relies on: one property read as a column, by a bound name."""
    store.insert(
        [
            event(env_key, metadata='{"amount": 12.5, "plan": "pro", "when": "2024-01-01"}'),
            event(env_key, metadata='{"amount": 7}'),
            event(env_key, metadata="{}"),
        ]
    )
    sql = """
    SELECT toFloat64OrNull(toString(getSubcolumn(metadata, {amount:String}))) AS amount,
           toString(getSubcolumn(metadata, {plan:String})) AS plan,
           toString(getSubcolumn(metadata, {when:String})) AS when
    FROM events WHERE environment_key = {env:String} ORDER BY amount NULLS LAST
    """
    rows = store.query(sql, {"env": env_key, "amount": "amount", "plan": "plan", "when": "when"})
    assert rows.columns == ("amount", "plan", "when")
    assert rows.rows == [(7.0, "", ""), (12.5, "pro", "2024-01-01"), (None, "", "")]


def test_event_ids_come_back_as_uuids(store, env_key):
    stored = event(env_key, event_id=uuid.UUID("00000000-0000-0000-0000-000000000001"))
    store.insert([stored])
    (row,) = store.query(SELECT_ROW, {"env": env_key, "id": stored.event_id}).rows
    assert row[11] == stored.event_id
