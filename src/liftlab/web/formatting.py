"""Numbers for people: thousands separators, percentages, signed lifts, p-values.

Pure functions (no Django), so the rules are tested directly; every one turns ``None`` into an
em dash, because a missing statistic (too few identities, a zero control mean) is common.
"""

from __future__ import annotations

import math

MISSING = "—"
MINUS = "−"  # U+2212: the typographic minus, as wide as the plus sign
SIGNIFICANT_DIGITS = 3
MAX_DECIMALS = 6


def _is_missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _decimals(value: float) -> int:
    """Decimals that show ``SIGNIFICANT_DIGITS`` digits: 1.23, 12.3, 1,235, 0.0123."""
    if value == 0:
        return 0
    magnitude = math.floor(math.log10(abs(value)))
    return max(0, SIGNIFICANT_DIGITS - 1 - magnitude)


def _digits(value: float, at_least: int = 0) -> str:
    """``|value|`` to three significant digits; scientific once that needs too many decimals."""
    decimals = max(at_least, _decimals(value))
    if decimals > MAX_DECIMALS:
        return f"{abs(value):.{SIGNIFICANT_DIGITS - 1}e}"
    return f"{round(abs(value), decimals):,.{decimals}f}"


def _with_sign(text: str, value: float, signed: bool) -> str:
    """Prefix the sign, unless the shown digits are all zero (no "−0.0%")."""
    if not any(ch in "123456789" for ch in text.split("e")[0]):
        return text
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed else text


def thousands(value: int | None) -> str:
    """A count with thousands separators: 12,345."""
    return MISSING if value is None else f"{value:,}"


def number(value: float | None, *, signed: bool = False) -> str:
    """A measurement to three significant digits, with separators: 1.23, 1,235, +0.0456."""
    if _is_missing(value):
        return MISSING
    return _with_sign(_digits(value), value, signed)


def percent(value: float | None, *, signed: bool = False) -> str:
    """A share or a relative change as a percentage: 12.3%, +4.56%, −0.123%."""
    if _is_missing(value):
        return MISSING
    return _with_sign(_digits(value * 100, at_least=1) + "%", value, signed)


def points(value: float | None) -> str:
    """A difference of two rates, in percentage points: +1.2 pp."""
    if _is_missing(value):
        return MISSING
    return _with_sign(_digits(value * 100, at_least=1) + " pp", value, True)


def interval(bounds: list[float] | tuple[float, float] | None, fmt) -> str:
    """A confidence interval in brackets, both ends formatted alike: [−1.2%, +3.4%].

    Empty when there is none: it is shown under its estimate, which already says "—".
    """
    if not bounds or any(_is_missing(b) for b in bounds):
        return ""
    low, high = bounds
    return f"[{fmt(low)}, {fmt(high)}]"


def p_value(value: float | None) -> str:
    """p-values below 0.001 are shown as a bound: more digits would be false precision."""
    if _is_missing(value):
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_statement(value: float | None) -> str:
    """A p-value inside a sentence: "p < 0.001", "p = 0.043"."""
    shown = p_value(value)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def label(code: str | None) -> str:
    """A machine word for a person: ``insufficient_data`` → Insufficient data."""
    return MISSING if not code else code.replace("_", " ").capitalize()
