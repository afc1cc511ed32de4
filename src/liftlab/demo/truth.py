"""Does a verdict match what the simulation truly did?"""

from __future__ import annotations

NULL_LIFT = 1e-9


def expected_verdict(true_lift: float, expected_direction: str, higher_is_better: bool) -> str:
    """The verdict a correct analysis with enough power gives for a known true lift."""
    if abs(true_lift) < NULL_LIFT:
        return "pass" if expected_direction == "no_change" else "inconclusive"
    went_up = true_lift > 0
    if expected_direction == "no_change":
        return "pass" if went_up == higher_is_better else "loss"
    return "win" if went_up == (expected_direction == "increase") else "loss"


def check_verdicts(document: dict, truth: dict[str, dict[str, float]]) -> list[dict]:
    """One row per comparison: the true lift, the expected and the actual verdict."""
    rows = []
    for metric in document["metrics"]:
        for comparison in metric["comparisons"]:
            true_lift = truth[str(metric["metric"])][comparison["variant"]]
            expected = expected_verdict(
                true_lift, metric["expected_direction"], metric["higher_is_better"]
            )
            rows.append(
                {
                    "metric": metric["name"],
                    "variant": comparison["variant"],
                    "true_lift": true_lift,
                    "measured_lift": comparison["relative_lift"],
                    "expected": expected,
                    "verdict": comparison["verdict"],
                    "matches": expected == comparison["verdict"],
                }
            )
    return rows
