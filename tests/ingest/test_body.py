"""Decoding request bodies: three shapes, gzip, and clear refusals."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from liftlab.ingest import BodyTooLargeError, Limits, MalformedBodyError, decode_body

EVENTS = [{"event": "a", "identifier": "u1"}, {"event": "b", "identifier": "u2"}]


def test_a_json_array():
    assert decode_body(json.dumps(EVENTS).encode()) == EVENTS


def test_an_object_with_events():
    assert decode_body(json.dumps({"events": EVENTS}).encode()) == EVENTS


def test_ndjson_skips_blank_lines():
    body = b"\n".join(json.dumps(e).encode() for e in EVENTS) + b"\n\n  \n"
    assert decode_body(body, "application/x-ndjson; charset=utf-8") == EVENTS


def test_gzip_of_each_shape():
    compressed = gzip.compress(json.dumps(EVENTS).encode())
    assert decode_body(compressed, content_encoding="gzip") == EVENTS
    ndjson = gzip.compress(b"\n".join(json.dumps(e).encode() for e in EVENTS))
    assert decode_body(ndjson, "application/x-ndjson", "GZIP") == EVENTS


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "reason"),
    [
        (b"not json", "application/json", "", "not valid JSON"),
        (b'[{"value": NaN}]', "application/json", "", "NaN is not a JSON number"),
        (b'[{"value": Infinity}]', "application/json", "", "Infinity"),
        (b'{"event": "a"}', "application/json", "", "JSON array"),
        (b'{"events": 5}', "application/json", "", "JSON array"),
        (b'{"events": [], "more": 1}', "application/json", "", "JSON array"),
        (b'"text"', "application/json", "", "JSON array"),
        (b"\xff\xfe\xfa", "application/json", "", "not valid JSON"),
        (b"[" * 100_000, "application/json", "", "not valid JSON"),
        (b'{"event": "a"}\n{oops', "application/x-ndjson", "", "line 2"),
        (b"plain bytes", "application/json", "gzip", "not valid gzip"),
        (gzip.compress(b"[]", mtime=0)[:-12], "application/json", "gzip", "not valid gzip"),
        (b"[]", "application/json", "br", "Content-Encoding"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body, content_type, encoding, reason):
    with pytest.raises(MalformedBodyError, match=reason):
        decode_body(body, content_type, encoding)


def test_a_body_over_the_byte_limit_is_too_large():
    with pytest.raises(BodyTooLargeError, match="100 bytes"):
        decode_body(json.dumps(EVENTS * 10).encode(), limits=Limits(max_body_bytes=100))


def test_a_gzip_bomb_is_too_large_without_inflating_it_all():
    bomb = gzip.compress(b" " * 50_000_000)
    with pytest.raises(BodyTooLargeError):
        decode_body(bomb, content_encoding="gzip", limits=Limits(max_body_bytes=1_000_000))


def test_more_events_than_the_limit_is_too_large():
    with pytest.raises(BodyTooLargeError, match="3 events, more than the limit of 2"):
        decode_body(json.dumps(EVENTS + EVENTS[:1]).encode(), limits=Limits(max_events=2))


def test_the_limits_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("INGEST_MAX_BODY_BYTES", "123")
    monkeypatch.setenv("INGEST_MAX_EVENTS", "7")
    assert (Limits.from_env().max_body_bytes, Limits.from_env().max_events) == (123, 7)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values | st.integers(min_value=2**60, max_value=2**70), max_size=4))
@example([2**64 + 1, -(2**63) - 1, 10**30, {"a": [2**64 - 1, -(2**63)]}])
def test_the_fast_decoder_reads_what_json_reads(events) -> None:
    """orjson, with json behind it where orjson would differ (integers beyond 64 bits)."""
    body = json.dumps(events).encode()
    # Compared as JSON text: 2**64 == float(2**64) in Python, but not as stored text.
    assert json.dumps(decode_body(body)) == json.dumps(json.loads(body))
