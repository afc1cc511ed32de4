"""The results endpoint end to end: API → one-scan query on the real store → statistics.

Every figure is checked against a brute-force computation from the raw per-identity values
(numpy, scipy, statsmodels), not against numbers the engine produced before.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from liftlab.cli import main
from liftlab.experiments.models import ResultCache

from . import paths
from .expect import ok, refused
from .results_data import HOSTILE, USERS_PER_ARM, results, simulate


def test_a_draft_experiment_has_no_results(admin, environment, create_experiment):
    experiment = create_experiment()
    refused(
        admin.get(paths.experiments(environment.key, experiment["id"], "results")), 400, "status"
    )


def test_no_exposures_yet_gives_zero_counts(admin, environment, experiment_with_metrics):
    experiment, _ = experiment_with_metrics
    document = results(admin, environment, experiment["id"])
    assert document["is_final"] is False
    assert document["exposures"]["total"] == 0
    assert [v["n"] for v in document["exposures"]["variants"]] == [0, 0]
    assert {m["verdict"] for m in document["metrics"]} == {"insufficient_data"}


def test_running_results_match_scipy_on_the_raw_data(
    admin, viewer, environment, experiment_with_metrics
):
    experiment, metrics = experiment_with_metrics
    variants = [v["key"] for v in experiment["variants"]]
    truth = simulate(environment.key, experiment["feature_name"], variants, seed=1)
    document = results(viewer, environment, experiment["id"])

    assert document["schema_version"] == 2
    assert document["exposures"]["total"] == 2 * USERS_PER_ARM
    assert [v["n"] for v in document["exposures"]["variants"]] == [USERS_PER_ARM] * 2
    by_metric = {m["metric"]: m for m in document["metrics"]}
    p_values = []
    for key, metric in metrics.items():
        result = by_metric[metric["id"]]
        control, treatment = (truth[v][key] for v in variants)
        ddof = 0 if key == "converted" else 1  # a proportion's variance is p(1 − p)
        for variant, values in zip(result["variants"], (control, treatment), strict=True):
            assert variant["n"] == len(values)
            assert variant["sum"] == pytest.approx(values.sum(), rel=1e-9)
            assert variant["mean"] == pytest.approx(values.mean(), rel=1e-9)
            assert variant["variance"] == pytest.approx(values.var(ddof=ddof), rel=1e-9)
        (comparison,) = result["comparisons"]
        assert comparison["variant"] == HOSTILE
        check_welch(comparison, control, treatment, ddof)
        p_values.append(comparison["p_value"])
    adjusted = multipletests(p_values, method="fdr_bh")[1]
    served = [by_metric[m["id"]]["comparisons"][0]["p_value_adjusted"] for m in metrics.values()]
    assert served == pytest.approx(adjusted, rel=1e-12)


def check_welch(comparison: dict, control: np.ndarray, treatment: np.ndarray, ddof: int) -> None:
    """Welch's test on the raw values: absolute by scipy, relative by the delta method.

    The default settings judge the relative lift, so the p-value is the relative test's.
    """
    var_c, var_t = control.var(ddof=ddof) / control.size, treatment.var(ddof=ddof) / treatment.size
    df = (var_c + var_t) ** 2 / (var_c**2 / (control.size - 1) + var_t**2 / (treatment.size - 1))
    quantile = scipy_stats.t.ppf(0.975, df)
    difference = treatment.mean() - control.mean()
    absolute = comparison["absolute"]
    assert comparison["method"] == "fixed_horizon" and comparison["scale"] == "relative"
    assert absolute["estimate"] == pytest.approx(difference, rel=1e-9)
    half = quantile * np.sqrt(var_c + var_t)
    assert [absolute["ci"]["low"], absolute["ci"]["high"]] == pytest.approx(
        [difference - half, difference + half], rel=1e-9
    )
    if ddof == 1:
        low, high = scipy_stats.ttest_ind(treatment, control, equal_var=False).confidence_interval()
        assert [absolute["ci"]["low"], absolute["ci"]["high"]] == pytest.approx([low, high])
    lift = difference / abs(control.mean())
    se = np.sqrt(var_t + (treatment.mean() / control.mean()) ** 2 * var_c) / abs(control.mean())
    relative = comparison["relative"]
    assert relative["estimate"] == pytest.approx(lift, rel=1e-9)
    assert relative["se"] == pytest.approx(se, rel=1e-9)
    expected_p = 2 * scipy_stats.t.sf(abs(lift / se), df)
    assert comparison["p_value"] == pytest.approx(expected_p, rel=1e-9)
    assert [relative["ci"]["low"], relative["ci"]["high"]] == pytest.approx(
        [lift - quantile * se, lift + quantile * se], rel=1e-9
    )


def test_results_are_cached_and_refreshes_are_throttled(
    admin, environment, experiment_with_metrics
):
    experiment, _ = experiment_with_metrics
    variants = [v["key"] for v in experiment["variants"]]
    simulate(environment.key, experiment["feature_name"], variants, seed=2)
    first = results(admin, environment, experiment["id"])
    assert first["cached"] is False

    simulate(environment.key, experiment["feature_name"], variants, seed=3)  # more traffic
    cached = results(admin, environment, experiment["id"])
    assert cached["cached"] is True and cached["computed_at"] == first["computed_at"]
    throttled = results(admin, environment, experiment["id"], refresh="true")
    assert throttled["computed_at"] == first["computed_at"]
    assert "refreshed again after" in throttled["refresh"]

    ResultCache.objects.filter(experiment_id=experiment["id"]).update(
        computed_at=timezone.now() - timedelta(minutes=2)
    )
    refreshed = results(admin, environment, experiment["id"], refresh="true")
    assert refreshed["cached"] is False
    assert refreshed["exposures"]["total"] == 2 * first["exposures"]["total"]


def test_attaching_a_metric_invalidates_the_cache(
    admin, environment, experiment_with_metrics, create_metric, attach
):
    experiment, _ = experiment_with_metrics
    before = results(admin, environment, experiment["id"])
    extra = create_metric(name="views", definition={"version": 1, "event": "page_view"})
    attach(experiment["id"], extra["id"])
    after = results(admin, environment, experiment["id"])
    assert after["cached"] is False
    assert len(after["metrics"]) == len(before["metrics"]) + 1


def test_completion_freezes_the_results(admin, environment, experiment_with_metrics, monkeypatch):
    experiment, _ = experiment_with_metrics
    variants = [v["key"] for v in experiment["variants"]]
    simulate(environment.key, experiment["feature_name"], variants, seed=4)
    ok(admin.post(paths.experiments(environment.key, experiment["id"], "complete")))
    final = results(admin, environment, experiment["id"])
    assert final["is_final"] is True and final["status"] == "completed"

    # Late events (stamped before the end) and a broken store change nothing any more.
    simulate(environment.key, experiment["feature_name"], variants, seed=5)
    monkeypatch.setattr(
        "liftlab.experiments.results.open_store",
        lambda *_: pytest.fail("a completed experiment must not query the event store"),
    )
    again = results(admin, environment, experiment["id"], refresh="true")
    assert again == final


def test_results_of_a_deleted_experiment_are_404(admin, environment, experiment_with_metrics):
    experiment, _ = experiment_with_metrics
    admin.delete(paths.experiments(environment.key, experiment["id"]))
    refused(admin.get(paths.experiments(environment.key, experiment["id"], "results")), 404)


def test_the_results_command_prints_the_document_and_a_table(
    admin, environment, experiment_with_metrics, capsys
):
    experiment, _ = experiment_with_metrics
    variants = [v["key"] for v in experiment["variants"]]
    simulate(environment.key, experiment["feature_name"], variants, seed=6)
    ok(admin.post(paths.experiments(environment.key, experiment["id"], "complete")))
    served = results(admin, environment, experiment["id"])

    assert main(["results", environment.key, str(experiment["id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == served

    assert main(["results", environment.key, str(experiment["id"])]) == 0
    table = capsys.readouterr().out
    assert "final" in table and "revenue" in table and "p-value" in table


def test_the_results_command_names_what_is_missing(environment, create_experiment, capsys):
    assert main(["results", environment.key, "999999"]) == 2
    assert "no experiment 999999" in capsys.readouterr().err
    draft = create_experiment()
    assert main(["results", environment.key, str(draft["id"])]) == 2
    assert "has not started" in capsys.readouterr().err


def test_the_minimum_sample_for_a_verdict_is_configurable(
    admin, environment, experiment_with_metrics, settings
):
    experiment, _ = experiment_with_metrics
    variants = [v["key"] for v in experiment["variants"]]
    simulate(environment.key, experiment["feature_name"], variants, seed=7)
    settings.RESULTS_MIN_IDENTITIES = USERS_PER_ARM + 1
    document = results(admin, environment, experiment["id"])
    verdicts = {c["verdict"] for m in document["metrics"] for c in m["comparisons"]}
    assert verdicts == {"insufficient_data"}


def test_version_2_metrics_attached_through_the_api_get_results(
    admin, environment, experiment_with_metrics, create_metric, attach
):
    """A capped sum, a ratio and quantiles, adjusted by default where they can be."""
    experiment, _ = experiment_with_metrics
    purchase = f"purchase {HOSTILE}"
    kinds = {
        "sum": {"event": purchase, "value": HOSTILE, "cap": {"type": "percentile", "value": 0.9}},
        "ratio": {
            "numerator": {"event": purchase, "value": HOSTILE, "aggregation": "sum"},
            "denominator": {"event": purchase, "aggregation": "count"},
        },
        "quantile": {"event": purchase, "value": HOSTILE, "quantile": {"q": 0.9, "level": "event"}},
    }
    for aggregation, definition in kinds.items():
        metric = create_metric(aggregation=aggregation, definition={"version": 2, **definition})
        attach(experiment["id"], metric["id"])
    variants = [v["key"] for v in experiment["variants"]]
    simulate(environment.key, experiment["feature_name"], variants, seed=6)

    document = results(admin, environment, experiment["id"])

    by_type = [m["metric_type"] for m in document["metrics"]][-3:]
    assert by_type == ["numeric", "ratio", "quantile"]
    assert all(len(m["comparisons"]) == 1 for m in document["metrics"])
