"""Numbers, booleans and ids of the wrong JSON type or out of range, and fields no one may set.

Each is a 400 naming the field: a weight of ``1e308`` used to overflow summing the weights
(a 500), ``"0.5"`` and ``"yes"`` were read as a number and a boolean, ``1.5`` as metric 1,
unknown fields were dropped without a word, and a start could be dated to year 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from . import paths
from .bodies import experiment_body, metric_body
from .expect import created, ok, refused


def variants(*weights: Any, **extra: Any) -> list[dict[str, Any]]:
    return [{"key": f"v{i}", "weight": w, **extra} for i, w in enumerate(weights)]


@pytest.fixture
def post_experiment(admin, environment):
    def post(**fields: Any):
        body = experiment_body(**fields)
        return admin.post(paths.experiments(environment.key), body, format="json")

    return post


@pytest.mark.parametrize(
    ("weights", "bad"),
    [
        ((1e308, 1e308), 0),
        ((10**400, 0.5), 0),
        ((1.5, -0.5), 0),
        ((0.5, 1e-400), 1),  # reads as 0.0
        ((0.5, -0.0), 1),
        (("0.5", "0.5"), 0),
        ((0.5, "0.5"), 1),
        ((True, 0.5), 0),
        ((None, 1.0), 0),
        (([0.5], 0.5), 0),
        (({"value": 0.5}, 0.5), 0),
    ],
    ids=[
        "huge",
        "huge-int",
        "above-1",
        "underflow",
        "negative-zero",
        "strings",
        "one-string",
        "boolean",
        "null",
        "list",
        "object",
    ],
)
def test_a_weight_must_be_a_json_number_in_0_to_1(post_experiment, weights, bad):
    body = refused(post_experiment(variants=variants(*weights)), 400, "variants")

    assert "weight" in body["variants"][str(bad)] or "weight" in body["variants"][bad]


def test_a_weight_of_1e308_is_no_longer_a_server_error(post_experiment):
    refused(post_experiment(variants=variants(1e308, 1e308)), 400, "variants")


def test_valid_weights_still_pass_including_one(post_experiment):
    created(post_experiment(variants=variants(1, 1e-12, 1e-12)))  # within the 1e-9 tolerance


def test_unknown_variant_fields_are_refused(post_experiment):
    body = refused(post_experiment(variants=variants(0.5, 0.5, colour="red")), 400, "variants")

    assert "colour" in str(body)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "running"),  # read-only: not silently ignored
        ("id", 7),
        ("started_at", "2026-01-01T00:00:00Z"),
        ("feature", "typo-for-feature_name"),
    ],
)
def test_fields_a_request_may_not_set_are_named(post_experiment, field, value):
    refused(post_experiment(**{field: value}), 400, field)


@pytest.mark.parametrize(
    ("resource", "field", "value"),
    [
        ("environment", "experimentation_enabled", "yes"),
        ("environment", "experimentation_enabled", 1),
        ("environment", "name", 5),
        ("environment", "colour", "red"),
        ("metric", "higher_is_better", "no"),
        ("metric", "description", 1.5),
        ("metric", "deleted_at", None),
        ("experiment", "name", ["x"]),
        ("experiment", "hypothesis", False),
        ("member", "x", 1),
    ],
)
def test_changes_take_only_the_documented_json_types(
    admin, environment, create_experiment, create_metric, resource, field, value
):
    key = environment.key
    url = {
        "environment": lambda: paths.environment(key),
        "metric": lambda: paths.metrics(key, create_metric()["id"]),
        "experiment": lambda: paths.experiments(key, create_experiment()["id"]),
        "member": lambda: paths.members(key, "victor"),
    }[resource]()

    refused(admin.patch(url, {field: value}, format="json"), 400, field)


def test_a_metric_body_takes_only_documented_fields(admin, environment):
    refused(
        admin.post(paths.metrics(environment.key), metric_body(owner="me"), format="json"),
        400,
        "owner",
    )


@pytest.fixture
def attach_body(admin, environment, create_experiment, create_metric):
    experiment = create_experiment()
    metric = create_metric()
    url = paths.attachments(environment.key, experiment["id"])

    def post(**fields: Any):
        body = {"metric": metric["id"], "expected_direction": "increase", **fields}
        return admin.post(url, body, format="json")

    return post, metric


@pytest.mark.parametrize(
    "value", [1.5, True, "1", None, [1], 10**30, -1], ids=lambda v: repr(v)[:12]
)
def test_a_metric_id_must_be_an_integer_naming_a_metric(attach_body, value):
    post, metric = attach_body
    if value == 1.5:
        value = metric["id"] + 0.5  # used to attach metric int(value)

    refused(post(metric=value), 400, "metric")


@pytest.mark.parametrize(
    "margin", [10**400, 1e308, "0.01", True, 1, -0.01], ids=lambda v: repr(v)[:12]
)
def test_a_margin_must_be_a_json_number_in_0_to_1(attach_body, margin):
    post, _ = attach_body

    refused(post(role="guardrail", non_inferiority_margin=margin), 400, "non_inferiority_margin")


@pytest.mark.parametrize(
    "days",
    [0, -1, 366, 10**30, 10**400, 1e308, 14.0, 14.5, -0.0, "14", True, False, [14]],
    ids=lambda v: repr(v)[:12],
)
def test_a_lookback_must_be_a_json_integer_in_1_to_365(attach_body, days):
    post, _ = attach_body

    body = refused(post(variance_reduction={"lookback_days": days}), 400, "variance_reduction")

    assert "lookback_days" in body["variance_reduction"]


def test_a_valid_margin_is_kept(attach_body):
    post, _ = attach_body

    assert created(post(role="guardrail", non_inferiority_margin=0))["non_inferiority_margin"] == 0


@pytest.fixture
def start(admin, environment, create_experiment):
    experiment = create_experiment()
    url = paths.experiments(environment.key, experiment["id"], "start")

    def post(body: Any):
        return admin.post(url, body, format="json")

    return post


@pytest.mark.parametrize(
    "started_at",
    [
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "tomorrow",  # now + 1 day, computed in the test (ids must not change between runs)
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
        1_700_000_000,
        True,
        "yesterday",
    ],
)
def test_a_start_is_dated_within_a_sane_window(start, started_at):
    if started_at == "tomorrow":
        started_at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused(start({"started_at": started_at}), 400, "started_at")


def test_a_start_dated_back_within_the_window_is_kept(start):
    assert ok(start({"started_at": "2000-01-01T00:00:00Z"}))["started_at"].startswith("2000-01-01")


def test_a_start_body_takes_only_started_at(start):
    refused(start({"startedAt": "2024-01-01T00:00:00Z"}), 400, "startedAt")


@pytest.mark.parametrize("page_size", ["abc", "0", "501", "-1", "1.5", "null", "١", "9" * 5000])
def test_a_page_size_must_be_a_whole_number_in_range(viewer, environment, page_size):
    """DRF used to fall back to 50 without a word."""
    refused(
        viewer.get(paths.audit_log(environment.key), {"page_size": page_size}), 400, "page_size"
    )


def test_a_page_size_in_range_is_kept(viewer, environment):
    assert ok(viewer.get(paths.audit_log(environment.key), {"page_size": 500}))["count"] >= 0


@pytest.mark.parametrize("refresh", ["null", "1", "yes", "", "True", "[]"])
def test_refresh_is_true_or_false(viewer, environment, create_experiment, refresh):
    """Anything but true used to mean false, silently."""
    url = paths.experiments(environment.key, create_experiment()["id"], "results")

    refused(viewer.get(url, {"refresh": refresh}), 400, "refresh")


def _with_cap(cap_type: str, value: Any) -> dict[str, Any]:
    return {
        "version": 2,
        "event": "buy",
        "value": "amount",
        "cap": {"type": cap_type, "value": value},
    }


def _with_quantile(q: Any) -> dict[str, Any]:
    return {"version": 2, "event": "buy", "value": "ms", "quantile": {"q": q, "level": "event"}}


@pytest.mark.parametrize(
    ("aggregation", "definition", "path"),
    [
        ("sum", _with_cap("absolute", 10**400), "definition.cap.value"),
        ("sum", _with_cap("absolute", -(10**400)), "definition.cap.value"),
        ("sum", _with_cap("absolute", -1e-300), "definition.cap.value"),
        ("sum", _with_cap("absolute", -0.0), "definition.cap.value"),
        ("sum", _with_cap("absolute", "100"), "definition.cap.value"),
        ("sum", _with_cap("absolute", True), "definition.cap.value"),
        ("sum", _with_cap("percentile", 1), "definition.cap.value"),
        ("sum", _with_cap("percentile", 1 + 1e-15), "definition.cap.value"),
        ("sum", _with_cap("percentile", 10**400), "definition.cap.value"),
        ("sum", _with_cap("percentile", "0.99"), "definition.cap.value"),
        ("quantile", _with_quantile(10**400), "definition.quantile.q"),
        ("quantile", _with_quantile(1.0), "definition.quantile.q"),
        ("quantile", _with_quantile(0), "definition.quantile.q"),
        ("quantile", _with_quantile(-0.0), "definition.quantile.q"),
        ("quantile", _with_quantile("0.9"), "definition.quantile.q"),
        ("quantile", _with_quantile(False), "definition.quantile.q"),
        ("quantile", _with_quantile([0.9]), "definition.quantile.q"),
        (
            "sum",
            {"version": 2, "event": "buy", "value": "v", "window": {"hours": 10**30}},
            "definition.window.hours",
        ),
    ],
    ids=lambda v: repr(v)[:40] if not isinstance(v, dict) else None,
)
def test_numbers_in_a_version_2_definition_are_json_numbers_in_range(
    admin, environment, aggregation, definition, path
):
    body = metric_body(aggregation=aggregation, definition=definition)

    refused(admin.post(paths.metrics(environment.key), body, format="json"), 400, path)


@pytest.mark.parametrize(
    ("aggregation", "definition", "kept"),
    [
        ("sum", _with_cap("absolute", 1e308), 1e308),
        ("sum", _with_cap("absolute", 5e-324), 5e-324),
        ("sum", _with_cap("percentile", 5e-324), 5e-324),
        ("sum", _with_cap("percentile", 1 - 2**-53), 1 - 2**-53),
        ("quantile", _with_quantile(1 - 2**-53), 1 - 2**-53),
        ("quantile", _with_quantile(5e-324), 5e-324),
    ],
    ids=["huge-cap", "tiny-cap", "tiny-level", "level-below-1", "q-below-1", "tiny-q"],
)
def test_extreme_valid_numbers_are_kept_exactly(admin, environment, aggregation, definition, kept):
    body = metric_body(aggregation=aggregation, definition=definition)

    stored = created(admin.post(paths.metrics(environment.key), body, format="json"))["definition"]

    assert (stored["cap"] or {}).get("value", kept) == kept
    assert (stored["quantile"] or {}).get("q", kept) == kept
