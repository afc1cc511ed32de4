"""The verdict table, the summary verdict and the decision rules, case by case."""

from __future__ import annotations

import pytest

from liftlab.analysis.verdicts import Evidence, Judged, decide, summary_verdict, verdict
from liftlab.vocabulary import Decision, MetricRole, Verdict

ENOUGH = {"enough_data": True}


@pytest.mark.parametrize(
    ("evidence", "guardrail", "expected"),
    [
        (Evidence(enough_data=False, better=True, worse=False), False, Verdict.INSUFFICIENT_DATA),
        (Evidence(**ENOUGH, better=True, worse=False), False, Verdict.WIN),
        (Evidence(**ENOUGH, better=False, worse=True), False, Verdict.LOSS),
        (Evidence(**ENOUGH, better=False, worse=False), False, Verdict.INCONCLUSIVE),
        (Evidence(**ENOUGH, better=False, worse=True, non_inferior=False), True, Verdict.LOSS),
        (Evidence(**ENOUGH, better=False, worse=False, non_inferior=True), True, Verdict.PASS),
        (Evidence(**ENOUGH, better=True, worse=False, non_inferior=True), True, Verdict.PASS),
        (Evidence(**ENOUGH, better=False, worse=False, non_inferior=False), True, Verdict.AT_RISK),
        (Evidence(enough_data=False, better=False, worse=True), True, Verdict.INSUFFICIENT_DATA),
    ],
)
def test_the_verdict_table(evidence: Evidence, guardrail: bool, expected: Verdict) -> None:
    assert verdict(evidence, guardrail=guardrail) is expected


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([("a", Verdict.WIN), ("b", Verdict.LOSS)], (Verdict.LOSS, "b")),
        ([("a", Verdict.INCONCLUSIVE), ("b", Verdict.WIN)], (Verdict.WIN, "b")),
        ([("a", Verdict.PASS), ("b", Verdict.AT_RISK)], (Verdict.AT_RISK, "b")),
        ([("a", Verdict.PASS), ("b", Verdict.PASS)], (Verdict.PASS, "a")),
        (
            [("a", Verdict.INCONCLUSIVE), ("b", Verdict.INSUFFICIENT_DATA)],
            (Verdict.INSUFFICIENT_DATA, "b"),
        ),
        ([], (Verdict.INSUFFICIENT_DATA, None)),
    ],
)
def test_the_summary_verdict_names_its_treatment(verdicts, expected) -> None:
    assert summary_verdict(verdicts) == expected


def judged(name: str, role: MetricRole, found: Verdict) -> Judged:
    return Judged(name=name, role=role, verdict=found, summary="+1.00% [+0.50%, +1.50%]")


PRIMARY, SECONDARY, GUARDRAIL = MetricRole.PRIMARY, MetricRole.SECONDARY, MetricRole.GUARDRAIL


def decision_of(*verdicts: Judged, final: bool = False, srm: bool = False):
    return decide(verdicts, srm_mismatch=srm, srm_text="p = 1e-05", is_final=final)


def test_a_primary_win_with_every_guardrail_passed_ships() -> None:
    decision, reasons = decision_of(
        judged("signup", PRIMARY, Verdict.WIN),
        judged("latency", GUARDRAIL, Verdict.PASS),
        judged("clicks", SECONDARY, Verdict.LOSS),
    )
    assert decision is Decision.SHIP
    assert reasons == [
        "primary metric 'signup' won: +1.00% [+0.50%, +1.50%]",
        "every guardrail (1) is within its margin",
        "secondary metric 'clicks' got worse: +1.00% [+0.50%, +1.50%]",
    ]


@pytest.mark.parametrize(
    "loser",
    [judged("signup", PRIMARY, Verdict.LOSS), judged("latency", GUARDRAIL, Verdict.LOSS)],
)
def test_a_primary_or_guardrail_loss_is_do_not_ship(loser: Judged) -> None:
    decision, reasons = decision_of(judged("revenue", PRIMARY, Verdict.WIN), loser)
    assert decision is Decision.DO_NOT_SHIP
    assert reasons[0].endswith("got worse: +1.00% [+0.50%, +1.50%]")
    assert reasons[1].startswith("primary metric 'revenue' won, a gain given up with it")


def test_a_secondary_loss_alone_does_not_block() -> None:
    decision, _ = decision_of(
        judged("signup", PRIMARY, Verdict.WIN), judged("clicks", SECONDARY, Verdict.LOSS)
    )
    assert decision is Decision.SHIP


@pytest.mark.parametrize("guardrail", [Verdict.AT_RISK, Verdict.INSUFFICIENT_DATA])
def test_a_win_with_a_guardrail_not_shown_safe_keeps_running(guardrail: Verdict) -> None:
    decision, reasons = decision_of(
        judged("signup", PRIMARY, Verdict.WIN), judged("latency", GUARDRAIL, guardrail)
    )
    assert decision is Decision.KEEP_RUNNING
    assert reasons[0].startswith("guardrail 'latency'")
    assert reasons[-1].startswith("primary metric 'signup' won")
    final, _ = decision_of(
        judged("signup", PRIMARY, Verdict.WIN),
        judged("latency", GUARDRAIL, guardrail),
        final=True,
    )
    assert final is Decision.NO_DECISION


def test_without_a_primary_metric_there_is_no_decision() -> None:
    assert decision_of(judged("latency", GUARDRAIL, Verdict.PASS))[0] is Decision.NO_DECISION


def test_a_sample_ratio_mismatch_overrides_everything() -> None:
    decision, reasons = decision_of(judged("signup", PRIMARY, Verdict.WIN), srm=True)
    assert decision is Decision.INVESTIGATE_ASSIGNMENT
    assert reasons[0].startswith("sample-ratio mismatch (p = 1e-05)")
