"""The two charts of the experiment page, as plotly figures (JSON for ``static/web/charts.js``).

Figures are built with plotly's Python objects, which validate every property name and value,
so a typo here fails in the tests rather than silently in a browser. The page embeds the JSON
with ``json_script`` and one small script draws every figure it finds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import plotly.graph_objects as go

TONE_COLOURS = {
    "good": "#1a7f37",
    "pass": "#4ac26b",
    "bad": "#cf222e",
    "neutral": "#6e7781",
    "muted": "#afb8c1",
}
BETTER_SIDE_FILL = "rgba(26, 127, 55, 0.07)"
SERIES_COLOURS = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#57606a"]
DAY_MS = 24 * 3600 * 1000
MAX_DAILY_TICKS = 14
FOREST_MARGIN = 0.08
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}


def _layout(**extra) -> go.Layout:
    return go.Layout(
        template="none",
        font=FONT,
        margin={"l": 56, "r": 16, "t": 8, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hoverlabel={"font": FONT},
        **extra,
    )


def _as_json(figure: go.Figure) -> dict:
    return figure.to_plotly_json()


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


def exposure_figure(daily: list[dict], variants: list[str]) -> dict | None:
    """Cumulative identities per variant, one line each; ``None`` when there is no daily data."""
    if not daily:
        return None
    dates, totals = cumulative_identities(daily, variants)
    figure = go.Figure(layout=_layout(height=280, hovermode="x unified"))
    for i, variant in enumerate(variants):
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=totals[variant],
                name=variant,
                mode="lines+markers",
                line={"color": SERIES_COLOURS[i % len(SERIES_COLOURS)], "width": 2},
                marker={"size": 5},
                hovertemplate="%{y:,} identities<extra>%{fullData.name}</extra>",
            )
        )
    # One tick a day while that stays readable; plotly would otherwise add half-day ticks.
    daily_ticks = {"dtick": DAY_MS} if len(dates) <= MAX_DAILY_TICKS else {}
    figure.update_xaxes(type="date", showgrid=False, tickformat="%-d %b", **daily_ticks)
    figure.update_yaxes(title_text="identities (cumulative)", rangemode="tozero", tickformat=",")
    figure.update_layout(legend={"orientation": "h", "y": -0.18})
    return _as_json(figure)


@dataclass(frozen=True)
class LiftAxis:
    """How the forest plot's axis shows a lift: a percentage, or a number with a unit.

    ``factor`` scales the values drawn (100 for rate differences, shown in percentage points).
    """

    title: str
    percent: bool = False
    factor: float = 1.0
    suffix: str = ""

    @property
    def tickformat(self) -> str:
        return "+.0%" if self.percent else "+,.3~r"

    @property
    def hoverformat(self) -> str:
        return "+.2%" if self.percent else "+,.3~r"


RELATIVE_AXIS = LiftAxis("relative lift vs control", percent=True)


def _lift_range(points: list[dict], margin: float | None) -> tuple[float, float]:
    """The intervals, zero and the margin, with room: zero is in sight, nothing is cut off."""
    extra = [] if margin is None else [margin]
    left = min(0.0, *extra, *(p["low"] for p in points))
    right = max(0.0, *extra, *(p["high"] for p in points))
    pad = (right - left) * FOREST_MARGIN or FOREST_MARGIN
    return left - pad, right + pad


def forest_figure(
    points: list[dict],
    higher_is_better: bool,
    *,
    axis: LiftAxis = RELATIVE_AXIS,
    margin: float | None = None,
) -> dict | None:
    """Each treatment's lift with its interval, against a zero line.

    ``points`` holds ``variant``, ``lift``, ``low``, ``high``, ``tone`` and ``verdict``. The half
    of the plot where a change is good news is shaded, so polarity reads at a glance; a
    guardrail's non-inferiority ``margin`` (on the same scale) is a dashed line, labelled.
    """
    shown = [_scaled(p, axis.factor) for p in points if p["lift"] is not None]
    if not shown:
        return None
    margin = None if margin is None else margin * axis.factor
    left, right = _lift_range(shown, margin)
    figure = go.Figure(layout=_layout(height=70 + 44 * len(shown), showlegend=False))
    better = (0, right) if higher_is_better else (left, 0)
    figure.add_vrect(x0=better[0], x1=better[1], fillcolor=BETTER_SIDE_FILL, line_width=0)
    figure.add_vline(x=0, line={"color": "#57606a", "width": 1, "dash": "dot"})
    if margin is not None:
        figure.add_vline(
            x=margin,
            line={"color": TONE_COLOURS["bad"], "width": 1, "dash": "dash"},
            annotation={"text": "margin", "font": {**FONT, "color": TONE_COLOURS["bad"]}},
        )
    value = f"%{{x:{axis.hoverformat}}}{axis.suffix}"
    low = f"%{{customdata[0]:{axis.hoverformat}}}{axis.suffix}"
    high = f"%{{customdata[1]:{axis.hoverformat}}}{axis.suffix}"
    for p in shown:
        colour = TONE_COLOURS[p["tone"]]
        figure.add_trace(
            go.Scatter(
                x=[p["lift"]],
                y=[p["variant"]],
                mode="markers",
                marker={"color": colour, "size": 11, "symbol": "diamond"},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [p["high"] - p["lift"]],
                    "arrayminus": [p["lift"] - p["low"]],
                    "color": colour,
                    "thickness": 2.5,
                    "width": 6,
                },
                name=p["variant"],
                customdata=[[p["low"], p["high"], p["verdict"]]],
                hovertemplate=(
                    f"%{{y}}: {value} [{low}, {high}]<br>%{{customdata[2]}}<extra></extra>"
                ),
            )
        )
    arrow = "better →" if higher_is_better else "← better"
    figure.update_xaxes(
        range=[left, right],
        tickformat=axis.tickformat,
        ticksuffix=axis.suffix,
        zeroline=False,
        showgrid=True,
        gridcolor="#eaeef2",
        title_text=f"{axis.title} ({arrow})",
    )
    figure.update_yaxes(autorange="reversed", showgrid=False, automargin=True)
    return _as_json(figure)


def _scaled(point: dict, factor: float) -> dict:
    if factor == 1.0:
        return point
    return {**point, **{k: point[k] * factor for k in ("lift", "low", "high")}}


def lift_over_time_figure(series: dict[str, list[dict]], *, axis: LiftAxis) -> dict | None:
    """Each treatment's lift at the end of each day, with its interval as a band.

    ``series`` maps a treatment to its days: ``date``, ``lift``, ``low``, ``high`` (days
    without a lift are left out). ``None`` with fewer than two days: a line needs two points.
    """
    shown = {
        variant: [_scaled(p, axis.factor) for p in days if p["lift"] is not None]
        for variant, days in series.items()
    }
    if max((len(days) for days in shown.values()), default=0) < 2:
        return None
    figure = go.Figure(layout=_layout(height=260, hovermode="x unified"))
    figure.add_hline(y=0, line={"color": "#57606a", "width": 1, "dash": "dot"})
    value = f"%{{y:{axis.hoverformat}}}{axis.suffix}"
    for i, (variant, days) in enumerate(shown.items()):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        dates = [p["date"] for p in days]
        band = [p["high"] for p in days] + [p["low"] for p in reversed(days)]
        figure.add_trace(
            go.Scatter(
                x=dates + dates[::-1],
                y=band,
                fill="toself",
                fillcolor=_translucent(colour),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name=f"{variant} interval",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=[p["lift"] for p in days],
                name=variant,
                mode="lines+markers",
                line={"color": colour, "width": 2},
                marker={"size": 5, "symbol": ["circle", "square", "diamond"][i % 3]},
                hovertemplate=f"{value}<extra>%{{fullData.name}}</extra>",
            )
        )
    daily_ticks = {"dtick": DAY_MS} if len(dates) <= MAX_DAILY_TICKS else {}
    figure.update_xaxes(type="date", showgrid=False, tickformat="%-d %b", **daily_ticks)
    figure.update_yaxes(
        title_text=axis.title, tickformat=axis.tickformat, ticksuffix=axis.suffix, zeroline=False
    )
    figure.update_layout(legend={"orientation": "h", "y": -0.18})
    return _as_json(figure)


def _translucent(colour: str) -> str:
    """``#rrggbb`` as an rgba fill a fifth opaque, so the bands of two arms stay readable."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, 0.2)"
