"""Refreshes besides the schedule: ``liftlab results refresh`` for cron, ``?refresh=true`` for
admins, and how old results are on the terminal."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from liftlab.cli import main
from liftlab.eventstore import EventStoreError
from liftlab.experiments import results as experiment_results
from liftlab.experiments.models import ResultCache

from . import paths
from .expect import ok
from .results_data import USERS_PER_ARM, results, simulate


@pytest.fixture
def second_running(create_experiment, create_metric, attach, transition) -> dict:
    """Another running experiment, with one metric and no traffic."""
    experiment = create_experiment()
    attach(experiment["id"], create_metric(name="signups")["id"])
    transition(experiment["id"], "start")
    return experiment


def traffic(environment, experiment: dict, seed: int) -> None:
    variants = [v["key"] for v in experiment["variants"]]
    simulate(environment.key, experiment["feature_name"], variants, seed=seed)


def cached_total(experiment: dict) -> int:
    cache = ResultCache.objects.get(experiment_id=experiment["id"])
    return cache.document["exposures"]["total"]


def test_refresh_all_recomputes_every_running_experiment_past_the_throttle(
    admin, environment, experiment_with_metrics, second_running, capsys
):
    experiment, _ = experiment_with_metrics
    traffic(environment, experiment, seed=11)
    results(admin, environment, experiment["id"])  # cached now: a person's refresh waits
    traffic(environment, experiment, seed=12)

    assert main(["results", "refresh", "--all"]) == 0

    assert cached_total(experiment) == 4 * USERS_PER_ARM
    assert cached_total(second_running) == 0
    lines = capsys.readouterr().out.splitlines()
    for refreshed, line in zip((experiment, second_running), lines, strict=False):
        assert line.startswith(f"refreshed experiment {refreshed['id']} (")
        assert f"environment {environment.key}) in " in line and line.endswith(" s")
    assert lines[-1].startswith("2 refreshed, 0 failed, in ")


def test_refresh_one_experiment(admin, environment, experiment_with_metrics, capsys):
    experiment, _ = experiment_with_metrics
    traffic(environment, experiment, seed=13)
    assert main(["results", "refresh", environment.key, str(experiment["id"])]) == 0
    assert cached_total(experiment) == 2 * USERS_PER_ARM
    assert capsys.readouterr().out.startswith(f"refreshed experiment {experiment['id']} (")


def test_each_failure_is_named_the_others_refresh_and_the_exit_status_says_so(
    environment, experiment_with_metrics, second_running, monkeypatch, capsys
):
    experiment, _ = experiment_with_metrics
    compute = experiment_results.compute_document

    def store_down_for_the_first(target, end):
        if target.pk == experiment["id"]:
            raise EventStoreError("connection refused (127.0.0.1:8123)")
        return compute(target, end)

    monkeypatch.setattr(experiment_results, "compute_document", store_down_for_the_first)
    assert main(["results", "refresh", "--all"]) == 1

    out, err = capsys.readouterr()
    assert f"experiment {experiment['id']} (" in err
    assert re.search(r"not refreshed after \d+\.\d\d s: connection refused \(127", err)
    assert f"refreshed experiment {second_running['id']} (" in out
    assert out.splitlines()[-1].startswith("1 refreshed, 1 failed, in ")
    assert not ResultCache.objects.filter(experiment_id=experiment["id"]).exists()


def test_only_running_experiments_are_refreshed(
    environment, experiment_with_metrics, transition, capsys
):
    experiment, _ = experiment_with_metrics
    transition(experiment["id"], "pause")
    assert main(["results", "refresh", "--all"]) == 0
    assert capsys.readouterr().out == "no running experiments to refresh\n"
    assert main(["results", "refresh", environment.key, str(experiment["id"])]) == 1
    assert "only running experiments' results are refreshed; this one is paused." in (
        capsys.readouterr().err
    )


def test_environments_with_experimentation_off_are_not_refreshed(
    environment, experiment_with_metrics, capsys
):
    environment.experimentation_enabled = False
    environment.save()
    assert main(["results", "refresh", "--all"]) == 0
    assert capsys.readouterr().out == "no running experiments to refresh\n"
    environment.experimentation_enabled = True
    environment.save()
    assert main(["results", "refresh", "--all"]) == 0
    assert "1 refreshed, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "words",
    [["refresh"], ["refresh", "--all", "KEY", "1"], ["refresh", "KEY"]],
    ids=["neither", "both", "no-id"],
)
def test_refresh_takes_all_or_one_experiment(words, capsys):
    assert main(["results", *words]) == 2
    assert "results refresh takes --all, or ENV_KEY EXPERIMENT_ID" in capsys.readouterr().err


def test_the_short_form_still_shows_results_and_says_how_old_they_are(
    admin, environment, experiment_with_metrics, capsys
):
    experiment, _ = experiment_with_metrics
    traffic(environment, experiment, seed=14)
    key, pk = environment.key, str(experiment["id"])
    assert main(["results", key, pk, "--json"]) == 0
    short = {**json.loads(capsys.readouterr().out), "cached": True}
    assert main(["results", "show", key, pk, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == short

    twelve_minutes_ago = timezone.now() - timedelta(minutes=12)
    cache = ResultCache.objects.get(experiment_id=experiment["id"])
    cache.computed_at = twelve_minutes_ago
    cache.document["computed_at"] = twelve_minutes_ago.isoformat()
    cache.save()
    assert main(["results", key, pk]) == 0
    assert "(running, updated 12 min ago: " in capsys.readouterr().out

    ok(admin.post(paths.experiments(key, experiment["id"], "complete")))
    assert main(["results", key, pk]) == 0
    assert "(completed, final, computed just now: " in capsys.readouterr().out


def test_a_viewers_refresh_is_ignored_and_the_document_says_why(
    admin, viewer, environment, experiment_with_metrics
):
    experiment, _ = experiment_with_metrics
    first = results(viewer, environment, experiment["id"])
    assert first["refresh"] is None
    ResultCache.objects.filter(experiment_id=experiment["id"]).update(
        computed_at=timezone.now() - timedelta(minutes=2)  # past the throttle
    )

    asked = results(viewer, environment, experiment["id"], refresh="true")
    assert asked["cached"] is True and asked["computed_at"] == first["computed_at"]
    assert asked["refresh"].startswith("only the environment's admins may refresh results")
    age = timezone.now() - datetime.fromisoformat(asked["computed_at"])
    assert timedelta(0) <= age < timedelta(minutes=1)  # computed_at: how old the figures are

    refreshed = results(admin, environment, experiment["id"], refresh="true")
    assert refreshed["cached"] is False and refreshed["refresh"] is None


def test_a_viewer_asking_to_refresh_final_results_gets_them_as_they_are(
    admin, viewer, environment, experiment_with_metrics
):
    experiment, _ = experiment_with_metrics
    ok(admin.post(paths.experiments(environment.key, experiment["id"], "complete")))
    final = results(viewer, environment, experiment["id"])
    assert results(viewer, environment, experiment["id"], refresh="true") == final
