"""The result document arranged for the page: units, verdict colours, groups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.web.documents import conversion_metric, document, numeric_metric

from liftlab.web import presenters


def test_conversion_rows_show_rates_points_and_relative_lift():
    control, treatment = presenters.variant_rows(conversion_metric(1, "Checkout"), "control")
    assert (control.is_control, control.n, control.value) == (True, "5,000", "20.0%")
    assert control.verdict is None and control.relative_lift == "—"
    assert (treatment.n, treatment.value) == ("5,012", "25.0%")
    assert treatment.absolute_lift == "+5.00 pp"
    assert treatment.relative_lift == "+25.0%"
    assert treatment.relative_ci == "[+20.0%, +30.0%]"
    assert treatment.p_value == "< 0.001"
    assert treatment.verdict == presenters.Badge("Win", "good")


def test_numeric_rows_show_plain_numbers_and_an_undefined_relative_lift():
    _, treatment = presenters.variant_rows(numeric_metric(2, "Latency"), "control")
    assert treatment.value == "1,235"
    assert treatment.absolute_lift == "+1,235"
    assert treatment.relative_lift == "—" and treatment.relative_ci == ""
    assert treatment.p_value == "0.432"


@pytest.mark.parametrize(
    ("verdict", "tone"),
    [
        ("win", "good"),
        ("pass", "pass"),
        ("loss", "bad"),
        ("inconclusive", "neutral"),
        ("insufficient_data", "muted"),
        (None, "neutral"),
    ],
)
def test_verdict_tones(verdict, tone):
    assert presenters.tone(verdict) == tone


def test_forest_points_keep_every_treatment_but_no_lift_without_interval():
    metric = conversion_metric(1, "Checkout")
    assert presenters.forest_points(metric)[0]["lift"] == 0.25
    assert presenters.forest_points(numeric_metric(2, "Latency"))[0]["lift"] is None


@pytest.mark.django_db
def test_results_view_groups_cards_by_role_in_a_fixed_order():
    metrics = [
        numeric_metric(2, "Latency", role="guardrail"),
        conversion_metric(1, "Checkout", role="primary"),
        conversion_metric(3, "Signup", role="secondary"),
    ]
    view = presenters.results_view(document(7, metrics, mismatch=True), "control")
    assert [(title, [c.name for c in cards]) for title, cards in view.groups] == [
        ("Primary metrics", ["Checkout"]),
        ("Secondary metrics", ["Signup"]),
        ("Guardrail metrics", ["Latency"]),
    ]
    assert view.srm_mismatch and view.srm_p_value == "p < 0.001"
    assert view.total == "10,024"
    assert view.computed_at == datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC)
    assert [(r.variant, r.share, r.expected_share) for r in view.exposure_rows] == [
        ("control", "49.9%", "50.0%"),
        ("treatment", "50.1%", "50.0%"),
    ]


def test_list_summary_shows_exposures_and_primary_verdicts_only():
    doc = document(7, [conversion_metric(1, "Checkout"), numeric_metric(2, "Latency")])
    summary = presenters.list_summary(doc)
    assert summary.exposures == "10,024"
    assert summary.primary == [("Checkout", presenters.Badge("Win", "good"))]
    assert presenters.list_summary(None) is None
