"""The truth of capped, ratio and quantile metrics against independent calculations.

``test_generator_statistics`` checks these truths against the events; here they meet closed
forms and numerical integrals computed another way, and the properties a verdict check
relies on: a truly unchanged metric has a lift of exactly 0, and a cap never turns a lift's
sign.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from scipy import integrate

from liftlab.simulate import (
    CapSpec,
    MetricSpec,
    PartSpec,
    QuantileSpec,
    StreamSpec,
    expected_truth,
    metric_truths,
    true_means,
)
from liftlab.simulate.timing import CHILD_GAP_SECONDS as GAP
from liftlab.simulate.timing import delay_cdf

from .plans import behaviour_plan, two_variant_plan

PURCHASE = StreamSpec("buy", active_rate=0.4, extra_events=1.5, value_mean=30.0, value_sigma=0.9)


def with_metrics(*metrics: MetricSpec, streams=(PURCHASE,), **changes):
    return two_variant_plan(metrics=metrics, streams=streams, **changes)


def test_an_absolute_cap_on_a_count_has_its_closed_form() -> None:
    """1 + Poisson(λZ) with Z ~ Exp(1) is 1 + geometric: P(1 + j) = (1/(1+λ))·(λ/(1+λ))^j."""
    plan = with_metrics(MetricSpec("n", "n", "count", "buy", cap=CapSpec("absolute", 3)))
    lam, a = PURCHASE.extra_events, PURCHASE.active_rate
    p = [(1 / (1 + lam)) * (lam / (1 + lam)) ** j for j in range(2)]
    capped = a * (1 * p[0] + 2 * p[1] + 3 * (1 - p[0] - p[1]))
    assert true_means(plan)["n"]["control"] == pytest.approx(capped, rel=1e-9)


def test_a_cap_above_every_value_changes_nothing() -> None:
    uncapped = MetricSpec("s", "s", "sum", "buy", effects={"treatment": 0.1})
    capped = MetricSpec("c", "c", "sum", "buy", cap=CapSpec("absolute", 1e12))
    means = true_means(with_metrics(uncapped, capped))
    for variant in ("control", "treatment"):
        assert means["c"][variant] == pytest.approx(means["s"][variant], rel=1e-9)


def test_an_identity_quantile_of_single_events_is_the_log_normal_quantile() -> None:
    """With one event per buyer and no whales, a buyer's total is one log-normal value:
    its median is mean·exp(−σ²/2). The truth draws sums, so agreement is to about 1 %."""
    one = StreamSpec("buy", active_rate=0.3, extra_events=0.0, value_mean=30.0, value_sigma=0.9)
    plan = with_metrics(
        MetricSpec("m", "m", "quantile", "buy", quantile=QuantileSpec(0.5, "identity")),
        streams=(one,),
    )
    expected = 30.0 * math.exp(-(0.9**2) / 2)
    assert true_means(plan)["m"]["control"] == pytest.approx(expected, rel=0.01)


def test_an_event_quantile_is_the_value_quantile() -> None:
    plan = with_metrics(
        MetricSpec("p", "p", "quantile", "buy", quantile=QuantileSpec(0.9, "event")),
    )
    z = NormalDist().inv_cdf(0.9)
    expected = 30.0 * math.exp(-(0.9**2) / 2 + 0.9 * z)
    assert true_means(plan)["p"]["control"] == pytest.approx(expected, rel=1e-12)


def window_share(hours: float, horizon: float, gap: tuple[float, float]) -> float:
    """P(D + gap ≤ hours) by adaptive quadrature, D's density written out afresh."""
    scale, top = horizon * 3600 / 4, horizon * 3600

    def density(x: float) -> float:
        return math.exp(-(x - 1) / scale) / (scale * (1 - math.exp(-(top - 1) / scale)))

    def inside(x: float) -> float:
        return min(max((hours * 3600 - x - gap[0]) / (gap[1] - gap[0]), 0.0), 1.0)

    limit = hours * 3600
    points = [p for p in (limit - gap[1], limit - gap[0]) if 1 < p < top]
    value, _ = integrate.quad(lambda x: inside(x) * density(x), 1, top, points=points, limit=200)
    return value


@pytest.mark.parametrize("hours", [0.05, 24.0, 168.0])
def test_a_child_ratio_in_a_window_counts_children_by_their_own_time(hours: float) -> None:
    plan = with_metrics(
        MetricSpec(
            "r",
            "r",
            "ratio",
            "tap",
            numerator_aggregation="count",
            denominator=PartSpec("buy", "count"),
            window_hours=hours,
        ),
        streams=(PURCHASE, StreamSpec("tap", parent="buy", per_parent=3.0)),
    )
    lam, k = PURCHASE.extra_events, plan.propensity_shape
    parents = (1 + lam) * delay_cdf(hours, plan.horizon_hours)
    # Poisson(κZ) children per purchase, purchases 1 + Poisson(λZ): E[(1 + λZ)·Z] children/κ
    per_parent = 3.0 * (1 + lam * (1 + 1 / k)) * window_share(hours, plan.horizon_hours, GAP)
    assert true_means(plan)["r"]["control"] == pytest.approx(per_parent / parents, rel=1e-9)


def test_unchanged_metrics_have_a_lift_of_exactly_zero() -> None:
    truth = expected_truth(behaviour_plan())
    for key in ("per_order", "spend_p50", "sessions", "requests"):
        assert truth[key] == {"treatment": 0.0}, key


@pytest.mark.parametrize(
    ("aggregation", "effect"),
    [("occurrence", 0.2), ("occurrence", -0.2), ("sum", 0.1), ("sum", -0.1), ("count", 0.3)],
)
def test_a_cap_keeps_the_sign_of_an_effect(aggregation: str, effect: float) -> None:
    """Each knob moves every user's number one way, so the capped metric moves that way."""
    whales = StreamSpec("buy", 0.3, 0.8, 40.0, 1.0, whale_share=0.02, whale_multiplier=50.0)
    plan = with_metrics(
        MetricSpec("moved", "moved", aggregation, "buy", effects={"treatment": effect}),
        MetricSpec("r", "r", "sum", "buy", cap=CapSpec("percentile", 0.95)),
        MetricSpec("m", "m", "mean", "buy", cap=CapSpec("percentile", 0.99)),
        streams=(whales,),
    )
    truths = metric_truths(plan)
    lift = expected_truth(plan)
    uncapped = {"r": "sum", "m": "mean"}
    for key in ("r", "m"):
        assert truths[key].cap is not None and truths[key].cap > 0
        plain = uncapped_lift(plan, uncapped[key])
        assert math.copysign(1, lift[key]["treatment"]) == math.copysign(1, plain), key


def uncapped_lift(plan, aggregation: str) -> float:
    """The uncapped lift of ``aggregation`` on the plan's stream."""
    twin = two_variant_plan(
        metrics=(*plan.metrics, MetricSpec("u", "u", aggregation, "buy")), streams=plan.streams
    )
    return expected_truth(twin)["u"]["treatment"]
