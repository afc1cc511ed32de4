"""The result document's slices: each day's results at its cutoff, and each segment's.

A day is the whole report as it would have been computed with that day's data (same method,
same corrections, same verdict rules), reduced to what a chart over time reads. A segment is
the whole report over the identities of one dimension value; its p-values are then corrected
once more, across every segment, metric and treatment of the dimension, because reading twenty
segments is twenty chances of a false positive. Segments are exploratory: no decision reads
them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime

import numpy as np

from liftlab.analysis import contract as c
from liftlab.analysis.breakdowns import Breakdown
from liftlab.analysis.results import ResultStats
from liftlab.analysis.settings import AnalysisSettings, Engine
from liftlab.analysis.spec import ExperimentSpec
from liftlab.stats import Correction, adjust

Report = Callable[[ExperimentSpec, ResultStats], c.ResultDocument]
"""``build_report`` with everything but the spec and the statistics fixed."""


def days(
    spec: ExperimentSpec,
    timeline: Sequence[tuple[date, ResultStats]],
    cutoffs: Sequence[tuple[date, datetime]],
    report: Report,
) -> list[c.Day]:
    """Each day's document, reduced to its exposures and judged comparisons."""
    out = []
    ends = dict(cutoffs)
    for day, stats in timeline:
        cutoff = ends[day]
        document = report(replace(spec, end=cutoff), stats)
        out.append(
            c.Day(
                date=day,
                cutoff=cutoff,
                exposures=document.exposures.variants,
                metrics=[
                    c.DayMetric(
                        metric=m.metric,
                        comparisons=[
                            c.DayComparison(
                                variant=x.variant,
                                estimate=x.judged,
                                p_value_adjusted=x.p_value_adjusted,
                                chance_to_win=x.chance_to_win,
                                verdict=x.verdict,
                            )
                            for x in m.comparisons
                        ],
                    )
                    for m in document.metrics
                ],
            )
        )
    return out


def breakdowns(
    spec: ExperimentSpec,
    segments: dict[str, dict[str, ResultStats]],
    settings: AnalysisSettings,
    report: Report,
) -> list[c.Breakdown]:
    """Every dimension's segments, their p-values corrected across the dimension."""
    return [
        _breakdown(dimension, segments.get(dimension.key, {}), spec, settings, report)
        for dimension in spec.breakdowns
    ]


def _breakdown(
    dimension: Breakdown,
    segments: dict[str, ResultStats],
    spec: ExperimentSpec,
    settings: AnalysisSettings,
    report: Report,
) -> c.Breakdown:
    documents = {value: report(spec, stats) for value, stats in segments.items()}
    comparisons = [
        (value, m.metric, x)
        for value, d in documents.items()
        for m in d.metrics
        for x in m.comparisons
    ]
    adjusted = _across(comparisons, settings)
    return c.Breakdown(
        key=dimension.key,
        source=dimension.source.value,
        property=dimension.property,
        segments=[
            c.Segment(
                value=value,
                exposures=d.exposures.variants,
                srm=d.srm,
                metrics=[
                    c.SegmentMetric(
                        metric=m.metric,
                        comparisons=[
                            _segment_comparison(
                                x, adjusted.get((value, m.metric, x.variant)), settings
                            )
                            for x in m.comparisons
                        ],
                    )
                    for m in d.metrics
                ],
            )
            for value, d in documents.items()
        ],
    )


def _across(
    comparisons: list[tuple[str, int, c.Comparison]], settings: AnalysisSettings
) -> dict[tuple[str, int, str], float]:
    """The experiment's correction over every defined p-value of the dimension."""
    keyed = [
        ((value, metric, x.variant), x.p_value)
        for value, metric, x in comparisons
        if x.p_value is not None
    ]
    if not keyed or settings.engine is Engine.BAYESIAN:
        return {}
    p_values = np.array([p for _, p in keyed], dtype=np.float64)
    corrected = adjust(p_values, Correction(settings.correction))
    return {key: float(p) for (key, _), p in zip(keyed, corrected, strict=True)}


def _segment_comparison(
    x: c.Comparison, p_adjusted: float | None, settings: AnalysisSettings
) -> c.SegmentComparison:
    if settings.engine is Engine.BAYESIAN:
        chance = x.chance_to_win
        threshold = settings.chance_to_win_threshold
        significant = chance is not None and (chance >= threshold or chance <= 1 - threshold)
    else:
        significant = p_adjusted is not None and p_adjusted < settings.alpha
    return c.SegmentComparison(
        variant=x.variant,
        estimate=x.judged,
        p_value=x.p_value,
        p_value_adjusted=p_adjusted,
        chance_to_win=x.chance_to_win,
        significant=significant,
    )
