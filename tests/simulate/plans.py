"""Plans the tests simulate: every aggregation, shared events, filters, windows, effects, caps,
ratios, quantiles, whales and child streams."""

from __future__ import annotations

from datetime import UTC, datetime

from liftlab.simulate import (
    CapSpec,
    FilterSpec,
    MetricSpec,
    PartSpec,
    QuantileSpec,
    SimulationPlan,
    StreamSpec,
    Variant,
)

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def two_variant_plan(users: int = 10_000, seed: int = 11, **changes: object) -> SimulationPlan:
    """A checkout test: conversion and revenue up, page views down, metrics sharing `purchase`."""
    fields: dict = {
        "flag": "checkout_button",
        "variants": (Variant("control", 0.5), Variant("treatment", 0.5)),
        "control": "control",
        "metrics": (
            MetricSpec("1", "conversion", "occurrence", "purchase", effects={"treatment": 0.1}),
            MetricSpec(
                "2",
                "revenue",
                "sum",
                "purchase",
                value_property="amount",
                effects={"treatment": 0.05},
            ),
            MetricSpec("3", "order value", "mean", "purchase", value_property="amount"),
            MetricSpec(
                "4",
                "paid-plan purchases",
                "count",
                "purchase",
                filters=(FilterSpec("plan", "in", ["pro", "team"]),),
                window_hours=24,
            ),
            MetricSpec("5", "page views", "count", "page_view", effects={"treatment": -0.05}),
        ),
        "streams": (
            StreamSpec("purchase", active_rate=0.3, extra_events=0.8, value_mean=35.0),
            StreamSpec("page_view", active_rate=0.9, extra_events=3.0),
        ),
        "users": users,
        "days": 10,
        "start": START,
        "seed": seed,
    }
    return SimulationPlan(**(fields | changes))


def three_variant_plan(users: int = 10_000, seed: int = 12, **changes: object) -> SimulationPlan:
    """Unequal weights, per-variant effects, the event's own value, numeric and presence filters."""
    fields: dict = {
        "flag": "onboarding",
        "variants": (Variant("a", 0.5), Variant("b", 0.25), Variant("c", 0.25)),
        "control": "a",
        "metrics": (
            MetricSpec(
                "signup",
                "US signups",
                "occurrence",
                "signup",
                filters=(FilterSpec("country", "eq", "US"),),
                window_hours=48,
                effects={"b": 0.2},
            ),
            MetricSpec(
                "spend",
                "coupon spend",
                "sum",
                "order",
                filters=(FilterSpec("coupon", "is_set"),),
                effects={"b": 0.1, "c": 0.1},
            ),
            MetricSpec(
                "big",
                "big orders",
                "count",
                "order",
                filters=(FilterSpec("items", "gt", 2),),
                effects={"c": -0.1},
            ),
            MetricSpec("avg", "order value", "mean", "order"),
        ),
        "streams": (
            StreamSpec("signup", active_rate=0.5, extra_events=0.5),
            StreamSpec("order", active_rate=0.4, extra_events=1.5, value_sigma=1.2),
        ),
        "users": users,
        "days": 5,
        "start": START,
        "seed": seed,
        "double_exposure_share": 0.05,
        "duplicate_share": 0.01,
        "horizon_hours": 96.0,
    }
    return SimulationPlan(**(fields | changes))


def behaviour_plan(users: int = 8_000, seed: int = 13, **changes: object) -> SimulationPlan:
    """Whales, sessions with clicks and request latencies: capped, ratio and quantile metrics."""
    fields: dict = {
        "flag": "new_search",
        "variants": (Variant("control", 0.5), Variant("treatment", 0.5)),
        "control": "control",
        "metrics": (
            MetricSpec("buyers", "buyers", "occurrence", "purchase", effects={"treatment": 0.08}),
            MetricSpec(
                "revenue",
                "capped revenue",
                "sum",
                "purchase",
                value_property="amount",
                cap=CapSpec("percentile", 0.99),
            ),
            MetricSpec(
                "per_order",
                "revenue per order",
                "ratio",
                "purchase",
                value_property="amount",
                numerator_aggregation="sum",
                denominator=PartSpec("purchase", "count"),
            ),
            MetricSpec(
                "spend_p50",
                "median buyer spend",
                "quantile",
                "purchase",
                value_property="amount",
                quantile=QuantileSpec(0.5, "identity"),
            ),
            MetricSpec(
                "clicks",
                "clicks per session in 3 days",
                "ratio",
                "click",
                numerator_aggregation="count",
                denominator=PartSpec("session", "count"),
                window_hours=72,
                effects={"treatment": -0.1},
            ),
            MetricSpec("clickers", "clicked in a day", "occurrence", "click", window_hours=24),
            MetricSpec(
                "sessions",
                "sessions, at most 3",
                "count",
                "session",
                cap=CapSpec("absolute", 3),
            ),
            MetricSpec(
                "latency",
                "latency p90",
                "quantile",
                "request",
                value_property="latency_ms",
                quantile=QuantileSpec(0.9, "event"),
                effects={"treatment": 0.05},
            ),
            MetricSpec(
                "requests",
                "paid-plan requests",
                "count",
                "request",
                filters=(FilterSpec("plan", "neq", "free"),),
            ),
        ),
        "streams": (
            StreamSpec(
                "purchase",
                active_rate=0.3,
                extra_events=0.6,
                value_mean=40.0,
                value_sigma=0.8,
                whale_share=0.02,
                whale_multiplier=40.0,
            ),
            StreamSpec("session", active_rate=0.7, extra_events=1.0),
            StreamSpec("click", parent="session", per_parent=2.5),
            StreamSpec(
                "request",
                active_rate=1.0,
                extra_events=2.0,
                value_mean=250.0,
                value_sigma=0.5,
                whale_share=0.05,
                whale_multiplier=3.0,
            ),
        ),
        "users": users,
        "days": 7,
        "start": START,
        "seed": seed,
    }
    return SimulationPlan(**(fields | changes))


def events_of(plan: SimulationPlan) -> list[dict]:
    from liftlab.simulate import generate

    return [event for chunk in generate(plan) for event in chunk.events]
