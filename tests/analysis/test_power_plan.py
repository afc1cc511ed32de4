"""plan() and running_power(): the stats figures, rounded and shared out as documented."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liftlab.analysis.power import (
    MAX_IDENTITIES,
    PowerError,
    TreatmentCorrection,
    parse_question,
    plan,
    running_power,
)
from liftlab.stats import (
    FixedHorizonDesign,
    PlannedComparison,
    SequentialDesign,
    identities_needed,
    minimum_detectable_effect,
)

QUESTION = {
    "baseline": {"mean": 10.0, "variance": 25.0},
    "mde": 0.05,
    "daily_traffic": 700,
    "weights": [50, 25, 25],
}


def ask(**changes) -> dict:
    return plan(parse_question({**QUESTION, **changes})).model_dump(mode="json")


def test_each_design_is_the_stats_figure_for_the_hardest_treatment_rounded_up():
    answer = ask()
    comparison = PlannedComparison.of(10.0, 25.0, control_weight=0.5, treatment_weight=0.25)
    for name, design in (
        ("fixed_horizon", FixedHorizonDesign()),
        ("sequential", SequentialDesign(0.05, 5000.0)),
    ):
        needed = identities_needed(
            comparison, 0.05, scale="relative", alpha=0.025, power=0.8, design=design
        ).item()
        got = answer[name]
        assert got["identities"] == math.ceil(needed)
        assert got["identities_per_arm"] == [math.ceil(needed * w) for w in (0.5, 0.25, 0.25)]
        assert got["days"] == math.ceil(got["identities"] / 700)
        assert got["mde_at_identities"] is None
    assert answer["alpha_per_comparison"] == 0.025  # Bonferroni over two treatments
    assert answer["design"] == "fixed_horizon"
    assert answer["sequential"]["identities"] > answer["fixed_horizon"]["identities"]


def test_no_correction_more_treatments_and_more_power_move_the_figures_the_right_way():
    base = ask()["fixed_horizon"]["identities"]
    assert ask(correction="none")["fixed_horizon"]["identities"] < base
    assert (
        ask(weights=[1, 1, 1, 1])["fixed_horizon"]["identities"]
        > ask(weights=[1, 1])["fixed_horizon"]["identities"]
    )
    assert ask(power=0.9)["fixed_horizon"]["identities"] > base
    assert ask(sequential=True)["design"] == "sequential"


def test_the_mde_at_the_identities_needed_is_at_most_the_mde_asked():
    first = ask()
    for name in ("fixed_horizon", "sequential"):
        again = ask(identities=first[name]["identities"])[name]["mde_at_identities"]
        assert 0.049 < again <= 0.05


def test_a_conversion_plans_with_its_own_variance_on_the_absolute_scale():
    answer = ask(baseline={"mean": 0.1, "conversion": True}, mde=0.01, scale="absolute")
    comparison = PlannedComparison.of_proportion(0.1, control_weight=0.5, treatment_weight=0.25)
    needed = identities_needed(
        comparison, 0.01, scale="absolute", alpha=0.025, power=0.8, design=FixedHorizonDesign()
    ).item()
    assert answer["fixed_horizon"]["identities"] == math.ceil(needed)
    assert answer["baseline"] == {"conversion": True, "mean": 0.1, "variance": None}


def test_the_mde_of_a_handful_is_null_when_no_change_of_the_rate_is_detectable():
    """Two identities cannot tell a rate of ½ from 0 or 1 (a change of ½ either way)."""
    answer = ask(
        baseline={"mean": 0.5, "conversion": True},
        scale="absolute",
        mde=0.1,
        identities=2,
        weights=[1, 1],
    )
    assert answer["fixed_horizon"]["mde_at_identities"] is None
    assert answer["sequential"]["mde_at_identities"] is None


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"baseline": {"mean": 1.5, "conversion": True}}, "baseline.mean"),
        ({"baseline": {"mean": 0.5, "conversion": True, "variance": 0.25}}, "baseline.variance"),
        ({"baseline": {"mean": 5.0}}, "baseline.variance"),
        ({"baseline": {"mean": 5.0, "variance": 0}}, "baseline.variance"),
        ({"baseline": {"mean": 5.0, "variance": 1, "extra": 1}}, "baseline.extra"),
        ({"mde": "0.05"}, "mde"),
        ({"mde": True}, "mde"),
        ({"mde": float("inf")}, "mde"),
        ({"mde": 0}, "mde"),
        ({"alpha": 0.5}, "alpha"),
        ({"power": 1.0}, "power"),
        ({"weights": [1]}, "weights"),
        ({"weights": [1, 0]}, "weights.1"),
        ({"weights": [1] * 21}, "weights"),
        ({"daily_traffic": -1}, "daily_traffic"),
        ({"scale": "log"}, "scale"),
        ({"correction": "holm"}, "correction"),
        ({"identities": 2.5}, "identities"),
        ({"identities": 10**400}, "identities"),
        ({"sequential": "yes"}, "sequential"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_question_names_its_field(changes, path):
    with pytest.raises(PowerError) as refused:
        plan(parse_question({**QUESTION, **changes}))
    assert path in refused.value.errors, refused.value.errors


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"baseline": {"mean": 0.0, "variance": 1.0}}, "baseline.mean", "nonzero"),
        ({"baseline": {"mean": 0.5, "conversion": True}, "mde": 2.5}, "mde", "below 0 or above 1"),
        ({"mde": 1e-9}, "mde", f"{MAX_IDENTITIES:.0e}"),
    ],
)
def test_questions_without_an_answer_say_why(changes, path, words):
    with pytest.raises(PowerError) as refused:
        plan(parse_question({**QUESTION, **changes}))
    assert words in refused.value.errors[path]


def test_a_running_experiment_reads_todays_mde_and_the_days_still_needed():
    """Halfway to the plan's identities, the MDE today is the stats figure at today's n, and
    the days left are the plan's days less those run (to a day's rounding)."""
    planned = ask(weights=[50, 50], correction="none")["fixed_horizon"]
    half = planned["identities"] // 2
    running = running_power(
        control_mean=10.0,
        variances=[25.0, 25.0],
        identities=[half // 2, half - half // 2],
        weights=[50, 50],
        days_run=half / 700,
        metric_type="numeric",
    )
    comparison = PlannedComparison.of(10.0, 25.0)
    today = minimum_detectable_effect(
        comparison, half, scale="relative", alpha=0.05, power=0.8, design=FixedHorizonDesign()
    )
    assert running.mde == pytest.approx((today.item(),))
    assert running.target_mde == 0.05 and running.daily_traffic == pytest.approx(700)
    assert abs(running.days_remaining[0] - (planned["days"] - half / 700)) <= 1
    assert running.days_to_decision == running.days_remaining[0]


def test_a_running_experiment_past_its_target_needs_no_more_days():
    running = running_power(
        control_mean=0.2,
        variances=[0.16, 0.16, 0.16],
        identities=[40_000, 40_000, 40_000],
        weights=[1, 1, 1],
        days_run=10,
        metric_type="conversion",
        scale="absolute",
        sequential=True,
        correction=TreatmentCorrection.BONFERRONI,
        target_mde=0.02,
    )
    assert running.days_remaining == (0, 0) and running.days_to_decision == 0
    assert all(m is not None and m < 0.02 for m in running.mde)


def test_the_absolute_default_target_is_five_percent_of_the_control_mean():
    running = running_power(
        control_mean=-40.0,
        variances=[100.0, 90.0],
        identities=[50, 50],
        weights=[1, 1],
        days_run=2,
        metric_type="numeric",
        scale="absolute",
    )
    assert running.target_mde == pytest.approx(2.0)
    assert running.days_remaining[0] > 0


def test_a_running_experiment_without_data_says_it_cannot_tell():
    running = running_power(
        control_mean=float("nan"),
        variances=[float("nan"), float("nan")],
        identities=[0, 0],
        weights=[1, 1],
        days_run=0,
        metric_type="numeric",
    )
    assert running.mde == (None,) and running.days_remaining == (None,)
    assert running.days_to_decision is None and np.isnan(running.daily_traffic)
