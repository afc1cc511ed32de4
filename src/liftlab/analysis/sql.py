"""SQL fragments for the results query: bound parameters, property reads, filter predicates.

Every value a person typed (event and property names, filter values, keys) reaches ClickHouse
as a ``{pN:Type}`` placeholder, never as SQL text; only names this module invents (aliases,
bit positions) are written into the query.

Property semantics, shared by filters and metric values (docs/metrics.md):
- a property is *set* when the event's metadata holds a non-null scalar under that name;
- its *text* is the value as ClickHouse writes it (``true``/``false`` for booleans);
- its *number* is the text read as a finite decimal number (``12``, ``-3.5``, ``1e3``, also a
  string such as ``"12"``); anything else (booleans, words, ``nan``, ``inf``) is no number.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from liftlab.analysis.definition import Aggregation
from liftlab.analysis.filters import Filter, FilterOp, Scalar

VALUE_NUMBER = "ifNotFinite(toFloat64OrNull(value), nan)"
"""The event's own ``value`` column as a number (NaN when it is none)."""


def column(index: int, *names: str) -> str:
    """The result column of metric ``index`` called ``names``: ``m0_sum``, ``m0_covariate_sum``.

    Empty names are left out, so a group of columns named ``""`` keeps the plain names.
    """
    return "_".join([f"m{index}", *(name for name in names if name)])


class Params:
    """The bound parameters of one query; equal values share one placeholder."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self._names: dict[tuple[str, Hashable], str] = {}

    def bind(self, value: object, ch_type: str) -> str:
        key = (ch_type, tuple(value) if isinstance(value, list) else value)
        name = self._names.get(key)  # type: ignore[arg-type]
        if name is None:
            name = f"p{len(self.values)}"
            self._names[key] = name  # type: ignore[index]
            self.values[name] = value
        return f"{{{name}:{ch_type}}}"


def _number(text: str) -> str:
    return f"ifNotFinite(toFloat64OrNull({text}), nan)"


class PropertyReads:
    """Reads each metadata property once per query, under an alias.

    ``getSubcolumn`` keeps the property name a bound parameter; the text and number forms
    are derived once and shared by every filter and metric that uses the property.
    """

    def __init__(self, params: Params) -> None:
        self._params = params
        self._aliases: dict[str, str] = {}
        self._columns: dict[str, str] = {}

    def raw(self, name: str) -> str:
        alias = self._aliases.get(name)
        if alias is None:
            alias = self._aliases[name] = f"prop_{len(self._aliases)}"
            self._columns[alias] = f"getSubcolumn(metadata, {self._params.bind(name, 'String')})"
        return alias

    def is_set(self, name: str) -> str:
        return f"NOT isNull({self.raw(name)})"

    def text(self, name: str) -> str:
        return self._derived(name, "text", lambda raw: f"toString({raw})")

    def number(self, name: str) -> str:
        return self._derived(name, "number", lambda raw: _number(f"toString({raw})"))

    def columns(self) -> list[str]:
        """``expression AS alias`` for every read, in dependency order."""
        return [f"{expression} AS {alias}" for alias, expression in self._columns.items()]

    def _derived(self, name: str, form: str, build: Callable[[str], str]) -> str:
        raw = self.raw(name)
        alias = f"{raw}_{form}"
        if alias not in self._columns:
            self._columns[alias] = build(raw)
        return alias


def _as_text(value: Scalar) -> str:
    """Booleans compare by the text ClickHouse writes for them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_number(value: Scalar) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class FilterCompiler:
    """Turns definition filters into boolean SQL over the row's properties."""

    def __init__(self, params: Params, props: PropertyReads) -> None:
        self._params = params
        self._props = props

    def predicate(self, flt: Filter) -> str:
        op = flt.op
        if op is FilterOp.IS_SET:
            return self._props.is_set(flt.property)
        if op is FilterOp.IS_NOT_SET:
            return f"NOT {self._props.is_set(flt.property)}"
        if op is FilterOp.EQ:
            return self._equals(flt.property, flt.value)
        if op is FilterOp.NEQ:
            return f"NOT ({self._equals(flt.property, flt.value)})"
        if op is FilterOp.IN:
            return self._one_of(flt.property, flt.value)
        if op is FilterOp.NOT_IN:
            return f"NOT ({self._one_of(flt.property, flt.value)})"
        if op is FilterOp.CONTAINS:
            needle = self._params.bind(flt.value, "String")
            return (
                f"({self._props.is_set(flt.property)} AND "
                f"position({self._props.text(flt.property)}, {needle}) > 0)"
            )
        return self._compare(flt.property, _COMPARISONS[op], flt.value)

    def _equals(self, prop: str, value: Scalar) -> str:
        if _is_number(value):
            return self._compare(prop, "=", value)
        text = self._params.bind(_as_text(value), "String")
        return f"({self._props.is_set(prop)} AND {self._props.text(prop)} = {text})"

    def _compare(self, prop: str, symbol: str, value: Scalar) -> str:
        return f"{self._props.number(prop)} {symbol} {self._params.bind(float(value), 'Float64')}"

    def _one_of(self, prop: str, values: list[Scalar]) -> str:
        numbers = [float(v) for v in values if _is_number(v)]
        texts = [_as_text(v) for v in values if not _is_number(v)]
        parts = []
        if texts:
            bound = self._params.bind(texts, "Array(String)")
            parts.append(f"({self._props.is_set(prop)} AND {self._props.text(prop)} IN {bound})")
        if numbers:
            parts.append(
                f"{self._props.number(prop)} IN {self._params.bind(numbers, 'Array(Float64)')}"
            )
        return " OR ".join(parts)


_COMPARISONS = {FilterOp.GT: ">", FilterOp.GTE: ">=", FilterOp.LT: "<", FilterOp.LTE: "<="}


def identity_number(aggregation: Aggregation, counted: str, number: str) -> str:
    """An identity's number of a part over its ``counted`` rows: events, 0/1, the sum or the
    mean of the events' ``number`` (0 without any). Never NULL, even where a filter on a
    missing property is (a NULL number would drop out of a cap's ranks), so an occurrence is
    ``countIf(…) > 0``, not ``max()``."""
    if aggregation is Aggregation.COUNT:
        return f"countIf({counted})"
    if aggregation is Aggregation.OCCURRENCE:
        return f"toUInt8(countIf({counted}) > 0)"
    counted += f" AND NOT isNaN({number})"
    total = f"sumIf({number}, {counted})"
    if aggregation is Aggregation.SUM:
        return total
    return f"if(countIf({counted}) = 0, 0., {total} / countIf({counted}))"
