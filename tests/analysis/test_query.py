"""The results query, run on chDB, against the brute-force semantics in brute_force.py."""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis import strategies as s
from tests.analysis.brute_force import expected, ms

from liftlab.analysis import query
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.query import (
    IdentityKey,
    build_exposure_timeline_query,
    build_results_query,
)
from liftlab.analysis.results import (
    ExposureCounts,
    Moments,
    ResultStats,
    collisions,
    query_results,
    read_exposure_timeline,
    read_results,
)
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.eventstore import EventStore, StoredEvent


def fresh_env() -> str:
    return f"env-{uuid.uuid4().hex}"


def run(store: EventStore, spec: ExperimentSpec) -> ResultStats:
    return query_results(spec, store.query)


def assert_matches_brute_force(
    store: EventStore, spec: ExperimentSpec, rows: list[StoredEvent]
) -> ResultStats:
    """The hashed query (through ``query_results``) and the exact one both match."""
    stats = run(store, spec)
    exact = store.query(*build_results_query(spec, query.EXACT))
    assert collisions(exact) == 0
    for got in (stats, read_results(spec, exact)):
        assert_stats_match(spec, rows, got)
    return stats


def assert_stats_match(spec: ExperimentSpec, rows: list[StoredEvent], stats: ResultStats) -> None:
    counts, moments = expected(spec, rows)
    assert stats.exposures == ExposureCounts(
        variants=counts["variants"],
        quarantined=counts["quarantined"],
        unknown_variant=counts["unknown"],
    )
    assert set(stats.metrics) == set(moments)
    for key, per_variant in moments.items():
        for variant, want in per_variant.items():
            assert_close(stats.metrics[key][variant], want, (key, variant))


EXACT_FIELDS = frozenset({"n", "clusters", "quantile", "lower", "upper", "cap"})
"""Counts and order statistics (values picked from the data) must be equal, not close."""


def assert_close(got: object, want: object, where: tuple[object, ...]) -> None:
    """Moments equal field by field: sums to 1e-9 (relative), the ``EXACT_FIELDS`` exactly
    (NaN equal to NaN), optional parts present in both or in neither."""
    assert type(got) is type(want), (where, got, want)
    if not dataclasses.is_dataclass(got):
        return
    for field in dataclasses.fields(got):
        mine, theirs, at = getattr(got, field.name), getattr(want, field.name), (*where, field.name)
        if dataclasses.is_dataclass(mine) or mine is None or theirs is None:
            assert_close(mine, theirs, at)
        elif field.name in EXACT_FIELDS:
            assert mine == theirs or (math.isnan(mine) and math.isnan(theirs)), (at, mine, theirs)
        else:
            assert math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-9), (at, mine, theirs)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    exposed=st.one_of(st.lists(s.exposures, min_size=1, max_size=14), s.assignments()),
    others=st.lists(s.metric_events, max_size=24),
    chosen=s.metrics,
)
def test_results_match_brute_force(store: EventStore, exposed, others, chosen) -> None:
    env = fresh_env()
    rows = s.event_rows(env, exposed, others)
    store.insert(rows)
    assert_matches_brute_force(store, s.experiment(env, chosen), rows)


def definition(**fields: object):
    return parse_definition({"version": 1, **fields})


def at(hours: float, ms_: int = 0):
    return s.BASE + timedelta(hours=hours, milliseconds=ms_)


def test_first_touch_quarantine_unknown_and_inclusive_bounds(store: EventStore) -> None:
    env = fresh_env()
    control, treatment = s.VARIANTS

    def expose(who: str, variant: str, hours: float, flag: str = s.FLAG) -> StoredEvent:
        return s.stored(env, s.EXPOSURE, flag, who, variant, at(hours), {})

    def buy(who: str, hours: float, ms_: int = 0, value: str = "1") -> StoredEvent:
        return s.stored(env, "purchase", "", who, value, at(hours, ms_), {})

    rows = [
        expose("u1", control, 2),
        expose("u1", control, 3),  # a repeat of the same variant keeps u1 assigned
        buy("u1", 1.5),  # before the first exposure: not counted
        buy("u1", 2),  # at the first exposure: counted
        buy("u1", 5, value="x"),  # window end, inclusive; not a number
        buy("u1", 5, 1),  # 1 ms past the window
        expose("u2", control, 2),
        expose("u2", treatment, 4),  # two variants: quarantined
        buy("u2", 3),
        expose("u3", "ghost", 2),  # not a variant key
        expose("u4", control, 2, flag="other-flag"),  # another flag: not exposed
        buy("u4", 3),
        expose("u5", treatment, 9.5),  # no events: zeros
        buy("u5", 10),  # at the end, inclusive
        buy("u5", 10, 1),  # after the end
        expose("u6", control, 0.5),  # before the start: not exposed
    ]
    store.insert(rows)
    metrics = (
        MetricSpec("count", "count", definition(event="purchase", window={"hours": 3})),
        MetricSpec("sum", "sum", definition(event="purchase")),
        MetricSpec("mean", "mean", definition(event="purchase", window={"hours": 3})),
        MetricSpec("occurs", "occurrence", definition(event="purchase")),
    )
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, metrics)
    stats = assert_matches_brute_force(store, spec, rows)
    assert stats.exposures == ExposureCounts({control: 1, treatment: 1}, 1, 1)
    assert stats.exposures.total == 4
    assert stats.metrics["count"][control] == Moments(1, 2.0, 4.0)
    assert stats.metrics["sum"][control] == Moments(1, 2.0, 4.0)
    assert stats.metrics["mean"][control] == Moments(1, 1.0, 1.0)
    assert stats.metrics["occurs"][treatment] == Moments(1, 1.0, 1.0)
    assert stats.metrics["count"][treatment] == Moments(1, 1.0, 1.0)


def test_hostile_strings_everywhere_are_bound_not_pasted(store: EventStore) -> None:
    hostile = "x'\\\"`;\n\t\x00 {p0:String} ) OR 1=1 -- 日本"
    env, flag, exposure = hostile + "env", hostile + "flag", hostile + "exposure"
    variants = (hostile + "a", hostile + "b")
    event, prop = hostile + "event", hostile + "prop"
    rows = [
        s.stored(env, exposure, flag, hostile + "u1", variants[0], at(2), {}),
        s.stored(env, exposure, flag, hostile + "u2", variants[1], at(2), {}),
        s.stored(env, event, "", hostile + "u1", "3", at(3), {prop: hostile}),
        s.stored(env, event, "", hostile + "u2", "4", at(3), {prop: "plain", hostile: 7}),
    ]
    store.insert(rows)
    metrics = tuple(
        MetricSpec(hostile + str(i), agg, definition(event=event, value=value, filters=flts))
        for i, (agg, value, flts) in enumerate(
            [
                ("count", None, [{"property": prop, "op": "eq", "value": hostile}]),
                ("sum", hostile, [{"property": prop, "op": "in", "value": [hostile, "z"]}]),
                ("mean", None, [{"property": prop, "op": "contains", "value": hostile[:5]}]),
                ("occurrence", None, [{"property": prop, "op": "neq", "value": hostile}]),
            ]
        )
    )
    spec = ExperimentSpec(env, flag, exposure, variants, s.START, s.END, metrics)
    sql, _ = build_results_query(spec)
    assert "OR 1=1" not in sql and "日本" not in sql
    stats = assert_matches_brute_force(store, spec, rows)
    assert stats.exposures.variants == {variants[0]: 1, variants[1]: 1}
    assert [stats.metrics[m.key][variants[0]].sum for m in metrics] == [1.0, 0.0, 3.0, 0.0]
    assert [stats.metrics[m.key][variants[1]].sum for m in metrics] == [0.0, 0.0, 0.0, 1.0]


def test_many_matchers_and_value_sources_of_one_event(store: EventStore) -> None:
    """70 matchers and 7 numbers read from one event's rows, each its own column."""
    env = fresh_env()
    rows = [
        s.stored(env, s.EXPOSURE, s.FLAG, f"u{i}", s.VARIANTS[i % 2], at(2), {}) for i in range(6)
    ]
    rows += [
        s.stored(
            env, "purchase", "", f"u{i}", str(k), at(3), {f"p{j}": i * j - k for j in range(7)}
        )
        for i in range(6)
        for k in range(3)
    ]
    store.insert(rows)
    counts = [
        MetricSpec(
            f"count{k}",
            "count",
            definition(event="purchase", filters=[{"property": "p1", "op": "gte", "value": k}]),
        )
        for k in range(70)
    ]
    sums = [
        MetricSpec(
            f"sum{j}", "sum" if j % 2 else "mean", definition(event="purchase", value=f"p{j}")
        )
        for j in range(7)
    ]
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, (*counts, *sums))
    sql, _ = build_results_query(spec)
    assert "match_70" in sql and "match_71" not in sql and "number_6" in sql
    assert_matches_brute_force(store, spec, rows)


def test_without_metrics_only_exposures_are_counted(store: EventStore) -> None:
    env = fresh_env()
    rows = [
        s.stored(env, s.EXPOSURE, s.FLAG, "u1", s.VARIANTS[0], at(2), {}),
        s.stored(env, s.EXPOSURE, s.FLAG, "u2", "ghost", at(2), {}),
    ]
    store.insert(rows)
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END)
    stats = run(store, spec)
    assert stats == ResultStats(ExposureCounts({s.VARIANTS[0]: 1, s.VARIANTS[1]: 0}, 0, 1), {})


def test_an_unexposed_variant_has_zero_moments(store: EventStore) -> None:
    env = fresh_env()
    rows = [s.stored(env, s.EXPOSURE, s.FLAG, "u1", s.VARIANTS[0], at(2), {})]
    store.insert(rows)
    metric = MetricSpec("m", "sum", definition(event="purchase"))
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, (metric,))
    assert run(store, spec).metrics["m"] == {
        s.VARIANTS[0]: Moments(1, 0.0, 0.0),
        s.VARIANTS[1]: Moments(0, 0.0, 0.0),
    }


def test_each_row_is_read_once_and_each_property_once() -> None:
    """Exposures feed the assignment, metric events the metric rows: two disjoint reads."""
    spec = s.experiment("env", [("sum", definition(event=e, value="amount")) for e in "abc"])
    sql, params = build_results_query(spec)
    assert sql.count("FROM events") == 2
    assert [v for v in params.values() if isinstance(v, list) and "a" in v] == [["a", "b", "c"]]
    assert sorted(params[name] for name in params if params[name] == "amount") == ["amount"]


COLLIDING = IdentityKey("toUInt64(0)", "xxh3(identifier)")
"""Every identifier shares one key: what a hash collision does, on purpose."""


def collided(store: EventStore, spec: ExperimentSpec) -> int:
    return collisions(store.query(*build_results_query(spec, COLLIDING)))


def test_collisions_of_exposed_identities_are_reported(store: EventStore) -> None:
    env = fresh_env()
    rows = [s.stored(env, s.EXPOSURE, s.FLAG, f"u{i}", s.VARIANTS[0], at(2), {}) for i in range(2)]
    store.insert(rows)
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END)
    assert collided(store, spec) == 1
    assert collisions(store.query(*build_results_query(spec))) == 0


def test_events_of_another_identity_sharing_the_key_are_reported(store: EventStore) -> None:
    env = fresh_env()
    rows = [
        s.stored(env, s.EXPOSURE, s.FLAG, "u1", s.VARIANTS[0], at(2), {}),
        s.stored(env, "purchase", "", "u2", "5", at(3), {}),
    ]
    store.insert(rows)
    metric = MetricSpec("m", "sum", definition(event="purchase"))
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, (metric,))
    assert collided(store, spec) == 1
    assert run(store, spec).metrics["m"][s.VARIANTS[0]] == Moments(1, 0.0, 0.0)


def test_a_collision_falls_back_to_the_exact_query(store: EventStore, monkeypatch) -> None:
    env = fresh_env()
    rows = [
        s.stored(env, s.EXPOSURE, s.FLAG, f"u{i}", s.VARIANTS[i % 2], at(2), {}) for i in range(4)
    ]
    rows += [s.stored(env, "purchase", "", f"u{i}", str(i), at(4), {}) for i in range(1, 6)]
    store.insert(rows)
    metric = MetricSpec("m", "sum", definition(event="purchase"))
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, (metric,))
    monkeypatch.setattr(query, "HASHED", COLLIDING)
    calls = []

    def counted(sql: str, params) -> object:
        calls.append(sql)
        return store.query(sql, params)

    stats = query_results(spec, counted)
    assert len(calls) == 2 and "toUInt64(0) AS key" in calls[0] and "identifier AS key" in calls[1]
    assert stats.metrics["m"] == expected(spec, rows)[1]["m"]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(exposed=st.lists(s.exposures, min_size=1, max_size=14))
def test_exposure_timeline_counts_first_exposures_per_day(store: EventStore, exposed) -> None:
    env = fresh_env()
    rows = s.event_rows(env, exposed, [])
    store.insert(rows)
    spec = ExperimentSpec(
        env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.BASE, s.BASE + timedelta(days=1, hours=-1)
    )
    sql, params = build_exposure_timeline_query(spec)
    points = read_exposure_timeline(store.query(sql, params))

    first: dict[str, StoredEvent] = {}
    seen: dict[str, set[str]] = {}
    for row in rows:
        if row.feature_name == s.FLAG and spec.start_ms <= ms(row) <= spec.end_ms:
            seen.setdefault(row.identifier, set()).add(row.value)
            if row.identifier not in first or ms(row) < ms(first[row.identifier]):
                first[row.identifier] = row
    want = Counter(
        (e.timestamp.date(), e.value)
        for who, e in first.items()
        if len(seen[who]) == 1 and e.value in s.VARIANTS
    )
    assert {(p.day, p.variant): p.identities for p in points} == dict(want)
    assert [(p.day, p.variant) for p in points] == sorted(want)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant_keys": ()}, "at least one variant"),
        ({"variant_keys": ("a", "a")}, "unique"),
        ({"start": s.END, "end": s.START}, "after end"),
        ({"start": s.START.replace(tzinfo=None)}, "timezone-aware"),
        (
            {"metrics": (MetricSpec("m", "count", definition(event="e")),) * 2},
            "metric keys",
        ),
    ],
)
def test_experiment_spec_refuses_inconsistent_values(changes: dict, message: str) -> None:
    fields = {
        "environment_key": "env",
        "feature_name": "flag",
        "exposure_event": s.EXPOSURE,
        "variant_keys": s.VARIANTS,
        "start": s.START,
        "end": s.END,
    }
    with pytest.raises(ValueError, match=message):
        ExperimentSpec(**{**fields, **changes})


def test_range_bounds_round_inward_to_the_millisecond() -> None:
    spec = ExperimentSpec(
        "env",
        "flag",
        s.EXPOSURE,
        ("a",),
        s.START + timedelta(microseconds=1500),
        s.END + timedelta(microseconds=999),
    )
    start_ms = round(s.START.timestamp() * 1000)
    end_ms = round(s.END.timestamp() * 1000)
    assert (spec.start_ms, spec.end_ms) == (start_ms + 2, end_ms)


FILTER_SUBJECTS = [{}, {"p": None}, {"p": "pro"}, {"p": ""}, {"p": "12"}, {"p": 12}, {"p": 2.5}]
FILTER_SUBJECTS += [{"p": True}, {"p": False}, {"p": "x'y"}, {"p": "true"}, {"p": "1e1"}]
FILTER_CASES = [
    ("eq", "pro"),
    ("eq", ""),
    ("eq", 12),
    ("eq", "12"),
    ("eq", 2.5),
    ("eq", True),
    ("neq", ""),
    ("neq", 12),
    ("in", ["pro", 12]),
    ("in", ["", False]),
    ("not_in", ["pro", 12]),
    ("gt", 10),
    ("gte", 12),
    ("lt", 2.5),
    ("lte", 2.5),
    ("contains", ""),
    ("contains", "r"),
    ("contains", "1"),
    ("is_set", None),
    ("is_not_set", None),
]


def test_every_filter_operator_on_every_kind_of_property(store: EventStore) -> None:
    """One identity (and variant) per property value, one count metric per filter."""
    env = fresh_env()
    variants = tuple(f"v{i}" for i in range(len(FILTER_SUBJECTS)))
    rows = [s.stored(env, s.EXPOSURE, s.FLAG, v, v, at(2), {}) for v in variants]
    rows += [
        s.stored(env, "purchase", "", v, "1", at(3), m)
        for v, m in zip(variants, FILTER_SUBJECTS, strict=True)
    ]
    store.insert(rows)
    metrics = tuple(
        MetricSpec(
            f"{op} {value!r}",
            "count",
            definition(event="purchase", filters=[s.filter_data("p", op, value)]),
        )
        for op, value in FILTER_CASES
    )
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, variants, s.START, s.END, metrics)
    stats = assert_matches_brute_force(store, spec, rows)

    def matched(case: str) -> list[object]:
        return [
            m.get("p")
            for v, m in zip(variants, FILTER_SUBJECTS, strict=True)
            if stats.metrics[case][v].sum
        ]

    assert matched("eq ''") == [""]
    assert matched("neq ''") == [
        None,
        None,
        "pro",
        "12",
        12,
        2.5,
        True,
        False,
        "x'y",
        "true",
        "1e1",
    ]
    assert matched("eq 12") == ["12", 12]
    assert matched("eq True") == [True, "true"]
    assert matched("gt 10") == ["12", 12]
    assert matched("is_set None") == ["pro", "", "12", 12, 2.5, True, False, "x'y", "true", "1e1"]
