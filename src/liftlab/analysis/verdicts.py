"""Verdicts and decisions as rules: evidence in, a word and its reasons out.

A method does not decide; it supplies ``Evidence`` through its ``Rule`` (an interval that
excludes 0, or a chance to win past a threshold), and one table turns evidence into a verdict
for every method alike. The experiment's decision per treatment then follows from its verdicts
and the sample-ratio check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from liftlab.vocabulary import Decision, MetricRole, Verdict


@dataclass(frozen=True)
class Evidence:
    """What one comparison's method established, oriented so that "better" is good news."""

    enough_data: bool
    better: bool
    worse: bool
    non_inferior: bool | None = None  # None: not judged by non-inferiority


def verdict(evidence: Evidence, *, guardrail: bool) -> Verdict:
    """The verdict table.

    Guardrail-style metrics: ``loss`` when harm is established, ``pass`` when harm beyond the
    margin is ruled out, else ``at_risk`` (not yet shown safe). Other metrics: ``win`` or
    ``loss`` when the effect is established either way, else ``inconclusive``.
    """
    if not evidence.enough_data:
        return Verdict.INSUFFICIENT_DATA
    if guardrail:
        if evidence.worse:
            return Verdict.LOSS
        return Verdict.PASS if evidence.non_inferior else Verdict.AT_RISK
    if evidence.better:
        return Verdict.WIN
    return Verdict.LOSS if evidence.worse else Verdict.INCONCLUSIVE


# Which verdict best sums up a metric over its treatments: bad news before good news, news
# before no news.
SUMMARY_ORDER = (
    Verdict.LOSS,
    Verdict.WIN,
    Verdict.AT_RISK,
    Verdict.INSUFFICIENT_DATA,
    Verdict.INCONCLUSIVE,
    Verdict.PASS,
)


def summary_verdict(verdicts: Sequence[tuple[str, Verdict]]) -> tuple[Verdict, str | None]:
    """A metric's verdict over its treatments, with the treatment it belongs to."""
    for candidate in SUMMARY_ORDER:
        for variant, found in verdicts:
            if found is candidate:
                return candidate, variant
    return Verdict.INSUFFICIENT_DATA, None


@dataclass(frozen=True)
class Judged:
    """One metric's verdict for one treatment, with the words that describe it."""

    name: str
    role: MetricRole
    verdict: Verdict
    summary: str  # e.g. "+3.1 % [+1.2 %, +5.0 %]"


def decide(
    judged: Sequence[Judged], *, srm_mismatch: bool, srm_text: str, is_final: bool
) -> tuple[Decision, list[str]]:
    """A treatment's decision and its reasons, most important first.

    A sample-ratio mismatch voids everything else. Then any primary or guardrail loss is
    ``do_not_ship``; a primary win with every guardrail passed is ``ship``; otherwise the
    experiment should ``keep_running``, or once completed has ``no_decision``.
    """
    if srm_mismatch:
        return Decision.INVESTIGATE_ASSIGNMENT, [
            f"sample-ratio mismatch ({srm_text}): assignment or exposure logging is broken, "
            "so no metric result can be trusted until the cause is found"
        ]
    primary = [j for j in judged if j.role is MetricRole.PRIMARY]
    guardrails = [j for j in judged if j.role is MetricRole.GUARDRAIL]
    losses = [j for j in (*primary, *guardrails) if j.verdict is Verdict.LOSS]
    wins = [j for j in primary if j.verdict is Verdict.WIN]
    if losses:
        given_up = [
            f"primary metric {j.name!r} won, a gain given up with it: {j.summary}" for j in wins
        ]
        reasons = [_loss_reason(j) for j in losses] + given_up
        return Decision.DO_NOT_SHIP, reasons + _notes(judged, [*losses, *wins])
    if not primary:
        return Decision.NO_DECISION, ["no primary metric is attached"]
    unsafe = [j for j in guardrails if j.verdict is not Verdict.PASS]
    if wins and not unsafe:
        reasons = [f"primary metric {j.name!r} won: {j.summary}" for j in wins]
        if guardrails:
            reasons.append(f"every guardrail ({len(guardrails)}) is within its margin")
        return Decision.SHIP, reasons + _notes(judged, [*wins, *guardrails])
    open_points = [_open_reason(j) for j in (*primary, *unsafe) if j.verdict is not Verdict.WIN]
    open_points += [f"primary metric {j.name!r} won: {j.summary}" for j in wins]
    return (Decision.NO_DECISION if is_final else Decision.KEEP_RUNNING), open_points


def _kind(j: Judged) -> str:
    return "guardrail" if j.role is MetricRole.GUARDRAIL else "primary metric"


def _loss_reason(j: Judged) -> str:
    return f"{_kind(j)} {j.name!r} got worse: {j.summary}"


def _open_reason(j: Judged) -> str:
    what = {
        Verdict.AT_RISK: "not yet shown to be within its margin",
        Verdict.INSUFFICIENT_DATA: "has too little data for a verdict",
        Verdict.INCONCLUSIVE: "shows no clear effect yet",
    }[j.verdict]
    return f"{_kind(j)} {j.name!r} {what}: {j.summary}"


def _notes(judged: Sequence[Judged], said: Sequence[Judged]) -> list[str]:
    """Secondary metrics that moved, as information after the reasons that decided."""
    return [
        f"secondary metric {j.name!r} {'won' if j.verdict is Verdict.WIN else 'got worse'}: "
        f"{j.summary}"
        for j in judged
        if j.role is MetricRole.SECONDARY
        and j.verdict in (Verdict.WIN, Verdict.LOSS)
        and j not in said
    ]
