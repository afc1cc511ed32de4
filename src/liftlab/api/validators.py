"""Input checks shared by every serializer."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from django.db import models
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
    """A JSON string that refuses NUL characters (stored and returned unchanged otherwise).

    DRF's CharField also takes numbers (``5`` becomes ``"5"``); a field documented as a
    string takes only strings.
    """

    default_error_messages = {"invalid": "must be a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(no_nul)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class NumberField(serializers.FloatField):
    """A JSON number (never a string, never a boolean), finite, within the bounds given.

    DRF's FloatField reads ``"0.5"`` and ``true`` as numbers and lets ``float()`` overflow
    (``10**400`` is an integer JSON can carry) into a 500. The bounds are documented in the
    OpenAPI schema (``liftlab.api.schema``), exclusive ones included.
    """

    default_error_messages = {
        "invalid": "must be a JSON number.",
        "range": "must be {range}.",
    }

    def __init__(
        self,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: float | None = None,
        exclusive_maximum: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.exclusive_minimum = exclusive_minimum
        self.exclusive_maximum = exclusive_maximum

    def describe_range(self) -> str:
        parts = ["a finite number"]
        if self.exclusive_minimum is not None:
            parts.append(f"greater than {self.exclusive_minimum:g}")
        if self.minimum is not None:
            parts.append(f"at least {self.minimum:g}")
        if self.exclusive_maximum is not None:
            parts.append(f"less than {self.exclusive_maximum:g}")
        if self.maximum is not None:
            parts.append(f"at most {self.maximum:g}")
        return ", ".join(parts)

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        try:
            value = float(data)
        except OverflowError:
            self.fail("range", range=self.describe_range())
        if not (
            math.isfinite(value)
            and (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
            and (self.exclusive_minimum is None or value > self.exclusive_minimum)
            and (self.exclusive_maximum is None or value < self.exclusive_maximum)
        ):
            self.fail("range", range=self.describe_range())
        return value


class IntegerField(serializers.IntegerField):
    """A JSON integer: DRF's also reads ``"14"``, ``14.0`` and ``true`` as 14 (or 1)."""

    default_error_messages = {"invalid": "must be a JSON integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data  # the bounds are checked by the field's validators


class BooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: DRF's also reads ``"yes"``, ``"off"``, ``0`` and ``1``."""

    default_error_messages = {"invalid": "must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class PrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An object by its integer id: ``1.5`` or ``"1"`` are refused, not read as ``1``."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


# The two classes below have comments, not docstrings: drf-spectacular would show a base
# class's docstring as the description of every serializer without one of its own.


class StrictFieldsMixin:
    # Refuses fields the request may not set, instead of dropping them without a word: a
    # misspelt field (``weigth``) or a read-only one (``status``) is a 400 naming it.

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {field.field_name for field in self._writable_fields}
            unknown = [key for key in data if key not in writable]
            if unknown:
                raise serializers.ValidationError(
                    {
                        str(key): "is read-only." if key in self.fields else "is not a field here."
                        for key in unknown[:20]
                    }
                )
        return super().to_internal_value(data)


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    # A ModelSerializer that refuses unknown fields and whose generated fields take only the
    # JSON types they document.

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: BooleanField,
        models.FloatField: NumberField,
    }
    serializer_related_field = PrimaryKeyField
