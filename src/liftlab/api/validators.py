"""Input checks shared by every serializer."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

MAX_JSON_DEPTH = 20
# Unpaired UTF-16 surrogates can be decoded from JSON escapes but neither encoded as UTF-8 in a
# response nor stored in a PostgreSQL jsonb column.
SURROGATE = re.compile(r"[\ud800-\udfff]")


def no_nul(value: str) -> str:
    """Reject NUL characters: PostgreSQL cannot store them, so SQLite must refuse them too."""
    if "\x00" in value:
        raise serializers.ValidationError("must not contain NUL (\\u0000) characters.")
    return value


def json_without_nul(value: Any, path: str, depth: int = 0) -> None:
    """Walk a JSON value and reject unstorable characters in any key or string, naming the path.

    NUL and unpaired surrogates are refused: PostgreSQL cannot store either.
    """
    if depth > MAX_JSON_DEPTH:
        raise serializers.ValidationError({path: "is nested too deeply."})
    if isinstance(value, str):
        if "\x00" in value:
            raise serializers.ValidationError({path: "must not contain NUL (\\u0000) characters."})
        if SURROGATE.search(value):
            raise serializers.ValidationError({path: "must not contain unpaired surrogates."})
    elif isinstance(value, dict):
        for key, item in value.items():
            json_without_nul(key, path, depth + 1)
            json_without_nul(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            json_without_nul(item, f"{path}.{index}", depth + 1)


class TextField(serializers.CharField):
    """A CharField that refuses NUL characters (stored and returned unchanged otherwise)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(no_nul)
