"""The shape of a large JSON body, found before any of it is parsed.

Parsing is what costs memory: orjson reserves ~12 bytes per byte of text while it parses, and
each value becomes a Python object (an empty ``{}`` of three bytes is a 64-byte dict). So a
body above a few hundred KB is first scanned here, at C speed with numpy, for where its events
begin and end and how many values each holds; then the body is refused if it has too many
events, an event too big to parse is rejected unparsed, and the rest are parsed a slice at a
time (``liftlab.ingest.body``).

The scan reads the text in slices of ``SLICE`` bytes, so its own arrays stay small:

- escapes are blanked first (``\\\\`` and ``\\"`` become two spaces, the same length), so every
  remaining ``"`` opens or closes a string; a slice never ends inside a run of backslashes;
- a running count of quotes says which bytes are inside strings;
- outside strings, ``[``/``{`` and ``]``/``}`` give the nesting depth, and a comma at depth 0
  (inside the array being scanned) separates two events;
- "values" counts commas and openings outside strings (an upper bound on the values one event
  would become, keys aside, which orjson caches).

Invalid JSON is not judged here beyond unbalanced brackets or strings (``None``); orjson reads
each slice and says what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

SLICE = 1 << 19
_QUOTE, _BACKSLASH, _COMMA, _NEWLINE = 34, 92, 44, 10
_STEP = np.zeros(256, dtype=np.int8)  # +1 for [ and {, -1 for ] and }
_STEP[[91, 123]] = 1
_STEP[[93, 125]] = -1
_BLANK = re.compile(rb"\s*")
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True


class Items(NamedTuple):
    """The events of a JSON array: how many, and (when within the limit) where and how big."""

    count: int
    starts: np.ndarray  # first byte of each event (int64), empty when count > the limit
    ends: np.ndarray  # one past its last byte
    values: np.ndarray  # commas and openings inside it, outside strings


def _slices(text: bytes, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, bytes) of consecutive slices of ``text[start:stop]``, escapes blanked."""
    escaped = text.find(b"\\", start, stop) >= 0
    position = start
    while position < stop:
        end = min(stop, position + SLICE)
        while end < stop and text[end - 1] == _BACKSLASH:
            end += 1  # the escaped character stays with its backslash
        piece = text[position:end]
        if escaped:
            piece = piece.replace(b"\\\\", b"  ").replace(b'\\"', b"  ")
        yield position, np.frombuffer(piece, dtype=np.uint8)
        position = end


def _structural(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the quotes, commas and brackets of a slice, and those bytes.

    Later steps work on these alone, a fifth of the text or less. ``c | 32`` folds ``[`` onto
    ``{`` and ``]`` onto ``}`` (91 | 32 = 123, 93 | 32 = 125).
    """
    folded = chunk | 32
    positions = np.flatnonzero(
        (chunk == _QUOTE) | (chunk == _COMMA) | (folded == 123) | (folded == 125)
    )
    return positions, chunk[positions]


def _steps(marks: np.ndarray, quotes_before: int) -> tuple[np.ndarray, np.ndarray, int]:
    """For each structural byte: +1/-1 for a bracket opening/closing outside strings, and
    whether it is a comma outside strings; and the number of quotes among them."""
    is_quote = marks == _QUOTE
    outside = ((np.cumsum(is_quote, dtype=np.int32) + quotes_before) & 1) == 0
    step = _STEP[marks]
    step[~outside] = 0
    return step, (marks == _COMMA) & outside, int(np.count_nonzero(is_quote))


def array_items(text: bytes, start: int, stop: int, limit: int) -> Items | None:
    """The events of the array ``text[start:stop]`` (``[`` … ``]``); None if its brackets or
    strings do not balance. Positions are kept only while there are at most ``limit``."""
    commas: list[np.ndarray] = []
    values_at: list[np.ndarray] = []
    count = quotes = depth = values = 0
    for offset, chunk in _slices(text, start + 1, stop - 1):
        positions, marks = _structural(chunk)
        step, is_comma, quoted = _steps(marks, quotes)
        levels = np.cumsum(step, dtype=np.int32) + depth
        if levels.size and levels.min() < 0:
            return None  # the array closes before its end
        top = np.flatnonzero(is_comma & (levels == 0))
        count += top.size
        tokens = is_comma | (step == 1)
        if count < limit:
            commas.append(positions[top] + offset)
            values_at.append(np.cumsum(tokens, dtype=np.int64)[top] + values)
        quotes += quoted
        depth = int(levels[-1]) if levels.size else depth
        values += int(np.count_nonzero(tokens))
    if depth or quotes & 1:
        return None
    empty = np.zeros(0, dtype=np.int64)
    if not count and _BLANK.match(text, start + 1, stop - 1).end() == stop - 1:
        return Items(0, empty, empty, empty)
    count += 1
    if count > limit:
        return Items(count, empty, empty, empty)
    separators = np.concatenate([empty, *commas])
    starts = np.concatenate([[start + 1], separators + 1])
    ends = np.concatenate([separators, [stop - 1]])
    # Values up to each separator, then the total: each event's share, less its separator.
    running = np.concatenate([[0], *values_at, [values]])
    inside = np.diff(running) - np.concatenate([np.ones(separators.size, np.int64), [0]])
    return Items(count, starts, ends, np.maximum(inside, 0))


def values_in(text: bytes) -> int:
    """Commas and openings outside strings: at most the values ``text`` parses into."""
    quotes = values = 0
    for _, chunk in _slices(text, 0, len(text)):
        _, marks = _structural(chunk)
        step, is_comma, quoted = _steps(marks, quotes)
        values += int(np.count_nonzero(is_comma | (step == 1)))
        quotes += quoted
    return values


def nonblank_lines(text: bytes) -> int:
    """How many lines hold something other than whitespace (NDJSON events)."""
    count = 0
    line_before = -1  # the line (counted from the slice) of the last non-blank byte seen
    lines_before = 0
    for _, chunk in _slices(text, 0, len(text)):
        line = np.cumsum(chunk == _NEWLINE, dtype=np.int64) + lines_before
        occupied = line[~_WHITESPACE[chunk]]
        if occupied.size:
            count += int(np.count_nonzero(np.diff(occupied))) + (occupied[0] != line_before)
            line_before = int(occupied[-1])
        lines_before = int(line[-1]) if line.size else lines_before
    return count
