"""Metric definitions over the API: every operator accepted in its shape, every mistake a 400
whose key is the full path of the offending field."""

from __future__ import annotations

import pytest

from . import paths
from .bodies import metric_body
from .expect import created, refused


def definition(**changes: object) -> dict[str, object]:
    return {"version": 1, "event": "purchase", **changes}


def one_filter(**fields: object) -> dict[str, object]:
    return definition(filters=[{"property": "plan", **fields}])


@pytest.fixture
def post(admin, environment):
    def send(definition: object, aggregation: str = "count"):
        body = metric_body(aggregation=aggregation, definition=definition)
        return admin.post(paths.metrics(environment.key), body, format="json")

    return send


@pytest.mark.parametrize(
    ("op", "value"),
    [
        ("eq", "pro"),
        ("eq", 3),
        ("eq", True),
        ("neq", "free"),
        ("in", ["pro", "team", 3]),
        ("not_in", ["free"]),
        ("gt", 10),
        ("gte", 0.5),
        ("lt", -1),
        ("lte", 1e6),
        ("contains", "pro"),
    ],
)
def test_each_operator_takes_a_value_of_its_shape(post, op, value):
    metric = created(post(one_filter(op=op, value=value)))

    assert metric["definition"]["filters"] == [{"property": "plan", "op": op, "value": value}]


@pytest.mark.parametrize("op", ["is_set", "is_not_set"])
def test_presence_operators_take_no_value(post, op):
    metric = created(post(one_filter(op=op)))

    assert metric["definition"]["filters"] == [{"property": "plan", "op": op}]


def test_a_window_and_several_filters_are_kept(post):
    filters = [
        {"property": "plan", "op": "eq", "value": "pro"},
        {"property": "country", "op": "in", "value": ["FR", "DE"]},
    ]

    metric = created(post(definition(filters=filters, window={"hours": 168})))

    assert metric["definition"]["filters"] == filters
    assert metric["definition"]["window"] == {"hours": 168}


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("purchase", "definition"),
        ([], "definition"),
        (definition(extra=1), "definition.extra"),
        ({"event": "purchase"}, "definition.version"),
        (definition(version=2), "definition.version"),
        (definition(version="1"), "definition.version"),
        ({"version": 1}, "definition.event"),
        (definition(event=""), "definition.event"),
        (definition(event="   "), "definition.event"),
        (definition(event=7), "definition.event"),
        (definition(event="e" * 201), "definition.event"),
        (definition(filters={"property": "plan"}), "definition.filters"),
        (definition(filters=[{"property": "p", "op": "is_set"}] * 21), "definition.filters"),
        (one_filter(op="eq", value="pro", extra=1), "definition.filters.0.extra"),
        (one_filter(op="like", value="pro"), "definition.filters.0.op"),
        (one_filter(op="in", value="pro"), "definition.filters.0.value"),
        (one_filter(op="not_in", value=[]), "definition.filters.0.value"),
        (one_filter(op="in", value=[["nested"]]), "definition.filters.0.value"),
        (one_filter(op="gt", value="5"), "definition.filters.0.value"),
        (one_filter(op="lte", value=True), "definition.filters.0.value"),
        (one_filter(op="contains", value=5), "definition.filters.0.value"),
        (one_filter(op="eq"), "definition.filters.0.value"),
        (one_filter(op="eq", value={"a": 1}), "definition.filters.0.value"),
        (one_filter(op="is_set", value="pro"), "definition.filters.0.value"),
        (one_filter(op="eq", value="v" * 1001), "definition.filters.0.value"),
        (definition(filters=[{"property": "", "op": "is_set"}]), "definition.filters.0.property"),
        (definition(filters=[{"op": "is_set"}]), "definition.filters.0.property"),
        (
            definition(filters=[{"property": "a", "op": "is_set"}, {"property": "b", "op": "?"}]),
            "definition.filters.1.op",
        ),
        (definition(window={"hours": 0}), "definition.window.hours"),
        (definition(window={"hours": "168"}), "definition.window.hours"),
        (definition(window={"days": 7}), "definition.window.days"),
        (definition(window=168), "definition.window"),
        (definition(value=5), "definition.value"),
    ],
)
def test_invalid_definitions_are_400_keyed_by_the_full_path(post, raw, path):
    body = refused(post(raw, aggregation="sum"), 400, path)

    assert all(key == "definition" or key.startswith("definition.") for key in body), body


def test_every_problem_is_reported_at_once(post):
    raw = {"version": 1, "event": "", "filters": [{"property": "p", "op": "gt", "value": "x"}]}

    body = refused(post(raw), 400)

    assert {"definition.event", "definition.filters.0.value"} <= set(body)
