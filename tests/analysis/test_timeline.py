"""Results over time, run on chDB: each day equals the brute force with the end at its cutoff."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis import strategies as s
from tests.analysis.test_query import COLLIDING, assert_close, assert_stats_match, fresh_env
from tests.analysis.test_query_moments import Events, definition

from liftlab.analysis import query
from liftlab.analysis.definition import CapType
from liftlab.analysis.results import ResultStats, query_results
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.timeline import build_timeline_query, cutoffs, query_timeline, read_timeline
from liftlab.eventstore import EventStore, StoredEvent

CONTROL, TREATMENT = s.VARIANTS


def assert_timeline_matches(store: EventStore, spec: ExperimentSpec, rows: list[StoredEvent]):
    """Every day, hashed and exact, against the brute force at its cutoff; the last day
    against the results query itself."""
    timeline = query_timeline(spec, store.query)
    exact = read_timeline(spec, store.query(*build_timeline_query(spec, query.EXACT)))
    assert [day for day, _ in timeline] == [day for day, _ in cutoffs(spec)]
    for got in (timeline, exact):
        for (_, stats), (_, cutoff) in zip(got, cutoffs(spec), strict=True):
            assert_stats_match(replace(spec, end=cutoff), rows, stats)
    assert_same_stats(timeline[-1][1], query_results(spec, store.query))
    return timeline


def assert_same_stats(got: ResultStats, want: ResultStats) -> None:
    assert got.exposures == want.exposures
    assert set(got.metrics) == set(want.metrics)
    for key, per_variant in want.metrics.items():
        for variant, moments in per_variant.items():
            assert_close(got.metrics[key][variant], moments, (key, variant))


DAYS_EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXPOSED = st.one_of(
    s.assignments(s.days_times), st.lists(s.multi_day_exposures, min_size=1, max_size=14)
)
OTHERS = st.lists(s.multi_day_events, min_size=10, max_size=40)


@DAYS_EXAMPLES
@given(
    exposed=EXPOSED,
    others=OTHERS,
    chosen=s.metrics_v2,
)
def test_every_day_matches_brute_force_at_its_cutoff(
    store: EventStore, exposed, others, chosen
) -> None:
    env = fresh_env()
    rows = s.event_rows(env, exposed, others)
    store.insert(rows)
    assert_timeline_matches(store, replace(s.experiment(env, chosen), end=s.DAYS_END), rows)


def unranked(chosen) -> bool:
    """Neither a quantile nor percentile-capped: the timeline sums such metrics per arm."""
    cap = chosen[1].cap
    return chosen[0] != "quantile" and (cap is None or cap.type is not CapType.PERCENTILE)


@DAYS_EXAMPLES
@given(
    exposed=EXPOSED,
    others=OTHERS,
    chosen=st.lists(s.any_metric.filter(unranked), min_size=1, max_size=5),
)
def test_every_day_of_metrics_without_ranks_matches_brute_force(
    store: EventStore, exposed, others, chosen
) -> None:
    env = fresh_env()
    rows = s.event_rows(env, exposed, others)
    store.insert(rows)
    spec = replace(s.experiment(env, chosen), end=s.DAYS_END)
    assert "arm_days" in build_timeline_query(spec)[0]
    assert_timeline_matches(store, spec, rows)


def test_cutoffs_are_each_days_end_and_the_experiments_end() -> None:
    start = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    end = datetime(2026, 3, 3, 8, 0, 0, 123456, tzinfo=UTC)
    spec = ExperimentSpec("env", s.FLAG, s.EXPOSURE, s.VARIANTS, start, end)
    assert cutoffs(spec) == [
        (date(2026, 3, 1), datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)),
        (date(2026, 3, 2), datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC)),
        (date(2026, 3, 3), end),
    ]
    same_day = replace(spec, end=start)
    assert cutoffs(same_day) == [(date(2026, 3, 1), start)]


def test_an_identity_quarantined_later_counts_until_then(store: EventStore) -> None:
    """u1 is assigned on day 0 and quarantined from day 1 on; a cap and a quantile follow."""
    day = 24
    events = (
        Events(fresh_env())
        .expose("u1", CONTROL, 2)
        .did("u1", 3, "10")
        .expose("u1", TREATMENT, day + 2)
        .expose("u2", CONTROL, 3)
        .did("u2", 4, "1")
        .did("u2", day + 4, "2")
        .did("u2", 2 * day + 4, "4")
        .expose("u3", TREATMENT, day + 5)
        .did("u3", 2 * day - 1 / 3_600_000, "3")  # the last millisecond of day 1
    )
    store.insert(events.rows)
    capped = definition(event="buy", cap={"type": "percentile", "value": 0.5})
    metrics = (
        MetricSpec("sum", "sum", definition(event="buy")),
        MetricSpec("capped", "sum", capped),
        MetricSpec("mean", "mean", definition(event="buy"), lookback_days=1),
        MetricSpec(
            "p50", "quantile", definition(event="buy", quantile={"q": 0.5, "level": "event"})
        ),
    )
    end = s.BASE + timedelta(hours=2 * day + 5)
    spec = ExperimentSpec(events.env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, end, metrics)
    timeline = assert_timeline_matches(store, spec, events.rows)
    first, second, third = (stats for _, stats in timeline)
    assert first.exposures.variants == {CONTROL: 2, TREATMENT: 0}
    assert first.metrics["sum"][CONTROL].sum == 11.0
    assert second.exposures.quarantined == 1
    assert second.exposures.variants == {CONTROL: 1, TREATMENT: 1}
    assert (second.metrics["sum"][CONTROL].sum, second.metrics["sum"][TREATMENT].sum) == (3, 3)
    assert third.metrics["sum"][CONTROL].sum == 7.0
    assert third.metrics["capped"][CONTROL].cap == 3.0  # x_(1) of u3's 3 and u2's 7


def test_exposures_alone_over_time(store: EventStore) -> None:
    events = Events(fresh_env()).expose("u1", CONTROL, 2).expose("u1", "ghost", 30)
    events.expose("u2", "ghost", 50)
    store.insert(events.rows)
    end = s.BASE + timedelta(hours=60)
    spec = ExperimentSpec(events.env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, end)
    timeline = assert_timeline_matches(store, spec, events.rows)
    assert [stats.exposures.quarantined for _, stats in timeline] == [0, 1, 1]
    assert [stats.exposures.unknown_variant for _, stats in timeline] == [0, 0, 1]


def test_a_collision_falls_back_to_the_exact_timeline(store: EventStore, monkeypatch) -> None:
    events = Events(fresh_env()).expose("u1", CONTROL, 2).expose("u2", CONTROL, 30)
    events.did("u1", 3, "4").did("u2", 31, "5")
    store.insert(events.rows)
    metric = MetricSpec("m", "sum", definition(event="buy"))
    end = s.BASE + timedelta(hours=40)
    spec = ExperimentSpec(events.env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, end, (metric,))
    monkeypatch.setattr(query, "HASHED", COLLIDING)
    calls = []

    def counted(sql: str, params) -> object:
        calls.append(sql)
        return store.query(sql, params)

    timeline = query_timeline(spec, counted)
    assert len(calls) == 2 and "identifier AS key" in calls[1]
    assert [stats.metrics["m"][CONTROL].sum for _, stats in timeline] == [4.0, 9.0]
