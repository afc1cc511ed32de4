"""Plans derived from stored experiments: the database, the REST API and the command."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from liftlab.accounts.models import Environment
from liftlab.cli import main
from liftlab.experiments.models import Experiment, ExperimentMetric, Metric
from liftlab.simulate import (
    AttachedMetric,
    ExperimentSpec,
    ExperimentUnavailable,
    PlanError,
    Variant,
    build_plan,
    expected_truth,
    parse_effect,
)
from liftlab.simulate.database import load_experiment
from liftlab.simulate.remote import fetch_experiment

from .plans import START

DEFINITIONS = {
    "Checkout conversion": ("occurrence", {"version": 1, "event": "purchase"}),
    "Revenue": ("sum", {"version": 1, "event": "purchase", "value": "amount"}),
    "Pro purchases in a day": (
        "count",
        {
            "version": 1,
            "event": "purchase",
            "filters": [{"property": "plan", "op": "eq", "value": "pro"}],
            "window": {"hours": 24},
        },
    ),
}


def stored_experiment() -> tuple[Environment, Experiment, list[Metric]]:
    environment = Environment.objects.create(name="Production")
    metrics = [
        Metric.objects.create(
            environment=environment,
            name=name,
            aggregation=aggregation,
            metric_type="conversion" if aggregation == "occurrence" else "numeric",
            definition=definition,
        )
        for name, (aggregation, definition) in DEFINITIONS.items()
    ]
    experiment = Experiment.objects.create(
        environment=environment,
        name="Green button",
        feature_name="checkout_button",
        variants=[{"key": "blue", "weight": 0.5}, {"key": "green", "weight": 0.5}],
        control_variant="blue",
    )
    for metric in metrics:
        ExperimentMetric.objects.create(
            experiment=experiment, metric=metric, expected_direction="increase"
        )
    return environment, experiment, metrics


def expected_spec(experiment: Experiment, metrics: list[Metric]) -> ExperimentSpec:
    return ExperimentSpec(
        flag="checkout_button",
        variants=(Variant("blue", 0.5), Variant("green", 0.5)),
        control="blue",
        exposure_event="$flag_exposure",
        metrics=tuple(
            AttachedMetric(str(m.pk), m.name, DEFINITIONS[m.name][0], m.definition) for m in metrics
        ),
    )


def test_a_plan_follows_the_metric_definitions() -> None:
    spec = ExperimentSpec(
        "flag",
        (Variant("a", 0.6), Variant("b", 0.4)),
        "a",
        "seen",
        tuple(
            AttachedMetric(str(i), name, aggregation, definition)
            for i, (name, (aggregation, definition)) in enumerate(DEFINITIONS.items())
        ),
    )
    plan = build_plan(
        spec, users=10, days=1, effects=[parse_effect("Revenue=+4%")], seed=3, start=START
    )
    conversion, revenue, pro = plan.metrics
    assert (plan.flag, plan.exposure_event, plan.control, plan.seed) == ("flag", "seen", "a", 3)
    assert revenue.value_property == "amount" and revenue.effects == {"b": 0.04}
    assert (pro.window_hours, pro.filters[0].property, pro.filters[0].value) == (24, "plan", "pro")
    assert conversion.event == "purchase" and conversion.value_property is None
    assert expected_truth(plan)["1"] == {"b": pytest.approx(0.04)}


VERSION_2 = {
    "Revenue, capped": (
        "sum",
        {
            "version": 2,
            "event": "purchase",
            "value": "amount",
            "window": {"hours": 168},
            "cap": {"type": "percentile", "value": 0.99},
        },
    ),
    "Clicks per session": (
        "ratio",
        {
            "version": 2,
            "numerator": {"event": "click", "aggregation": "count"},
            "denominator": {
                "event": "session",
                "aggregation": "count",
                "filters": [{"property": "plan", "op": "eq", "value": "pro"}],
            },
        },
    ),
    "Latency p90": (
        "quantile",
        {
            "version": 2,
            "event": "request",
            "value": "latency_ms",
            "quantile": {"q": 0.9, "level": "event"},
        },
    ),
}


def spec_of(definitions: dict[str, tuple[str, dict]]) -> ExperimentSpec:
    return ExperimentSpec(
        "f",
        (Variant("a", 1), Variant("b", 1)),
        "a",
        "$flag_exposure",
        tuple(
            AttachedMetric(str(i), name, aggregation, definition)
            for i, (name, (aggregation, definition)) in enumerate(definitions.items())
        ),
    )


def test_version_2_definitions_become_caps_ratios_and_quantiles() -> None:
    plan = build_plan(
        spec_of(VERSION_2),
        users=10,
        days=1,
        effects=[parse_effect("Latency p90=+5%"), parse_effect("Clicks per session=-10%")],
        start=START,
    )
    revenue, clicks, latency = plan.metrics
    assert (revenue.cap.type, revenue.cap.value, revenue.window_hours) == ("percentile", 0.99, 168)
    assert clicks.numerator.event == "click" and clicks.numerator.aggregation == "count"
    assert clicks.denominator.event == "session"
    assert clicks.denominator.filters[0].value == "pro"
    assert (latency.quantile.q, latency.quantile.level, latency.value_property) == (
        0.9,
        "event",
        "latency_ms",
    )
    truth = expected_truth(plan)
    assert truth["1"]["b"] == pytest.approx(-0.10) and truth["2"]["b"] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("aggregation", "definition", "message"),
    [
        ("count", {"version": 3, "event": "x"}, "version"),
        ("sum", VERSION_2["Latency p90"][1], "quantile"),
        ("count", VERSION_2["Clicks per session"][1], "ratio"),
        ("median", {"version": 1, "event": "x"}, "unknown aggregation"),
    ],
)
def test_a_stored_definition_the_schema_refuses_is_reported(
    aggregation: str, definition: dict, message: str
) -> None:
    with pytest.raises(PlanError, match=f"broken.*{message}"):
        build_plan(spec_of({"broken": (aggregation, definition)}), users=10, days=1)


@pytest.mark.django_db
def test_the_experiment_is_read_from_the_database() -> None:
    environment, experiment, metrics = stored_experiment()
    assert load_experiment(environment.key, experiment.pk) == expected_spec(experiment, metrics)
    with pytest.raises(ExperimentUnavailable, match="no experiment"):
        load_experiment("another-environment", experiment.pk)


def test_the_experiment_is_read_through_the_api(live_server) -> None:
    environment, experiment, metrics = stored_experiment()
    root = get_user_model().objects.create(username="root", is_superuser=True)
    token = Token.objects.create(user=root).key
    spec = fetch_experiment(live_server.url, environment.key, experiment.pk, token)
    assert spec == expected_spec(experiment, metrics)
    with pytest.raises(ExperimentUnavailable, match="refused"):
        fetch_experiment(live_server.url, environment.key, experiment.pk, "not-a-token")
    with pytest.raises(ExperimentUnavailable, match="not found"):
        fetch_experiment(live_server.url, environment.key, 10_000, token)


@pytest.mark.django_db
def test_the_command_writes_ndjson_and_prints_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment, experiment, metrics = stored_experiment()
    out = tmp_path / "events.ndjson"
    code = main(
        shlex.split(
            f"simulate --environment {environment.key} --experiment {experiment.pk} "
            f"--users 300 --days 2 --effect 'Checkout conversion=+10%' "
            f"--effect {metrics[1].pk}:green=-2% --seed 5 --out {out} --no-progress"
        )
    )
    printed = capsys.readouterr().out
    assert code == 0
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert {e["feature_name"] for e in events if e["event"] == "$flag_exposure"} == {
        "checkout_button"
    }
    assert "300 users" in printed and f"{len(events):,} events" in printed
    assert "+10.00%" in printed and "-2.00%" in printed


@pytest.mark.django_db
def test_the_command_sends_to_the_ingestion_api(serve, capsys: pytest.CaptureFixture[str]) -> None:
    environment, experiment, _ = stored_experiment()
    server = serve("before")
    code = main(
        shlex.split(
            f"simulate --environment {environment.key} --experiment {experiment.pk} "
            f"--users 200 --days 1 --duplicates 0.05 --send {server.url} --no-progress "
            "--ingestion-key ll_ik_given"
        )
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert all(headers["Authorization"] == "Bearer ll_ik_given" for _, headers, _ in server.posts)
    assert not any("X-Environment-Key" in headers for _, headers, _ in server.posts)
    duplicates = sum(len(json.loads(body)) for *_, body in server.posts[1:]) - len(server.stored)
    assert duplicates > 0
    assert f"accepted {len(server.stored):,} · duplicates {duplicates:,} · rejected 0" in printed
    assert "retries: 1" in printed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--experiment", "999"], "no experiment 999"),
        (["--effect", "Nope=+1%"], "no such metric"),
        (["--effect", "Revenue=+1"], "METRIC=+3%"),
        (["--effect", "Checkout conversion=+900%"], "out of reach"),
        (["--token", "t"], "give --send"),
    ],
)
def test_the_command_explains_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    environment, experiment, _ = stored_experiment()
    base = ["simulate", "--environment", environment.key, "--experiment", str(experiment.pk)]
    if "--experiment" in arguments:
        base = base[:3]
    common = ["--users", "10", "--days", "1", "--out", str(tmp_path / "x.ndjson")]
    assert main([*base, *common, *arguments]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.django_db
def test_sending_needs_an_ingestion_key(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LIFTLAB_INGESTION_KEY", raising=False)
    environment, experiment, _ = stored_experiment()
    code = main(
        shlex.split(
            f"simulate --environment {environment.key} --experiment {experiment.pk} "
            "--users 10 --days 1 --send http://127.0.0.1:9 --no-progress"
        )
    )
    assert code == 2
    assert "--send needs an ingestion key" in capsys.readouterr().err


@pytest.mark.django_db
def test_the_key_may_come_from_the_environment(
    serve, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIFTLAB_INGESTION_KEY", "ll_ik_from_env")
    environment, experiment, _ = stored_experiment()
    server = serve()
    code = main(
        shlex.split(
            f"simulate --environment {environment.key} --experiment {experiment.pk} "
            f"--users 20 --days 1 --send {server.url} --no-progress"
        )
    )
    assert code == 0, capsys.readouterr().err
    assert {headers["Authorization"] for _, headers, _ in server.posts} == {"Bearer ll_ik_from_env"}


def test_with_a_token_the_run_makes_its_own_key_and_revokes_it(
    live_server, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from liftlab.accounts.models import Membership, Role
    from liftlab.ingestion_keys.models import IngestionKey

    monkeypatch.delenv("LIFTLAB_INGESTION_KEY", raising=False)
    environment, experiment, _ = stored_experiment()
    admin = get_user_model().objects.create(username="ada")
    Membership.objects.create(environment=environment, user=admin, role=Role.ADMIN)
    token = Token.objects.create(user=admin).key
    code = main(
        shlex.split(
            f"simulate --environment {environment.key} --experiment {experiment.pk} "
            f"--users 50 --days 1 --send {live_server.url} --token {token} --no-progress"
        )
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "rejected 0" in captured.out
    (key,) = IngestionKey.objects.filter(environment=environment)
    assert key.name.startswith("liftlab simulate") and not key.active
    assert key.last_used_at is not None
