"""Words every layer shares, defined once: the exposure event, roles, directions, verdicts.

This module imports nothing of liftlab, so the ingestion, the analysis, the Django models and
the pages can all take their vocabulary from here without bending the layering.
"""

from __future__ import annotations

from enum import StrEnum

EXPOSURE_EVENT = "$flag_exposure"


class ExpectedDirection(StrEnum):
    """What the experiment expects a metric to do; ``no_change``: it must not get worse."""

    INCREASE = "increase"
    DECREASE = "decrease"
    NO_CHANGE = "no_change"


class MetricRole(StrEnum):
    """Primary metrics decide, secondary ones inform, guardrails must not be harmed."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    GUARDRAIL = "guardrail"


class Verdict(StrEnum):
    """One treatment against control on one metric."""

    WIN = "win"
    LOSS = "loss"
    INCONCLUSIVE = "inconclusive"
    PASS = "pass"
    AT_RISK = "at_risk"
    INSUFFICIENT_DATA = "insufficient_data"


class Decision(StrEnum):
    """What to do with one treatment, from all its verdicts and the sample-ratio check."""

    SHIP = "ship"
    DO_NOT_SHIP = "do_not_ship"
    KEEP_RUNNING = "keep_running"
    NO_DECISION = "no_decision"
    INVESTIGATE_ASSIGNMENT = "investigate_assignment"


def improves_upward(expected_direction: str, higher_is_better: bool) -> bool:
    """Whether an increase is the good news a metric is judged by: its expected direction, or
    for ``no_change`` its polarity."""
    if expected_direction == ExpectedDirection.NO_CHANGE:
        return higher_is_better
    return expected_direction == ExpectedDirection.INCREASE


def judged_as_guardrail(role: str, expected_direction: str) -> bool:
    """Guardrails and "must not change" metrics are judged by non-inferiority."""
    return role == MetricRole.GUARDRAIL or expected_direction == ExpectedDirection.NO_CHANGE


def choices(vocabulary: type[StrEnum]) -> list[tuple[str, str]]:
    """Django ``choices`` for a vocabulary: each value with a readable label."""
    return [(item.value, item.value.replace("_", " ").capitalize()) for item in vocabulary]
