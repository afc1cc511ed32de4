"""The experiment page's charts as inline SVG, drawn on the server: no script, no bundle.

Each chart is an ``<svg>`` with a ``viewBox`` (it resizes with its box and never spills out of
it), a ``<title>`` and ``<desc>`` for screen readers, and colours given by CSS classes, so the
dark theme restyles them. A verdict is told by the marker's shape as well as its colour (▲ win,
▼ loss, ◆ at risk, ○ pass, ● no news). Every number drawn is also in a table: the metric card's,
or the chart's own visually-hidden table (``Chart.rows``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from liftlab import formatting, numerals

WIDTH = 640
LEFT, RIGHT, TOP = 96, 16, 12
ROW_HEIGHT = 30
AXIS_HEIGHT = 34
PLOT_HEIGHT = 180
FOREST_MARGIN = 0.08
MAX_DATE_LABELS = 7
SERIES = 6  # series colours in the stylesheet: .series-0 … .series-5
MARKER = 5.5

# A verdict tone's marker shape: the shape carries the verdict, not only the colour.
TONE_SHAPES = {
    "good": "up",
    "bad": "down",
    "warn": "diamond",
    "pass": "ring",
    "neutral": "dot",
    "muted": "ring",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SERIES_SHAPES = ("dot", "square", "diamond", "up", "down", "ring")


@dataclass(frozen=True)
class Chart:
    """An SVG and the same numbers as a table (header, rows) for people who cannot see it."""

    svg: SafeString
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class LiftAxis:
    """How an axis shows a lift: a percentage, or a number with a unit.

    ``factor`` scales the values drawn (100 for rate differences, shown in percentage points).
    ``decimals`` is shared by every figure the chart prints (``for_values``), as in the tables.
    """

    title: str
    percent: bool = False
    factor: float = 1.0
    suffix: str = ""
    decimals: int | None = None

    @property
    def _display_factor(self) -> float:
        return 100.0 if self.percent else 1.0

    def tick(self, value: float, decimals: int | None = None) -> str:
        shown = value * self._display_factor
        places = self.decimals if decimals is None else decimals
        suffix = "%" if self.percent else self.suffix
        if places is None:
            return formatting.number(shown, signed=True) + suffix
        return formatting.fixed(shown, places, signed=True, suffix=suffix)

    def for_values(self, intervals: Iterable[tuple[float | None, float | None]]) -> LiftAxis:
        """This axis printing figures with the decimals these intervals support."""
        at_least = 1 if self.percent or self.factor != 1.0 else 0
        decimals = numerals.interval_decimals(intervals, self._display_factor, at_least)
        return replace(self, decimals=decimals)

    def tick_decimals(self, step: float) -> int:
        """Decimals for tick labels ``step`` apart: +10%, +2.5%, +0.5 pp."""
        return max(0, -math.floor(math.log10(step * self._display_factor) + 1e-9))


RELATIVE_AXIS = LiftAxis("relative lift vs control", percent=True)


def marker(shape: str, x: float, y: float, css: str, size: float = MARKER) -> str:
    """One marker: its shape is part of what it says (see ``TONE_SHAPES``)."""
    s = size
    if shape == "up":
        points = f"{x:.1f},{y - s:.1f} {x + s:.1f},{y + s * 0.8:.1f} {x - s:.1f},{y + s * 0.8:.1f}"
        return f'<polygon class="{css}" points="{points}"/>'
    if shape == "down":
        points = f"{x:.1f},{y + s:.1f} {x + s:.1f},{y - s * 0.8:.1f} {x - s:.1f},{y - s * 0.8:.1f}"
        return f'<polygon class="{css}" points="{points}"/>'
    if shape == "diamond":
        points = f"{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} {x - s:.1f},{y:.1f}"
        return f'<polygon class="{css}" points="{points}"/>'
    if shape == "square":
        side = s * 1.6
        return (
            f'<rect class="{css}" x="{x - side / 2:.1f}" y="{y - side / 2:.1f}" '
            f'width="{side:.1f}" height="{side:.1f}"/>'
        )
    if shape == "ring":
        return f'<circle class="{css} ring" cx="{x:.1f}" cy="{y:.1f}" r="{s * 0.85:.1f}"/>'
    return f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="{s * 0.85:.1f}"/>'


def _svg(
    height: float, title: str, desc: str, body: Iterable[str], css: str, width: int = WIDTH
) -> SafeString:
    """The element around a chart's shapes: sized by its viewBox, labelled by title and desc."""
    return mark_safe(
        f'<svg class="svg-chart {css}" viewBox="0 0 {width} {height:.0f}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" focusable="false">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, words: str, css: str = "", anchor: str = "middle") -> str:
    return (
        f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(words)}</text>'
    )


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 × 10ⁿ apart, the spacing giving closest to ``count``
    intervals) inside ``low``…``high``."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10)), key=lambda st: abs(span / st - count))
    first = -(-low // step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def lift_range(points: list[dict], margin: float | None = None) -> tuple[float, float]:
    """The intervals, zero and the margin, with room: zero is in sight, nothing is cut off."""
    extra = [] if margin is None else [margin]
    left = min(0.0, *extra, *(p["low"] for p in points))
    right = max(0.0, *extra, *(p["high"] for p in points))
    pad = (right - left) * FOREST_MARGIN or FOREST_MARGIN
    return left - pad, right + pad


@dataclass(frozen=True)
class Scale1D:
    """Values to x positions between ``start`` and ``stop`` pixels; outside values clipped."""

    low: float
    high: float
    start: float = LEFT
    stop: float = WIDTH - RIGHT

    def __call__(self, value: float) -> float:
        clipped = min(max(value, self.low), self.high)
        return self.start + (clipped - self.low) / (self.high - self.low) * (self.stop - self.start)


def forest_figure(
    points: list[dict],
    higher_is_better: bool,
    *,
    axis: LiftAxis = RELATIVE_AXIS,
    margin: float | None = None,
    limits: tuple[float, float] | None = None,
    title: str = "",
) -> Chart | None:
    """Each treatment's lift with its interval, against a dotted zero line.

    ``points`` holds ``variant``, ``lift``, ``low``, ``high``, ``tone`` and ``verdict``. The half
    where a change is good news is shaded; a guardrail's ``margin`` is a dashed line. Given
    ``limits`` (a shared axis), an interval beyond them is clipped and ends in an arrow.
    """
    shown = [_scaled(p, axis.factor) for p in points if p["lift"] is not None]
    if not shown:
        return None
    margin = None if margin is None else margin * axis.factor
    if axis.decimals is None:
        axis = axis.for_values([(p["low"], p["high"]) for p in shown])
    low, high = limits if limits else lift_range(shown, margin)
    x = Scale1D(low, high)
    height = TOP + ROW_HEIGHT * len(shown) + AXIS_HEIGHT
    bottom = TOP + ROW_HEIGHT * len(shown)
    body = [_better_side(x, higher_is_better, bottom)]
    body += _x_ticks(x, axis, bottom)
    body.append(_vline(x(0.0), bottom, "zero"))
    if margin is not None and low <= margin <= high:
        body.append(_vline(x(margin), bottom, "margin"))
        body.append(_text(x(margin) + 3, TOP + 9, "margin", "margin-label", "start"))
    for i, p in enumerate(shown):
        body.append(_forest_row(p, x, TOP + ROW_HEIGHT * i + ROW_HEIGHT / 2, axis))
    arrow = "better →" if higher_is_better else "← better"
    body.append(_text((LEFT + WIDTH - RIGHT) / 2, height - 4, f"{axis.title} ({arrow})", "axis"))
    desc = "; ".join(
        f"{p['variant']}: {axis.tick(p['lift'])} [{axis.tick(p['low'])}, {axis.tick(p['high'])}],"
        f" {p['verdict'].lower()}"
        for p in shown
    )
    return Chart(_svg(height, title or axis.title, desc, body, "forest"))


def _better_side(x: Scale1D, higher_is_better: bool, bottom: float, top: float = TOP) -> str:
    start, stop = (x(0.0), x.stop) if higher_is_better else (x.start, x(0.0))
    return (
        f'<rect class="better-side" x="{start:.1f}" y="{top}" width="{stop - start:.1f}" '
        f'height="{bottom - top:.1f}"/>'
    )


def _vline(at: float, bottom: float, css: str, top: float = TOP) -> str:
    return f'<line class="{css}" x1="{at:.1f}" x2="{at:.1f}" y1="{top}" y2="{bottom:.1f}"/>'


# The scorecard: one strip per metric × treatment, all on one shared axis, in a table column.
STRIP_WIDTH = 320
STRIP_HEIGHT = 26
STRIP_PAD = 12
STRIP_AXIS_HEIGHT = 22


def _strip_scale(limits: tuple[float, float]) -> Scale1D:
    return Scale1D(*limits, start=STRIP_PAD, stop=STRIP_WIDTH - STRIP_PAD)


def strip(
    point: dict,
    limits: tuple[float, float],
    higher_is_better: bool,
    *,
    axis: LiftAxis = RELATIVE_AXIS,
    margin: float | None = None,
) -> SafeString | None:
    """One scorecard cell: a treatment's lift and interval on the scorecard's shared axis.

    Every strip of a scorecard gets the same ``limits``, so intervals compare across metrics;
    an interval beyond them ends in an arrow and a clipped lift is printed by its marker.
    """
    if point["lift"] is None:
        return None
    x = _strip_scale(limits)
    bottom = STRIP_HEIGHT
    body = [_better_side(x, higher_is_better, bottom, top=0)]
    body.append(_vline(x(0.0), bottom, "zero", top=0))
    if margin is not None and limits[0] <= margin <= limits[1]:
        body.append(_vline(x(margin), bottom, "margin", top=0))
    body.append(_forest_row(point, x, STRIP_HEIGHT / 2 + 2, axis, label=False))
    desc = (
        f"{axis.tick(point['lift'])} [{axis.tick(point['low'])}, {axis.tick(point['high'])}], "
        f"{point['verdict'].lower()}"
    )
    return _svg(STRIP_HEIGHT, f"{point['variant']}: {axis.title}", desc, body, "strip", STRIP_WIDTH)


def strip_axis(limits: tuple[float, float], axis: LiftAxis = RELATIVE_AXIS) -> SafeString:
    """The scorecard's shared axis, drawn once in the column's header."""
    x = _strip_scale(limits)
    body = []
    ticks = _nice_ticks(x.low, x.high, 4)
    places = axis.tick_decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    for value in ticks:
        body.append(_text(x(value), 14, axis.tick(value, places), "tick"))
        body.append(_vline(x(value), STRIP_AXIS_HEIGHT, "grid", top=17))
    words = f"from {axis.tick(x.low)} to {axis.tick(x.high)}"
    return _svg(STRIP_AXIS_HEIGHT, "Shared axis", words, body, "strip-axis", STRIP_WIDTH)


def shared_limits(
    points: list[dict], margins: Iterable[float] = (), *, cap: float = 3.0
) -> tuple[float, float]:
    """An axis for many intervals at once: every lift, zero and each margin in sight.

    Interval ends count too, but no further out than ``cap`` times the largest lift (at least
    5 %), so one very wide interval does not squash every other row into a dot; it is clipped.
    """
    shown = [p for p in points if p["lift"] is not None]
    if not shown:
        return (-0.05, 0.05)
    reach = cap * max(0.05 / cap, *(abs(p["lift"]) for p in shown))
    values = [0.0, *margins, *(p["lift"] for p in shown)]
    values += [min(max(p[k], -reach), reach) for p in shown for k in ("low", "high")]
    low, high = min(values), max(values)
    pad = (high - low) * FOREST_MARGIN
    return low - pad, high + pad


def _x_ticks(x: Scale1D, axis: LiftAxis, bottom: float) -> list[str]:
    parts = [f'<line class="axis-line" x1="{x.start}" x2="{x.stop}" y1="{bottom}" y2="{bottom}"/>']
    ticks = _nice_ticks(x.low, x.high)
    places = axis.tick_decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    for value in ticks:
        at = x(value)
        parts.append(f'<line class="grid" x1="{at:.1f}" x2="{at:.1f}" y1="{TOP}" y2="{bottom}"/>')
        parts.append(_text(at, bottom + 13, axis.tick(value, places), "tick"))
    return parts


def _forest_row(p: dict, x: Scale1D, y: float, axis: LiftAxis, *, label: bool = True) -> str:
    tone = f"tone-{p['tone']}"
    parts = [_text(LEFT - 8, y + 4, p["variant"], "label", "end")] if label else []
    left, right = x(p["low"]), x(p["high"])
    parts.append(
        f'<line class="interval {tone}" x1="{left:.1f}" x2="{right:.1f}" y1="{y}" y2="{y}"/>'
    )
    for value, end in ((p["low"], left), (p["high"], right)):
        if value < x.low or value > x.high:  # clipped: an arrowhead says the line goes on
            direction = -1 if value < x.low else 1
            tip = end + 6 * direction
            points = f"{end:.1f},{y - 4} {tip:.1f},{y} {end:.1f},{y + 4}"
            parts.append(f'<polygon class="{tone}" points="{points}"/>')
        else:
            parts.append(
                f'<line class="interval {tone}" x1="{end:.1f}" x2="{end:.1f}" '
                f'y1="{y - 4}" y2="{y + 4}"/>'
            )
    shape = TONE_SHAPES.get(p["tone"], "dot")
    parts.append(marker(shape, x(p["lift"]), y, f"mark {tone}"))
    if not (x.low <= p["lift"] <= x.high):
        parts.append(_text(x(p["lift"]), y - 8, axis.tick(p["lift"]), "clipped-value"))
    return "".join(parts)


def _scaled(point: dict, factor: float) -> dict:
    if factor == 1.0:
        return point
    return {**point, **{k: point[k] * factor for k in ("lift", "low", "high")}}


def cumulative_identities(
    daily: Iterable[dict], variants: list[str]
) -> tuple[list[str], dict[str, list[int]]]:
    """Running totals of new identities per variant, on every date any variant was exposed."""
    new: dict[tuple[str, str], int] = defaultdict(int)
    for row in daily:
        new[(row["date"], row["variant"])] += row["identities"]
    dates = sorted({date for date, _ in new})
    totals: dict[str, list[int]] = {}
    for variant in variants:
        running, series = 0, []
        for date in dates:
            running += new[(date, variant)]
            series.append(running)
        totals[variant] = series
    return dates, totals


def _date_label(date: str) -> str:
    """``2026-11-20`` → ``20 Nov``."""
    return f"{int(date[8:10])} {MONTHS[int(date[5:7]) - 1]}"


@dataclass(frozen=True)
class Line:
    """One series of a line chart: a name, a value per date (``None`` for none), and a band."""

    name: str
    values: list[float | None]
    low: list[float | None] | None = None
    high: list[float | None] | None = None


def _line_chart(
    dates: list[str],
    lines: list[Line],
    *,
    title: str,
    y_title: str,
    tick: Callable[[float, float], str],
    value_text: Callable[[float], str],
    zero_line: bool,
    css: str,
) -> SafeString:
    """Dates along x, a line (and an optional band) per series, a legend under the plot.

    ``tick(value, step)`` labels the y axis; ``value_text`` says a value in the description.
    """
    legend_rows = -(-len(lines) // 3)
    height = TOP + PLOT_HEIGHT + AXIS_HEIGHT + 18 * legend_rows
    bottom = TOP + PLOT_HEIGHT
    values = [v for line in lines for v in (*line.values, *(line.low or []), *(line.high or []))]
    values = [v for v in values if v is not None]
    low, high = min(0.0, *values), max(0.0, *values)
    pad = (high - low) * FOREST_MARGIN or 1.0
    y = Scale1D(low - (pad if low < 0 else 0), high + pad, start=bottom, stop=TOP)
    step = (WIDTH - RIGHT - LEFT) / max(1, len(dates) - 1)
    x = [LEFT + i * step for i in range(len(dates))]
    body = [
        f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}"/>'
    ]
    ticks = _nice_ticks(y.low, y.high, 4)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for value in ticks:
        at = y(value)
        body.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
        )
        body.append(_text(LEFT - 6, at + 4, tick(value, step), "tick", "end"))
    if zero_line and y.low < 0:
        body.append(
            f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>'
        )
    every = max(1, -(-len(dates) // MAX_DATE_LABELS))
    for i in range(0, len(dates), every):
        body.append(_text(x[i], bottom + 14, _date_label(dates[i]), "tick"))
    body.append(
        _text(14, TOP + PLOT_HEIGHT / 2, y_title, "axis", "middle").replace(
            "<text ", f'<text transform="rotate(-90 14 {TOP + PLOT_HEIGHT / 2:.0f})" ', 1
        )
    )
    for n, line in enumerate(lines):
        body.extend(_series(n, line, x, y))
        lx, ly = LEFT + (n % 3) * 180, bottom + AXIS_HEIGHT + 18 * (n // 3)
        body.append(
            marker(
                SERIES_SHAPES[n % len(SERIES_SHAPES)], lx, ly - 4, f"mark series-{n % SERIES}", 4.5
            )
        )
        body.append(_text(lx + 10, ly, line.name, "label", "start"))
    desc = "; ".join(
        f"{line.name}: from {_first(line.values, value_text)} to {_last(line.values, value_text)}"
        for line in lines
    )
    return _svg(height, title, f"{dates[0]} to {dates[-1]}. {desc}", body, css)


def _first(values: list[float | None], tick: Callable[[float], str]) -> str:
    return next((tick(v) for v in values if v is not None), formatting.MISSING)


def _last(values: list[float | None], tick: Callable[[float], str]) -> str:
    return _first(list(reversed(values)), tick)


def _series(n: int, line: Line, x: list[float], y: Scale1D) -> list[str]:
    css = f"series-{n % SERIES}"
    known = [i for i, v in enumerate(line.values) if v is not None]
    parts = []
    if line.low and line.high:
        banded = [i for i in known if line.low[i] is not None and line.high[i] is not None]
        if banded:
            upper = [f"{x[i]:.1f},{y(line.high[i]):.1f}" for i in banded]
            lower = [f"{x[i]:.1f},{y(line.low[i]):.1f}" for i in reversed(banded)]
            parts.append(f'<polygon class="band {css}" points="{" ".join(upper + lower)}"/>')
    path = " ".join(f"{x[i]:.1f},{y(line.values[i]):.1f}" for i in known)
    parts.append(f'<polyline class="line {css}" points="{path}"/>')
    shape = SERIES_SHAPES[n % len(SERIES_SHAPES)]
    parts += [marker(shape, x[i], y(line.values[i]), f"mark {css}", 3.5) for i in known]
    return parts


def exposure_figure(daily: list[dict], variants: list[str]) -> Chart | None:
    """Cumulative identities per variant, one line each; ``None`` when there is no daily data."""
    if not daily:
        return None
    dates, totals = cumulative_identities(daily, variants)
    lines = [Line(v, [float(t) for t in totals[v]]) for v in variants]
    svg = _line_chart(
        dates,
        lines,
        title="Cumulative identities per variant",
        y_title="identities",
        tick=lambda v, _step: formatting.thousands(round(v)),
        value_text=lambda v: formatting.thousands(round(v)),
        zero_line=False,
        css="exposure-chart",
    )
    rows = [
        [d, *(formatting.thousands(totals[v][i]) for v in variants)] for i, d in enumerate(dates)
    ]
    return Chart(svg, ["Date", *variants], rows)


def lift_over_time_figure(series: dict[str, list[dict]], *, axis: LiftAxis) -> Chart | None:
    """Each treatment's lift at the end of each day, with its interval as a band.

    ``series`` maps a treatment to its days: ``date``, ``lift``, ``low``, ``high`` (a day
    without a lift is a gap). ``None`` with fewer than two days: a line needs two points.
    """
    if max((sum(p["lift"] is not None for p in days) for days in series.values()), default=0) < 2:
        return None
    dates = sorted({p["date"] for days in series.values() for p in days})
    if axis.decimals is None:
        axis = axis.for_values(
            [
                (p["low"], p["high"])
                for days in series.values()
                for p in days
                if p["lift"] is not None
            ]
        )
    lines = []
    for variant, days in series.items():
        by_date = {p["date"]: _scaled(p, axis.factor) for p in days if p["lift"] is not None}
        picked = {
            key: [by_date[d][key] if d in by_date else None for d in dates]
            for key in ("lift", "low", "high")
        }
        lines.append(Line(variant, picked["lift"], picked["low"], picked["high"]))
    svg = _line_chart(
        dates,
        lines,
        title=f"{axis.title}, at the end of each day",
        y_title="lift",
        tick=lambda v, step: axis.tick(v, axis.tick_decimals(step)),
        value_text=axis.tick,
        zero_line=True,
        css="lift-over-time",
    )
    header = ["Date", *(line.name for line in lines)]
    rows = [
        [
            d,
            *(
                formatting.MISSING
                if line.values[i] is None
                else f"{axis.tick(line.values[i])} [{axis.tick(line.low[i])}, "
                f"{axis.tick(line.high[i])}]"
                for line in lines
            ),
        ]
        for i, d in enumerate(dates)
    ]
    return Chart(svg, header, rows)
