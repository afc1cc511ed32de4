"""Validating events: every reason for a rejection, and what accepted events become."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from liftlab.ingest import Limits, Rules
from liftlab.ingest.columns import to_stored_events

NOW = datetime(2026, 5, 4, 12, 0, 0, 250000, tzinfo=UTC)
GOOD = {"event": "purchase", "identifier": "user-1"}


def convert(raw, rules: Rules | None = None):
    rows, rejected = to_stored_events([raw], "env", NOW, rules or Rules())
    return (rows[0] if rows else None), (rejected[0]["error"] if rejected else None)


def reason(raw, rules: Rules | None = None) -> str:
    row, error = convert(raw, rules)
    assert row is None and error, f"expected a rejection, stored {row}"
    return error


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"event": None}, "event is missing or empty"),
        ({"event": ""}, "event is missing or empty"),
        ({"event": "   "}, "event is missing or empty"),
        ({"event": 5}, "event must be a string"),
        ({"event": "e" * 201}, "event is longer than 200 characters"),
        ({"identifier": None}, "identifier is missing or empty"),
        ({"identifier": ""}, "identifier is missing or empty"),
        ({"identifier": ["u"]}, "identifier must be a string"),
        ({"identifier": "u" * 401}, "identifier is longer than 400 characters"),
        ({"identifier": "a\ud800b"}, "identifier contains an unpaired surrogate"),
        ({"timestamp": "yesterday"}, "is not an ISO-8601 time"),
        ({"timestamp": "2026-13-01T00:00:00Z"}, "is not an ISO-8601 time"),
        ({"timestamp": True}, "ISO-8601 text or epoch milliseconds"),
        ({"timestamp": {"ms": 1}}, "ISO-8601 text or epoch milliseconds"),
        ({"timestamp": 1e300}, "plausible number of epoch milliseconds"),
        ({"timestamp": 1_700_000_000}, "before 2000-01-01"),
        ({"timestamp": "1999-12-31T23:59:59Z"}, "before 2000-01-01"),
        ({"timestamp": "2026-05-05T12:00:01Z"}, "more than 24 hours in the future"),
        ({"value": True}, "value must be a number or a string"),
        ({"value": [1]}, "value must be a number or a string"),
        ({"value": 1e400}, "value is not a finite number"),
        ({"value": "v" * 1001}, "value is longer than 1000 characters"),
        ({"feature_name": 1}, "feature_name must be a string"),
        ({"feature_name": "f" * 201}, "feature_name is longer than 200 characters"),
        ({"properties": []}, "properties must be a JSON object"),
        ({"properties": "{}"}, "properties must be a JSON object"),
        ({"properties": {"big": "x" * 70_000}}, "properties is larger than 65536 bytes"),
        ({"properties": {"k": "\udc00"}}, "properties contains an unpaired surrogate"),
        ({"properties": {"inf": 1e400}}, "properties cannot be stored as JSON"),
        ({"traits": 5}, "traits must be a JSON object"),
        ({"traits": {"t": "ü" * 40_000}}, "traits is larger than 65536 bytes"),
        ({"event_id": "not-a-uuid"}, "event_id 'not-a-uuid' is not a UUID"),
        ({"event_id": 12}, "event_id must be a UUID string"),
        ({"sdk_language": 3}, "sdk_language must be a string"),
        ({"sdk_version": "9" * 201}, "sdk_version is longer than 200 characters"),
        ({"environment_key": "other"}, "unknown field(s) 'environment_key'"),
        ({"propertes": {}, "valeu": 1}, "unknown field(s) 'propertes', 'valeu'"),
    ],
)
def test_each_rejection_names_the_field_and_the_reason(change, expected):
    assert expected in reason({**GOOD, **change})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"event": "pur\x00chase"}, "event contains a NUL character (\\u0000)"),
        ({"identifier": "user\x00"}, "identifier contains a NUL character (\\u0000)"),
        ({"feature_name": "\x00f", "value": "v"}, "feature_name contains a NUL character"),
        ({"value": "treat\x00ment"}, "value contains a NUL character (\\u0000)"),
        ({"properties": {"pl\x00an": "pro"}}, "properties has a key containing a NUL"),
        ({"properties": {"a": {"b\x00": 1}}}, "properties has a key containing a NUL"),
        ({"properties": {"a": [{"\x00": 1}]}}, "properties has a key containing a NUL"),
    ],
)
def test_nul_is_refused_where_metrics_match(change, expected):
    """Metric definitions and experiments refuse NUL, so such an event could never count."""
    assert expected in reason({**GOOD, **change})


def test_nul_is_kept_where_nothing_matches_on_it():
    raw = {
        **GOOD,
        "properties": {"plan": "pro\x00", "list": ["\x00"]},
        "traits": {"na\x00me": "\x00"},
        "sdk_language": "py\x00",
        "sdk_version": "1\x00",
    }
    row, error = convert(raw)
    assert error is None
    assert json.loads(row.metadata) == raw["properties"]
    assert (row.sdk_language, row.sdk_version) == ("py\x00", "1\x00")


def test_nul_in_a_batch_rejects_only_its_event_by_the_fast_and_the_slow_path():
    """Column checks prove a whole column at once; a NUL sends it value by value."""
    raws = [{**GOOD, "identifier": f"u{i}", "properties": {"k": i}} for i in range(50)]
    raws[7] = {**raws[7], "identifier": "u\x007"}
    raws[9] = {**raws[9], "properties": {"k\x00": 1}}
    rows, rejected = to_stored_events(raws, "env", NOW, Rules())
    assert len(rows) == 48
    assert [(r["index"], r["error"].split()[0]) for r in rejected] == [
        (7, "identifier"),
        (9, "properties"),
    ]


@pytest.mark.parametrize("raw", [[], "event", 5, None])
def test_an_event_that_is_not_an_object_is_rejected(raw):
    assert reason(raw) == "an event must be a JSON object"


@pytest.mark.parametrize(
    "change", [{}, {"feature_name": "checkout"}, {"value": "treatment"}, {"feature_name": ""}]
)
def test_an_exposure_needs_a_feature_name_and_a_variant(change):
    error = reason({**GOOD, "event": "$flag_exposure", **change})
    assert "needs a feature_name and a value" in error


def test_an_experiments_own_exposure_event_is_checked_too():
    rules = Rules.for_exposures(["saw_paywall"])
    assert "needs a feature_name" in reason({**GOOD, "event": "saw_paywall"}, rules)
    assert "needs a feature_name" in reason({**GOOD, "event": "$flag_exposure"}, rules)
    assert convert({**GOOD, "event": "saw_paywall"})[0] is not None


def test_rejections_carry_the_index_and_do_not_stop_the_others():
    raws = [GOOD, {"identifier": "u"}, GOOD, "x"]
    rows, rejected = to_stored_events(raws, "env", NOW, Rules())
    assert len(rows) == 2
    assert [r["index"] for r in rejected] == [1, 3]


def test_a_complete_event_becomes_its_row():
    event_id = str(uuid.uuid4())
    row, _ = convert(
        {
            "event": "$flag_exposure",
            "identifier": "user-9",
            "timestamp": "2026-05-04T14:00:00.123456+02:00",
            "value": "treatment",
            "feature_name": "new_checkout",
            "properties": {"plan": "pro", "n": [1, 2]},
            "traits": {"country": "NZ"},
            "event_id": event_id.upper(),
            "sdk_language": "python",
            "sdk_version": "3.1.0",
        }
    )
    assert row._asdict() == {
        "environment_key": "env",
        "event": "$flag_exposure",
        "feature_name": "new_checkout",
        "identifier": "user-9",
        "value": "treatment",
        "timestamp": datetime(2026, 5, 4, 12, 0, 0, 123000, tzinfo=UTC),
        "collected_at": NOW,
        "traits": '{"country":"NZ"}',
        "metadata": '{"plan":"pro","n":[1,2]}',
        "sdk_language": "python",
        "sdk_version": "3.1.0",
        "event_id": uuid.UUID(event_id),
    }


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (None, NOW),
        (1_777_896_000_123, datetime(2026, 5, 4, 12, 0, 0, 123000, tzinfo=UTC)),
        (1_777_896_000_123.9, datetime(2026, 5, 4, 12, 0, 0, 123000, tzinfo=UTC)),
        ("2026-05-04T12:00:00Z", datetime(2026, 5, 4, 12, tzinfo=UTC)),
        ("2026-05-04 12:00:00", datetime(2026, 5, 4, 12, tzinfo=UTC)),
        ("2026-05-04", datetime(2026, 5, 4, tzinfo=UTC)),
        (datetime(2026, 5, 4, 12), datetime(2026, 5, 4, 12, tzinfo=UTC)),
        ("2026-05-05T12:00:00Z", datetime(2026, 5, 5, 12, tzinfo=UTC)),
    ],
)
def test_timestamps_become_utc_milliseconds(timestamp, expected):
    assert convert({**GOOD, "timestamp": timestamp})[0].timestamp == expected


@pytest.mark.parametrize(
    ("value", "stored"),
    [(None, ""), (3, "3"), (-2.5, "-2.5"), (0.1, "0.1"), (1e21, "1e+21"), ("12.50", "12.50")],
)
def test_values_are_stored_as_text(value, stored):
    assert convert({**GOOD, "value": value})[0].value == stored


def test_absent_optional_fields_have_empty_defaults_and_a_fresh_id():
    first, _ = convert(GOOD)
    second, _ = convert(GOOD)
    assert (first.feature_name, first.traits, first.metadata, first.sdk_language) == (
        "",
        "{}",
        "{}",
        "",
    )
    assert first.event_id.version == 4 and first.event_id != second.event_id


def test_unicode_properties_are_kept_as_unicode_text():
    row, _ = convert({**GOOD, "properties": {"città": "Zürich 😀"}})
    assert json.loads(row.metadata) == {"città": "Zürich 😀"}
    assert "Zürich" in row.metadata


def test_field_limits_come_from_the_rules():
    rules = Rules(limits=Limits(identifier_chars=3))
    assert "longer than 3" in reason({**GOOD, "identifier": "abcd"}, rules)
    assert convert({**GOOD, "identifier": "a" * 4}, Rules())[0] is not None


def test_properties_nested_deeper_than_python_can_encode_are_rejected():
    deep: dict = {}
    node = deep
    for _ in range(100_000):
        node["d"] = {}
        node = node["d"]
    assert reason({**GOOD, "properties": deep}) == "properties is nested too deeply"
