"""What a body may cost before it is refused or stored: bounded whatever it holds.

Memory is measured with tracemalloc over decoding and validating (what a request does before
its insert), against the limit the brief set: five times the byte limit. Before the bounds, a
10 KB gzip body of ``[{},{},…]`` (3.5 M items) peaked at 388 MB on its way to a 413.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import uuid
import zlib
from datetime import UTC, datetime

import pytest
from tests.ingest.test_api import send, sendable, stored

from liftlab.accounts.models import Environment
from liftlab.ingest import (
    BodyTooLargeError,
    Limits,
    MalformedBodyError,
    Rules,
    decode_body,
    decode_slices,
)
from liftlab.ingest.body import EVENT_VALUES
from liftlab.ingest.columns import to_event_columns

LIMIT = Limits().max_body_bytes
NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)


def _decode_and_validate(body: bytes, content_type: str, encoding: str):
    """What the service does before its insert, keeping every slice's columns."""
    kept, rejected = [], 0
    for part in decode_slices(body, content_type, encoding):
        columns, refused = to_event_columns(part, "env", NOW, Rules())
        kept.append(columns)
        rejected += len(refused)
    return sum(c.size for c in kept), rejected


def peak_bytes(body: bytes, content_type="application/json", encoding="gzip"):
    """The peak of Python allocations while the body is decoded and validated, and the result."""
    _decode_and_validate(b'[{"event": "warm", "identifier": "u"}]', "application/json", "")
    tracemalloc.start()
    try:
        outcome = _decode_and_validate(body, content_type, encoding)
    except BodyTooLargeError as exc:
        outcome = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, outcome


def crafted(item: bytes, separator: bytes = b",") -> bytes:
    """As many copies of ``item`` as fit the byte limit, as an array (or NDJSON)."""
    count = (LIMIT - 2) // (len(item) + len(separator))
    body = separator.join([item] * count)
    return body if separator == b"\n" else b"[" + body + b"]"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (crafted(b"{}"), "application/json"),
        (crafted(b"[]"), "application/json"),
        (crafted(b"0"), "application/json"),
        (crafted(b"{}", b"\n"), "application/x-ndjson"),
    ],
    ids=["empty objects", "empty arrays", "zeros", "ndjson"],
)
def test_millions_of_tiny_events_are_refused_before_they_are_built(body, content_type):
    compressed = gzip.compress(body, 9)
    assert len(compressed) < 25_000  # a small request
    peak, outcome = peak_bytes(compressed, content_type)
    assert isinstance(outcome, BodyTooLargeError)
    assert "more than the limit of 50000" in str(outcome)
    assert peak <= 5 * LIMIT, f"peak {peak / 1e6:.0f} MB"


def test_dense_events_within_the_count_are_rejected_unparsed_within_the_bound():
    """Events of 33,000 empty objects each (100 KB apiece): each parses into 2.4 MB."""
    dense = b'{"event":"e","identifier":"u","properties":{"a":[' + b",".join([b"{}"] * 33_000)
    body = b"[" + b",".join([dense + b"]}}"] * 40) + b"]"
    peak, outcome = peak_bytes(gzip.compress(body, 9))
    assert outcome == (0, 40)
    assert peak <= 5 * LIMIT, f"peak {peak / 1e6:.0f} MB"


def test_an_event_with_more_values_than_any_valid_one_is_rejected_unparsed():
    huge = {"event": "e", "identifier": "u", "properties": {"a": [0] * (EVENT_VALUES + 1)}}
    small = {"event": "e", "identifier": "v"}
    events = decode_body(json.dumps([small, huge, small]).encode())
    assert events[0] == events[2] == small
    assert events[1].reason == f"the event holds more than {EVENT_VALUES} JSON values"
    ndjson = "\n".join(json.dumps(e) for e in (small, huge, small)).encode()
    assert decode_body(ndjson, "application/x-ndjson")[1] == events[1]


def test_a_full_batch_of_real_events_stays_within_the_bound():
    events = [
        {
            "event": "purchase",
            "identifier": f"user-{i}",
            "event_id": str(uuid.uuid4()),
            "timestamp": "2026-05-01T12:00:00.000Z",
            "value": 12.5,
            "properties": {"plan": "pro", "country": "de"},
        }
        for i in range(50_000)
    ]
    body = json.dumps(events).encode()
    assert len(body) > 0.95 * LIMIT
    for encoding, sent in (("", body), ("gzip", gzip.compress(body, 1))):
        peak, outcome = peak_bytes(sent, encoding=encoding)
        assert outcome == (50_000, 0)
        assert peak <= 5 * LIMIT, f"{encoding or 'plain'}: peak {peak / 1e6:.0f} MB"


def test_large_bodies_decode_to_what_json_reads():
    """The sliced path (a body above 2 MB or 100,000 values) against ``json.loads``."""
    tricky = 'a \\ " , [ { ] } \\\\" ü 😀'
    events = [
        {"event": "e", "identifier": f"{tricky}{i}", "properties": {"x": [1, {"y": tricky}]}}
        for i in range(20_000)
    ]
    for text in (json.dumps(events), json.dumps({"events": events}, indent=2)):
        assert len(list(decode_slices(text.encode()))) > 1
        assert decode_body(text.encode()) == events
    ndjson = "\n\n".join(json.dumps(e) for e in events) + "\n \n"
    assert decode_body(ndjson.encode(), "application/x-ndjson") == events


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" + b'{"a": 1, "b": 2, "c": 3},' * 40_000 + b"{oops}]", "the event at index 40000"),
        (b"[" + b"{}," * 60_000, "not closed"),
        (b"[" + b'{"a": "' + b"x," * 120_000 + b"}]", "do not balance"),
        (b'{"events": [' + b"{}," * 10_000 + b'{}], "more": [' + b"1," * 60_000 + b"1]}", "JSON"),
        (b'"' + b"x," * 60_000 + b'"', "JSON array of events"),
    ],
    ids=["bad event", "unclosed", "unterminated string", "more keys", "a string"],
)
def test_a_large_malformed_body_is_refused_with_a_reason(body, reason):
    with pytest.raises(MalformedBodyError, match=reason):
        decode_body(body)


def test_every_gzip_member_is_decoded():
    first = gzip.compress(b'[{"event": "a", "identifier": "u1"},')
    second = gzip.compress(b'{"event": "b", "identifier": "u2"}]')
    assert [e["event"] for e in decode_body(first + second, content_encoding="gzip")] == ["a", "b"]
    assert len(decode_body(first + second + b"\0" * 64, content_encoding="gzip")) == 2
    with pytest.raises(MalformedBodyError, match="data follows the compressed data"):
        decode_body(first + second + b"junk", content_encoding="gzip")
    with pytest.raises(MalformedBodyError, match="ends before"):
        decode_body(first + second[:-4], content_encoding="gzip")


def test_many_members_decode_in_linear_time():
    line = b'{"event": "e", "identifier": "u"}\n'
    body = b"".join(gzip.compress(line, 1) for _ in range(20_000))
    assert len(decode_body(body, "application/x-ndjson", "gzip")) == 20_000


def test_the_byte_limit_holds_across_members():
    member = gzip.compress(b" " * 600_000)
    limits = Limits(max_body_bytes=1_000_000)
    with pytest.raises(BodyTooLargeError, match="decompressed"):
        decode_body(member + member, content_encoding="gzip", limits=limits)
    bomb = zlib.compress(b"[" + b" " * 50_000_000 + b"]")
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLargeError):
        decode_body(gzip.compress(b"[" + b" " * 50_000_000 + b"]"), content_encoding="gzip")


@pytest.mark.django_db
def test_the_api_stores_both_members_and_refuses_the_tiny_item_bomb(settings):
    settings.WHITENOISE_AUTOREFRESH = True
    environment = sendable(Environment.objects.create(name="Production"))
    members = b"".join(
        gzip.compress(json.dumps({"event": "e", "identifier": f"u{i}"}).encode() + b"\n")
        for i in range(2)
    )
    answer = send(environment.key, members, "application/x-ndjson", HTTP_CONTENT_ENCODING="gzip")
    assert (answer.status_code, answer.json()["accepted"]) == (202, 2)
    bomb = send(environment.key, gzip.compress(crafted(b"{}"), 9), HTTP_CONTENT_ENCODING="gzip")
    assert bomb.status_code == 413
    assert stored(environment) == 2
