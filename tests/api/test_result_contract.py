"""The result contract through the API: every served document fits the live OpenAPI schema,
snapshots keep their version, settings changes reach the figures and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from liftlab.eventstore.errors import MISSING, EventStoreError
from liftlab.experiments.models import (
    Experiment,
    MetricResultSnapshot,
    ResultCache,
    ResultSnapshot,
)

from . import paths
from .expect import created, ok, refused
from .results_data import results, simulate, simulate_with


@pytest.fixture
def result_schema(anonymous) -> Draft202012Validator:
    """A validator for the results response, read from the live OpenAPI document."""
    schema = ok(anonymous.get("/api/schema/", {"format": "json"}))
    path = "/api/v1/environments/{environment_key}/experiments/{id}/results/"
    body = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return Draft202012Validator({**body["schema"], "components": schema["components"]})


def assert_fits(validator: Draft202012Validator, document: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.mark.parametrize(
    "analysis",
    [
        {},
        {"sequential": True, "correction": "holm"},
        {"engine": "bayesian", "scale": "absolute", "prior": {"mean": 0.0, "sd": 1.0}},
    ],
    ids=["default", "sequential", "bayesian"],
)
def test_a_running_experiments_document_fits_the_published_schema(
    admin, environment, experiment_with_metrics, result_schema, analysis
):
    experiment, _ = experiment_with_metrics
    simulate_with(admin, environment, experiment, analysis, seed=11)
    document = results(admin, environment, experiment["id"])
    assert document["schema_version"] == 2
    assert document["decisions"] and document["metrics"]
    assert_fits(result_schema, document)


def test_changing_the_analysis_recomputes_and_is_marked_as_after_start(
    admin, environment, experiment_with_metrics
):
    experiment, _ = experiment_with_metrics
    variants = [v["key"] for v in experiment["variants"]]
    simulate(environment.key, experiment["feature_name"], variants, seed=12)
    before = results(admin, environment, experiment["id"])
    assert before["analysis_changed_after_start"] is False
    methods = {x["method"] for m in before["metrics"] for x in m["comparisons"]}
    assert methods == {"fixed_horizon"}

    url = paths.experiments(environment.key, experiment["id"])
    ok(admin.patch(url, {"analysis": {"engine": "bayesian"}}, format="json"))
    after = results(admin, environment, experiment["id"])
    assert after["cached"] is False and after["analysis_changed_after_start"] is True
    comparisons = [x for m in after["metrics"] for x in m["comparisons"]]
    assert {x["method"] for x in comparisons} == {"bayesian"}
    assert all(x["chance_to_win"] is not None and x["p_value"] is None for x in comparisons)


def test_a_new_engine_version_is_never_served_from_an_older_cache(
    admin, environment, experiment_with_metrics, monkeypatch
):
    experiment, _ = experiment_with_metrics
    results(admin, environment, experiment["id"])
    assert results(admin, environment, experiment["id"])["cached"] is True
    stored = ResultCache.objects.get(experiment_id=experiment["id"]).fingerprint
    monkeypatch.setattr("liftlab.experiments.results.ENGINE_VERSION", "99.0.0")
    assert results(admin, environment, experiment["id"])["cached"] is False
    assert ResultCache.objects.get(experiment_id=experiment["id"]).fingerprint != stored


def test_the_audit_log_keeps_the_old_and_new_analysis(admin, environment, experiment_with_metrics):
    experiment, _ = experiment_with_metrics
    url = paths.experiments(environment.key, experiment["id"])
    ok(admin.patch(url, {"analysis": {"alpha": 0.01, "correction": "holm"}}, format="json"))
    entry = ok(admin.get(paths.audit_log(environment.key)))["results"][0]
    assert entry["action"] == "update"
    assert entry["before"]["analysis"]["alpha"] == 0.05
    assert entry["before"]["analysis"]["correction"] == "benjamini_hochberg"
    assert entry["after"]["analysis"]["alpha"] == 0.01
    assert entry["after"]["analysis"]["correction"] == "holm"
    assert entry["after"]["analysis_changed_at"] is not None


def test_a_viewer_cannot_change_the_analysis(viewer, environment, experiment_with_metrics):
    experiment, _ = experiment_with_metrics
    url = paths.experiments(environment.key, experiment["id"])
    refused(viewer.patch(url, {"analysis": {"alpha": 0.2}}, format="json"), 403)
    assert Experiment.objects.get(pk=experiment["id"]).analysis.get("alpha") is None


def test_a_frozen_snapshot_keeps_the_version_it_was_made_with(
    admin, environment, experiment_with_metrics, result_schema
):
    experiment, _ = experiment_with_metrics
    simulate(
        environment.key,
        experiment["feature_name"],
        [v["key"] for v in experiment["variants"]],
        seed=13,
    )
    ok(admin.post(paths.experiments(environment.key, experiment["id"], "complete")))
    frozen = results(admin, environment, experiment["id"])
    assert frozen["schema_version"] == 2 and frozen["is_final"] is True
    snapshot = ResultSnapshot.objects.get(experiment_id=experiment["id"])
    snapshot.summary = {**snapshot.summary, "engine_version": "2.0.0-old"}
    snapshot.save()
    again = results(admin, environment, experiment["id"])
    assert again["engine_version"] == "2.0.0-old"  # served as made, never recomputed
    assert_fits(result_schema, again)


def version_1_snapshot(experiment_id: int, metric_id: int) -> tuple[dict, dict]:
    """A snapshot as engine version 1 froze it: no schema_version, untyped comparisons."""
    summary = {
        "experiment": experiment_id,
        "status": "completed",
        "is_final": True,
        "computed_at": "2026-11-01T10:00:00+00:00",
        "alpha": 0.05,
        "window": {"start": "2026-10-01T00:00:00+00:00", "end": "2026-10-15T00:00:00+00:00"},
        "exposures": {
            "total": 200,
            "quarantined": 0,
            "unknown_variant": 0,
            "variants": [
                {"variant": "control", "n": 100, "expected_share": 0.5},
                {"variant": "treatment", "n": 100, "expected_share": 0.5},
            ],
            "daily": [{"date": "2026-10-01", "variant": "control", "identities": 100}],
        },
        "srm": {"p_value": 1.0, "mismatch": False},
    }
    metric = {
        "metric": metric_id,
        "name": "revenue",
        "metric_type": "numeric",
        "aggregation": "sum",
        "expected_direction": "increase",
        "role": "primary",
        "higher_is_better": True,
        "variants": [
            {"variant": "control", "n": 100, "mean": 10.0, "variance": 4.0, "sum": 1000.0},
            {"variant": "treatment", "n": 100, "mean": 11.0, "variance": 4.0, "sum": 1100.0},
        ],
        "comparisons": [
            {
                "variant": "treatment",
                "test": "welch_t",
                "absolute_lift": 1.0,
                "absolute_ci": [0.44, 1.56],
                "relative_lift": 0.1,
                "relative_ci": [0.04, 0.16],
                "relative_lift_reason": None,
                "p_value": 0.0006,
                "significant": True,
                "verdict": "win",
            }
        ],
        "verdict": "win",
    }
    return summary, metric


def test_a_version_1_snapshot_is_still_served_and_described(
    admin, environment, create_metric, create_experiment, result_schema
):
    experiment = create_experiment()
    metric = create_metric(name="revenue")
    Experiment.objects.filter(pk=experiment["id"]).update(status="completed")
    summary, result = version_1_snapshot(experiment["id"], metric["id"])
    snapshot = ResultSnapshot.objects.create(
        experiment_id=experiment["id"], computed_at="2026-11-01T10:00:00+00:00", summary=summary
    )
    MetricResultSnapshot.objects.create(
        snapshot=snapshot, metric_id=metric["id"], position=0, result=result
    )
    served = results(admin, environment, experiment["id"])
    assert served["schema_version"] == 1
    assert served["metrics"][0]["comparisons"][0]["verdict"] == "win"
    assert served["alpha"] == 0.05
    assert_fits(result_schema, served)


@pytest.mark.parametrize("margin", [-0.01, 1.0, 7, "1%", True])
def test_a_guardrail_margin_is_a_fraction(
    admin, environment, create_metric, create_experiment, margin
):
    experiment = create_experiment()
    metric = create_metric(name="latency")
    body = {
        "metric": metric["id"],
        "expected_direction": "no_change",
        "role": "guardrail",
        "non_inferiority_margin": margin,
    }
    url = paths.experiments(environment.key, experiment["id"], "metrics")
    refused(admin.post(url, body, format="json"), 400, "non_inferiority_margin")


def test_a_margin_belongs_to_guardrails(admin, environment, create_metric, create_experiment):
    experiment = create_experiment()
    metric = create_metric(name="latency")
    url = paths.experiments(environment.key, experiment["id"], "metrics")
    body = {
        "metric": metric["id"],
        "expected_direction": "increase",
        "role": "primary",
        "non_inferiority_margin": 0.02,
    }
    refused(admin.post(url, body, format="json"), 400, "non_inferiority_margin")
    guardrail = created(admin.post(url, {**body, "role": "guardrail"}, format="json"))
    assert guardrail["non_inferiority_margin"] == 0.02


def test_cached_results_are_not_served_from_a_store_that_stopped_answering(
    admin, environment, experiment_with_metrics, monkeypatch
):
    experiment, _ = experiment_with_metrics
    results(admin, environment, experiment["id"])  # computed and cached

    class LostStore:
        def query(self, *_):
            raise EventStoreError("/secret/path/events is missing", MISSING)

    monkeypatch.setattr("liftlab.experiments.results.open_store", lambda *_: LostStore())
    response = admin.get(paths.experiments(environment.key, experiment["id"], "results"))
    assert response.status_code == 503
    assert "/secret/path" not in response.content.decode()
