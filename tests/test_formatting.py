"""People-facing numbers: separators, significant digits, signs, units, missing values."""

from __future__ import annotations

import math
from functools import partial

import pytest

from liftlab import formatting as f


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (1.234, "1.23"),
        (12.34, "12.3"),
        (123456.7, "123,457"),
        (0.01234, "0.0123"),
        (-0.5, "−0.500"),
        (999.96, "1,000"),
        (1e-7, "1.00e-07"),
    ],
)
def test_number_keeps_three_significant_digits(value, shown):
    assert f.number(value) == shown


def test_signs_use_plus_and_the_typographic_minus_but_never_on_zero():
    assert f.number(2.5, signed=True) == "+2.50"
    assert f.number(-2.5, signed=True) == "−2.50"
    assert f.percent(-0.0001234, signed=True) == "−0.0123%"
    assert f.percent(0.0, signed=True) == "0.0%"
    assert f.points(0.0) == "0.0 pp"


@pytest.mark.parametrize(
    ("value", "shown"), [(0.2, "20.0%"), (0.05, "5.00%"), (0.1234, "12.3%"), (1.5, "150.0%")]
)
def test_percent(value, shown):
    assert f.percent(value) == shown


def test_rate_differences_are_percentage_points():
    assert f.points(0.05) == "+5.00 pp"
    assert f.points(-0.123) == "−12.3 pp"


def test_interval_formats_both_ends_alike():
    signed = partial(f.percent, signed=True)
    assert f.interval([-0.01, 0.034], signed) == "[−1.00%, +3.40%]"
    assert f.interval(None, signed) == ""
    assert f.interval([0.1, math.inf], signed) == ""


def test_p_values_below_a_thousandth_are_a_bound():
    assert f.p_value(0.0004) == "< 0.001"
    assert f.p_value(0.04321) == "0.043"
    assert f.p_value(1.0) == "1.000"
    assert f.p_statement(0.0004) == "p < 0.001"
    assert f.p_statement(0.04321) == "p = 0.043"


def test_missing_values_are_a_dash():
    for fn in (f.number, f.percent, f.points, f.p_value):
        assert fn(None) == f.MISSING
        assert fn(math.nan) == f.MISSING
    assert f.thousands(None) == f.MISSING


def test_thousands_and_labels():
    assert f.thousands(1234567) == "1,234,567"
    assert f.label("insufficient_data") == "Insufficient data"
    assert f.label("") == f.MISSING
