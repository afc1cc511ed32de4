"""The charts as drawn SVG: positions on the axis, the zero line, the better side, the margin,
a shape per verdict, clipping on a shared axis, and the numbers in words and tables."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from tests.web.documents import build

from liftlab.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parsed(chart: charts.Chart) -> ET.Element:
    """The chart's SVG as an element tree: it must be well-formed XML to parse at all."""
    return ET.fromstring(chart.svg.replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


def having(root: ET.Element, css: str) -> list[ET.Element]:
    return [e for e in root.iter() if css in (e.get("class") or "").split()]


def test_cumulative_identities_run_over_every_date_any_variant_was_exposed():
    daily = build(1, [])["exposures"]["daily"]
    dates, totals = charts.cumulative_identities(daily, ["control", "treatment"])
    assert dates == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert totals == {"control": [3000, 5000, 5000], "treatment": [2900, 2900, 5012]}


def test_exposure_chart_has_one_line_per_variant_its_numbers_in_a_table_and_none_without_data():
    daily = build(1, [])["exposures"]["daily"]
    chart = charts.exposure_figure(daily, ["control", "treatment"])
    root = parsed(chart)
    assert len(having(root, "line")) == 2
    assert root.find(f"{SVG}title").text == "Cumulative identities per variant"
    assert chart.header == ["Date", "control", "treatment"]
    assert chart.rows[-1] == ["2026-11-22", "5,000", "5,012"]
    assert charts.exposure_figure([], ["control", "treatment"]) is None


def point(variant, lift, low, high, tone="neutral", verdict="Inconclusive"):
    return {
        "variant": variant,
        "lift": lift,
        "low": low,
        "high": high,
        "tone": tone,
        "verdict": verdict,
    }


def x_of(element: ET.Element) -> float:
    """A marker's centre: a circle's cx, or the mean x of a polygon's points."""
    if element.get("cx"):
        return float(element.get("cx"))
    xs = [float(p.split(",")[0]) for p in element.get("points").split()]
    return sum(xs) / len(xs) if len(xs) != 3 else xs[0]


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_forest_plot_shades_the_better_side_and_draws_the_zero_line(higher_is_better):
    chart = charts.forest_figure([point("b", 0.1, 0.02, 0.3, "good", "Win")], higher_is_better)
    root = parsed(chart)
    (zero,) = having(root, "zero")
    (side,) = having(root, "better-side")
    at_zero = float(zero.get("x1"))
    start, width = float(side.get("x")), float(side.get("width"))
    assert charts.LEFT < at_zero < charts.WIDTH - charts.RIGHT  # zero in sight
    if higher_is_better:
        assert start == pytest.approx(at_zero, abs=0.1)
    else:
        assert start + width == pytest.approx(at_zero, abs=0.1)


def test_forest_markers_sit_at_the_lift_and_differ_in_shape_by_verdict():
    chart = charts.forest_figure(
        [point("b", 0.1, 0.02, 0.3, "good", "Win"), point("c", -0.2, -0.35, -0.05, "bad", "Loss")],
        True,
    )
    root = parsed(chart)
    win, loss = having(root, "mark")
    scale = charts.Scale1D(*charts.lift_range([point("", 0, -0.35, 0.3)]))
    assert "tone-good" in win.get("class") and "tone-bad" in loss.get("class")
    assert win.tag == loss.tag == f"{SVG}polygon"
    assert win.get("points") != loss.get("points")
    up = [float(p.split(",")[1]) for p in win.get("points").split()]
    assert up[0] < up[1]  # the win's triangle points up, the loss's down
    assert x_of(win) == pytest.approx(scale(0.1), abs=0.2)
    desc = root.find(f"{SVG}desc").text
    # one number of decimals for every figure, from the narrowest interval (28 points wide)
    assert desc == "b: +10.0% [+2.0%, +30.0%], win; c: −20.0% [−35.0%, −5.0%], loss"


def test_forest_plot_leaves_out_undefined_lifts():
    assert charts.forest_figure([point("b", None, None, None)], True) is None


def test_rate_differences_are_drawn_in_percentage_points_with_the_margin_line():
    axis = charts.LiftAxis("difference vs control", factor=100.0, suffix=" pp")
    chart = charts.forest_figure([point("b", 0.01, -0.002, 0.022)], False, axis=axis, margin=0.004)
    root = parsed(chart)
    (margin,) = having(root, "margin")
    (zero,) = having(root, "zero")
    scale = charts.Scale1D(*charts.lift_range([point("b", 1.0, -0.2, 2.2)], 0.4))
    assert float(margin.get("x1")) == pytest.approx(scale(0.4), abs=0.1)
    assert float(zero.get("x1")) == pytest.approx(scale(0.0), abs=0.1)
    ticks = [t.text for t in having(root, "tick")]
    assert all(t.endswith(" pp") for t in ticks)
    assert "+1.0 pp [−0.2 pp, +2.2 pp]" in root.find(f"{SVG}desc").text
    assert ticks == ["0.0 pp", "+0.5 pp", "+1.0 pp", "+1.5 pp", "+2.0 pp"]  # decimals of the step


def test_on_a_shared_axis_an_interval_beyond_it_is_clipped_with_an_arrow_and_its_value_printed():
    chart = charts.forest_figure(
        [point("b", 0.4, 0.3, 0.5, "good", "Win")], True, limits=(-0.1, 0.2)
    )
    root = parsed(chart)
    (mark,) = having(root, "mark")
    assert x_of(mark) == pytest.approx(charts.WIDTH - charts.RIGHT, abs=0.2)
    assert [t.text for t in having(root, "clipped-value")] == ["+40.0%"]
    arrows = [e for e in root.iter(f"{SVG}polygon") if "mark" not in e.get("class")]
    assert len(arrows) == 2  # both ends are off the axis


def test_lift_over_time_needs_two_days_and_lists_each_day():
    axis = charts.RELATIVE_AXIS
    one_day = {"b": [{"date": "2026-11-20", "lift": 0.1, "low": 0.0, "high": 0.2}]}
    assert charts.lift_over_time_figure(one_day, axis=axis) is None
    days = {
        "b": [
            {"date": "2026-11-20", "lift": 0.1, "low": 0.0, "high": 0.2},
            {"date": "2026-11-21", "lift": None, "low": None, "high": None},
            {"date": "2026-11-22", "lift": 0.05, "low": 0.01, "high": 0.09},
        ]
    }
    chart = charts.lift_over_time_figure(days, axis=axis)
    root = parsed(chart)
    (line,) = having(root, "line")
    assert len(line.get("points").split()) == 2  # the day without a lift is a gap
    assert len(having(root, "band")) == 1
    assert chart.rows == [
        ["2026-11-20", "+10.0% [0.0%, +20.0%]"],
        ["2026-11-21", "—"],
        ["2026-11-22", "+5.0% [+1.0%, +9.0%]"],
    ]


def test_a_shared_axis_shows_every_lift_and_zero_but_clips_a_very_wide_interval():
    narrow = point("b", 0.02, 0.01, 0.03)
    wide = point("c", 0.05, -0.9, 1.4)  # a tiny segment's interval: ±100 % and more
    low, high = charts.shared_limits([narrow, wide], margins=[0.01])
    assert low < 0 < 0.05 < high
    reach = 3 * 0.05  # three times the largest lift
    assert -reach * 1.2 < low and high < reach * 1.2  # the wide interval does not set the axis
    assert charts.shared_limits([point("b", None, None, None)]) == (-0.05, 0.05)


def test_strips_on_one_axis_put_zero_at_the_same_place_whatever_their_interval():
    limits = (-0.2, 0.4)
    strips = [
        parsed(charts.Chart(charts.strip(p, limits, True)))
        for p in (point("b", 0.02, 0.01, 0.03), point("c", 0.3, 0.1, 0.5, "good", "Win"))
    ]
    zeros = {having(root, "zero")[0].get("x1") for root in strips}
    assert len(zeros) == 1
    assert [t.text for t in having(strips[1], "clipped-value")] == []  # the lift is in sight
    arrows = [e for e in strips[1].iter(f"{SVG}polygon") if "mark" not in e.get("class")]
    assert len(arrows) == 1  # only the upper end (+50 %) runs past the axis
    assert charts.strip(point("d", None, None, None), limits, True) is None
    axis = parsed(charts.Chart(charts.strip_axis(limits)))
    assert [t.text for t in having(axis, "tick")] == ["−20%", "0%", "+20%", "+40%"]
