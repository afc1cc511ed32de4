"""The result document arranged for the page: units, tones, decisions, groups, the settings form."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.http import QueryDict
from tests.web import documents as d

from liftlab import formatting
from liftlab.analysis.documents import as_current
from liftlab.analysis.settings import parse_settings
from liftlab.web import presenters
from liftlab.web.analysis import FormError, submitted_changes

THREE = {"control": 5000, "treatment": 5012, "treatment_b": 4990}


def current(document: dict):
    return as_current(document, "control")


def metric_of(document: dict, name: str):
    doc = current(document)
    return doc, next(m for m in doc.metrics if m.name == name)


def decimals(shown: str) -> list[int]:
    """How many decimals each number in a cell has: ``"+5.0 pp [+3.4 pp, +6.6 pp]"`` → 1, 1, 1."""
    return [
        len(n.split(".")[1]) if "." in n else 0 for n in re.findall(r"\d[\d,]*(?:\.\d+)?", shown)
    ]


def test_conversion_rows_show_rates_the_judged_relative_lift_and_points():
    doc, metric = metric_of(d.build(1, [d.checkout(1)]), "Checkout")
    control, treatment = presenters.variant_rows(doc, metric)
    assert (control.is_control, control.n, control.value) == (True, "5,000", "20.0%")
    assert control.verdict is None and control.lift == "—"
    assert (treatment.n, treatment.value) == ("5,012", "25.0%")
    assert treatment.lift == "+25.0%" and treatment.lift_ci.startswith("[+")
    # the difference's interval is about 3.3 pp wide: one decimal, for the estimate and both ends
    assert treatment.other_lift == "+5.0 pp" and treatment.other_ci.endswith(" pp]")
    assert decimals(treatment.other_lift + treatment.other_ci) == [1, 1, 1]
    assert decimals(treatment.lift + treatment.lift_ci) == [1, 1, 1]
    assert (treatment.p_value, treatment.p_value_adjusted) == ("< 0.001", "< 0.001")
    assert treatment.verdict == presenters.Badge("Win", "good")
    assert treatment.reason == metric.comparisons[0].reason
    assert treatment.chance_to_win is None and treatment.non_inferiority is None


def test_a_zero_control_mean_has_no_relative_lift_and_says_why():
    doc, metric = metric_of(d.build(1, [d.refunds(1)]), "Refunds")
    _, treatment = presenters.variant_rows(doc, metric)
    assert treatment.lift == "—" and treatment.lift_ci == ""
    absolute = metric.comparisons[0].absolute
    width = absolute.ci.high - absolute.ci.low
    assert 0.01 <= width < 0.1  # two significant digits of the width: three decimals
    assert treatment.other_lift == "+0.008" and decimals(treatment.other_ci) == [3, 3]
    assert treatment.verdict == presenters.Badge("Insufficient data", "muted")
    assert "control mean is 0" in treatment.reason
    assert presenters.forest_points(metric)[0]["lift"] is None


def test_guardrail_rows_show_the_harm_side_bound_and_what_it_must_beat():
    doc, metric = metric_of(d.build(1, [d.latency(1)]), "Latency")
    card = presenters.metric_card(doc, metric, {})
    assert card.guardrail and card.margin == "1.00%"
    _, treatment = card.rows
    bound = metric.comparisons[0].non_inferiority.bound
    assert treatment.non_inferiority == presenters.NonInferiorityView(
        formatting.fixed(bound * 100, 1, signed=True, suffix="%"), "needs < +1.0%", True
    )
    assert decimals(treatment.lift + treatment.lift_ci) == [1, 1, 1]
    assert card.verdict == presenters.Badge("Pass (treatment)", "pass")


def test_the_metric_badge_names_the_treatment_its_verdict_belongs_to():
    doc, metric = metric_of(d.build(1, [d.latency(1, THREE)], n=THREE), "Latency")
    assert presenters.metric_card(doc, metric, {}).verdict == presenters.Badge(
        "Loss (treatment_b)", "bad"
    )


def test_bayesian_rows_carry_a_chance_to_win_bar_and_risk_not_p_values():
    doc, metric = metric_of(d.build(1, [d.latency(1)], analysis={"engine": "bayesian"}), "Latency")
    card = presenters.metric_card(doc, metric, {})
    assert card.bayesian and card.interval_header == "90 % credible interval"
    _, treatment = card.rows
    chance = metric.comparisons[0].chance_to_win
    bar = treatment.chance_to_win
    assert bar.text == formatting.percent(chance) and bar.width == round(chance * 100, 1)
    assert (bar.threshold_text, bar.threshold_width) == ("95 %", 95.0)
    assert bar.tone == "neutral"  # between 5 % and 95 %
    assert treatment.risk_treatment and treatment.risk_control
    assert "+" not in treatment.risk_treatment + treatment.risk_control  # a loss has no sign


def test_an_adjusted_interval_is_shown_when_its_level_differs():
    doc, metric = metric_of(d.build(1, [d.checkout(1, THREE)], n=THREE), "Checkout")
    _, winner, _ = presenters.variant_rows(doc, metric)
    level = metric.comparisons[0].adjusted_level
    assert level == pytest.approx(0.975)  # two comparisons, BH: the wider interval
    assert winner.adjusted_level == f"{formatting.level(level)} after correction"
    assert winner.adjusted_ci.startswith("[+")


@pytest.mark.parametrize(
    ("verdict", "tone"),
    [
        ("win", "good"),
        ("pass", "pass"),
        ("loss", "bad"),
        ("at_risk", "warn"),
        ("inconclusive", "neutral"),
        ("insufficient_data", "muted"),
        (None, "neutral"),
    ],
)
def test_verdict_tones(verdict, tone):
    assert presenters.tone(verdict) == tone


@pytest.mark.parametrize(
    ("decision", "shown"),
    [
        ("ship", presenters.Badge("Ship", "good")),
        ("do_not_ship", presenters.Badge("Do not ship", "bad")),
        ("keep_running", presenters.Badge("Keep running", "info")),
        ("no_decision", presenters.Badge("No decision", "neutral")),
        ("investigate_assignment", presenters.Badge("Investigate assignment", "warn")),
    ],
)
def test_decision_badges(decision, shown):
    assert presenters.Badge.of_decision(decision) == shown


@pytest.mark.django_db
def test_results_view_puts_decisions_settings_and_cards_in_order():
    document = d.build(
        7,
        [d.latency(2, THREE), d.checkout(1, THREE), d.refunds(3, THREE)],
        n=THREE,
        weights=[0.34, 0.33, 0.33],
    )
    view = presenters.results_view(document, "control")
    assert [(x.variant, x.badge.text) for x in view.decisions] == [
        ("treatment", "Ship"),
        ("treatment_b", "Do not ship"),
    ]
    assert view.decisions[1].reasons[0].startswith("guardrail 'Latency' got worse")
    assert [(title, [c.name for c in cards]) for title, cards in view.groups] == [
        ("Primary metrics", ["Checkout"]),
        ("Secondary metrics", ["Refunds"]),
        ("Guardrail metrics", ["Latency"]),
    ]
    assert view.settings[0] == ("Method", "frequentist, fixed horizon")
    assert view.interval_header == "95 % CI" and not view.bayesian
    assert view.total == "15,014" and not view.srm_mismatch
    assert view.computed_at == datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC)
    assert [(r.variant, r.share, r.expected_share) for r in view.exposure_rows] == [
        ("control", "33.3%", "34.0%"),
        ("treatment", "33.4%", "33.0%"),
        ("treatment_b", "33.3%", "33.0%"),
    ]


@pytest.mark.django_db
def test_a_version_1_document_reads_as_the_current_model_without_decisions():
    view = presenters.results_view(d.v1_document(7, 1, 2), "control")
    assert view.decisions == [] and view.engine_version == "1"
    assert view.no_decision == "No decision recorded (results frozen by engine version 1)."
    (checkout,) = view.groups[0][1]
    assert checkout.judged_header == "Absolute lift" and checkout.verdict.text == "Win (treatment)"


def test_list_summary_shows_exposures_decisions_and_the_sample_ratio_check():
    summary = presenters.list_summary(d.build(7, [d.checkout(1), d.latency(2)]), "control")
    assert summary.exposures == "10,024"
    assert summary.decisions == [("treatment", presenters.Badge("Ship", "good"))]
    assert not summary.srm_mismatch and summary.srm_p_value.startswith("p = ")
    skewed = {"control": 5000, "treatment": 5600}
    summary = presenters.list_summary(d.build(7, [d.checkout(1, skewed)], n=skewed), "control")
    assert summary.srm_mismatch and summary.srm_p_value == "p < 0.001"
    assert summary.decisions[0][1].text == "Investigate assignment"
    old = presenters.list_summary(d.v1_document(7, 1, 2), "control")
    assert old.decisions == [] and "engine version 1" in old.no_decision
    assert presenters.list_summary(None, "control") is None


def form(**fields: str) -> QueryDict:
    query = QueryDict(mutable=True)
    defaults = {
        "engine": "frequentist",
        "scale": "relative",
        "correction": "benjamini_hochberg",
        "alpha": "0.05",
        "sequential_tuning": "5000.0",
        "prior_mean": "0.0",
        "prior_sd": "",
        "chance_to_win_threshold": "0.95",
    }
    for key, value in {**defaults, **fields}.items():
        if value is not None:
            query[key] = value
    return query


def test_the_settings_form_sends_only_what_changed():
    stored = parse_settings({})
    assert submitted_changes(form(), stored) == {}
    assert submitted_changes(form(alpha="0.01", sequential="on"), stored) == {
        "alpha": 0.01,
        "sequential": True,
    }
    assert submitted_changes(form(engine="bayesian", prior_sd="0.1"), stored) == {
        "engine": "bayesian",
        "prior": {"mean": 0.0, "sd": 0.1},
    }
    with_prior = parse_settings({"prior": {"mean": 0.0, "sd": 0.1}})
    assert submitted_changes(form(prior_sd="0.1"), with_prior) == {}
    assert submitted_changes(form(prior_sd=""), with_prior) == {"prior": {"mean": 0.0, "sd": None}}
    assert submitted_changes(form(alpha=""), stored) == {}  # left empty: unchanged
    with pytest.raises(FormError, match="alpha: 'low' is not a number"):
        submitted_changes(form(alpha="low"), stored)
