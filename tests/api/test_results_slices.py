"""The results endpoint's days and segments, end to end on the real store.

One segment holding every identity must repeat the experiment's own figures, corrected once
more across the dimension; the last day must be the document itself.
"""

from __future__ import annotations

import pytest
from statsmodels.stats.multitest import multipletests

from liftlab.cli import main

from . import paths
from .expect import refused
from .results_data import results, simulate_with


@pytest.fixture
def simulated(admin, environment, experiment_with_metrics):
    experiment, _ = experiment_with_metrics
    simulate_with(admin, environment, experiment, {"breakdowns": [{"source": "sdk_language"}]}, 3)
    return experiment, results(admin, environment, experiment["id"], refresh="true")


def _judged(comparison: dict) -> dict:
    return comparison["relative"] if comparison["scale"] == "relative" else comparison["absolute"]


def test_the_last_day_is_the_document_and_days_only_grow(simulated):
    _, document = simulated
    days = document["timeline"]
    assert days and days == sorted(days, key=lambda d: d["date"])
    assert days[-1]["cutoff"] == document["window"]["end"]
    for metric, last in zip(document["metrics"], days[-1]["metrics"], strict=True):
        assert last["metric"] == metric["metric"]
        for comparison, day in zip(metric["comparisons"], last["comparisons"], strict=True):
            assert day["estimate"] == _judged(comparison)
            assert day["verdict"] == comparison["verdict"]
    exposed = [sum(v["n"] for v in day["exposures"]) for day in days]
    assert exposed == sorted(exposed) and exposed[-1] == document["exposures"]["total"]
    assert document["timeline_always_valid"] is False


def test_one_segment_of_everyone_repeats_the_figures_corrected_across_the_dimension(simulated):
    _, document = simulated
    (breakdown,) = document["breakdowns"]
    assert breakdown["key"] == "sdk_language" and breakdown["exploratory"] is True
    (segment,) = breakdown["segments"]
    assert segment["exposures"] == document["exposures"]["variants"]
    pairs = [
        (comparison, cell)
        for metric, sliced in zip(document["metrics"], segment["metrics"], strict=True)
        for comparison, cell in zip(metric["comparisons"], sliced["comparisons"], strict=True)
    ]
    raw = [comparison["p_value"] for comparison, _ in pairs]
    # the same identities, summed in another order: equal to rounding
    assert [cell["p_value"] for _, cell in pairs] == pytest.approx(raw, rel=1e-12)
    corrected = multipletests(raw, method="fdr_bh")[1]
    assert [cell["p_value_adjusted"] for _, cell in pairs] == pytest.approx(corrected, rel=1e-12)
    for (_, cell), p in zip(pairs, corrected, strict=True):
        assert cell["significant"] == (p < 0.05)


def test_the_breakdown_parameter_picks_one_dimension(admin, environment, simulated):
    experiment, _ = simulated
    one = results(admin, environment, experiment["id"], breakdown="sdk_language")
    assert [b["key"] for b in one["breakdowns"]] == ["sdk_language"]
    url = paths.experiments(environment.key, experiment["id"], "results")
    refused(admin.get(url + "?breakdown=country"), 400, "breakdown")


def test_the_cli_prints_the_days_and_the_segments(environment, simulated, capsys):
    experiment, document = simulated
    assert main(["results", environment.key, str(experiment["id"])]) == 0
    printed = capsys.readouterr().out
    assert f"{document['metrics'][0]['name']} over time" in printed
    assert document["timeline"][-1]["date"] in printed
    assert "By sdk_language (sdk_language) — exploratory, corrected across segments" in printed
    assert "inflates false" in printed
