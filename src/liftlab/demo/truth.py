"""Does a verdict (and a decision) match what the simulation truly did?

The expected verdict follows the engine's rules for a correct analysis with enough power:
guardrail-style metrics (guardrails, and metrics expected not to change) ``pass`` when the
truth is no change or an improvement and are a ``loss`` when truly harmed; other metrics are a
``win`` or a ``loss`` when truly moved, ``inconclusive`` when not. The expected decision is the
engine's own decision rule (``liftlab.analysis.verdicts.decide``) applied to the expected
verdicts, with no sample-ratio mismatch (the simulation assigns by the weights).

The true lift of each metric is the simulator's (``liftlab.simulate.truth``): of the capped
metric for a capped one, of the ratio of expectations for a ratio, of the generating
distribution's quantile for a quantile. A capped metric's cap is also put beside the one the
engine applied: the engine's comes from the experiment's own users, the truth's from the
distribution they were drawn from.
"""

from __future__ import annotations

from typing import Any

from liftlab.analysis.contract import ResultDocument
from liftlab.analysis.documents import as_current
from liftlab.analysis.verdicts import Judged, decide
from liftlab.simulate import MetricTruth
from liftlab.vocabulary import Decision, MetricRole, Verdict, improves_upward, judged_as_guardrail

NULL_LIFT = 1e-9


def expected_verdict(
    true_lift: float,
    expected_direction: str,
    higher_is_better: bool,
    role: str = MetricRole.PRIMARY,
) -> Verdict:
    """The verdict a correct analysis with enough power gives for a known true lift."""
    good_is_up = improves_upward(expected_direction, higher_is_better)
    moved = abs(true_lift) >= NULL_LIFT
    improved = moved and (true_lift > 0) == good_is_up
    if judged_as_guardrail(role, expected_direction):
        return Verdict.LOSS if moved and not improved else Verdict.PASS
    if not moved:
        return Verdict.INCONCLUSIVE
    return Verdict.WIN if improved else Verdict.LOSS


def check_verdicts(
    document: dict[str, Any] | ResultDocument, truth: dict[str, dict[str, float]], control: str
) -> list[dict]:
    """One row per comparison: the true lift, the expected and the actual verdict."""
    doc = document if isinstance(document, ResultDocument) else as_current(document, control)
    rows = []
    for metric in doc.metrics:
        for comparison in metric.comparisons:
            true_lift = truth[str(metric.metric)][comparison.variant]
            expected = expected_verdict(
                true_lift, metric.expected_direction, metric.higher_is_better, metric.role
            )
            measured = comparison.relative.estimate if comparison.relative else None
            rows.append(
                {
                    "metric": metric.name,
                    "role": metric.role,
                    "variant": comparison.variant,
                    "true_lift": true_lift,
                    "measured_lift": measured,
                    "expected": expected,
                    "verdict": comparison.verdict,
                    "matches": expected == comparison.verdict,
                }
            )
    return rows


def check_decisions(
    document: dict[str, Any] | ResultDocument, verdicts: list[dict], control: str
) -> list[dict]:
    """One row per treatment: the decision the true effects call for, and the one made."""
    doc = document if isinstance(document, ResultDocument) else as_current(document, control)
    rows = []
    for made in doc.decisions:
        judged = [
            Judged(name=r["metric"], role=MetricRole(r["role"]), verdict=r["expected"], summary="")
            for r in verdicts
            if r["variant"] == made.variant
        ]
        expected, _ = decide(judged, srm_mismatch=False, srm_text="", is_final=doc.is_final)
        rows.append(
            {
                "variant": made.variant,
                "expected": Decision(expected),
                "decision": made.decision,
                "matches": expected == made.decision,
            }
        )
    return rows


def check_caps(
    document: dict[str, Any] | ResultDocument, truths: dict[str, MetricTruth], control: str
) -> list[dict]:
    """One row per capped metric: the cap the engine applied and the true cap, in the
    metric's unit (for an absolute cap both are the cap as defined)."""
    doc = document if isinstance(document, ResultDocument) else as_current(document, control)
    return [
        {
            "metric": metric.name,
            "applied": metric.cap.applied,
            "true": truths[str(metric.metric)].cap,
        }
        for metric in doc.metrics
        if metric.cap is not None
    ]
