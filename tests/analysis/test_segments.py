"""Results per breakdown segment, run on chDB, against the brute force per segment."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis import strategies as s
from tests.analysis.brute_force import expected_segments
from tests.analysis.test_query import COLLIDING, assert_close, fresh_env
from tests.analysis.test_query_moments import definition

from liftlab.analysis import query
from liftlab.analysis.breakdowns import MISSING, OTHER, TOP_SEGMENTS, Breakdown
from liftlab.analysis.results import ExposureCounts, ResultStats, query_results
from liftlab.analysis.segments import build_segments_query, query_segments, read_segments
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.eventstore import EventStore, StoredEvent

CONTROL, TREATMENT = s.VARIANTS


def assert_segments_match(
    store: EventStore, spec: ExperimentSpec, rows: list[StoredEvent]
) -> dict[str, dict[str, ResultStats]]:
    """Hashed and exact, every dimension's segments against the brute force."""
    segments = query_segments(spec, store.query)
    exact = read_segments(spec, store.query(*build_segments_query(spec, query.EXACT)))
    want = expected_segments(spec, rows)
    for got in (segments, exact):
        assert {k: set(v) for k, v in got.items()} == {k: set(v) for k, v in want.items()}
        for key, per_segment in want.items():
            for segment, (counts, moments) in per_segment.items():
                stats = got[key][segment]
                assert stats.exposures == ExposureCounts(
                    variants=counts["variants"],
                    quarantined=counts["quarantined"],
                    unknown_variant=counts["unknown"],
                ), (key, segment)
                for metric, per_variant in moments.items():
                    for variant, moment in per_variant.items():
                        where = (key, segment, metric, variant)
                        assert_close(stats.metrics[metric][variant], moment, where)
    return segments


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    exposed=st.lists(s.described_exposures, min_size=1, max_size=16),
    others=st.lists(s.metric_events, min_size=10, max_size=40),
    chosen=s.metrics_v2,
)
def test_every_segment_matches_brute_force(store: EventStore, exposed, others, chosen) -> None:
    env = fresh_env()
    rows = s.described_rows(env, exposed) + s.event_rows(env, [], others)
    store.insert(rows)
    spec = replace(s.experiment(env, chosen), breakdowns=s.BREAKDOWNS)
    assert_segments_match(store, spec, rows)


def test_the_top_segments_by_assigned_identities_and_the_rest_as_other(
    store: EventStore,
) -> None:
    """22 countries: c21 has three identities, the others one each; ties go by text, so
    c19 and c20 are ``other``, beside a quarantined identity's own country."""
    env = fresh_env()
    rows = []
    people = [(f"c{k:02d}", f"u{k}") for k in range(22)] + [("c21", "v1"), ("c21", "v2")]
    for k, (country, who) in enumerate(people):
        traits = {"country": country}
        rows.append(s.stored(env, s.EXPOSURE, s.FLAG, who, s.VARIANTS[k % 2], s.START, {}, traits))
        rows.append(s.stored(env, "buy", "", who, str(k), s.START, {}))
    rows.append(s.stored(env, s.EXPOSURE, s.FLAG, "q", CONTROL, s.START, {}, {"country": "zz"}))
    rows.append(s.stored(env, s.EXPOSURE, s.FLAG, "q", TREATMENT, s.END, {}))
    store.insert(rows)
    capped = definition(event="buy", cap={"type": "percentile", "value": 0.5})
    metrics = (MetricSpec("sum", "sum", definition(event="buy")), MetricSpec("p50", "sum", capped))
    spec = ExperimentSpec(
        env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, metrics,
        (Breakdown(source="trait", property="country"), Breakdown(source="sdk_version")),
    )  # fmt: skip
    segments = assert_segments_match(store, spec, rows)
    countries = segments["country"]
    assert len(countries) == TOP_SEGMENTS + 1
    assert sum(countries["c21"].exposures.variants.values()) == 3
    assert countries[OTHER].exposures.quarantined == 1
    assert sum(countries[OTHER].exposures.variants.values()) == 2
    overall = query_results(spec, store.query)
    assert segments["sdk_version"]["1"].exposures == overall.exposures
    assert {stats.metrics["p50"][CONTROL].cap for stats in countries.values()} == {
        overall.metrics["p50"][CONTROL].cap
    }


def test_hostile_dimension_names_and_values_are_bound(store: EventStore) -> None:
    env, hostile = fresh_env(), s.HOSTILE_VALUE
    path = hostile + "path"
    exposure = (env, s.EXPOSURE, s.FLAG)
    rows = [
        s.stored(*exposure, "u1", CONTROL, s.START, {path: hostile}, {hostile: hostile}),
        s.stored(*exposure, "u2", TREATMENT, s.START, {}, {hostile: 5}, (hostile, "")),
    ]
    store.insert(rows)
    breakdowns = (
        Breakdown(source="trait", property=hostile),
        Breakdown(source="metadata", property=path),
        Breakdown(source="sdk_language"),
        Breakdown(source="sdk_version"),
    )
    spec = ExperimentSpec(env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, (), breakdowns)
    sql, _ = build_segments_query(spec)
    assert "OR 1=1" not in sql and "日本" not in sql
    segments = assert_segments_match(store, spec, rows)
    assert set(segments[hostile]) == {hostile, "5"}
    assert set(segments[path]) == {hostile, MISSING}
    assert set(segments["sdk_language"]) == {"python", hostile}
    assert set(segments["sdk_version"]) == {"1", MISSING}


def test_no_breakdowns_no_query() -> None:
    def refuse(sql: str, params: object) -> None:
        raise AssertionError("no query expected")

    spec = ExperimentSpec("env", s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END)
    assert query_segments(spec, refuse) == {}  # type: ignore[arg-type]


def test_a_collision_falls_back_to_the_exact_segments(store: EventStore, monkeypatch) -> None:
    env = fresh_env()
    rows = [
        s.stored(env, s.EXPOSURE, s.FLAG, "u1", CONTROL, s.START, {}, {"country": "US"}),
        s.stored(env, s.EXPOSURE, s.FLAG, "u2", CONTROL, s.START, {}, {"country": "FR"}),
        s.stored(env, "buy", "", "u1", "4", s.START, {}),
    ]
    store.insert(rows)
    metric = MetricSpec("m", "sum", definition(event="buy"))
    country = Breakdown(source="trait", property="country")
    spec = ExperimentSpec(
        env, s.FLAG, s.EXPOSURE, s.VARIANTS, s.START, s.END, (metric,), (country,)
    )
    monkeypatch.setattr(query, "HASHED", COLLIDING)
    calls = []

    def counted(sql: str, params) -> object:
        calls.append(sql)
        return store.query(sql, params)

    segments = query_segments(spec, counted)
    assert len(calls) == 2 and "identifier AS key" in calls[1]
    assert {k: v.metrics["m"][CONTROL].sum for k, v in segments["country"].items()} == {
        "US": 4.0,
        "FR": 0.0,
    }
