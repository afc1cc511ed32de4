"""The baseline query on chDB against the baseline written out identity by identity.

The oracle: the identities with any event of the environment in the window; each one's first
event there stands for its exposure, from which brute_force.py's own semantics give its numbers
(filters, values, the metric's window, a ratio's parts), the cap and the sums; the days by UTC
date. Events outside the window or of another environment must not count.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis import strategies as s
from tests.analysis.brute_force import arm_moments, cap_value, identity_numbers, ms
from tests.analysis.test_query import assert_close, fresh_env

from liftlab.analysis.baseline import (
    Baseline,
    BaselineUnsupported,
    DailyActivity,
    Window,
    build_baseline_query,
    query_baseline,
)
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.spec import MetricSpec
from liftlab.eventstore import EventStore, QueryResult, StoredEvent

WINDOW = Window(s.BASE + timedelta(hours=10), days=1)
"""From 14 h before BASE: the strategies' events fall on both sides of both ends."""


def expected(env: str, metric: MetricSpec, window: Window, rows: list[StoredEvent]):
    """(moments without cap, the cap, the days) as the baseline must find them."""
    by_identity: dict[str, list[StoredEvent]] = defaultdict(list)
    for row in rows:
        if row.environment_key == env and window.start_ms <= ms(row) <= window.end_ms:
            by_identity[row.identifier].append(row)
    numbers = [
        identity_numbers(metric, events, min(ms(e) for e in events))
        for events in by_identity.values()
    ]
    cap = cap_value(metric, numbers)
    days: dict[date, set[str]] = defaultdict(set)
    first: dict[date, int] = defaultdict(int)
    for who, events in by_identity.items():
        dates = {e.timestamp.date() for e in events}
        first[min(dates)] += 1
        for day in dates:
            days[day].add(who)
    daily = tuple(DailyActivity(d, len(days[d]), first[d]) for d in sorted(days))
    return dataclasses.replace(arm_moments(metric, numbers, cap), cap=None), cap, daily


def assert_baseline(store: EventStore, env: str, metric: MetricSpec, rows, window=WINDOW):
    got = query_baseline(env, metric, store.query, window)
    moments, cap, daily = expected(env, metric, window, rows)
    assert_close(got.moments, moments, (metric.aggregation,))
    assert got.cap == cap and got.daily == daily
    assert got.identities == moments.n and got.days == window.days
    return got


baseline_metrics = st.one_of(
    st.builds(
        s.per_identity_metric,
        st.sampled_from(["count", "sum", "mean", "occurrence"]),
        s.measures,
        s.values,
        s.windows,
        s.caps,
        st.none(),
    ),
    st.builds(s.ratio_metric, s.parts, s.parts, s.windows, s.caps, st.none()),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    exposed=st.lists(s.exposures, max_size=8),
    others=st.lists(s.metric_events, min_size=1, max_size=30),
    chosen=baseline_metrics,
    elsewhere=st.lists(s.metric_events, max_size=4),
)
def test_the_baseline_matches_the_identities_written_out(
    store: EventStore, exposed, others, chosen, elsewhere
) -> None:
    env = fresh_env()
    rows = s.event_rows(env, exposed, others)
    store.insert([*rows, *s.event_rows(fresh_env(), [], elsewhere)])
    aggregation, definition, _ = chosen
    assert_baseline(store, env, MetricSpec("m", aggregation, definition), rows)


def test_mean_and_variance_are_the_per_identity_numbers_as_numpy_has_them(store: EventStore):
    """u1 buys 3 and 5 (the second past a 24 h window), u2 only visits, u3 buys twice on the
    window's last day: the sums are (3, 0, 2 + 4), the rate 2/3; a visit before the window and
    a purchase after it do not count."""
    env = fresh_env()
    end = s.BASE + timedelta(days=3)

    def event(name: str, who: str, value: str, hours: float) -> StoredEvent:
        return s.stored(env, name, "", who, value, s.BASE + timedelta(hours=hours), {})

    rows = [
        event("visit", "u1", "", 1),
        event("purchase", "u1", "3", 2),
        event("purchase", "u1", "5", 30),
        event("visit", "u2", "", 25),
        event("purchase", "u3", "2", 50),
        event("purchase", "u3", "4", 51),
        event("visit", "u4", "", -1),
        event("purchase", "u2", "9", 73),
    ]
    store.insert(rows)
    window = Window(end, days=3)
    total = parse_definition({"version": 1, "event": "purchase", "window": {"hours": 24}})
    got = assert_baseline(store, env, MetricSpec("sum", "sum", total), rows, window)
    assert (got.mean, got.variance) == (3.0, np.var([3, 0, 6], ddof=1))
    bought = parse_definition({"version": 1, "event": "purchase"})
    rate = assert_baseline(store, env, MetricSpec("any", "occurrence", bought), rows, window)
    assert rate.mean == pytest.approx(2 / 3) and rate.variance == pytest.approx(2 / 9)
    assert rate.daily == (
        DailyActivity(s.BASE.date(), 1, 1),
        DailyActivity(s.BASE.date() + timedelta(days=1), 2, 1),
        DailyActivity(s.BASE.date() + timedelta(days=2), 1, 1),
    )
    assert rate.daily_traffic == 1.0


def test_hostile_names_are_bound_not_pasted(store: EventStore):
    hostile = "x'\\\"`;\n\t {p0:String} ) OR 1=1 -- 日本"
    env = hostile + "env"
    rows = [
        s.stored(env, hostile, "", hostile + "u", "7", s.BASE, {hostile: 3}),
        s.stored(env, "other", "", "v", "", s.BASE, {}),
    ]
    store.insert(rows)
    definition = parse_definition(
        {
            "version": 1,
            "event": hostile,
            "value": hostile,
            "filters": [{"property": hostile, "op": "gte", "value": 3}],
        }
    )
    metric = MetricSpec(hostile, "sum", definition)
    sql, _ = build_baseline_query(env, metric, WINDOW)
    assert "OR 1=1" not in sql and "日本" not in sql
    got = assert_baseline(store, env, metric, rows)
    assert (got.identities, got.moments.sum) == (2, 3.0)


def test_an_empty_window_has_no_identities_and_says_so(store: EventStore):
    metric = MetricSpec("m", "mean", parse_definition({"version": 1, "event": "purchase"}))
    got = query_baseline(fresh_env(), metric, store.query, WINDOW)
    assert (got.identities, got.daily, got.daily_traffic) == (0, (), 0.0)
    assert math.isnan(got.mean) and math.isnan(got.variance)


def test_colliding_hashes_send_the_question_to_the_identifier_keyed_query(store: EventStore):
    """The hashed answer reports a collision (faked here): the exact query answers instead."""
    env = fresh_env()
    rows = [s.stored(env, "purchase", "", f"u{i}", str(i), s.BASE, {}) for i in range(3)]
    store.insert(rows)
    asked: list[str] = []

    def run(sql: str, params) -> QueryResult:
        result = store.query(sql, params)
        hashed = "cityHash64(identifier)" in sql
        asked.append("hashed" if hashed else "exact")
        at = list(result.columns).index("collisions")
        row = list(result.rows[0])
        row[at] = 1 if hashed else row[at]
        return QueryResult(result.columns, [tuple(row)])

    metric = MetricSpec("m", "sum", parse_definition({"version": 1, "event": "purchase"}))
    got = query_baseline(env, metric, run, WINDOW)
    assert asked == ["hashed", "exact"]
    assert isinstance(got, Baseline) and got.moments.sum == 3.0


def test_a_quantile_metric_has_no_baseline():
    definition = parse_definition(
        {"version": 2, "event": "load", "value": "ms", "quantile": {"q": 0.9, "level": "event"}}
    )
    with pytest.raises(BaselineUnsupported, match="not supported for baseline"):
        build_baseline_query("env", MetricSpec("p90", "quantile", definition), WINDOW)


@pytest.mark.parametrize("days", [0, 366])
def test_the_window_is_one_day_to_a_year(days):
    with pytest.raises(ValueError, match="days"):
        Window(s.BASE, days)
