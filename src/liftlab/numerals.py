"""Numerals for people: signs, significant digits and decimals shared by every surface.

A leaf module (no liftlab imports), so the engine's own sentences (a decision's reasons, a
metric's description) write numbers exactly as the pages and the terminal do
(``liftlab.formatting`` builds its formats on these).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

MISSING = "—"
MINUS = "−"  # U+2212: the typographic minus, as wide as the plus sign
SIGNIFICANT_DIGITS = 3
MAX_DECIMALS = 6


def is_missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def decimals_of(value: float) -> int:
    """Decimals that show ``SIGNIFICANT_DIGITS`` digits: 1.23, 12.3, 1,235, 0.0123."""
    if value == 0:
        return 0
    magnitude = math.floor(math.log10(abs(value)))
    return max(0, SIGNIFICANT_DIGITS - 1 - magnitude)


def digits(value: float, at_least: int = 0) -> str:
    """``|value|`` to three significant digits; scientific once that needs too many decimals."""
    # The digits are decided after rounding: 0.9999 shows as 1.00, not 1.000.
    decimals = max(at_least, decimals_of(float(f"{value:.{SIGNIFICANT_DIGITS - 1}e}")))
    if decimals > MAX_DECIMALS:
        return f"{abs(value):.{SIGNIFICANT_DIGITS - 1}e}"
    return f"{round(abs(value), decimals):,.{decimals}f}"


def with_sign(text: str, value: float, signed: bool) -> str:
    """Prefix the sign, unless the shown digits are all zero (no "−0.0%")."""
    if not any(ch in "123456789" for ch in text.split("e")[0]):
        return text
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed else text


# Figures read together (a lift, its interval, a table column) share one number of decimals,
# chosen from the narrowest interval among them: two significant digits of its width.
WIDTH_DIGITS = 2
MOST_DECIMALS = 4


def fixed(value: float | None, decimals: int, *, signed: bool = False, suffix: str = "") -> str:
    """``value`` with exactly ``decimals`` decimals and separators, then ``suffix``: +1.20 pp.

    No sign on a value whose shown digits are all zero ("0.0%", not "+0.0%" or "−0.0%").
    """
    if is_missing(value):
        return MISSING
    return with_sign(f"{abs(value):,.{decimals}f}", value, signed) + suffix


def interval_decimals(
    intervals: Iterable[tuple[float | None, float | None]], factor: float = 1.0, at_least: int = 0
) -> int:
    """Decimals for figures shown with these intervals (in display units, ``factor`` × value):
    enough for two significant digits of the narrowest width, so no figure claims more
    precision than its interval has (no "−0.0241%" beside "[−9.1%, +8.2%]")."""
    widths = [
        abs(high - low) * factor
        for low, high in intervals
        if not is_missing(low) and not is_missing(high) and high != low
    ]
    if not widths:
        return max(at_least, 1)
    decimals = WIDTH_DIGITS - 1 - math.floor(math.log10(min(widths)))
    return min(max(decimals, at_least), MOST_DECIMALS)


def window(hours: int) -> str:
    """An attribution window as people say it: whole days in days ("7 days"), else hours."""
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} h"


def lift_column(
    intervals: Iterable[tuple[float | None, float | None]],
    *,
    relative: bool,
    rate: bool,
    suffix: str = "",
) -> Callable[[float | None], str]:
    """One format for lifts read together with these intervals: relative lifts in %, rate
    differences in percentage points, other differences plain (then ``suffix``, a unit);
    every figure with the decimals the narrowest interval supports."""
    if relative:
        factor, suffix, at_least = 100.0, "%", 1
    elif rate:
        factor, suffix, at_least = 100.0, " pp", 1
    else:
        factor, at_least = 1.0, 0
    decimals = interval_decimals(intervals, factor, at_least)

    def shown(value: float | None) -> str:
        scaled = None if value is None else value * factor
        return fixed(scaled, decimals, signed=True, suffix=suffix)

    return shown
