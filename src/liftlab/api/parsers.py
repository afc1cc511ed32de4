"""The management API's one request parser: JSON, bounded in size and in nesting depth.

DRF's own ``JSONParser`` hands the body to ``json.load`` whole: ``'[' * 100000`` ends in a
``RecursionError`` (a 500), and a body of any size is read into memory. This one reads at most
``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (413 past that) and counts the nesting before decoding
(400 past ``MAX_BODY_DEPTH``), so every malformed body is a 400 that names the body.
"""

from __future__ import annotations

import io
import json
import math
import re

import numpy as np
from django.conf import settings
from rest_framework import exceptions, parsers, renderers, status
from rest_framework.parsers import get_encoding

from liftlab.ingest.body import refuse_constant

# No request body of this API nests this deep: a metric's definition is at most four levels,
# and the fields that take free JSON refuse more than 20 (``validators.MAX_JSON_DEPTH``).
MAX_BODY_DEPTH = 64
# A JSON string with its escapes (brackets inside one do not nest), and what is not a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_OPENING = (ord("["), ord("{"))


class PayloadTooLarge(exceptions.APIException):
    """A body over its limit: ``DATA_UPLOAD_MAX_MEMORY_SIZE``, or the events endpoint's own."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def body_too_large_detail() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"The request body is larger than the limit of {limit} bytes."


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` opens arrays and objects more than ``limit`` levels deep.

    Strings are dropped (brackets inside them do not count); the depth after each remaining
    bracket is the running count of opening minus closing ones (unclosed ones count too).
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).encode("ascii")
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False  # the usual body: too few brackets to be too deep
    return _deepest(brackets) > limit


def _deepest(brackets: bytes) -> int:
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where(np.isin(codes, _OPENING), 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def _finite_float(text: str) -> float:
    """``1e400`` reads as infinity, which no response can encode and PostgreSQL cannot store."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


class JSONParser(parsers.BaseParser):
    """JSON bodies only (no NaN or Infinity), at most ``MAX_BODY_DEPTH`` levels deep.

    Not a subclass of DRF's: DRF hands its own JSON parser ``request.body``, which Django
    refuses past the size limit with an HTML 400 of its own.
    """

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        stream = stream or io.BytesIO()
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(body_too_large_detail())
        try:
            text = raw.decode(get_encoding(parser_context or {}))
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"The request body is not valid text: {exc}") from exc
        if nested_deeper_than(text, MAX_BODY_DEPTH):
            raise exceptions.ParseError(
                f"The request body nests arrays or objects more than {MAX_BODY_DEPTH} levels deep."
            )
        try:
            return json.loads(
                text,
                parse_constant=refuse_constant,
                parse_float=_finite_float,
            )
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"The request body is not valid JSON: {exc}") from exc
