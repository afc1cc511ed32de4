"""The figures: cumulative exposure lines and the forest plot's intervals, zero line and colours."""

from __future__ import annotations

import pytest
from tests.web.documents import build

from liftlab.web import charts


def test_cumulative_identities_run_over_every_date_any_variant_was_exposed():
    daily = build(1, [])["exposures"]["daily"]
    dates, totals = charts.cumulative_identities(daily, ["control", "treatment"])
    assert dates == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert totals == {"control": [3000, 5000, 5000], "treatment": [2900, 2900, 5012]}


def test_exposure_figure_has_one_line_per_variant_and_none_without_data():
    daily = build(1, [])["exposures"]["daily"]
    figure = charts.exposure_figure(daily, ["control", "treatment"])
    assert [t["name"] for t in figure["data"]] == ["control", "treatment"]
    assert figure["data"][1]["y"] == [2900, 2900, 5012]
    assert charts.exposure_figure([], ["control", "treatment"]) is None


def point(variant, lift, low, high, tone="neutral"):
    return {"variant": variant, "lift": lift, "low": low, "high": high, "tone": tone, "verdict": ""}


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_forest_plot_shades_the_better_side_and_draws_the_zero_line(higher_is_better):
    figure = charts.forest_figure([point("b", 0.1, 0.02, 0.3, "good")], higher_is_better)
    band, zero = figure["layout"]["shapes"]
    assert (zero["x0"], zero["x1"]) == (0, 0)
    left, right = figure["layout"]["xaxis"]["range"]
    assert left < 0 < 0.3 < right  # zero in sight although the whole interval is above it
    assert (band["x0"], band["x1"]) == ((0, right) if higher_is_better else (left, 0))


def test_forest_plot_points_carry_their_interval_and_tone_colour():
    figure = charts.forest_figure(
        [point("b", 0.1, 0.02, 0.3, "good"), point("c", -0.2, -0.35, -0.05, "bad")], True
    )
    b, c = figure["data"]
    assert b["x"] == [0.1] and b["y"] == ["b"]
    assert b["error_x"]["arrayminus"][0] == pytest.approx(0.08)
    assert b["error_x"]["array"][0] == pytest.approx(0.2)
    assert b["marker"]["color"] == charts.TONE_COLOURS["good"]
    assert c["marker"]["color"] == charts.TONE_COLOURS["bad"]


def test_forest_plot_leaves_out_undefined_lifts():
    assert charts.forest_figure([point("b", None, None, None)], True) is None


def test_rate_differences_are_drawn_in_percentage_points_with_the_margin_line():
    axis = charts.LiftAxis("difference vs control", factor=100.0, suffix=" pp")
    figure = charts.forest_figure([point("b", 0.01, -0.002, 0.022)], False, axis=axis, margin=0.004)
    (b,) = figure["data"]
    assert b["x"] == [pytest.approx(1.0)]
    assert b["error_x"]["arrayminus"][0] == pytest.approx(1.2)
    assert figure["layout"]["xaxis"]["ticksuffix"] == " pp"
    assert " pp" in b["hovertemplate"]
    band, _zero, margin = figure["layout"]["shapes"]
    assert margin["x0"] == pytest.approx(0.4) and margin["line"]["dash"] == "dash"
    assert figure["layout"]["annotations"][0]["text"] == "margin"
    left, _ = figure["layout"]["xaxis"]["range"]
    assert (band["x0"], band["x1"]) == (left, 0)  # lower is better: the left half
