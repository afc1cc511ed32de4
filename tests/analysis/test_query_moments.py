"""The results query's optional parts (CUPED covariates, ratios, caps, quantiles) on chDB,
against the brute-force semantics in brute_force.py and against numbers worked by hand."""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis import strategies as s
from tests.analysis.test_query import assert_matches_brute_force, at, fresh_env

from liftlab.analysis.definition import parse_definition
from liftlab.analysis.query import build_results_query
from liftlab.analysis.results import CrossMoments, QuantileMoments, RatioCovariate
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.eventstore import EventStore, StoredEvent

CONTROL, TREATMENT = s.VARIANTS


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    exposed=st.one_of(s.assignments(), st.lists(s.exposures, min_size=1, max_size=14)),
    others=st.lists(s.metric_events, min_size=10, max_size=40),
    chosen=s.metrics_v2,
)
def test_covariates_ratios_caps_and_quantiles_match_brute_force(
    store: EventStore, exposed, others, chosen
) -> None:
    env = fresh_env()
    rows = s.event_rows(env, exposed, others)
    store.insert(rows)
    assert_matches_brute_force(store, s.experiment(env, chosen), rows)


def definition(**fields: object):
    return parse_definition({"version": 2, **fields})


def spec_of(env: str, *metrics: MetricSpec, variants=s.VARIANTS) -> ExperimentSpec:
    return ExperimentSpec(env, s.FLAG, s.EXPOSURE, variants, s.START, s.END, metrics)


class Events:
    """Rows of one environment, written as who did what when."""

    def __init__(self, env: str) -> None:
        self.env = env
        self.rows: list[StoredEvent] = []

    def expose(self, who: str, variant: str, hours: float) -> Events:
        self.rows.append(s.stored(self.env, s.EXPOSURE, s.FLAG, who, variant, at(hours), {}))
        return self

    def did(self, who: str, hours: float, value: str = "1", event: str = "buy", **meta) -> Events:
        moment = at(0) + timedelta(hours=hours)
        self.rows.append(s.stored(self.env, event, "", who, value, moment, meta))
        return self


def test_the_covariate_counts_the_lookback_before_the_first_exposure(store: EventStore) -> None:
    day = 24
    events = (
        Events(fresh_env())
        .expose("u1", CONTROL, 2)
        .did("u1", 2 - day, "4")  # the lookback's first moment: counted
        .did("u1", 2 - day - 1 / 3_600_000, "100")  # 1 ms earlier: not counted
        .did("u1", 2 - 1 / 3_600_000, "5")  # 1 ms before the exposure: pre-period
        .did("u1", 2, "3")  # at the exposure: post-period
        .expose("u2", CONTROL, 3)
        .did("u2", 1, "7")  # only pre-period events: x = 0, x' = 7
        .expose("u3", CONTROL, 4)
        .did("u3", 5, "2")  # no pre-period: x' = 0
        .expose("u4", CONTROL, 2)
        .expose("u4", TREATMENT, 3)
        .did("u4", 1, "50")  # quarantined: left out
    )
    store.insert(events.rows)
    metrics = (
        MetricSpec("sum", "sum", definition(event="buy"), lookback_days=1),
        MetricSpec("count", "count", definition(event="buy"), lookback_days=1),
        MetricSpec("mean", "mean", definition(event="buy"), lookback_days=1),
        MetricSpec("plain", "sum", definition(event="buy")),
    )
    stats = assert_matches_brute_force(store, spec_of(events.env, *metrics), events.rows)
    control = stats.metrics["sum"][CONTROL]
    assert (control.n, control.sum, control.sum_sq) == (3, 5.0, 13.0)
    assert control.covariate == CrossMoments(16.0, 9**2 + 7**2, 3.0 * 9)
    assert stats.metrics["count"][CONTROL].covariate == CrossMoments(3.0, 5.0, 2.0)
    assert stats.metrics["mean"][CONTROL].covariate == CrossMoments(11.5, 4.5**2 + 7**2, 13.5)
    assert stats.metrics["plain"][CONTROL].covariate is None
    assert stats.metrics["sum"][TREATMENT].covariate == CrossMoments(0.0, 0.0, 0.0)


def test_a_ratio_sums_numerators_denominators_and_their_products(store: EventStore) -> None:
    events = (
        Events(fresh_env())
        .expose("u1", CONTROL, 2)
        .did("u1", 3, "x", amount=10)
        .did("u1", 4, "x", amount=20)
        .did("u1", 1.5, "x", amount=8)  # pre-period: m' = 8, d' = 1
        .expose("u2", CONTROL, 2)
        .did("u2", 3, "x", amount="n/a")  # a count without a number: m = 0, d = 1
        .expose("u3", CONTROL, 2)
    )
    store.insert(events.rows)
    ratio = definition(
        numerator={"event": "buy", "value": "amount", "aggregation": "sum"},
        denominator={"event": "buy", "aggregation": "count"},
    )
    metric = MetricSpec("per_order", "ratio", ratio, lookback_days=1)
    stats = assert_matches_brute_force(store, spec_of(events.env, metric), events.rows)
    got = stats.metrics["per_order"][CONTROL]
    assert (got.n, got.sum, got.sum_sq) == (3, 30.0, 900.0)
    assert got.denominator == CrossMoments(3.0, 5.0, 60.0)
    assert got.covariate == CrossMoments(8.0, 64.0, 240.0)
    assert got.ratio_covariate == RatioCovariate(1.0, 1.0, 8.0, 30.0, 16.0, 2.0)


def test_a_percentile_cap_ranks_every_assigned_identity_zeros_included(store: EventStore) -> None:
    """Ten identities over two variants: numbers -2, -1, 0 ×5 (three without events), 3, 3, 9."""
    events = Events(fresh_env())
    numbers = {"a": "-2", "b": "-1", "c": "0", "d": "0", "e": "3", "f": "3", "g": "9"}
    for k, who in enumerate([*numbers, "h", "i", "j"]):
        events.expose(who, s.VARIANTS[k % 2], 2)
        if who in numbers:
            events.did(who, 3, numbers[who])
    store.insert(events.rows)
    levels = {"p10": 0.1, "p20": 0.2, "p25": 0.25, "p70": 0.7, "p71": 0.71, "p80": 0.8, "p99": 0.99}
    metrics = [
        MetricSpec(key, "sum", definition(event="buy", cap={"type": "percentile", "value": level}))
        for key, level in levels.items()
    ]
    metrics.append(
        MetricSpec("abs", "sum", definition(event="buy", cap={"type": "absolute", "value": 2.5}))
    )
    stats = assert_matches_brute_force(store, spec_of(events.env, *metrics), events.rows)
    caps = {key: stats.metrics[key][TREATMENT].cap for key in levels}
    assert caps == {
        "p10": -2.0,
        "p20": -1.0,
        "p25": 0.0,
        "p70": 0.0,
        "p71": 3.0,
        "p80": 3.0,
        "p99": 9.0,
    }
    assert stats.metrics["p20"][CONTROL].cap == -1.0
    # control: a (-2), c (0), e (3), g (9), i (none) capped at -1: every one is -1 but a.
    assert stats.metrics["p20"][CONTROL].sum == -2.0 - 4.0
    assert stats.metrics["abs"][CONTROL].sum == -2.0 + 0 + 2.5 + 2.5
    assert stats.metrics["abs"][CONTROL].cap == 2.5


def test_a_percentile_cap_ranks_numbers_whose_filters_are_null(store: EventStore) -> None:
    """A number filter on a missing property is NULL in SQL: the numbers stay 0, not NULL."""
    events = Events(fresh_env()).expose("u1", CONTROL, 2).did("u1", 3).expose("u2", CONTROL, 2)
    events.did("u2", 3, plan=5)
    store.insert(events.rows)
    five = [{"property": "plan", "op": "eq", "value": 5}]
    ratio = definition(
        numerator={"event": "buy", "aggregation": "occurrence", "filters": five},
        denominator={"event": "buy", "aggregation": "occurrence", "filters": five},
        cap={"type": "percentile", "value": 0.5},
    )
    spec = spec_of(events.env, MetricSpec("m", "ratio", ratio, lookback_days=1))
    stats = assert_matches_brute_force(store, spec, events.rows)
    assert stats.metrics["m"][CONTROL].denominator == CrossMoments(1.0, 1.0, 0.0)


def test_a_percentile_cap_without_assigned_identities_is_none(store: EventStore) -> None:
    events = Events(fresh_env()).expose("u1", "ghost", 2).did("u1", 3, "5")
    store.insert(events.rows)
    capped = definition(event="buy", cap={"type": "percentile", "value": 0.5})
    stats = assert_matches_brute_force(
        store, spec_of(events.env, MetricSpec("m", "sum", capped)), events.rows
    )
    assert stats.metrics["m"][CONTROL].cap is None


def test_quantiles_rank_identities_totals_or_events(store: EventStore) -> None:
    events = (
        Events(fresh_env())
        .expose("u1", CONTROL, 2)
        .did("u1", 3, "1")
        .did("u1", 3, "4")
        .did("u1", 3, "abc")  # not a number: not ranked
        .expose("u2", CONTROL, 2)
        .did("u2", 3, "2")
        .expose("u3", CONTROL, 2)
        .did("u3", 3, "nan")  # only no numbers: not ranked at either level
        .expose("u4", CONTROL, 2)  # no events
        .expose("u5", TREATMENT, 2)
    )
    store.insert(events.rows)
    metrics = [
        MetricSpec(level, "quantile", definition(event="buy", quantile={"q": 0.5, "level": level}))
        for level in ("identity", "event")
    ]
    stats = assert_matches_brute_force(store, spec_of(events.env, *metrics), events.rows)
    identity = stats.metrics["identity"][CONTROL]
    assert identity.n == 4
    assert identity.quantile == QuantileMoments(2, 2.0, 2.0, 5.0)
    event = stats.metrics["event"][CONTROL].quantile
    # values 1, 2, 4 (u1: 1 and 4; u2: 2); estimate x_(2) = 2; b: u1 1, u2 1; e: u1 2, u2 1.
    assert event == QuantileMoments(3, 2.0, 1.0, 4.0, 2, 2.0, 2.0, 5.0, 3.0)
    nothing = stats.metrics["event"][TREATMENT].quantile
    assert nothing is not None and nothing.n == 0 and math.isnan(nothing.quantile)


def test_hostile_names_in_ratio_parts_caps_and_quantiles_are_bound(store: EventStore) -> None:
    hostile = "x'\\\"`;\n\t\x00 {p1:String} ) OR 1=1 -- 日本"
    env, event, other, prop = hostile + "env", hostile + "event", hostile + "other", hostile
    variants = (hostile + "a", hostile + "b")
    events = Events(env)
    events.rows += [
        s.stored(env, s.EXPOSURE, s.FLAG, hostile + "u1", variants[0], at(2), {}),
        s.stored(env, s.EXPOSURE, s.FLAG, hostile + "u2", variants[1], at(2), {}),
    ]
    events.did(hostile + "u1", 3, "3", event, **{prop: 5, "tag": hostile})
    events.did(hostile + "u1", 1.5, "2", other, **{prop: 7})
    events.did(hostile + "u2", 3, "4", other, **{prop: hostile, "tag": "plain"})
    store.insert(events.rows)
    tagged = [{"property": "tag", "op": "eq", "value": hostile}]
    metrics = (
        MetricSpec(
            hostile + "ratio",
            "ratio",
            definition(
                numerator={"event": event, "value": prop, "aggregation": "sum", "filters": tagged},
                denominator={"event": other, "aggregation": "count"},
                cap={"type": "percentile", "value": 0.5},
            ),
            lookback_days=1,
        ),
        MetricSpec(
            hostile + "quantile",
            "quantile",
            definition(event=other, value=prop, quantile={"q": 0.5, "level": "event"}),
        ),
        MetricSpec(
            hostile + "capped",
            "sum",
            definition(event=event, value=prop, cap={"type": "absolute", "value": 4}),
            lookback_days=2,
        ),
    )
    spec = spec_of(env, *metrics, variants=variants)
    sql, _ = build_results_query(spec)
    assert "OR 1=1" not in sql and "日本" not in sql
    stats = assert_matches_brute_force(store, spec, events.rows)
    assert stats.metrics[hostile + "ratio"][variants[0]].sum == 0.0  # the cap: x_(1) of 0, 5
    assert stats.metrics[hostile + "ratio"][variants[0]].ratio_covariate is not None
    assert stats.metrics[hostile + "capped"][variants[0]].sum == 4.0


def test_a_lookback_still_reads_each_row_once() -> None:
    """Metric rows are read from the start less the longest lookback, in one scan."""
    adjusted = [
        ("sum", definition(event=e, value="amount"), days)
        for e, days in zip("abc", [1, 7, None], strict=True)
    ]
    spec = s.experiment("env", adjusted)
    sql, params = build_results_query(spec)
    assert sql.count("FROM events") == 2
    assert spec.start_ms - 7 * 86_400_000 in params.values()
