"""The metric definition: which events a metric counts and how, as a versioned JSON document.

A definition is stored as JSON next to the metric and turned into SQL by ``analysis.query``,
so it is validated strictly here, once: unknown keys, wrong types (no coercion), operators whose
value does not fit and absurd sizes are all refused with the path of the offending field.

Two versions are read (docs/metrics.md):

- **version 1**: one event, its filters, a value and a window (count, sum, mean, occurrence);
- **version 2**: the same, plus a cap (winsorization) and a quantile, or a **ratio** of two
  parts (numerator and denominator, each its own event, filters, value and aggregation).

A version-1 document is a version-2 event definition without cap or quantile and means
exactly what it always did; it is stored as given.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, ValidationInfo, field_validator

from liftlab.analysis.filters import (
    Filter,
    Name,
    Strict,
    check_number,
    describe_filter,
    error,
)
from liftlab.numerals import window

DEFINITION_VERSION = 2
"""The version new definitions are written in; version 1 still reads."""
DEFINITION_VERSIONS = (1, 2)
MAX_FILTERS = 20
MAX_WINDOW_HOURS = 10 * 365 * 24


class Aggregation(StrEnum):
    """How a metric turns an identity's events into one number, or the experiment's into one.

    count, sum, mean and occurrence give each identity one number; ``ratio`` divides the sum of
    a numerator by the sum of a denominator over identities; ``quantile`` is a quantile of
    values (of events or of identities).
    """

    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    OCCURRENCE = "occurrence"
    RATIO = "ratio"
    QUANTILE = "quantile"


PER_IDENTITY = frozenset(
    {Aggregation.COUNT, Aggregation.SUM, Aggregation.MEAN, Aggregation.OCCURRENCE}
)
"""The aggregations that give each identity one number (and so can be capped and adjusted)."""
READS_VALUE = frozenset({Aggregation.SUM, Aggregation.MEAN, Aggregation.QUANTILE})
"""The aggregations that read a number from each event."""


class MetricType(StrEnum):
    """Which statistic compares the variants; it follows from the aggregation."""

    NUMERIC = "numeric"
    CONVERSION = "conversion"
    RATIO = "ratio"
    QUANTILE = "quantile"


_TYPE_OF = {
    Aggregation.OCCURRENCE: MetricType.CONVERSION,
    Aggregation.RATIO: MetricType.RATIO,
    Aggregation.QUANTILE: MetricType.QUANTILE,
}


def metric_type_for(aggregation: Aggregation | str) -> MetricType:
    """``occurrence`` (0/1 per identity) is a conversion, ``ratio`` and ``quantile`` are their
    own types, the others are numeric."""
    return _TYPE_OF.get(Aggregation(aggregation), MetricType.NUMERIC)


class Window(Strict):
    """Only events within ``hours`` after the identity's first exposure count."""

    hours: int = Field(gt=0, le=MAX_WINDOW_HOURS)


class CapType(StrEnum):
    """An absolute cap is a number; a percentile cap is read from the experiment's data."""

    ABSOLUTE = "absolute"
    PERCENTILE = "percentile"


class Cap(Strict):
    """Winsorization: each identity's number is at most the cap.

    ``absolute``: ``value`` is the cap itself, a positive number. ``percentile``: ``value`` is a
    level in (0, 1), and the cap is that quantile of the per-identity numbers of every assigned
    identity, all variants together (identities without events count as 0).
    """

    type: Annotated[CapType, Field(strict=False)]
    value: float = Field(
        description="absolute: the cap, a positive number; percentile: a level in (0, 1)"
    )

    @field_validator("value", mode="before")
    @classmethod
    def _fits_type(cls, value: object, info: ValidationInfo) -> object:
        number = check_number(value)
        cap_type = info.data.get("type")
        if cap_type is CapType.PERCENTILE and not 0 < number < 1:
            raise error("cap_level", "a percentile cap is a level between 0 and 1, e.g. 0.99")
        if cap_type is CapType.ABSOLUTE and not number > 0:
            raise error("cap_positive", "an absolute cap must be a positive number")
        return number


class QuantileLevel(StrEnum):
    """Whose values the quantile is over: every counted event, or each identity's total."""

    EVENT = "event"
    IDENTITY = "identity"


class Quantile(Strict):
    """The ``q`` quantile of values: of events, or of identities' totals (identities with at
    least one counted event)."""

    q: float = Field(gt=0, lt=1, description="the level, e.g. 0.9 for p90")
    level: Annotated[QuantileLevel, Field(strict=False)]

    @field_validator("q", mode="before")
    @classmethod
    def _finite(cls, value: object) -> object:
        return check_number(value)


class Measure(Strict):
    """Which events count and which number each carries."""

    event: Name
    value: Name | None = Field(
        default=None,
        description="event property holding the number; null: the event's own value",
    )
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)

    def measure_json(self) -> dict[str, object]:
        return {
            "event": self.event,
            "value": self.value,
            "filters": [f.to_json() for f in self.filters],
        }


class PartAggregation(StrEnum):
    """What a ratio's numerator or denominator may be per identity."""

    COUNT = "count"
    SUM = "sum"
    OCCURRENCE = "occurrence"


class Part(Measure):
    """A ratio's numerator or denominator: a per-identity count, sum or occurrence."""

    aggregation: Annotated[PartAggregation, Field(strict=False)]

    def to_json(self) -> dict[str, object]:
        return {**self.measure_json(), "aggregation": self.aggregation.value}


def _window_json(window: Window | None) -> dict[str, int] | None:
    return None if window is None else {"hours": window.hours}


def _optional_json(part: Strict | None) -> dict[str, Any] | None:
    return None if part is None else part.model_dump(mode="json")


class DefinitionV1(Measure):
    """Version 1: one event, its filters, a value and a window."""

    version: Literal[1]
    window: Window | None = None

    @property
    def cap(self) -> None:
        """Version 1 has no cap."""
        return None

    @property
    def quantile(self) -> None:
        """Version 1 has no quantile."""
        return None

    def to_json(self) -> dict[str, object]:
        """The canonical form to store: every key present, filters without empty values."""
        return {"version": 1, **self.measure_json(), "window": _window_json(self.window)}


class EventDefinition(Measure):
    """Version 2 over one event: version 1, plus an optional cap or quantile."""

    version: Literal[2]
    window: Window | None = None
    cap: Cap | None = None
    quantile: Quantile | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "version": 2,
            **self.measure_json(),
            "window": _window_json(self.window),
            "cap": _optional_json(self.cap),
            "quantile": _optional_json(self.quantile),
        }


class RatioDefinition(Strict):
    """Version 2 ratio: Σ numerator / Σ denominator over identities, e.g. revenue per order.

    Both parts share the window; a cap applies to each identity's numerator.
    """

    version: Literal[2]
    numerator: Part
    denominator: Part
    window: Window | None = None
    cap: Cap | None = None

    @property
    def quantile(self) -> None:
        """A ratio is not a quantile."""
        return None

    def to_json(self) -> dict[str, object]:
        return {
            "version": 2,
            "numerator": self.numerator.to_json(),
            "denominator": self.denominator.to_json(),
            "window": _window_json(self.window),
            "cap": _optional_json(self.cap),
        }


MetricDefinition = DefinitionV1 | EventDefinition | RatioDefinition
"""Any readable definition; ``parse_definition`` picks the model by version and shape."""


class DefinitionError(ValueError):
    """A definition was refused; ``errors`` lists ``{"path", "message"}`` for each problem."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(["definition", *(str(part) for part in loc)])


def _refuse(path: str, message: str) -> DefinitionError:
    return DefinitionError([{"path": path, "message": message}])


def _model_for(data: dict[str, Any]) -> type[MetricDefinition]:
    version = data.get("version")
    if "version" not in data:
        raise _refuse("definition.version", "Field required")
    if type(version) is not int or version not in DEFINITION_VERSIONS:
        raise _refuse("definition.version", "must be 1 or 2")
    if version == 1:
        return DefinitionV1
    if "numerator" in data or "denominator" in data:
        return RatioDefinition
    return EventDefinition


def parse_definition(data: object) -> MetricDefinition:
    """Validate a JSON-like object (as decoded from a request) into a definition."""
    if not isinstance(data, dict):
        raise _refuse("definition", "must be a JSON object")
    model = _model_for(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError([_problem(e) for e in exc.errors()]) from None


def _problem(e: Any) -> dict[str, str]:
    """pydantic's error in the request's terms: a part that is not an object is "not an object",
    not "not an instance of Window"."""
    if e["type"] == "literal_error" and e["loc"] == ("version",):
        message = "must be 1 or 2"
    elif e["type"] == "model_type":
        message = "must be a JSON object"
    else:
        message = e["msg"]
    return {"path": _path(tuple(e["loc"])), "message": message}


_SCHEMA = TypeAdapter(Annotated[MetricDefinition, Field(description="A metric definition")])


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a definition (any version), for the API documentation."""
    return _SCHEMA.json_schema()


def check_metric(
    aggregation: Aggregation | str, definition: MetricDefinition
) -> list[dict[str, str]]:
    """What is wrong with this aggregation over this definition, as ``{"path", "message"}``.

    Each rule names the field to change: a ratio needs numerator and denominator, a quantile
    its ``quantile``, a value is read only where the aggregation reads numbers, a cap only
    where each identity has a number.
    """
    aggregation = Aggregation(aggregation)
    problems: list[tuple[str, str]] = []
    is_ratio = isinstance(definition, RatioDefinition)
    if aggregation is Aggregation.RATIO and not is_ratio:
        problems.append(
            (
                "definition.numerator",
                "a ratio metric needs a version 2 definition with numerator and denominator",
            )
        )
    elif is_ratio and aggregation is not Aggregation.RATIO:
        problems.append(
            ("aggregation", "must be 'ratio' for a definition with numerator and denominator")
        )
    if aggregation is Aggregation.QUANTILE and definition.quantile is None:
        problems.append(
            (
                "definition.quantile",
                "a quantile metric needs a version 2 definition with "
                'quantile, e.g. {"q": 0.9, "level": "event"}',
            )
        )
    elif definition.quantile is not None and aggregation is not Aggregation.QUANTILE:
        problems.append(("aggregation", "must be 'quantile' for a definition with a quantile"))
    problems += _value_problems(aggregation, definition)
    if definition.cap is not None and aggregation in _UNCAPPED:
        problems.append(("definition.cap", _UNCAPPED[aggregation]))
    return [{"path": path, "message": message} for path, message in problems]


_UNCAPPED = {
    Aggregation.OCCURRENCE: "an occurrence metric is 0 or 1 per identity: there is nothing "
    "to cap; use null.",
    Aggregation.QUANTILE: "a quantile metric cannot be capped: it ranks values, it does not "
    "add them; use null.",
}


def _value_problems(
    aggregation: Aggregation, definition: MetricDefinition
) -> list[tuple[str, str]]:
    if isinstance(definition, RatioDefinition):
        return [
            (f"definition.{name}.value", "only a sum reads a value; use null.")
            for name, part in (
                ("numerator", definition.numerator),
                ("denominator", definition.denominator),
            )
            if part.aggregation is not PartAggregation.SUM and part.value is not None
        ]
    if aggregation not in READS_VALUE and definition.value is not None:
        return [("definition.value", "only sum, mean and quantile metrics read a value; use null.")]
    return []


def _number_of(measure: Measure) -> str:
    return "the value" if measure.value is None else f"`{measure.value}`"


def _where(measure: Measure) -> str:
    if not measure.filters:
        return ""
    return " where " + " and ".join(describe_filter(f) for f in measure.filters)


def _describe_part(measure: Measure, aggregation: Aggregation) -> str:
    event = f"`{measure.event}`"
    if aggregation is Aggregation.COUNT:
        text = f"count of {event}"
    elif aggregation is Aggregation.OCCURRENCE:
        text = f"identities with at least one {event}"
    else:
        text = f"{aggregation.value} of {_number_of(measure)} of {event}"
    return text + _where(measure)


def _describe_ratio_part(part: Part) -> str:
    return _describe_part(part, Aggregation(part.aggregation))


def _describe_quantile(definition: EventDefinition, quantile: Quantile) -> str:
    level = f"p{quantile.q * 100:g}"
    if quantile.level is QuantileLevel.EVENT:
        return f"{level} of {_number_of(definition)} of `{definition.event}`{_where(definition)}"
    return (
        f"{level} per identity of the total {_number_of(definition)} of "
        f"`{definition.event}`{_where(definition)}"
    )


def _describe_cap(cap: Cap) -> str:
    if cap.type is CapType.ABSOLUTE:
        return f"capped at {cap.value:g} per identity"
    return f"capped at the {_ordinal(cap.value * 100)} percentile"


def _ordinal(number: float) -> str:
    shown = f"{number:g}"
    if not shown.isdigit():
        return f"{shown}th"  # the 99.5th percentile
    suffix = (
        "th"
        if 10 <= int(shown) % 100 <= 20
        else {1: "st", 2: "nd", 3: "rd"}.get(int(shown) % 10, "th")
    )
    return shown + suffix


def describe(definition: MetricDefinition, aggregation: Aggregation | str) -> str:
    """A readable sentence, e.g. "count of `purchase` where plan = pro, within 3 days of
    exposure", "sum of `amount` of `purchase` per count of `purchase`" or "p90 of `latency_ms`
    of `request`"."""
    aggregation = Aggregation(aggregation)
    if isinstance(definition, RatioDefinition):
        text = (
            f"{_describe_ratio_part(definition.numerator)} per "
            f"{_describe_ratio_part(definition.denominator)}"
        )
    elif definition.quantile is not None:
        text = _describe_quantile(definition, definition.quantile)
    else:
        text = _describe_part(definition, aggregation)
    if definition.cap is not None:
        text += f", {_describe_cap(definition.cap)}"
    if definition.window is not None:
        text += f", within {window(definition.window.hours)} of exposure"
    return text
