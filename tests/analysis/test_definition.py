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
    check_metric,
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
        (base(version=3), "definition.version"),
        (base(version=0), "definition.version"),
        (base(version=None), "definition.version"),
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


def test_an_unknown_version_is_the_only_problem_reported() -> None:
    """Which fields exist depends on the version: nothing else can be checked without one."""
    data = {"version": 3, "event": "", "window": {"hours": 0}, "surprise": True}
    assert errors_of(data) == [{"path": "definition.version", "message": "must be 1 or 2"}]


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "version": 1,
        "event": "",
        "filters": [{"property": "p", "op": "gt", "value": "x"}],
        "window": {"hours": 0},
        "surprise": True,
    }
    assert sorted(paths_of(data)) == [
        "definition.event",
        "definition.filters.0.value",
        "definition.surprise",
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


def test_json_schema_is_the_union_of_every_version() -> None:
    schema = json_schema()
    defs = schema["$defs"]
    assert [ref["$ref"] for ref in schema["anyOf"]] == [
        "#/$defs/DefinitionV1",
        "#/$defs/EventDefinition",
        "#/$defs/RatioDefinition",
    ]
    v1, event, ratio = defs["DefinitionV1"], defs["EventDefinition"], defs["RatioDefinition"]
    assert all(
        model["additionalProperties"] is False for model in defs.values() if "properties" in model
    )
    assert set(v1["properties"]) == {"version", "event", "value", "filters", "window"}
    assert set(event["properties"]) == {*v1["properties"], "cap", "quantile"}
    assert set(ratio["properties"]) == {"version", "numerator", "denominator", "window", "cap"}
    assert (v1["properties"]["version"]["const"], event["properties"]["version"]["const"]) == (1, 2)
    assert set(v1["required"]) == set(event["required"]) == {"version", "event"}
    assert set(ratio["required"]) == {"version", "numerator", "denominator"}
    assert set(defs["Part"]["required"]) == {"event", "aggregation"}
    assert defs["PartAggregation"]["enum"] == ["count", "sum", "occurrence"]
    assert defs["CapType"]["enum"] == ["absolute", "percentile"]
    assert defs["QuantileLevel"]["enum"] == ["event", "identity"]
    q = defs["Quantile"]["properties"]["q"]
    assert (q["exclusiveMinimum"], q["exclusiveMaximum"]) == (0, 1)
    json.dumps(schema)


def test_metric_type_follows_aggregation() -> None:
    assert metric_type_for("occurrence") is MetricType.CONVERSION
    assert metric_type_for("ratio") is MetricType.RATIO
    assert metric_type_for(Aggregation.QUANTILE) is MetricType.QUANTILE
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
            "count of `purchase` where plan = pro, within 3 days of exposure",
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


# Version 2: caps, quantiles and ratios.


def v2(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"version": 2, "event": "purchase"}
    data.update(changes)
    return data


def part(event: str = "order", aggregation: str = "count", **changes: object) -> dict[str, object]:
    return {"event": event, "aggregation": aggregation, **changes}


def ratio(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "version": 2,
        "numerator": part(aggregation="sum", value="amount"),
        "denominator": part(),
    }
    data.update(changes)
    return data


CAPPED_SUM = v2(value="amount", cap={"type": "percentile", "value": 0.99})
P90 = v2(event="request", value="latency_ms", quantile={"q": 0.9, "level": "event"})


def test_a_minimal_version_2_definition_gets_canonical_defaults() -> None:
    assert parse_definition(v2()).to_json() == {
        "version": 2,
        "event": "purchase",
        "value": None,
        "filters": [],
        "window": None,
        "cap": None,
        "quantile": None,
    }


def test_a_ratio_gets_canonical_defaults_in_each_part() -> None:
    assert parse_definition(ratio()).to_json() == {
        "version": 2,
        "numerator": {"event": "order", "value": "amount", "filters": [], "aggregation": "sum"},
        "denominator": {"event": "order", "value": None, "filters": [], "aggregation": "count"},
        "window": None,
        "cap": None,
    }


@pytest.mark.parametrize(
    "data",
    [
        CAPPED_SUM,
        v2(value="amount", cap={"type": "absolute", "value": 1000.5}, window={"hours": 24}),
        P90,
        v2(value=None, quantile={"q": 0.5, "level": "identity"}),
        ratio(cap={"type": "absolute", "value": 500.0}, window={"hours": 168}),
        ratio(
            numerator=part(
                "checkout",
                "occurrence",
                filters=[{"property": "step", "op": "eq", "value": "paid"}],
            ),
            denominator=part("visit", "occurrence"),
        ),
    ],
    ids=["capped-sum", "absolute-cap", "p90", "median-per-identity", "capped-ratio", "parts"],
)
def test_version_2_canonical_forms_round_trip(data: dict[str, object]) -> None:
    canonical = parse_definition(data).to_json()
    assert parse_definition(json.loads(json.dumps(canonical))).to_json() == canonical
    for key, value in data.items():
        if key not in ("numerator", "denominator"):
            assert canonical[key] == value


@pytest.mark.parametrize(
    "data",
    [
        base(),
        base(value="amount", window={"hours": 72}),
        base(filters=[{"property": "plan", "op": "in", "value": ["pro", 2, True]}]),
    ],
)
def test_version_1_documents_read_and_write_as_version_1(data: dict[str, object]) -> None:
    definition = parse_definition(data)
    canonical = definition.to_json()
    assert type(definition).__name__ == "DefinitionV1"
    assert canonical["version"] == 1
    assert set(canonical) == {"version", "event", "value", "filters", "window"}
    assert (definition.cap, definition.quantile) == (None, None)
    assert parse_definition(canonical).to_json() == canonical


@pytest.mark.parametrize(
    ("data", "path"),
    [
        # version 1 has none of version 2's keys
        (base(cap={"type": "absolute", "value": 1}), "definition.cap"),
        (base(quantile={"q": 0.9, "level": "event"}), "definition.quantile"),
        (base(numerator=part()), "definition.numerator"),
        # cap
        (v2(cap=5), "definition.cap"),
        (v2(cap={"type": "absolute"}), "definition.cap.value"),
        (v2(cap={"value": 5}), "definition.cap.type"),
        (v2(cap={"type": "relative", "value": 5}), "definition.cap.type"),
        (v2(cap={"type": "ABSOLUTE", "value": 5}), "definition.cap.type"),
        (v2(cap={"type": "absolute", "value": 0}), "definition.cap.value"),
        (v2(cap={"type": "absolute", "value": -1}), "definition.cap.value"),
        (v2(cap={"type": "absolute", "value": "5"}), "definition.cap.value"),
        (v2(cap={"type": "absolute", "value": True}), "definition.cap.value"),
        (v2(cap={"type": "absolute", "value": None}), "definition.cap.value"),
        (v2(cap={"type": "absolute", "value": float("inf")}), "definition.cap.value"),
        (v2(cap={"type": "absolute", "value": 10**400}), "definition.cap.value"),
        (v2(cap={"type": "percentile", "value": 0}), "definition.cap.value"),
        (v2(cap={"type": "percentile", "value": 1}), "definition.cap.value"),
        (v2(cap={"type": "percentile", "value": 99}), "definition.cap.value"),
        (v2(cap={"type": "percentile", "value": float("nan")}), "definition.cap.value"),
        (v2(cap={"type": "absolute", "value": 5, "per": "day"}), "definition.cap.per"),
        # quantile
        (v2(quantile=0.9), "definition.quantile"),
        (v2(quantile={"q": 0.9}), "definition.quantile.level"),
        (v2(quantile={"level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": 0, "level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": 1, "level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": 90, "level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": -0.5, "level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": "0.9", "level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": True, "level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": float("nan"), "level": "event"}), "definition.quantile.q"),
        (v2(quantile={"q": 0.9, "level": "session"}), "definition.quantile.level"),
        (v2(quantile={"q": 0.9, "level": "event", "k": 1}), "definition.quantile.k"),
        # version 2's event definition keeps version 1's rules
        ({"version": 2}, "definition.event"),
        (v2(event=""), "definition.event"),
        (v2(window={"hours": 0}), "definition.window.hours"),
        (v2(surprise=1), "definition.surprise"),
        # ratio
        (ratio(denominator=None), "definition.denominator"),
        ({"version": 2, "denominator": part()}, "definition.numerator"),
        (ratio(numerator="order"), "definition.numerator"),
        (ratio(numerator=[part()]), "definition.numerator"),
        (ratio(event="order"), "definition.event"),
        (ratio(value="amount"), "definition.value"),
        (ratio(filters=[]), "definition.filters"),
        (ratio(quantile={"q": 0.9, "level": "event"}), "definition.quantile"),
        (ratio(numerator={"aggregation": "sum"}), "definition.numerator.event"),
        (ratio(numerator=part(event=" ")), "definition.numerator.event"),
        (ratio(numerator=part(event="e" * (MAX_NAME_LENGTH + 1))), "definition.numerator.event"),
        (ratio(numerator={"event": "order"}), "definition.numerator.aggregation"),
        (ratio(numerator=part(aggregation="mean")), "definition.numerator.aggregation"),
        (ratio(denominator=part(aggregation="ratio")), "definition.denominator.aggregation"),
        (ratio(denominator=part(aggregation="quantile")), "definition.denominator.aggregation"),
        (ratio(denominator=part(value=3)), "definition.denominator.value"),
        (ratio(denominator=part(window={"hours": 1})), "definition.denominator.window"),
        (
            ratio(denominator=part(filters=[{"property": "p", "op": "gt", "value": "1"}])),
            "definition.denominator.filters.0.value",
        ),
        (
            ratio(denominator=part(filters=[{"property": "p", "op": "is_set"}] * 21)),
            "definition.denominator.filters",
        ),
    ],
)
def test_invalid_version_2_field_is_reported_with_its_path(data: object, path: str) -> None:
    errors = errors_of(data)
    assert path in [e["path"] for e in errors], errors
    assert all(e["message"] for e in errors)


@pytest.mark.parametrize(
    ("cap", "reason"),
    [
        ({"type": "percentile", "value": 1.5}, "between 0 and 1"),
        ({"type": "absolute", "value": -2}, "positive"),
        ({"type": "absolute", "value": "1"}, "must be a number"),
        ({"type": "absolute", "value": float("inf")}, "finite"),
    ],
)
def test_a_cap_value_that_does_not_fit_its_type_says_why(cap: object, reason: str) -> None:
    (error,) = errors_of(v2(cap=cap))
    assert error["path"] == "definition.cap.value"
    assert reason in error["message"]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (base(window=24), "definition.window"),
        (v2(cap=[1]), "definition.cap"),
        (ratio(numerator=5), "definition.numerator"),
        (base(filters=["plan"]), "definition.filters.0"),
    ],
)
def test_a_part_that_is_not_an_object_says_so(data: object, path: str) -> None:
    assert errors_of(data) == [{"path": path, "message": "must be a JSON object"}]


def test_every_problem_of_a_ratio_is_reported_at_once() -> None:
    data = ratio(
        numerator=part(event="", aggregation="mean"),
        denominator={"aggregation": "count", "extra": 1},
        cap={"type": "percentile", "value": 2},
    )
    assert sorted(paths_of(data)) == [
        "definition.cap.value",
        "definition.denominator.event",
        "definition.denominator.extra",
        "definition.numerator.aggregation",
        "definition.numerator.event",
    ]


# check_metric: the aggregation against the definition.


def problems(aggregation: str, data: dict[str, object]) -> list[str]:
    return [p["path"] for p in check_metric(aggregation, parse_definition(data))]


@pytest.mark.parametrize(
    ("aggregation", "data"),
    [
        ("count", base()),
        ("count", v2()),
        ("occurrence", v2()),
        ("sum", base(value="amount")),
        ("mean", v2(value=None)),
        ("count", v2(cap={"type": "absolute", "value": 3})),
        ("sum", CAPPED_SUM),
        ("mean", v2(value="amount", cap={"type": "absolute", "value": 3})),
        ("quantile", P90),
        ("quantile", v2(quantile={"q": 0.5, "level": "identity"})),
        ("ratio", ratio()),
        ("ratio", ratio(cap={"type": "percentile", "value": 0.99})),
        ("ratio", ratio(numerator=part(aggregation="occurrence"))),
        ("ratio", ratio(denominator=part(aggregation="sum", value=None))),
    ],
)
def test_fitting_aggregations_have_no_problem(aggregation: str, data: dict) -> None:
    assert check_metric(aggregation, parse_definition(data)) == []
    assert check_metric(Aggregation(aggregation), parse_definition(data)) == []


@pytest.mark.parametrize(
    ("aggregation", "data", "expected"),
    [
        # a ratio needs numerator and denominator
        ("ratio", base(), ["definition.numerator"]),
        ("ratio", v2(value="amount"), ["definition.numerator", "definition.value"]),
        # numerator and denominator make a ratio
        ("count", ratio(), ["aggregation"]),
        ("sum", ratio(), ["aggregation"]),
        ("mean", ratio(), ["aggregation"]),
        ("occurrence", ratio(), ["aggregation"]),
        ("quantile", ratio(), ["aggregation", "definition.quantile"]),
        # a quantile needs its quantile
        ("quantile", base(value="latency_ms"), ["definition.quantile"]),
        ("quantile", v2(value="latency_ms"), ["definition.quantile"]),
        # a quantile makes a quantile metric
        ("count", v2(quantile={"q": 0.9, "level": "event"}), ["aggregation"]),
        ("sum", P90, ["aggregation"]),
        ("mean", P90, ["aggregation"]),
        ("occurrence", v2(quantile={"q": 0.9, "level": "event"}), ["aggregation"]),
        ("ratio", P90, ["definition.numerator", "aggregation", "definition.value"]),
        # only sum, mean and quantile read a value
        ("count", base(value="amount"), ["definition.value"]),
        ("occurrence", v2(value="amount"), ["definition.value"]),
        # in a ratio, only a sum part reads one
        ("ratio", ratio(numerator=part(value="amount")), ["definition.numerator.value"]),
        (
            "ratio",
            ratio(
                numerator=part(aggregation="occurrence", value="x"),
                denominator=part(value="y"),
            ),
            ["definition.numerator.value", "definition.denominator.value"],
        ),
        # only numbers that are added can be capped
        ("occurrence", v2(cap={"type": "absolute", "value": 1}), ["definition.cap"]),
        (
            "quantile",
            v2(value="v", cap={"type": "percentile", "value": 0.99}, quantile=P90["quantile"]),
            ["definition.cap"],
        ),
        # several at once
        (
            "occurrence",
            v2(value="v", cap={"type": "absolute", "value": 1}, quantile=P90["quantile"]),
            ["aggregation", "definition.value", "definition.cap"],
        ),
    ],
)
def test_check_metric_names_the_field_to_change(
    aggregation: str, data: dict, expected: list[str]
) -> None:
    found = check_metric(aggregation, parse_definition(data))
    assert [p["path"] for p in found] == expected
    assert all(p["message"] for p in found)


@pytest.mark.parametrize(
    ("aggregation", "data", "words"),
    [
        ("ratio", base(), "numerator and denominator"),
        ("sum", ratio(), "'ratio'"),
        ("quantile", base(), '"q": 0.9'),
        ("sum", P90, "'quantile'"),
        ("count", base(value="amount"), "use null"),
        ("ratio", ratio(denominator=part(value="n")), "only a sum reads a value"),
        ("occurrence", v2(cap={"type": "absolute", "value": 1}), "0 or 1"),
        ("quantile", {**P90, "cap": {"type": "absolute", "value": 1}}, "ranks values"),
    ],
)
def test_check_metric_says_why(aggregation: str, data: dict, words: str) -> None:
    (problem,) = check_metric(aggregation, parse_definition(data))
    assert words in problem["message"]


def test_check_metric_refuses_an_unknown_aggregation() -> None:
    with pytest.raises(ValueError):
        check_metric("median", parse_definition(base()))


@pytest.mark.parametrize(
    ("aggregation", "data", "sentence"),
    [
        ("quantile", P90, "p90 of `latency_ms` of `request`"),
        (
            "quantile",
            v2(event="request", quantile={"q": 0.999, "level": "event"}),
            "p99.9 of the value of `request`",
        ),
        (
            "quantile",
            v2(value="amount", quantile={"q": 0.5, "level": "identity"}, window={"hours": 24}),
            "p50 per identity of the total `amount` of `purchase`, within 1 day of exposure",
        ),
        ("ratio", ratio(), "sum of `amount` of `order` per count of `order`"),
        (
            "ratio",
            ratio(
                numerator=part(
                    "checkout",
                    "occurrence",
                    filters=[{"property": "step", "op": "eq", "value": "paid"}],
                ),
                denominator=part("visit", "sum"),
            ),
            "identities with at least one `checkout` where step = paid per sum of the value "
            "of `visit`",
        ),
        ("sum", CAPPED_SUM, "sum of `amount` of `purchase`, capped at the 99th percentile"),
        (
            "count",
            v2(cap={"type": "absolute", "value": 20}, window={"hours": 72}),
            "count of `purchase`, capped at 20 per identity, within 3 days of exposure",
        ),
        (
            "ratio",
            ratio(cap={"type": "percentile", "value": 0.995}),
            "sum of `amount` of `order` per count of `order`, capped at the 99.5th percentile",
        ),
    ],
)
def test_describe_reads_version_2_as_a_sentence(
    aggregation: str, data: dict, sentence: str
) -> None:
    assert describe(parse_definition(data), aggregation) == sentence


@pytest.mark.parametrize(
    ("level", "ordinal"),
    [
        (0.01, "1st"),
        (0.02, "2nd"),
        (0.03, "3rd"),
        (0.11, "11th"),
        (0.12, "12th"),
        (0.13, "13th"),
        (0.21, "21st"),
        (0.5, "50th"),
        (0.9, "90th"),
        (0.95, "95th"),
        (0.999, "99.9th"),
    ],
)
def test_a_percentile_cap_reads_as_an_ordinal(level: float, ordinal: str) -> None:
    data = v2(cap={"type": "percentile", "value": level})
    assert describe(parse_definition(data), "count").endswith(f"capped at the {ordinal} percentile")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_kept_verbatim_in_ratio_parts(text: str) -> None:
    hostile_part = part(
        event=text,
        aggregation="sum",
        value=text,
        filters=[{"property": text, "op": "in", "value": [text]}],
    )
    data = ratio(numerator=hostile_part, denominator=hostile_part)
    canonical = parse_definition(data).to_json()
    for name in ("numerator", "denominator"):
        assert canonical[name]["event"] == canonical[name]["value"] == text
        assert canonical[name]["filters"] == [{"property": text, "op": "in", "value": [text]}]
    sentence = describe(parse_definition(data), "ratio")
    assert sentence.count(text) >= 6


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_kept_verbatim_in_a_quantile(text: str) -> None:
    data = v2(event=text, value=text, quantile={"q": 0.9, "level": "event"})
    canonical = parse_definition(data).to_json()
    assert (canonical["event"], canonical["value"]) == (text, text)
    assert describe(parse_definition(data), "quantile") == f"p90 of `{text}` of `{text}`"


@pytest.mark.parametrize(
    "data",
    [
        v2(cap={"type": "it's", "value": 1}),
        v2(cap={"type": "'); DROP TABLE events; --", "value": 1}),
        v2(quantile={"q": 0.9, "level": "naïve 日本語 🎉"}),
        v2(quantile={"q": 0.9, "level": "event\x00"}),
        ratio(numerator=part(aggregation='sum"; --')),
        ratio(denominator=part(aggregation="count\x00")),
        ratio(numerator=part(event="e" * 100_000)),
        ratio(numerator=part(filters=[{"property": "p", "op": "in", "value": list(range(2_000))}])),
        v2(cap={"type": "absolute", "value": 10**1000}),
        v2(quantile={"q": 10**-400, "level": "event"}),
        v2(quantile={"q": 0.9, "level": "event", "x" * 10_000: 1}),
    ],
    ids=[
        "quote-cap-type",
        "sql-cap-type",
        "unicode-level",
        "nul-level",
        "sql-aggregation",
        "nul-aggregation",
        "huge-event",
        "huge-list",
        "huge-cap",
        "underflowing-q",
        "huge-key",
    ],
)
def test_hostile_values_in_version_2_parts_are_refused_with_a_path(data: dict) -> None:
    errors = errors_of(data)
    assert errors and all(e["path"].startswith("definition.") for e in errors)
    json.dumps(errors)


finite_levels = st.floats(min_value=0, max_value=1, exclude_min=True, exclude_max=True)


@given(q=finite_levels, level=st.sampled_from(["event", "identity"]))
def test_any_level_strictly_between_0_and_1_is_a_quantile(q: float, level: str) -> None:
    definition = parse_definition(v2(value="v", quantile={"q": q, "level": level}))
    assert check_metric("quantile", definition) == []
    assert describe(definition, "quantile").startswith("p")


@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.integers())
def test_a_percentile_cap_is_accepted_exactly_strictly_between_0_and_1(value: float) -> None:
    data = v2(cap={"type": "percentile", "value": value})
    if isinstance(value, float) and 0 < value < 1:
        assert parse_definition(data).cap.value == value
    else:
        assert paths_of(data) == ["definition.cap.value"]


@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**30), 10**30))
def test_an_absolute_cap_is_accepted_exactly_when_positive_and_finite(value: float) -> None:
    data = v2(cap={"type": "absolute", "value": value})
    if value > 0 and value != float("inf"):
        assert parse_definition(data).cap.value == float(value)
    else:
        assert paths_of(data) == ["definition.cap.value"]


part_aggregations = st.sampled_from(["count", "sum", "occurrence"])


@given(
    numerator=part_aggregations,
    denominator=part_aggregations,
    values=st.tuples(st.sampled_from([None, "amount"]), st.sampled_from([None, "amount"])),
)
def test_a_ratio_part_may_read_a_value_exactly_when_it_is_a_sum(
    numerator: str, denominator: str, values: tuple[str | None, str | None]
) -> None:
    data = ratio(
        numerator=part(aggregation=numerator, value=values[0]),
        denominator=part(aggregation=denominator, value=values[1]),
    )
    expected = [
        f"definition.{name}.value"
        for name, aggregation, value in zip(
            ("numerator", "denominator"), (numerator, denominator), values, strict=True
        )
        if aggregation != "sum" and value is not None
    ]
    assert problems("ratio", data) == expected
