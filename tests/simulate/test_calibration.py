"""What an effect means per aggregation, and the plans the simulator must refuse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import pytest

from liftlab.simulate import (
    CapSpec,
    FilterSpec,
    MetricSpec,
    PartSpec,
    PlanError,
    QuantileSpec,
    SimulationPlan,
    StreamSpec,
    Variant,
    expected_truth,
    true_means,
)
from liftlab.simulate.filters import ABSENT, holds, match_share, property_supports

from .plans import two_variant_plan


def with_metrics(*metrics: MetricSpec, **changes: object) -> SimulationPlan:
    return two_variant_plan(metrics=metrics, **changes)


def test_effects_move_their_own_knob_and_the_other_metrics_follow() -> None:
    """conversion +10 % makes 10 % more buyers; revenue +5 % then means each spends 1.05/1.1."""
    truth = expected_truth(two_variant_plan())
    assert truth["1"]["treatment"] == pytest.approx(0.10)  # asked
    assert truth["2"]["treatment"] == pytest.approx(0.05)  # asked
    assert truth["3"]["treatment"] == pytest.approx(0.05)  # mean value: buyers × spend each
    assert truth["4"]["treatment"] == pytest.approx(0.10)  # purchase count: more buyers
    assert truth["5"]["treatment"] == pytest.approx(-0.05)  # asked, on another event


def test_an_explicit_zero_holds_a_metric_still() -> None:
    plan = with_metrics(
        MetricSpec("conv", "conv", "occurrence", "purchase", effects={"treatment": 0.2}),
        MetricSpec("rev", "rev", "sum", "purchase", effects={"treatment": 0.0}),
        MetricSpec("n", "n", "count", "purchase", effects={"treatment": 0.0}),
    )
    assert expected_truth(plan) == {
        "conv": {"treatment": pytest.approx(0.2)},
        "rev": {"treatment": pytest.approx(0.0)},
        "n": {"treatment": pytest.approx(0.0)},
    }


def test_true_means_follow_the_documented_formulas() -> None:
    stream = StreamSpec("buy", active_rate=0.4, extra_events=2.0, value_mean=10.0)
    filtered = (FilterSpec("plan", "eq", "pro"),)  # plan = pro on 35 % of events
    plan = with_metrics(
        MetricSpec("o", "o", "occurrence", "buy", filters=filtered),
        MetricSpec("c", "c", "count", "buy", filters=filtered),
        MetricSpec("s", "s", "sum", "buy"),
        MetricSpec("m", "m", "mean", "buy", filters=filtered),
        streams=(stream,),
    )
    q, k = 0.35, plan.propensity_shape
    reached = 0.4 * (1 - (1 - q) * (1 + 2.0 * q / k) ** -k)  # E[exp(-tZ)] = (1 + t/k)^-k
    means = true_means(plan)
    assert means["o"]["control"] == pytest.approx(reached)
    assert means["c"]["control"] == pytest.approx(0.4 * q * 3)
    assert means["s"]["control"] == pytest.approx(0.4 * 3 * 10.0)
    assert means["m"]["control"] == pytest.approx(reached * 10.0)


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        (
            [
                MetricSpec(
                    "o", "o", "occurrence", "purchase", window_hours=6, effects={"treatment": 0.1}
                ),
                MetricSpec("c", "c", "count", "purchase", effects={"treatment": 0.3}),
            ],
            "conflict",
        ),
        ([MetricSpec("o", "o", "occurrence", "purchase", effects={"treatment": 4.0})], "reach"),
        ([MetricSpec("c", "c", "count", "purchase", effects={"treatment": -0.8})], "reach"),
        ([MetricSpec("s", "s", "sum", "purchase", effects={"treatment": -1.0})], "-100%"),
        ([MetricSpec("s", "s", "sum", "purchase", effects={"control": 0.1})], "not a treatment"),
        (
            [
                MetricSpec("a", "a", "count", "buy", filters=(FilterSpec("plan", "eq", "pro"),)),
                MetricSpec("b", "b", "count", "buy", filters=(FilterSpec("plan", "gt", 3),)),
            ],
            "types",
        ),
        (
            [
                MetricSpec("a", "a", "count", "buy", filters=(FilterSpec("src", "is_set"),)),
                MetricSpec("b", "b", "count", "buy", filters=(FilterSpec("src", "neq", "ad"),)),
            ],
            "set",
        ),
        (
            [
                MetricSpec("s", "s", "sum", "buy", value_property="amount"),
                MetricSpec("b", "b", "count", "buy", filters=(FilterSpec("amount", "gt", 9),)),
            ],
            "value property",
        ),
        (
            [
                MetricSpec(
                    "x",
                    "x",
                    "count",
                    "buy",
                    filters=(FilterSpec("plan", "eq", "pro"), FilterSpec("plan", "eq", "team")),
                )
            ],
            "no event",
        ),
    ],
)
def test_plans_that_cannot_hold_are_refused(metrics: list[MetricSpec], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        expected_truth(with_metrics(*metrics))


TAPS = (StreamSpec("purchase"), StreamSpec("tap", parent="purchase", per_parent=2.0))


@pytest.mark.parametrize(
    ("metrics", "streams", "message"),
    [
        ([MetricSpec("c", "c", "sum", "tap", cap=CapSpec("absolute", 5))], TAPS, "follows"),
        (
            [MetricSpec("q", "q", "quantile", "tap", quantile=QuantileSpec(0.5, "identity"))],
            TAPS,
            "follows",
        ),
        ([MetricSpec("c", "c", "count", "purchase", cap=CapSpec("percentile", 0.5))], (), "is 0"),
        (
            [
                MetricSpec(
                    "r",
                    "r",
                    "ratio",
                    "purchase",
                    filters=(FilterSpec("plan", "eq", "pro"),),
                    numerator_aggregation="count",
                    denominator=PartSpec("purchase", "count"),
                    effects={"treatment": 0.1},
                )
            ],
            (),
            "out of reach",
        ),
        (
            [MetricSpec("t", "t", "count", "b")],
            (StreamSpec("a"), StreamSpec("b", parent="c"), StreamSpec("c", parent="a")),
            "not a plain product event",
        ),
    ],
)
def test_new_kinds_of_plans_that_cannot_hold_are_refused(
    metrics: list[MetricSpec], streams: tuple[StreamSpec, ...], message: str
) -> None:
    with pytest.raises(PlanError, match=message):
        expected_truth(with_metrics(*metrics, streams=streams))


def test_an_effect_on_a_child_streams_conversion_is_found_by_bisection() -> None:
    plan = with_metrics(
        MetricSpec("o", "o", "occurrence", "tap", window_hours=12, effects={"treatment": 0.1}),
        MetricSpec("n", "n", "count", "tap"),
        streams=TAPS,
    )
    truth = expected_truth(plan)
    assert truth["o"]["treatment"] == pytest.approx(0.1, rel=1e-9)
    assert truth["n"]["treatment"] > 0.1  # more taps per purchase, and a conversion is concave


@pytest.mark.parametrize(
    "spec",
    [
        FilterSpec("plan", "eq", "pro"),
        FilterSpec("plan", "neq", "free"),
        FilterSpec("plan", "in", ["pro", "team"]),
        FilterSpec("plan", "not_in", ["free", "pro", "team"]),
        FilterSpec("plan", "eq", "enterprise"),
        FilterSpec("plan", "contains", "ee"),
        FilterSpec("source", "eq", "email"),
        FilterSpec("source", "contains", "o"),
        FilterSpec("source", "in", list("abcdefghijklmnopqrstuvwxyz")),
        FilterSpec("items", "eq", 3),
        FilterSpec("items", "gt", 2),
        FilterSpec("items", "gte", 2.5),
        FilterSpec("items", "lt", -1),
        FilterSpec("items", "lte", 0),
        FilterSpec("items", "not_in", [1, 2, 3, 4, 5, 6, 7]),
        FilterSpec("beta", "eq", True),
        FilterSpec("coupon", "is_set"),
        FilterSpec("plan", "is_not_set"),
    ],
)
def test_every_filter_sees_events_it_counts_and_events_it_ignores(spec: FilterSpec) -> None:
    supports = property_supports([("m", (spec,))], value_properties=[])
    assert 0 < match_share("m", (spec,), supports) < 1
    support = next(s for s in supports if s.name == spec.property)
    assert sum(support.weights) == pytest.approx(1)
    assert ABSENT not in support.values or spec.op in ("is_set", "is_not_set")


def test_several_filters_on_one_property_meet_in_between() -> None:
    filters = (FilterSpec("items", "gt", 5), FilterSpec("items", "lt", 6))
    supports = property_supports([("m", filters)], value_properties=[])
    values = next(s for s in supports if s.name == "items").values
    assert [v for v in values if all(holds(f, v) for f in filters)] == [5.5]


def test_a_property_keeps_its_json_type() -> None:
    assert not holds(FilterSpec("n", "eq", 1), True)
    assert not holds(FilterSpec("n", "eq", "1"), 1)
    assert holds(FilterSpec("n", "eq", 1), 1.0)
    assert not holds(FilterSpec("n", "gt", 0), "5")


def plan_with(**changes: object) -> Callable[[], object]:
    return lambda: replace(two_variant_plan(), **changes)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (plan_with(variants=(Variant("control", 1.0),)), "at least two"),
        (plan_with(variants=(Variant("control", 1.0), Variant("control", 1.0))), "distinct"),
        (plan_with(variants=(Variant("control", 1.0), Variant("t", 0.0))), "weight"),
        (plan_with(control="nobody"), "control"),
        (plan_with(users=0), "users"),
        (plan_with(start=datetime(2026, 1, 1)), "timezone"),
        (plan_with(duplicate_share=1.5), "duplicate_share"),
        (plan_with(metrics=(MetricSpec("a", "a", "count", "$flag_exposure"),)), "exposure"),
        (lambda: MetricSpec("a", "a", "median", "x"), "aggregation"),
        (lambda: FilterSpec("p", "like", "x"), "operator"),
        (lambda: MetricSpec("a", "a", "count", "x", window_hours=0), "window"),
        (lambda: StreamSpec("x", active_rate=0), "active_rate"),
        (lambda: StreamSpec("x", whale_share=1.0), "whale_share"),
        (lambda: StreamSpec("x", parent="x"), "itself"),
        (lambda: MetricSpec("a", "a", "ratio", "x"), "denominator"),
        (lambda: MetricSpec("a", "a", "quantile", "x"), "quantile"),
        (lambda: MetricSpec("a", "a", "occurrence", "x", cap=CapSpec("absolute", 1)), "capped"),
        (lambda: CapSpec("percentile", 1.5), "level"),
        (lambda: CapSpec("absolute", 0), "positive"),
        (lambda: QuantileSpec(1.2, "event"), "level q"),
        (plan_with(pre_days=0.001), "pre_days"),
        (plan_with(propensity_shape=0), "propensity_shape"),
        (plan_with(pre_post_correlation=1.5), "pre_post_correlation"),
    ],
)
def test_malformed_plans_are_refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        build()
