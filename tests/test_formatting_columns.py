"""Figures read together share one format: decimals from the narrowest interval, units, windows
in days, p-values to two significant digits."""

from __future__ import annotations

import pytest

from liftlab import formatting, numerals
from liftlab.stats import Scale


def test_fixed_keeps_its_decimals_and_never_signs_zero():
    assert formatting.fixed(0.987, 1, signed=True, suffix="%") == "+1.0%"
    assert formatting.fixed(-17.54, 1, signed=True, suffix="%") == "−17.5%"
    assert formatting.fixed(-0.0241, 1, signed=True, suffix="%") == "0.0%"  # no "−0.0"
    assert formatting.fixed(0.0, 0, signed=True, suffix="%") == "0%"  # no "+0 %"
    assert formatting.fixed(12345.678, 2, suffix=" USD") == "12,345.68 USD"
    assert formatting.fixed(None, 2) == formatting.MISSING


@pytest.mark.parametrize(
    ("intervals", "decimals"),
    [
        ([(-0.175, 0.00987)], 1),  # 18.5 points wide: one decimal ("[−17.5%, +1.0%]")
        ([(0.01, 0.02)], 1),  # one point: 2 significant digits of 1.0 → one decimal
        ([(0.001, 0.0025)], 2),  # 0.15 points: two decimals
        ([(0.1, 0.5), (0.001, 0.0025)], 2),  # the narrowest interval decides for the column
        ([], 1),
        ([(None, 0.1)], 1),
    ],
)
def test_a_column_of_relative_lifts_has_the_decimals_its_narrowest_interval_supports(
    intervals, decimals
):
    assert numerals.interval_decimals(intervals, 100.0, at_least=1) == decimals


def test_one_interval_is_written_with_one_precision():
    fmt = formatting.lift_column("numeric", Scale.RELATIVE, [(-0.175, 0.00987)])
    assert formatting.interval((-0.175, 0.00987), fmt) == "[−17.5%, +1.0%]"


def test_absolute_differences_carry_the_metric_unit_and_rates_are_points():
    ms = formatting.lift_column("numeric", Scale.ABSOLUTE, [(-55.2, 64.9)], "ms")
    assert (ms(5.04), ms(-55.2)) == ("+5 ms", "−55 ms")
    usd = formatting.lift_column("numeric", Scale.ABSOLUTE, [(0.12, 0.94)], "USD")
    assert usd(0.5) == "+0.50 USD"
    count = formatting.lift_column("numeric", Scale.ABSOLUTE, [(0.12, 0.94)], "count")
    assert count(0.5) == "+0.50"
    pp = formatting.lift_column("conversion", Scale.ABSOLUTE, [(0.024, 0.076)])
    assert pp(0.05) == "+5.0 pp"


def test_a_column_of_means_has_one_number_of_decimals_and_its_unit():
    fmt = formatting.value_column("numeric", [1195.4, 1200.0, 980.2], "ms")
    assert [fmt(v) for v in (1195.4, 980.2)] == ["1,195 ms", "980 ms"]
    rates = formatting.value_column("conversion", [0.2, 0.25])
    assert (rates(0.2), rates(0.25)) == ("20.0%", "25.0%")


@pytest.mark.parametrize(
    ("p", "shown"),
    [
        (0.0291, "0.029"),
        (0.0748, "0.075"),
        (0.5801, "0.58"),
        (0.977, "0.98"),
        (0.0017, "0.0017"),
        (0.9996, "1.0"),
        (0.0004, "< 0.001"),
        (None, formatting.MISSING),
    ],
)
def test_p_values_to_two_significant_digits(p, shown):
    assert formatting.p_value(p, significant=2) == shown


@pytest.mark.parametrize(("hours", "words"), [(24, "1 day"), (168, "7 days"), (36, "36 h")])
def test_windows_are_days_when_they_are_whole_days(hours, words):
    assert numerals.window(hours) == words
