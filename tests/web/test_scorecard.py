"""The scorecard (every metric × treatment on one axis), the decision's guardrail and SRM lines,
the CSV export and the permanent link to frozen results."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.web import documents
from tests.web.conftest import cache_document, client_for, freeze_document, new_experiment
from tests.web.documents import for_experiment
from tests.web.test_pages import experiment_page, section, text

from liftlab import formatting

pytestmark = pytest.mark.django_db
THREE = {"control": 5000, "treatment": 5012, "treatment_b": 4990}


def three_arms(experiment, metrics) -> dict:
    """Checkout won by treatment; Latency harmed by treatment_b (a guardrail loss)."""
    experiment.variants = [
        {"key": k, "weight": w} for k, w in zip(THREE, (0.34, 0.33, 0.33), strict=True)
    ]
    experiment.save()
    document = documents.build(
        experiment.pk,
        [
            documents.checkout(metrics["checkout"].pk, THREE),
            documents.latency(metrics["latency"].pk, THREE),
        ],
        n=THREE,
        weights=[0.34, 0.33, 0.33],
    )
    cache_document(experiment, document)
    return document


def score_rows(html: str) -> list[str]:
    table = section(html, "scorecard")
    return [text(r) for r in re.findall(r'<tr class="score-row[^"]*"[^>]*>(.*?)</tr>', table, re.S)]


def test_the_scorecard_lists_every_metric_and_treatment_grouped_with_the_arm_named(
    metrics, experiment, viewer
):
    document = three_arms(experiment, metrics)
    html = experiment_page(client_for(viewer), experiment)
    table = text(section(html, "scorecard"))
    assert table.index("Primary metrics") < table.index("Checkout") < table.index("Guardrail")
    rows = score_rows(html)
    assert len(rows) == 4
    checkout = document["metrics"][0]["comparisons"][0]["relative"]
    lift = formatting.percent(checkout["estimate"], signed=True)
    assert rows[0].startswith(
        f"Checkout Treatment treatment Win (treatment) Relative lift, 95 % CI {lift} ["
    )
    assert rows[0].endswith("p-value < 0.001 Adjusted p < 0.001")
    assert rows[3].startswith("Latency Treatment treatment_b Loss (treatment_b)")
    assert "Relative lift, 95 % CI" in table


def test_every_strip_is_drawn_on_one_shared_axis(metrics, experiment, viewer):
    three_arms(experiment, metrics)
    html = experiment_page(client_for(viewer), experiment)
    table = section(html, "scorecard")
    zeros = re.findall(r'<line class="zero" x1="([\d.]+)"', table)
    assert len(zeros) == 4 and len(set(zeros)) == 1  # zero sits at the same x in every row
    assert len(re.findall(r'<svg class="svg-chart strip"', table)) == 4
    assert '<svg class="svg-chart strip-axis"' in table
    shapes = re.findall(r'<(polygon|circle) class="mark tone-(\w+)', table)
    assert ("polygon", "good") in shapes and ("polygon", "bad") in shapes


def test_bayesian_scorecards_show_the_chance_to_win(metrics, experiment, viewer):
    experiment.analysis = {"engine": "bayesian"}
    experiment.save()
    document = for_experiment(experiment, metrics, analysis=experiment.analysis)
    cache_document(experiment, document)
    html = experiment_page(client_for(viewer), experiment)
    chance = formatting.percent(document["metrics"][0]["comparisons"][0]["chance_to_win"])
    (first, _) = score_rows(html)
    assert first.endswith(f"Chance to win {chance}") and "p-value" not in first
    assert "Relative lift, 90 % credible interval" in text(section(html, "scorecard"))


def test_the_decision_names_the_failed_guardrail_and_the_sample_ratio_state(
    environment, metrics, experiment, viewer
):
    document = three_arms(experiment, metrics)
    decision = text(section(experiment_page(client_for(viewer), experiment), "decisions"))
    assert document["metrics"][1]["comparisons"][1]["verdict"] == "loss"
    assert "treatment_b Do not ship" in decision and "Guardrail failed: Latency (loss)" in decision
    assert decision.count("Guardrail failed") == 1  # treatment held it
    skewed = new_experiment(environment, metrics, name="Skewed", flag="skewed")
    cache_document(skewed, for_experiment(skewed, metrics, mismatch=True))
    decision = text(section(experiment_page(client_for(viewer), skewed), "decisions"))
    assert "⚠ Sample ratio mismatch (p < 0.001): investigate assignment" in decision


def test_the_scorecard_downloads_as_csv_with_raw_numbers(metrics, experiment, viewer):
    document = three_arms(experiment, metrics)
    url = reverse(
        "web:results-csv", kwargs={"key": experiment.environment.key, "pk": experiment.pk}
    )
    assert f'href="{url}"' in experiment_page(client_for(viewer), experiment)
    response = client_for(viewer).get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="new-cart-20261123T093005Z.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["metric"], r["variant"], r["verdict"]) for r in rows] == [
        ("Checkout", "treatment", "win"),
        ("Checkout", "treatment_b", "inconclusive"),
        ("Latency", "treatment", "pass"),
        ("Latency", "treatment_b", "loss"),
    ]
    won = document["metrics"][0]["comparisons"][0]
    assert float(rows[0]["relative_lift"]) == won["relative"]["estimate"]
    assert float(rows[0]["p_value"]) == won["p_value"]
    assert rows[0]["decision"] == document["decisions"][0]["decision"]
    assert rows[3]["decision"] == "do_not_ship" and rows[0]["final"] == "False"


def test_a_draft_has_no_csv_and_outsiders_get_none(environment, metrics, viewer, outsider):
    draft = new_experiment(environment, metrics, status="draft", name="Draft", flag="draft")
    url = reverse("web:results-csv", kwargs={"key": environment.key, "pk": draft.pk})
    response = client_for(viewer).get(url)
    assert response.status_code == 404 and b"has not started" in response.content
    assert client_for(outsider).get(url).status_code == 404


def test_final_results_have_a_permanent_link_that_never_shows_other_numbers(
    environment, metrics, viewer
):
    done = new_experiment(environment, metrics, status="completed", ended_at=timezone.now())
    freeze_document(done, for_experiment(done, metrics, final=True))
    html = experiment_page(client_for(viewer), done)
    link = re.search(r'<a class="button" href="([^"]+)" rel="bookmark"', html).group(1)
    assert link.endswith("/results/20261123T093005Z/")
    page = client_for(viewer).get(link)
    assert page.status_code == 200 and "Final results." in text(page.content.decode())
    other = link.replace("093005", "093006")
    assert client_for(viewer).get(other).status_code == 404
    csv_url = reverse("web:results-csv", kwargs={"key": environment.key, "pk": done.pk})
    assert client_for(viewer).get(csv_url)["Content-Disposition"].endswith('-final.csv"')


def test_running_results_have_no_permanent_link(metrics, experiment, viewer):
    cache_document(experiment, for_experiment(experiment, metrics))
    html = experiment_page(client_for(viewer), experiment)
    assert 'rel="bookmark"' not in html and "Download CSV" in html
    stamp = reverse(
        "web:snapshot",
        kwargs={
            "key": experiment.environment.key,
            "pk": experiment.pk,
            "stamp": "20261123T093005Z",
        },
    )
    assert client_for(viewer).get(stamp).status_code == 404


def test_a_name_that_starts_like_a_formula_is_text_in_the_csv(metrics, experiment, viewer):
    metrics["checkout"].name = '=HYPERLINK("http://x")'
    metrics["checkout"].save()
    document = for_experiment(experiment, metrics)
    document["metrics"][0]["name"] = metrics["checkout"].name
    cache_document(experiment, document)
    url = reverse(
        "web:results-csv", kwargs={"key": experiment.environment.key, "pk": experiment.pk}
    )
    rows = list(csv.DictReader(io.StringIO(client_for(viewer).get(url).content.decode())))
    assert rows[0]["metric"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["metric"] == "Latency" and float(rows[1]["relative_low"]) < 0
