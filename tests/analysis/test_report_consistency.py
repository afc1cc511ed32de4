"""One scale, one answer: on generated inputs, a comparison's verdict, its interval and its
p-value (or chance to win) always agree, for every method, scale and correction."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.analysis.contract import Comparison, ResultDocument
from liftlab.vocabulary import Verdict

from .test_report import attached, moments_of, report_for

ANALYSES = st.fixed_dictionaries(
    {
        "engine": st.sampled_from(["frequentist", "bayesian"]),
        "scale": st.sampled_from(["relative", "absolute"]),
        "correction": st.sampled_from(["none", "holm", "benjamini_hochberg"]),
        "alpha": st.sampled_from([0.01, 0.05, 0.1, 0.2]),
        "chance_to_win_threshold": st.sampled_from([0.8, 0.95, 0.99]),
    }
).flatmap(
    lambda a: (
        st.just(a)
        if a["engine"] == "bayesian"
        else st.builds(lambda seq: {**a, "sequential": seq}, st.booleans())
    )
)


@st.composite
def experiments(draw: st.DrawFn) -> dict:
    """Three arms and two to four metrics whose true lifts range from none to large."""
    generator = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([60, 300, 4000]))
    arms = {}
    for k in range(draw(st.integers(2, 4))):
        lifts = [0.0, *(draw(st.sampled_from([0.0, 0.02, 0.1, -0.1])) for _ in range(2))]
        if draw(st.booleans()):
            arms[str(k + 1)] = {
                v: moments_of((generator.random(n) < 0.2 * (1 + lift)).astype(float))
                for v, lift in zip(("control", "a", "b"), lifts, strict=True)
            }
        else:
            arms[str(k + 1)] = {
                v: moments_of(generator.lognormal(0, 1, n) * (1 + lift))
                for v, lift in zip(("control", "a", "b"), lifts, strict=True)
            }
    return arms


def judged_interval(x: Comparison):
    estimate = x.relative if x.scale == "relative" else x.absolute
    return x.ci_adjusted if x.ci_adjusted is not None else estimate.ci


def excludes_zero(interval) -> bool:
    return interval.low > 0 or interval.high < 0


def check(document: ResultDocument) -> None:
    analysis = document.analysis
    for metric in document.metrics:
        for x in metric.comparisons:
            if x.verdict is Verdict.INSUFFICIENT_DATA:
                continue
            decided = x.verdict in (Verdict.WIN, Verdict.LOSS)
            if metric.role == "guardrail":
                decided = x.verdict is Verdict.LOSS
                if x.non_inferiority.passed:
                    assert x.verdict in (Verdict.PASS, Verdict.LOSS)
            interval = judged_interval(x)
            if analysis.engine == "bayesian":
                t = analysis.chance_to_win_threshold
                certain = x.chance_to_win >= t or x.chance_to_win <= 1 - t
                assert excludes_zero(interval) == certain, x
                if metric.role != "guardrail":
                    assert decided == certain, x
            else:
                assert excludes_zero(interval) == (x.p_value_adjusted < analysis.alpha), x
                excludes_raw = excludes_zero(
                    (x.relative if x.scale == "relative" else x.absolute).ci
                )
                assert excludes_raw == (x.p_value < analysis.alpha), x
                if metric.role != "guardrail":
                    assert decided == (x.p_value_adjusted < analysis.alpha), x


@settings(max_examples=150, deadline=None)
@given(arms=experiments(), analysis=ANALYSES, guardrail=st.booleans())
def test_verdict_interval_and_p_value_agree(arms, analysis, guardrail) -> None:
    metrics = [attached(key, "sum") for key in arms]
    if guardrail:
        metrics[-1] = attached(metrics[-1].key, "sum", direction="no_change", role="guardrail")
    check(report_for(arms, metrics, analysis=analysis))
