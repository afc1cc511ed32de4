"""The metric definition: which events a metric counts and how, as a versioned JSON document.

A definition is stored as JSON next to the metric and turned into SQL by ``analysis.query``,
so it is validated strictly here, once: unknown keys, wrong types (no coercion), operators whose
value does not fit and absurd sizes are all refused with the path of the offending field. Names and
values are kept verbatim (they only ever reach SQL as bound parameters), so any string that is not
empty is a valid event or property name.
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
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

DEFINITION_VERSION = 1
MAX_NAME_LENGTH = 200
MAX_FILTERS = 20
MAX_LIST_ITEMS = 1000
MAX_STRING_VALUE_LENGTH = 1000
MAX_WINDOW_HOURS = 10 * 365 * 24

Scalar = str | int | float | bool


class Aggregation(StrEnum):
    """How a metric turns an identity's matching events into one number."""

    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    OCCURRENCE = "occurrence"


class MetricType(StrEnum):
    """Which test compares the variants: Welch's t (numeric) or two proportions (conversion)."""

    NUMERIC = "numeric"
    CONVERSION = "conversion"


def metric_type_for(aggregation: Aggregation | str) -> MetricType:
    """``occurrence`` (0/1 per identity) is the conversion aggregation; the others are numeric."""
    if Aggregation(aggregation) is Aggregation.OCCURRENCE:
        return MetricType.CONVERSION
    return MetricType.NUMERIC


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


Name = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH), AfterValidator(_not_blank)]

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


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_number(value: object) -> float | int:
    """A finite JSON number (booleans are not numbers, NaN and infinities are refused)."""
    if not _is_number(value):
        raise _error("number_type", "must be a number")
    try:
        finite = math.isfinite(float(value))  # type: ignore[arg-type]
    except OverflowError:
        finite = False
    if not finite:
        raise _error("number_finite", "must be a finite number")
    return value  # type: ignore[return-value]


def _check_string(value: object) -> str:
    if not isinstance(value, str):
        raise _error("string_type", "must be a string")
    if len(value) > MAX_STRING_VALUE_LENGTH:
        raise _error("string_too_long", f"must be at most {MAX_STRING_VALUE_LENGTH} characters")
    return value


def _check_scalar(value: object) -> Scalar:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _check_string(value)
    if _is_number(value):
        return _check_number(value)
    raise _error("scalar_type", "must be a string, a number or a boolean")


def _check_list(value: object) -> list[Scalar]:
    if not isinstance(value, list) or not value:
        raise _error("list_type", "must be a non-empty list of strings, numbers or booleans")
    if len(value) > MAX_LIST_ITEMS:
        raise _error("list_too_long", f"must have at most {MAX_LIST_ITEMS} items")
    return [_check_scalar(item) for item in value]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Filter(_Strict):
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
                raise _error("value_forbidden", f"must be absent for operator {op.value}")
            return None
        if value is None:
            raise _error("value_missing", f"is required for operator {op.value}")
        if op in LIST_OPS:
            return _check_list(value)
        if op in NUMBER_OPS:
            return _check_number(value)
        if op is FilterOp.CONTAINS:
            return _check_string(value)
        return _check_scalar(value)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"property": self.property, "op": self.op.value}
        if self.op not in PRESENCE_OPS:
            data["value"] = self.value
        return data


class Window(_Strict):
    """Only events within ``hours`` after the identity's first exposure count."""

    hours: int = Field(gt=0, le=MAX_WINDOW_HOURS)


class MetricDefinition(_Strict):
    """What a metric measures; the aggregation lives beside it, on the metric."""

    version: int = Field(json_schema_extra={"const": DEFINITION_VERSION})
    event: Name
    value: Name | None = Field(
        default=None,
        description="event property holding the number for sum/mean; null: the event's value",
    )
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)
    window: Window | None = None

    @field_validator("version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version != DEFINITION_VERSION:
            raise _error("version", f"must be {DEFINITION_VERSION}")
        return version

    def to_json(self) -> dict[str, object]:
        """The canonical form to store: every key present, filters without empty values."""
        return {
            "version": self.version,
            "event": self.event,
            "value": self.value,
            "filters": [f.to_json() for f in self.filters],
            "window": None if self.window is None else {"hours": self.window.hours},
        }


class DefinitionError(ValueError):
    """A definition was refused; ``errors`` lists ``{"path", "message"}`` for each problem."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(["definition", *(str(part) for part in loc)])


def parse_definition(data: object) -> MetricDefinition:
    """Validate a JSON-like object (as decoded from a request) into a definition."""
    if not isinstance(data, dict):
        raise DefinitionError([{"path": "definition", "message": "must be a JSON object"}])
    try:
        return MetricDefinition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(
            [{"path": _path(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        ) from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a definition, for the API documentation."""
    return MetricDefinition.model_json_schema()


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


def _describe_filter(f: Filter) -> str:
    if f.op is FilterOp.IS_SET:
        return f"{f.property} is set"
    if f.op is FilterOp.IS_NOT_SET:
        return f"{f.property} is not set"
    listed = f.op in LIST_OPS
    shown = f"({', '.join(_show(v) for v in f.value)})" if listed else _show(f.value)
    return f"{f.property} {_OP_SYMBOLS[f.op]} {shown}"


def _describe_measure(definition: MetricDefinition, aggregation: Aggregation) -> str:
    event = f"`{definition.event}`"
    number = "the value" if definition.value is None else f"`{definition.value}`"
    if aggregation is Aggregation.COUNT:
        return f"count of {event}"
    if aggregation is Aggregation.OCCURRENCE:
        return f"identities with at least one {event}"
    return f"{aggregation.value} of {number} of {event}"


def describe(definition: MetricDefinition, aggregation: Aggregation | str) -> str:
    """A readable sentence for the web page, e.g. "count of `purchase` where plan = pro"."""
    text = _describe_measure(definition, Aggregation(aggregation))
    if definition.filters:
        text += " where " + " and ".join(_describe_filter(f) for f in definition.filters)
    if definition.window is not None:
        text += f", within {definition.window.hours} h of exposure"
    return text
