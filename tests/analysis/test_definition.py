"""The metric definition schema: what it accepts verbatim and what it refuses, with the path."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liftlab.analysis.definition import (
    MAX_FILTERS,
    MAX_WINDOW_HOURS,
    Aggregation,
    DefinitionError,
    MetricType,
    describe,
    json_schema,
    metric_type_for,
    parse_definition,
)
from liftlab.analysis.filters import MAX_LIST_ITEMS, MAX_NAME_LENGTH, FilterOp

HOSTILE = [
    "it's",
    'say "hi"',
    "back\\slash",
    "'); DROP TABLE events; --",
    "{p0:String}",
    "naïve 日本語 🎉",
    "nul\x00byte",
    "new\nline\ttab",
    "$flag_exposure",
]


def base(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"version": 1, "event": "purchase"}
    data.update(changes)
    return data


def with_filter(**flt: object) -> dict[str, object]:
    return base(filters=[flt])


def errors_of(data: object) -> list[dict[str, str]]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return caught.value.errors


def paths_of(data: object) -> list[str]:
    return [e["path"] for e in errors_of(data)]


def test_minimal_definition_gets_canonical_defaults() -> None:
    definition = parse_definition(base())
    assert definition.to_json() == {
        "version": 1,
        "event": "purchase",
        "value": None,
        "filters": [],
        "window": None,
    }


def test_canonical_form_round_trips_and_omits_presence_values() -> None:
    data = base(
        value="amount",
        filters=[
            {"property": "plan", "op": "in", "value": ["pro", 2, True]},
            {"property": "coupon", "op": "is_not_set", "value": None},
        ],
        window={"hours": 72},
    )
    canonical = parse_definition(data).to_json()
    assert canonical["filters"] == [
        {"property": "plan", "op": "in", "value": ["pro", 2, True]},
        {"property": "coupon", "op": "is_not_set"},
    ]
    assert parse_definition(json.loads(json.dumps(canonical))).to_json() == canonical


@pytest.mark.parametrize(
    ("op", "value"),
    [
        ("eq", "pro"),
        ("eq", 3),
        ("eq", 2.5),
        ("eq", False),
        ("neq", "pro"),
        ("in", ["a", 1, 1.5, True]),
        ("not_in", ["a"]),
        ("gt", 1),
        ("gte", -2.5),
        ("lt", 0),
        ("lte", 1e12),
        ("contains", "sub"),
        ("contains", ""),
    ],
)
def test_every_operator_accepts_a_fitting_value(op: str, value: object) -> None:
    definition = parse_definition(with_filter(property="p", op=op, value=value))
    assert definition.filters[0].op is FilterOp(op)
    assert definition.filters[0].value == value


@pytest.mark.parametrize("op", ["is_set", "is_not_set"])
def test_presence_operators_take_no_value(op: str) -> None:
    assert parse_definition(with_filter(property="p", op=op)).filters[0].value is None
    assert paths_of(with_filter(property="p", op=op, value="x")) == ["definition.filters.0.value"]


@pytest.mark.parametrize(
    ("op", "value", "reason"),
    [
        ("eq", None, "is required"),
        ("eq", ["a"], "must be a string, a number or a boolean"),
        ("eq", {"a": 1}, "must be a string, a number or a boolean"),
        ("neq", float("nan"), "finite"),
        ("in", [], "non-empty list"),
        ("in", "a", "non-empty list"),
        ("not_in", [["nested"]], "must be a string, a number or a boolean"),
        ("in", [None], "must be a string, a number or a boolean"),
        ("gt", "1", "must be a number"),
        ("gte", True, "must be a number"),
        ("lt", float("inf"), "finite"),
        ("lte", 10**400, "finite"),
        ("contains", 1, "must be a string"),
        ("contains", "x" * 1001, "at most 1000"),
    ],
)
def test_operator_refuses_a_value_that_does_not_fit(op: str, value: object, reason: str) -> None:
    errors = errors_of(with_filter(property="p", op=op, value=value))
    assert [e["path"] for e in errors] == ["definition.filters.0.value"]
    assert reason in errors[0]["message"]


def test_unknown_operator_is_refused_at_op_only() -> None:
    errors = errors_of(with_filter(property="p", op="like", value="x"))
    assert [e["path"] for e in errors] == ["definition.filters.0.op"]
    assert "'eq'" in errors[0]["message"]


def test_list_longer_than_limit_is_refused() -> None:
    ok = with_filter(property="p", op="in", value=list(range(MAX_LIST_ITEMS)))
    assert len(parse_definition(ok).filters[0].value) == MAX_LIST_ITEMS
    too_long = with_filter(property="p", op="in", value=list(range(MAX_LIST_ITEMS + 1)))
    assert paths_of(too_long) == ["definition.filters.0.value"]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (base(version=2), "definition.version"),
        (base(version="1"), "definition.version"),
        (base(version=True), "definition.version"),
        (base(version=1.0), "definition.version"),
        ({"event": "purchase"}, "definition.version"),
        ({"version": 1}, "definition.event"),
        (base(event=""), "definition.event"),
        (base(event=" \t\n"), "definition.event"),
        (base(event=5), "definition.event"),
        (base(event="e" * (MAX_NAME_LENGTH + 1)), "definition.event"),
        (base(value=""), "definition.value"),
        (base(value=3), "definition.value"),
        (base(filters={"property": "p"}), "definition.filters"),
        (
            base(filters=[{"property": "p", "op": "is_set"}] * (MAX_FILTERS + 1)),
            "definition.filters",
        ),
        (with_filter(property="", op="is_set"), "definition.filters.0.property"),
        (with_filter(property="  ", op="is_set"), "definition.filters.0.property"),
        (with_filter(op="is_set"), "definition.filters.0.property"),
        (with_filter(property="p", op="is_set", extra=1), "definition.filters.0.extra"),
        (base(window={"hours": 0}), "definition.window.hours"),
        (base(window={"hours": -5}), "definition.window.hours"),
        (base(window={"hours": MAX_WINDOW_HOURS + 1}), "definition.window.hours"),
        (base(window={"hours": "24"}), "definition.window.hours"),
        (base(window={"hours": 24.0}), "definition.window.hours"),
        (base(window={"hours": True}), "definition.window.hours"),
        (base(window={"days": 1}), "definition.window.hours"),
        (base(window=24), "definition.window"),
        (base(aggregation="sum"), "definition.aggregation"),
    ],
)
def test_invalid_field_is_reported_with_its_path(data: object, path: str) -> None:
    errors = errors_of(data)
    assert path in [e["path"] for e in errors]
    assert all(e["message"] for e in errors)


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "version": 3,
        "event": "",
        "filters": [{"property": "p", "op": "gt", "value": "x"}],
        "window": {"hours": 0},
        "surprise": True,
    }
    assert sorted(paths_of(data)) == [
        "definition.event",
        "definition.filters.0.value",
        "definition.surprise",
        "definition.version",
        "definition.window.hours",
    ]


@pytest.mark.parametrize("data", [None, [], "purchase", 1])
def test_non_object_is_refused_at_the_root(data: object) -> None:
    assert paths_of(data) == ["definition"]


def test_window_at_the_limit_is_accepted() -> None:
    assert parse_definition(base(window={"hours": MAX_WINDOW_HOURS})).window.hours == (
        MAX_WINDOW_HOURS
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_kept_verbatim(text: str) -> None:
    data = base(
        event=text,
        value=text,
        filters=[
            {"property": text, "op": "eq", "value": text},
            {"property": text, "op": "in", "value": [text, "x"]},
            {"property": text, "op": "contains", "value": text},
        ],
    )
    canonical = parse_definition(data).to_json()
    assert canonical["event"] == text
    assert canonical["value"] == text
    assert [f["property"] for f in canonical["filters"]] == [text] * 3
    assert canonical["filters"][0]["value"] == text
    assert canonical["filters"][1]["value"] == [text, "x"]


@given(st.text(min_size=1, max_size=MAX_NAME_LENGTH).filter(lambda s: s.strip()))
def test_any_non_blank_name_is_a_valid_event(name: str) -> None:
    assert parse_definition(base(event=name)).event == name


def test_json_schema_describes_the_document() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"version", "event", "value", "filters", "window"}
    assert schema["properties"]["version"]["const"] == 1
    assert set(schema["required"]) == {"version", "event"}
    json.dumps(schema)


def test_metric_type_follows_aggregation() -> None:
    assert metric_type_for("occurrence") is MetricType.CONVERSION
    for aggregation in ("count", "sum", "mean"):
        assert metric_type_for(aggregation) is MetricType.NUMERIC
    with pytest.raises(ValueError):
        metric_type_for("median")


@pytest.mark.parametrize(
    ("aggregation", "data", "sentence"),
    [
        (
            "count",
            base(filters=[{"property": "plan", "op": "eq", "value": "pro"}], window={"hours": 72}),
            "count of `purchase` where plan = pro, within 72 h of exposure",
        ),
        ("occurrence", base(), "identities with at least one `purchase`"),
        ("sum", base(value="amount"), "sum of `amount` of `purchase`"),
        ("mean", base(), "mean of the value of `purchase`"),
        (
            Aggregation.SUM,
            base(
                filters=[
                    {"property": "n", "op": "gte", "value": 2},
                    {"property": "tag", "op": "not_in", "value": ["a", True]},
                    {"property": "c", "op": "is_not_set"},
                    {"property": "s", "op": "contains", "value": "x"},
                ]
            ),
            "sum of the value of `purchase` where n ≥ 2 and tag not in (a, true) and c is not set"
            " and s contains x",
        ),
    ],
)
def test_describe_reads_as_a_sentence(aggregation: str, data: dict, sentence: str) -> None:
    assert describe(parse_definition(data), aggregation) == sentence
