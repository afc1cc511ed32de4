"""Metric filters: one condition on an event property, validated strictly.

An event counts for a metric only where all its filters hold. Names and values are kept
verbatim (they reach SQL only as bound parameters), so any string that is not empty is a valid
property name; a value's shape is checked against its operator.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

MAX_NAME_LENGTH = 200
MAX_LIST_ITEMS = 1000
MAX_STRING_VALUE_LENGTH = 1000

Scalar = str | int | float | bool


class FilterOp(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    CONTAINS = "contains"
    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"


SCALAR_OPS = frozenset({FilterOp.EQ, FilterOp.NEQ})
LIST_OPS = frozenset({FilterOp.IN, FilterOp.NOT_IN})
NUMBER_OPS = frozenset({FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE})
PRESENCE_OPS = frozenset({FilterOp.IS_SET, FilterOp.IS_NOT_SET})


def _not_blank(text: str) -> str:
    """Names are kept verbatim, but a name made only of whitespace is always a mistake."""
    if not text.strip():
        raise PydanticCustomError("blank", "must not be empty or only whitespace")
    return text


Name = Annotated[
    str,
    StringConstraints(max_length=MAX_NAME_LENGTH),
    AfterValidator(_not_blank),
    # What _not_blank checks, said in the schema so that generated clients (and schemathesis)
    # send names the validator takes.
    Field(json_schema_extra={"minLength": 1, "pattern": r"\S"}),
]

_SCALAR_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_STRING_VALUE_LENGTH},
        {"type": "number"},
        {"type": "boolean"},
    ]
}
_FILTER_VALUE_SCHEMA: dict[str, Any] = {
    "description": (
        "eq/neq: a string, number or boolean; in/not_in: a non-empty list of those; "
        "gt/gte/lt/lte: a number; contains: a string; is_set/is_not_set: absent"
    ),
    "anyOf": [
        *_SCALAR_SCHEMA["anyOf"],
        {"type": "array", "items": _SCALAR_SCHEMA, "minItems": 1, "maxItems": MAX_LIST_ITEMS},
        {"type": "null"},
    ],
}


def error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_number(value: object) -> float | int:
    """A finite JSON number (booleans are not numbers, NaN and infinities are refused)."""
    if not _is_number(value):
        raise error("number_type", "must be a number")
    try:
        finite = math.isfinite(float(value))  # type: ignore[arg-type]
    except OverflowError:
        finite = False
    if not finite:
        raise error("number_finite", "must be a finite number")
    return value  # type: ignore[return-value]


def _check_string(value: object) -> str:
    if not isinstance(value, str):
        raise error("string_type", "must be a string")
    if len(value) > MAX_STRING_VALUE_LENGTH:
        raise error("string_too_long", f"must be at most {MAX_STRING_VALUE_LENGTH} characters")
    return value


def _check_scalar(value: object) -> Scalar:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _check_string(value)
    if _is_number(value):
        return check_number(value)
    raise error("scalar_type", "must be a string, a number or a boolean")


def _check_list(value: object) -> list[Scalar]:
    if not isinstance(value, list) or not value:
        raise error("list_type", "must be a non-empty list of strings, numbers or booleans")
    if len(value) > MAX_LIST_ITEMS:
        raise error("list_too_long", f"must have at most {MAX_LIST_ITEMS} items")
    return [_check_scalar(item) for item in value]


class Strict(BaseModel):
    """Frozen, no coercion, no unknown keys: the shape every definition part shares."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Filter(Strict):
    """One condition on an event property; a metric counts an event only if all filters hold."""

    property: Name
    op: Annotated[FilterOp, Field(strict=False)]  # strict enums take only members, not JSON
    value: Annotated[Any, WithJsonSchema(_FILTER_VALUE_SCHEMA)] = Field(
        default=None, validate_default=True
    )

    @field_validator("value")
    @classmethod
    def _value_fits_op(cls, value: object, info: ValidationInfo) -> object:
        """The value's shape depends on the operator, so it is checked against it here."""
        op = info.data.get("op")
        if op is None:  # the operator itself is invalid and already reported
            return value
        if op in PRESENCE_OPS:
            if value is not None:
                raise error("value_forbidden", f"must be absent for operator {op.value}")
            return None
        if value is None:
            raise error("value_missing", f"is required for operator {op.value}")
        if op in LIST_OPS:
            return _check_list(value)
        if op in NUMBER_OPS:
            return check_number(value)
        if op is FilterOp.CONTAINS:
            return _check_string(value)
        return _check_scalar(value)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"property": self.property, "op": self.op.value}
        if self.op not in PRESENCE_OPS:
            data["value"] = self.value
        return data


_OP_SYMBOLS = {
    FilterOp.EQ: "=",
    FilterOp.NEQ: "≠",
    FilterOp.GT: ">",
    FilterOp.GTE: "≥",
    FilterOp.LT: "<",
    FilterOp.LTE: "≤",
    FilterOp.IN: "in",
    FilterOp.NOT_IN: "not in",
    FilterOp.CONTAINS: "contains",
}


def _show(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_filter(f: Filter) -> str:
    if f.op is FilterOp.IS_SET:
        return f"{f.property} is set"
    if f.op is FilterOp.IS_NOT_SET:
        return f"{f.property} is not set"
    listed = f.op in LIST_OPS
    shown = f"({', '.join(_show(v) for v in f.value)})" if listed else _show(f.value)
    return f"{f.property} {_OP_SYMBOLS[f.op]} {shown}"
