"""``POST …/power/`` and ``liftlab power``: the plan of ``analysis.power``, asked by any member."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from liftlab.analysis.baseline import Window, query_baseline
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.power import parse_question, plan
from liftlab.analysis.spec import MetricSpec
from liftlab.cli import main
from liftlab.eventstore import open_store

from . import paths
from .bodies import P90_LATENCY
from .events import event, hours_ago, store_events
from .expect import ok, refused

TYPED = {
    "baseline": {"mean": 10.0, "variance": 25.0},
    "mde": 0.05,
    "daily_traffic": 1000,
    "weights": [0.5, 0.25, 0.25],
}


def power_path(key: str) -> str:
    return f"{paths.environment(key)}power/"


def ask(client, environment, body) -> object:
    return client.post(power_path(environment.key), body, format="json")


def test_a_viewer_asks_and_gets_the_plan_of_both_designs(viewer, environment):
    answer = ok(ask(viewer, environment, TYPED))
    expected = plan(parse_question(TYPED)).model_dump(mode="json")
    assert answer == {**expected, "measured": None}
    assert answer["fixed_horizon"]["identities"] < answer["sequential"]["identities"]
    assert answer["alpha_per_comparison"] == 0.025


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("outsider", 404), ("superuser", 200)]
)
def test_who_may_ask(request, environment, who, status):
    response = ask(request.getfixturevalue(who), environment, TYPED)
    assert response.status_code == status, response.content


def test_switched_off_experimentation_refuses_with_403(admin, environment):
    environment.experimentation_enabled = False
    environment.save()
    refused(ask(admin, environment, TYPED), 403, "detail")


def test_only_post_is_allowed(viewer, environment):
    assert viewer.get(power_path(environment.key)).status_code == 405
    assert viewer.delete(power_path(environment.key)).status_code == 405


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"baseline": {"mean": 1.5, "conversion": True}}, "baseline.mean"),
        ({"baseline": {"mean": 5}}, "baseline.variance"),
        ({"baseline": "ten"}, "baseline"),
        ({"baseline": {"metric": "1"}}, "baseline.metric"),
        ({"baseline": {"metric": 1, "days": 0}}, "baseline.days"),
        ({"mde": "5%"}, "mde"),
        ({"mde": 1e308}, "mde"),
        ({"mde": 10**400}, "mde"),
        ({"alpha": 0.7}, "alpha"),
        ({"weights": [1, -1]}, "weights.1"),
        ({"weights": list(range(1, 30))}, "weights"),
        ({"daily_traffic": None}, "daily_traffic"),
        ({"daily_traffic": 1e-9}, "daily_traffic"),
        ({"identities": 10**30}, "identities"),
        ({"sequential_tuning": 0}, "sequential_tuning"),
        ({"mde": 1e-9}, "mde"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_a_bad_question_is_a_400_naming_the_field(viewer, environment, change, field):
    refused(ask(viewer, environment, {**TYPED, **change}), 400, field)


def test_a_typed_baseline_needs_the_traffic(viewer, environment):
    body = {k: v for k, v in TYPED.items() if k != "daily_traffic"}
    refused(ask(viewer, environment, body), 400, "daily_traffic")


@pytest.mark.parametrize("body", [[TYPED], "power", 3, None])
def test_a_body_that_is_no_object_is_a_400(viewer, environment, body):
    refused(ask(viewer, environment, body), 400)


@pytest.mark.parametrize(
    "hostile",
    ["x'\\\"`; DROP TABLE events; --", "\x00", "\ud800", "日本" * 300, "{p0:String}"],
)
def test_hostile_strings_anywhere_are_refused_by_name_never_a_500(viewer, environment, hostile):
    for body in (
        {**TYPED, hostile: 1},
        {**TYPED, "scale": hostile},
        {**TYPED, "baseline": {"mean": 1.0, "variance": 1.0, hostile: hostile}},
        {**TYPED, "baseline": {"metric": hostile}},
        {**TYPED, "weights": [hostile, 1]},
    ):
        response = ask(viewer, environment, body)
        assert response.status_code == 400, response.content
        json.loads(response.content)


def purchases(environment) -> list:
    """u0…u29 visit 3 days ago, the even ones buy 2 and the multiples of three buy again."""
    rows = [event(environment.key, "visit", f"u{i}", hours_ago(72)) for i in range(30)]
    rows += [
        event(environment.key, "purchase", f"u{i}", hours_ago(48), value="2")
        for i in range(0, 30, 2)
    ]
    rows += [
        event(environment.key, "purchase", f"u{i}", hours_ago(24), value="1")
        for i in range(0, 30, 3)
    ]
    rows.append(event(environment.key, "purchase", "late", hours_ago(40 * 24), value="9"))
    return rows


def test_a_metrics_baseline_is_read_from_the_events(viewer, environment, create_metric):
    store_events(purchases(environment))
    metric = create_metric(aggregation="sum", definition={"version": 1, "event": "purchase"})
    body = {**TYPED, "baseline": {"metric": metric["id"], "days": 28}}
    body.pop("daily_traffic")
    answer = ok(ask(viewer, environment, body))
    spec = MetricSpec("m", "sum", parse_definition(metric["definition"]))
    measured = query_baseline(environment.key, spec, open_store().query, Window.until_now(28))
    assert answer["measured"] == {
        "metric": metric["id"],
        "days": 28,
        "identities": 30,
        "daily_traffic": 30 / 28,
        "cap": None,
    }
    assert answer["baseline"] == {
        "conversion": False,
        "mean": pytest.approx(measured.mean),
        "variance": pytest.approx(measured.variance),
    }
    assert answer["daily_traffic"] == 30 / 28
    own_traffic = ok(ask(viewer, environment, {**body, "daily_traffic": 5}))
    assert own_traffic["fixed_horizon"]["days"] == -(
        -own_traffic["fixed_horizon"]["identities"] // 5
    )


def test_a_conversion_metrics_baseline_is_its_rate(viewer, environment, create_metric):
    store_events(purchases(environment))
    metric = create_metric(aggregation="occurrence", definition={"version": 1, "event": "purchase"})
    answer = ok(ask(viewer, environment, {**TYPED, "baseline": {"metric": metric["id"]}}))
    assert answer["baseline"] == {"conversion": True, "mean": 2 / 3, "variance": None}
    assert answer["daily_traffic"] == 1000  # the request's own


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("quantile", "not supported for baseline"),
        ("elsewhere", "no metric"),
        ("missing", "no metric"),
        ("no data", "no baseline"),
    ],
)
def test_a_metric_without_a_baseline_is_a_400_naming_it(
    viewer, environment, create_metric, other_environment, outsider, kind, words
):
    """A quantile, another environment's metric, no metric at all, one without events."""
    metrics = {
        "quantile": lambda: create_metric(aggregation="quantile", definition=P90_LATENCY),
        "elsewhere": lambda: create_metric(key=other_environment.key, client=outsider),
        "missing": lambda: {"id": 10**9},
        "no data": lambda: create_metric(definition={"version": 1, "event": "never"}),
    }
    body = {**TYPED, "baseline": {"metric": metrics[kind]()["id"], "days": 7}}
    errors = refused(ask(viewer, environment, body), 400, "baseline.metric")
    assert words in errors["baseline.metric"]


def test_the_endpoint_is_published_with_its_errors(anonymous):
    schema = ok(anonymous.get(paths.SCHEMA, {"format": "json"}))
    operation = schema["paths"]["/api/v1/environments/{environment_key}/power/"]["post"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    request = schema["components"]["schemas"]["PowerPlanRequest"]
    assert request["additionalProperties"] is False
    assert {"baseline", "mde"} <= set(request["required"])


def run_cli(capsys, *options: str) -> tuple[int, str, str]:
    code = main(["power", *options])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_prints_both_designs_as_the_api_answers(capsys, viewer, environment):
    code, out, _ = run_cli(
        capsys,
        "--mean",
        "10",
        "--variance",
        "25",
        "--mde",
        "0.05",
        "--daily-traffic",
        "1000",
        "--weights",
        "50,25,25",
        "--json",
    )
    assert code == 0
    api = ok(ask(viewer, environment, TYPED))
    assert json.loads(out) == {k: v for k, v in api.items() if k != "measured"}
    code, out, _ = run_cli(
        capsys,
        "--mean",
        "0.1",
        "--conversion",
        "--mde",
        "0.01",
        "--absolute",
        "--daily-traffic",
        "500",
        "--sequential",
        "--identities",
        "20000",
    )
    assert code == 0
    assert "Fixed horizon" in out and "Sequential (chosen)" in out and "MDE at 20,000" in out
    assert "±1.00 pp from a rate of 10.0%" in out


def test_the_command_reads_a_metrics_baseline(capsys, environment, create_metric):
    store_events(purchases(environment))
    metric = create_metric(aggregation="sum", definition={"version": 1, "event": "purchase"})
    code, out, _ = run_cli(
        capsys, "--metric", str(metric["id"]), "--environment", environment.key, "--mde", "0.1"
    )
    assert code == 0
    assert "30 identities active in the last 28 days" in out and "Sequential" in out


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--mean", "1.5", "--conversion", "--daily-traffic", "1"], "baseline.mean"),
        (["--mean", "1", "--variance", "1", "--daily-traffic", "nan"], "daily_traffic"),
        (["--daily-traffic", "1"], "give --mean"),
        (["--mean", "1", "--variance", "1", "--weights", "a,b"], "--weights"),
        (["--metric", "1"], "--environment"),
        (["--metric", "1", "--environment", "nope"], "no environment"),
    ],
)
def test_the_command_says_what_is_wrong_in_one_line(capsys, options, words):
    code, _, err = run_cli(capsys, "--mde", "0.05", *options)
    assert code == 2 and words in err and err.count("\n") == 1


def test_the_window_ends_now(environment):
    window = Window.until_now(7)
    assert window.end_ms - window.start_ms == timedelta(days=7) // timedelta(milliseconds=1)
