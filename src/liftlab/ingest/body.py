"""A request body to raw events: gunzip, then a JSON array, ``{"events": [...]}`` or NDJSON.

What a body may cost is bounded before it is parsed (docs/eventstore.md, "Bodies"):

- gzip is inflated a member at a time (every member: ``gzip`` writes several for appended
  streams), never past the byte limit;
- a body of at most ``SMALL_BODY_BYTES`` and ``EVENT_VALUES`` values (a cheap upper bound:
  its commas and openings) is parsed whole, as before: a few tens of MB at worst;
- a larger one is scanned first (``liftlab.ingest.scan``, numpy, no Python object per
  value): more events than the limit are refused before any is parsed; an event holding more
  than ``EVENT_VALUES`` values is rejected unparsed (its index and reason come back like any
  rejection); the rest are parsed a slice of at most ``SLICE_BYTES`` / ``SLICE_VALUES`` at a
  time with orjson, an event longer than a slice alone with ``json`` (orjson reserves ~12
  bytes per byte of text while it parses; ``json`` only builds the values), and the caller
  validates each slice into columns before the next is parsed (``decode_slices``), so the
  parsed objects of the whole body never exist at once.

No valid event comes near ``EVENT_VALUES``: its properties and traits are 64 KB of JSON each.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from liftlab.ingest import scan
from liftlab.ingest.errors import BodyTooLargeError, MalformedBodyError
from liftlab.ingest.limits import Limits
from liftlab.ingest.typed import typed_events
from liftlab.ingest.validation import Unreadable

NDJSON_TYPES = {"application/x-ndjson", "application/jsonlines", "application/jsonl"}
# orjson reserves ~12 bytes per byte of text while parsing, and a value becomes a Python
# object of up to ~72 bytes: these keep one parse (a small body, or one slice) to a few MB.
SMALL_BODY_BYTES = 2 * 1024 * 1024
SLICE_BYTES = 512 * 1024
SLICE_VALUES = 100_000
EVENT_VALUES = 100_000
_WRAPPER = re.compile(rb'\s*\{\s*"events"\s*:\s*(?=\[)')
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_PIECE = 64 * 1024
_LEADING_SPACE = re.compile(rb"\s*")
_LINE = re.compile(rb"\S[^\n]*")  # a line from its first non-blank byte
_TOO_MANY_VALUES = f"the event holds more than {EVENT_VALUES} JSON values"
_SHAPE = 'body must be a JSON array of events or {"events": [...]}'


def decode_body(
    body: bytes,
    content_type: str = "application/json",
    content_encoding: str = "",
    limits: Limits | None = None,
) -> list[Any]:
    """The raw events of a body, or MalformedBodyError / BodyTooLargeError saying why not.

    All at once: for tests and small bodies. The service reads ``decode_slices``.
    """
    return [
        event
        for part in decode_slices(body, content_type, content_encoding, limits)
        for event in part
    ]


def decode_slices(
    body: bytes,
    content_type: str = "application/json",
    content_encoding: str = "",
    limits: Limits | None = None,
    *,
    typed: bool = False,
) -> Iterator[list[Any]]:
    """The raw events of a body, a slice at a time, in order.

    The body's size and number of events are checked before this returns, so a 413 never
    comes after a slice was handed out; a malformed slice raises MalformedBodyError when it
    is reached (the caller stores nothing before the last slice).

    ``typed``: a JSON array of well-typed events (what SDKs send) comes back as
    ``TypedEvent`` structs, decoded and type-checked in one pass (``liftlab.ingest.typed``);
    any other body as dicts, as without it. ``to_event_columns`` takes either.
    """
    limits = limits or Limits()
    _check_size(len(body), limits)
    encoding = content_encoding.strip().lower()
    if encoding == "gzip":
        body = gunzip(body, limits)
    elif encoding not in ("", "identity"):
        raise MalformedBodyError(f"unsupported Content-Encoding {content_encoding!r} (use gzip)")
    media_type = content_type.split(";")[0].strip().lower()
    ndjson = media_type in NDJSON_TYPES
    if len(body) <= SMALL_BODY_BYTES and _values_at_most(body) <= EVENT_VALUES:
        events = typed_events(body) if typed and not ndjson else None
        if events is None:
            events = _ndjson(body) if ndjson else _json_events(body)
        _check_count(len(events), limits)
        return iter([events])
    return _ndjson_slices(body, limits) if ndjson else _array_slices(body, limits)


def gunzip(body: bytes, limits: Limits) -> bytes:
    """Decompress every member, refusing to inflate past the body limit (a bomb stays small).

    The input goes in ``_GZIP_PIECE`` bytes at a time, so finding where one member ends
    copies at most that much (a body of many tiny members stays linear).
    """
    room = limits.max_body_bytes
    parts: list[bytes] = []
    view = memoryview(body)
    position = 0
    while True:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        while not inflater.eof:
            if position >= len(body):
                raise MalformedBodyError(
                    "body is not valid gzip: it ends before the compressed data"
                )
            piece = view[position : position + _GZIP_PIECE]
            try:
                part = inflater.decompress(piece, room + 1)
            except zlib.error as exc:
                raise MalformedBodyError(f"body is not valid gzip: {exc}") from exc
            if len(part) > room:
                raise BodyTooLargeError(
                    f"body is larger than the limit of {limits.max_body_bytes} bytes (decompressed)"
                )
            room -= len(part)
            parts.append(part)
            position += len(piece) - len(inflater.unused_data)
        if body[position : position + 2] != _GZIP_MAGIC:
            break
    if body[position:].strip(b"\0"):  # gzip itself skips zero padding after the last member
        raise MalformedBodyError("body is not valid gzip: data follows the compressed data")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def loads(text: bytes | str) -> Any:
    """JSON to Python values, refusing NaN and Infinity (not JSON, not storable numbers).

    orjson parses a batch about 3× faster than ``json`` and reads the same values, except
    integers beyond 64 bits, which it reads as floats: a text with a run of 19 digits
    (which any such integer has) goes to ``json``, as does whatever orjson refuses (lone
    surrogate escapes, every malformed document), so ``json`` accepts it as before or
    raises the error message senders have always seen.
    """
    raw = text.encode() if isinstance(text, str) else text
    if raw.translate(_DIGITS_TO_NUL).find(_LONG_DIGIT_RUN) < 0:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return _decode(text.decode() if isinstance(text, bytes) else text)


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_body_bytes:
        raise BodyTooLargeError(f"body is larger than the limit of {limits.max_body_bytes} bytes")


def _check_count(count: int, limits: Limits) -> None:
    if count > limits.max_events:
        raise BodyTooLargeError(f"{count} events, more than the limit of {limits.max_events}")


def _values_at_most(text: bytes) -> int:
    """An upper bound on the values the text parses into (strings may hold these bytes too)."""
    return text.count(b",") + text.count(b"{") + text.count(b"[") + 1


def _json_events(body: bytes) -> list[Any]:
    document = _parse(body, "body")
    if isinstance(document, dict) and set(document) == {"events"}:
        document = document["events"]
    if not isinstance(document, list):
        raise MalformedBodyError(_SHAPE)
    return document


def _ndjson(body: bytes) -> list[Any]:
    return [
        _parse(line, f"line {number}")
        for number, line in enumerate(body.split(b"\n"), start=1)
        if line.strip()
    ]


def _parse(text: bytes, where: str) -> Any:
    try:
        return loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedBodyError(f"{where} is not valid JSON: {exc}") from exc


def _array_bounds(body: bytes) -> tuple[int, int]:
    """Where the array of events starts (its ``[``) and ends (after its ``]``)."""
    stop = _end_of_text(body, len(body))
    wrapper = _WRAPPER.match(body)
    if wrapper:
        start = wrapper.end()
        stop = _end_of_text(body, stop - 1) if body[stop - 1 : stop] == b"}" else 0
    else:
        start = _LEADING_SPACE.match(body).end()
    if body[start : start + 1] != b"[":
        raise MalformedBodyError(_SHAPE)
    if stop <= start + 1 or body[stop - 1 : stop] != b"]":
        raise MalformedBodyError("body is not valid JSON: the array of events is not closed")
    return start, stop


def _end_of_text(body: bytes, end: int) -> int:
    """``end`` less the whitespace before it (without copying a large body)."""
    tail = body[max(0, end - 4096) : end]
    kept = len(tail.rstrip())
    if kept or end <= 4096:
        return end - len(tail) + kept
    return len(body[:end].rstrip())


def _array_slices(body: bytes, limits: Limits) -> Iterator[list[Any]]:
    start, stop = _array_bounds(body)
    items = scan.array_items(body, start, stop, limits.max_events)
    if items is None:
        raise MalformedBodyError(
            "body is not valid JSON: its brackets or strings do not balance (or it is not "
            'a JSON array of events or {"events": [...]})'
        )
    _check_count(items.count, limits)
    return _slices_of(body, items)


def _ndjson_slices(body: bytes, limits: Limits) -> Iterator[list[Any]]:
    _check_count(scan.nonblank_lines(body), limits)
    return _ndjson_lines(body)


def _ndjson_lines(body: bytes) -> Iterator[list[Any]]:
    """NDJSON a slice of lines at a time (blank lines skipped in C, not one by one)."""
    events: list[Any] = []
    size = 0
    for match in _LINE.finditer(body):
        line = match.group()
        if _more_values_than(line, EVENT_VALUES):
            events.append(Unreadable(_TOO_MANY_VALUES))
        else:
            try:
                events.append(loads(line) if len(line) <= SLICE_BYTES else _big(line))
            except (ValueError, RecursionError) as exc:
                number = body.count(b"\n", 0, match.start()) + 1
                raise MalformedBodyError(f"line {number} is not valid JSON: {exc}") from exc
        size += len(line)
        if size >= SLICE_BYTES:
            yield events
            events, size = [], 0
    if events:
        yield events


def _more_values_than(text: bytes, limit: int) -> bool:
    """Whether ``text`` holds more than ``limit`` values (cheap unless it might)."""
    return len(text) > limit and _values_at_most(text) > limit and scan.values_in(text) > limit


def _slices_of(body: bytes, items: scan.Items) -> Iterator[list[Any]]:
    """The events of the array, parsed a slice at a time."""
    starts, ends, values = items.starts, items.ends, items.values
    sizes = ends - starts
    index = 0
    while index < items.count:
        if values[index] > EVENT_VALUES:
            yield [Unreadable(_TOO_MANY_VALUES)]
            index += 1
            continue
        last = _slice_end(sizes, values, index)
        text = body[int(starts[index]) : int(ends[last - 1])]
        try:
            events = loads(b"[" + text + b"]") if last > index + 1 else [_big_or_small(text)]
        except (ValueError, RecursionError):
            _raise_first_error(body, starts, ends, index, last)
        del text
        yield events
        index = last


def _big_or_small(text: bytes) -> Any:
    return loads(text) if len(text) <= SLICE_BYTES else _big(text)


def _big(text: bytes) -> Any:
    """One long event: ``json`` builds its values without orjson's reserve of 12× the text
    (and reads what ``loads`` reads: it is what ``loads`` falls back on)."""
    return _decode(text.decode())


def _slice_end(sizes: np.ndarray, values: np.ndarray, index: int) -> int:
    """One past the last event of the slice that starts at ``index`` (at least one event).

    An event over ``EVENT_VALUES`` (= ``SLICE_VALUES``) never fits, so it is never parsed as
    part of a slice; ``_slices_of`` rejects it when it comes first.
    """
    window = slice(index, index + SLICE_VALUES)
    fits = (np.cumsum(sizes[window]) <= SLICE_BYTES) & (
        np.cumsum(values[window] + 1) <= SLICE_VALUES
    )
    stop = fits.size if fits.all() else int(np.argmin(fits))
    return index + max(stop, 1)


def _raise_first_error(
    body: bytes, starts: np.ndarray, ends: np.ndarray, index: int, last: int
) -> None:
    for position in range(index, last):
        try:
            _big_or_small(body[int(starts[position]) : int(ends[position])])
        except (ValueError, RecursionError) as exc:
            raise MalformedBodyError(
                f"body is not valid JSON (the event at index {position}): {exc}"
            ) from exc
    raise MalformedBodyError(f"body is not valid JSON (events {index} to {last - 1})")


def refuse_constant(name: str) -> Any:
    """``parse_constant`` for ``json``: NaN and Infinity are not JSON (nor storable numbers)."""
    raise ValueError(f"{name} is not a JSON number")


# Digits become NUL, all else 1, so one C-level find spots a run of 19 digits (a regex
# search costs 10× more on a 1 MB body).
_DIGITS_TO_NUL = bytes(0 if 48 <= byte <= 57 else 1 for byte in range(256))
_LONG_DIGIT_RUN = bytes(19)
# Built once: json.loads with an option builds a decoder per call, which costs more than
# decoding a short NDJSON line.
_decode = json.JSONDecoder(parse_constant=refuse_constant).decode
