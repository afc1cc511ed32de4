"""The typed decoder (msgspec) never changes what a body becomes: the same rows, the same
rejections with the same reasons, the same 400 for a malformed body, as the dict path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.ingest import MalformedBodyError, Rules, decode_slices
from liftlab.ingest.columns import to_event_columns
from liftlab.ingest.typed import TypedEvent, typed_events

from .test_columns import NOW, events

# Beside the column tests' events: what only a whole body can hold.
hostile_items = st.one_of(
    events,
    events.map(lambda e: {**e, "propertes": {"a": 1}}),  # an unknown field
    st.sampled_from([1, "x", None, [], [{"event": "e"}], True]),  # not an event
    st.sampled_from(
        [
            {"event": "\ud800", "identifier": "u"},  # a lone surrogate (orjson refuses it)
            {"event": "e", "identifier": "u", "value": 2**70},  # beyond 64 bits
            {"event": "e", "identifier": "u", "properties": {"n": -(2**80), "f": 1e300}},
            {"event": "e", "identifier": "u", "properties": {"deep": {"a": [{"b": None}]}}},
            {"event": "e", "identifier": "u", "timestamp": 1.7e12},
        ]
    ),
)
shapes = st.sampled_from(["array", "wrapped", "wrapped-and-more", "not-closed", "object"])


def body_of(items: list[Any], shape: str) -> bytes:
    text = json.dumps(items)  # NaN and Infinity come out as such: not JSON, refused
    if shape == "wrapped":
        text = f' {{"events": {text}}}'
    elif shape == "wrapped-and-more":
        text = f'{{"events": {text}, "more": 1}}'
    elif shape == "not-closed":
        text = text[:-1]
    elif shape == "object":
        text = json.dumps(items[0]) if items else "{}"
    return text.encode()


def outcome(body: bytes, typed: bool) -> tuple:
    """What the body becomes: its rows (a random id as "random") and rejections, or the error."""
    try:
        parts = list(decode_slices(body, typed=typed))
    except MalformedBodyError as exc:
        return "malformed", str(exc)
    raws = [raw for part in parts for raw in part]
    columns, rejected = to_event_columns(raws, "env", NOW, Rules())
    refused = {r["index"] for r in rejected}
    sent_ids = [_field(raw, "event_id") for i, raw in enumerate(raws) if i not in refused]
    rows = [
        row._replace(event_id=row.event_id if sent else "random")
        for row, sent in zip(columns.rows(), sent_ids, strict=True)
    ]
    return rows, rejected


def _field(raw: Any, name: str) -> Any:
    return getattr(raw, name) if type(raw) is TypedEvent else raw.get(name)


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_items, max_size=5), shapes)
def test_the_typed_and_the_dict_paths_agree(items, shape):
    body = body_of(items, shape)
    assert outcome(body, typed=True) == outcome(body, typed=False)


@settings(max_examples=100, deadline=None)
@given(st.lists(events, min_size=1, max_size=5))
def test_well_typed_events_take_the_typed_path(items):
    """Whatever the values, events whose fields have JSON types the rules take are decoded
    as structs (so the fast path is really taken), and agree with the dict path."""
    well_typed = [
        {k: v for k, v in item.items() if type(v) is not bool and v not in (2**64, -(2**63))}
        for item in items
    ]
    body = json.dumps(well_typed, allow_nan=False).encode() if _finite(well_typed) else None
    if body is None:
        return
    decoded = typed_events(body)
    assert decoded is not None and all(type(event) is TypedEvent for event in decoded)
    assert outcome(body, typed=True) == outcome(body, typed=False)


def _finite(items: list[dict]) -> bool:
    try:
        json.dumps(items, allow_nan=False)
    except ValueError:
        return False
    return True


def test_sdk_batches_are_decoded_as_structs():
    body = json.dumps(
        {
            "events": [
                {
                    "event": "$flag_exposure",
                    "identifier": "u1",
                    "feature_name": "checkout",
                    "value": "treatment",
                    "timestamp": "2026-05-04T11:59:00.125Z",
                    "event_id": "6f1c1d7e-2b1a-4c3e-9a55-0d8f6a1b2c3d",
                    "traits": {"country": "NZ"},
                    "sdk_language": "python",
                    "sdk_version": "1.0",
                },
                {"event": "purchase", "identifier": "u1", "value": 42.5, "properties": {"a": 1}},
            ]
        }
    ).encode()
    (part,) = decode_slices(body, typed=True)
    assert [type(event) for event in part] == [TypedEvent, TypedEvent]
    rows, rejected = to_event_columns(part, "env", NOW, Rules())
    assert rejected == []
    assert rows.value == ["treatment", "42.5"]
    assert rows.metadata == ["{}", '{"a":1}']


def test_a_mistyped_event_sends_the_whole_body_down_the_dict_path():
    """One bad event: the typed pass refuses the body, the rules name the event and field."""
    body = b'[{"event": "a", "identifier": "u"}, {"event": true, "identifier": "u"}]'
    assert typed_events(body) is None
    (part,) = decode_slices(body, typed=True)
    assert all(type(event) is dict for event in part)
    _, rejected = to_event_columns(part, "env", NOW, Rules())
    assert rejected == [{"index": 1, "error": "event must be a string"}]


@pytest.mark.parametrize(
    "body",
    [
        b'[{"event": "a", "identifier": "u", "value": 1e400}]',  # json reads inf: rejected
        b'[{"event": "a", "identifier": "u", "properties": {"x": -1e400}}]',
        b'[{"event": "a", "identifier": "u", "value": NaN}]',
        b'[{"event": "\\ud800", "identifier": "u"}]',  # a lone surrogate escape
        b'[{"event": "a\xff", "identifier": "u"}]',  # not UTF-8
        b'\xef\xbb\xbf[{"event": "a", "identifier": "u"}]',  # a byte order mark
        b'[{"event": "a", "event": "b", "identifier": "u"}]',  # the last of repeated keys
        b'[{"event": "a", "identifier": "u", "value": 123456789012345678901234567890}]',
        b'[{"event": "a", "identifier": "u", "properties": {"n": 12345678901234567890123}}]',
        b'[{"event": "a", "identifier": "u", "properties": '
        + b'{"a": ' * 300
        + b"1"
        + b"}" * 301
        + b"]",
        b'[{"event": "a", "identifier": "u"},]',
        b'[{"event": "a", "identifier": "u"}] []',
        b'{"events": [{"event": "a", "identifier": "u"}], "events": []}',
        b"[]",
        b"   ",
    ],
)
def test_hostile_texts_become_the_same_on_both_paths(body):
    assert outcome(body, typed=True) == outcome(body, typed=False)
