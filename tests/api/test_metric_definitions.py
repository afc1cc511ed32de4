"""Metric definitions over the API: every operator accepted in its shape, versions 1 and 2 (caps,
quantiles, ratios), every mistake a 400 whose key is the full path of the offending field, and
nothing stored when a request is refused."""

from __future__ import annotations

import pytest

from liftlab.experiments.models import Metric

from . import paths
from .bodies import CAPPED_REVENUE, P90_LATENCY, REVENUE_PER_ORDER, metric_body
from .expect import created, ok, refused


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
        (definition(version=3), "definition.version"),
        (definition(version=True), "definition.version"),
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


def v2(**changes: object) -> dict[str, object]:
    return {"version": 2, "event": "purchase", **changes}


def part(aggregation: str = "count", **changes: object) -> dict[str, object]:
    return {"event": "purchase", "aggregation": aggregation, **changes}


def ratio(**changes: object) -> dict[str, object]:
    return {**REVENUE_PER_ORDER, **changes}


@pytest.mark.parametrize(
    ("aggregation", "raw", "metric_type", "stored"),
    [
        (
            "sum",
            CAPPED_REVENUE,
            "numeric",
            {
                "version": 2,
                "event": "purchase",
                "value": "amount",
                "filters": [],
                "window": None,
                "cap": {"type": "percentile", "value": 0.99},
                "quantile": None,
            },
        ),
        (
            "ratio",
            ratio(cap={"type": "absolute", "value": 500.0}, window={"hours": 168}),
            "ratio",
            {
                "version": 2,
                "numerator": {
                    "event": "purchase",
                    "value": "amount",
                    "filters": [],
                    "aggregation": "sum",
                },
                "denominator": {
                    "event": "purchase",
                    "value": None,
                    "filters": [],
                    "aggregation": "count",
                },
                "window": {"hours": 168},
                "cap": {"type": "absolute", "value": 500.0},
            },
        ),
        (
            "quantile",
            P90_LATENCY,
            "quantile",
            {
                "version": 2,
                "event": "request",
                "value": "latency_ms",
                "filters": [],
                "window": None,
                "cap": None,
                "quantile": {"q": 0.9, "level": "event"},
            },
        ),
    ],
    ids=["capped-sum", "ratio", "p90"],
)
def test_version_2_metrics_are_stored_in_canonical_form(
    post, admin, environment, aggregation, raw, metric_type, stored
):
    metric = created(post(raw, aggregation=aggregation))

    assert (metric["aggregation"], metric["metric_type"]) == (aggregation, metric_type)
    assert metric["definition"] == stored
    assert Metric.objects.get(pk=metric["id"]).definition == stored
    assert ok(admin.get(paths.metrics(environment.key, metric["id"]))) == metric


@pytest.mark.parametrize(
    ("aggregation", "raw"),
    [
        ("count", v2(cap={"type": "absolute", "value": 20}, window={"hours": 24})),
        ("mean", v2(value="amount", cap={"type": "percentile", "value": 0.5})),
        ("occurrence", v2(filters=[{"property": "plan", "op": "is_set"}])),
        ("quantile", v2(quantile={"q": 0.5, "level": "identity"})),
        ("quantile", v2(value="amount", quantile={"q": 0.999, "level": "event"})),
        ("ratio", ratio(numerator=part("occurrence"), denominator=part("sum"))),
        (
            "ratio",
            ratio(
                numerator=part(
                    "sum", value=None, filters=[{"property": "p", "op": "gt", "value": 1}]
                )
            ),
        ),
    ],
)
def test_each_version_2_kind_is_accepted(post, aggregation, raw):
    metric = created(post(raw, aggregation=aggregation))

    assert metric["definition"]["version"] == 2


@pytest.mark.parametrize(
    ("raw", "aggregation", "paths_named"),
    [
        # check_metric: the aggregation against the definition
        (definition(), "ratio", ["definition.numerator"]),
        (ratio(), "sum", ["aggregation"]),
        (ratio(), "quantile", ["aggregation", "definition.quantile"]),
        (definition(value="latency_ms"), "quantile", ["definition.quantile"]),
        (P90_LATENCY, "sum", ["aggregation"]),
        (v2(value="amount"), "count", ["definition.value"]),
        (ratio(denominator=part(value="n")), "ratio", ["definition.denominator.value"]),
        (v2(cap={"type": "absolute", "value": 1}), "occurrence", ["definition.cap"]),
        ({**P90_LATENCY, "cap": {"type": "absolute", "value": 1}}, "quantile", ["definition.cap"]),
        # the new parts' own values
        (v2(cap={"type": "percentile", "value": 99}), "count", ["definition.cap.value"]),
        (v2(cap={"type": "absolute", "value": -1}), "count", ["definition.cap.value"]),
        (v2(cap={"type": "absolute", "value": "1"}), "count", ["definition.cap.value"]),
        (v2(cap={"type": "winsor", "value": 1}), "count", ["definition.cap.type"]),
        (v2(cap=[1]), "count", ["definition.cap"]),
        (v2(quantile={"q": 90, "level": "event"}), "quantile", ["definition.quantile.q"]),
        (v2(quantile={"q": 0.9}), "quantile", ["definition.quantile.level"]),
        (v2(quantile={"q": 0.9, "level": "user"}), "quantile", ["definition.quantile.level"]),
        (ratio(denominator=None), "ratio", ["definition.denominator"]),
        (ratio(numerator=part("mean")), "ratio", ["definition.numerator.aggregation"]),
        (ratio(numerator=part(event="")), "ratio", ["definition.numerator.event"]),
        (
            ratio(numerator=part(filters=[{"property": "p", "op": "like"}])),
            "ratio",
            ["definition.numerator.filters.0.op"],
        ),
        (ratio(event="purchase"), "ratio", ["definition.event"]),
        (definition(cap={"type": "absolute", "value": 1}), "count", ["definition.cap"]),
    ],
)
def test_invalid_version_2_metrics_are_400_keyed_by_the_path(post, raw, aggregation, paths_named):
    body = refused(post(raw, aggregation=aggregation), 400)

    assert sorted(body) == sorted(paths_named)
    assert all(isinstance(messages, list) and messages for messages in body.values())
    assert not Metric.objects.exists()


def test_every_cross_field_problem_is_reported_at_once(admin, environment):
    raw = v2(value="amount", cap={"type": "absolute", "value": 1}, quantile=P90_LATENCY["quantile"])
    body = metric_body(aggregation="occurrence", metric_type="numeric", definition=raw)

    error = refused(admin.post(paths.metrics(environment.key), body, format="json"), 400)

    assert set(error) == {"aggregation", "definition.value", "definition.cap", "metric_type"}


def test_a_version_1_definition_is_not_upgraded(post):
    metric = created(post(definition(value="amount", window={"hours": 24}), aggregation="sum"))

    assert metric["definition"] == {
        "version": 1,
        "event": "purchase",
        "value": "amount",
        "filters": [],
        "window": {"hours": 24},
    }
