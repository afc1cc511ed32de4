"""Benchmark: the one-scan results query against one query per metric and against a bare scan.

Builds (once; reused while it exists) a synthetic experiment in an embedded event store,
generated inside ClickHouse with ``INSERT … SELECT`` from ``numbers()``: 3 variants, exposures
over the first 20 days of a 28-day range (2 % of identities exposed twice, half of them to
another variant, 0.1 % to an unknown one), metric events spread over the whole range (so
some precede their identity's exposure), JSON properties ``plan``, ``amount``, ``items``,
``country``. Then times, best of ``--repeat`` runs (the machine is shared):

- the results query of 10 metrics covering every aggregation, filters and windows;
- the same 10 metrics as 10 queries of one metric each (results checked equal);
- a bare scan: the same rows (same WHERE), the same columns and properties read, trivially
  aggregated (count and lengths): the floor any query reading those columns pays.

    .venv/bin/python bench/results.py [--identities 1000000] [--events 20000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import resource
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from liftlab import config
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.query import build_results_query
from liftlab.analysis.results import ResultStats, read_results
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.eventstore import COLUMNS, EventStore, open_store

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 28
EXPOSURE_DAYS = 20
FLAG = "checkout-redesign"
EXPOSURE = "$flag_exposure"
VARIANTS = ("control", "treatment_a", "treatment_b")
PROPERTIES = ("plan", "amount", "items", "country")

EXPOSURES = """
INSERT INTO events ({columns})
SELECT {{env:String}}, '{exposure}', '{flag}', concat('user-', toString(number % {n})),
       if(cityHash64(number % {n}, 'legacy') % 1000 = 0, 'legacy',
          ['control', 'treatment_a', 'treatment_b'][
              1 + (cityHash64(number % {n}) + (number >= {n} AND number % 2 = 1)) % 3]),
       {start} + toIntervalMillisecond(cityHash64(number, 'at') % {exposure_ms}) AS at, at,
       '{{}}', '{{}}', 'python', '1.0', generateUUIDv4(number)
FROM numbers({exposures})
"""
METRIC_EVENTS = """
INSERT INTO events ({columns})
SELECT {{env:String}}, event, '', concat('user-', toString(who)),
       if(cityHash64(number, 'bad') % 50 = 0, 'n/a', toString(round(amount))),
       {start} + toIntervalMillisecond(cityHash64(number, 'at') % {range_ms}) AS at, at, '{{}}',
       concat('{{"plan":"', ['free', 'pro', 'team'][1 + cityHash64(number, 'plan') % 3],
              '","amount":', toString(amount), ',"items":', toString(cityHash64(number) % 7),
              ',"country":"', ['US', 'FR', 'DE', 'JP'][1 + cityHash64(number, 'c') % 4], '"}}'),
       'python', '1.0', generateUUIDv4(number + {exposures})
FROM (
    SELECT number, cityHash64(number, 'who') % {n} AS who,
           multiIf(cityHash64(number, 'e') % 100 < 40, 'page_view',
                   cityHash64(number, 'e') % 100 < 65, 'add_to_cart',
                   cityHash64(number, 'e') % 100 < 85, 'purchase', 'signup') AS event,
           round((cityHash64(number, 'amt') % 20000) / 100 * (1 + 0.02 * (cityHash64(who) % 3)), 2)
               AS amount
    FROM numbers({events})
)
"""
SETTINGS = " SETTINGS input_format_try_infer_dates = 0, input_format_try_infer_datetimes = 0"


def metrics() -> tuple[MetricSpec, ...]:
    """Ten metrics: every aggregation, value column and property, filters, windows."""

    def metric(key: str, aggregation: str, **definition: object) -> MetricSpec:
        return MetricSpec(key, aggregation, parse_definition({"version": 1, **definition}))

    return (
        metric("purchases", "count", event="purchase"),
        metric("revenue", "sum", event="purchase"),
        metric("basket", "mean", event="purchase", value="amount"),
        metric("signed_up", "occurrence", event="signup"),
        metric(
            "pro_views",
            "count",
            event="page_view",
            filters=[{"property": "plan", "op": "eq", "value": "pro"}],
        ),
        metric(
            "items_us_fr_72h",
            "sum",
            event="add_to_cart",
            value="items",
            filters=[{"property": "country", "op": "in", "value": ["US", "FR"]}],
            window={"hours": 72},
        ),
        metric(
            "big_buyer",
            "occurrence",
            event="purchase",
            filters=[{"property": "amount", "op": "gt", "value": 100}],
        ),
        metric("view_value", "mean", event="page_view"),
        metric("carts_week", "count", event="add_to_cart", window={"hours": 168}),
        metric(
            "paid_view_day",
            "occurrence",
            event="page_view",
            filters=[{"property": "plan", "op": "neq", "value": "free"}],
            window={"hours": 24},
        ),
    )


def ensure_events(store: EventStore, env: str, identities: int, events: int) -> None:
    """Generate the event set unless this environment already holds exactly it."""
    count = "SELECT count() FROM events WHERE environment_key = {env:String}"
    if store.query(count, {"env": env}).rows[0][0] == events:
        print(f"reusing {events:,} events of environment {env}")
        return
    store.query(
        "ALTER TABLE events DELETE WHERE environment_key = {env:String} "
        "SETTINGS mutations_sync = 1",
        {"env": env},
    )
    exposures = identities + identities // 50
    started = time.perf_counter()
    shared = {
        "columns": ", ".join(COLUMNS),
        "n": identities,
        "exposures": exposures,
        "exposure": EXPOSURE,
        "flag": FLAG,
        "start": f"toDateTime64('{START:%Y-%m-%d %H:%M:%S}', 3, 'UTC')",
    }
    sql = EXPOSURES.format(exposure_ms=EXPOSURE_DAYS * 86_400_000, **shared)
    store.query(sql + SETTINGS, {"env": env})
    sql = METRIC_EVENTS.format(range_ms=DAYS * 86_400_000, events=events - exposures, **shared)
    store.query(sql + SETTINGS, {"env": env})
    store.query("OPTIMIZE TABLE events FINAL")
    print(f"generated {events:,} events in {time.perf_counter() - started:.0f} s")


def bare_scan(spec: ExperimentSpec) -> tuple[str, dict[str, object]]:
    """The same WHERE and columns as the results query, aggregated trivially."""
    reads = ", ".join(
        f"sum(length(toString(getSubcolumn(metadata, {{p{i}:String}}))))"
        for i in range(len(PROPERTIES))
    )
    sql = f"""SELECT count(), sum(length(identifier)), sum(length(value)), max(timestamp),
       sum(event = {{exposure:String}} AND feature_name = {{flag:String}}), {reads}
FROM events
WHERE environment_key = {{env:String}} AND event IN {{events:Array(String)}}
  AND timestamp >= fromUnixTimestamp64Milli({{start:Int64}}, 'UTC')
  AND timestamp <= fromUnixTimestamp64Milli({{end:Int64}}, 'UTC')"""
    params: dict[str, object] = {f"p{i}": p for i, p in enumerate(PROPERTIES)}
    params.update(
        exposure=spec.exposure_event,
        flag=spec.feature_name,
        env=spec.environment_key,
        events=sorted({spec.exposure_event, *(m.definition.event for m in spec.metrics)}),
        start=spec.start_ms,
        end=spec.end_ms,
    )
    return sql, params


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """Best wall and best CPU time (chDB runs in this process) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), cpu_seconds()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(cpu_seconds() - cpu)
    return min(walls), min(cpus)


def same(together: ResultStats, alone: list[ResultStats]) -> bool:
    for stats in alone:
        for key, per_variant in stats.metrics.items():
            for variant, m in per_variant.items():
                t = together.metrics[key][variant]
                if m.n != t.n or not all(
                    math.isclose(a, b, rel_tol=1e-9)
                    for a, b in ((m.sum, t.sum), (m.sum_sq, t.sum_sq))
                ):
                    return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", default=f"chdb://{config.home() / 'bench-results'}")
    args = parser.parse_args()

    store = open_store(args.store)
    env = f"bench-results-{args.identities}-{args.events}"
    ensure_events(store, env, args.identities, args.events)
    spec = ExperimentSpec(
        env, FLAG, EXPOSURE, VARIANTS, START, START + timedelta(days=DAYS), metrics()
    )
    singles = [replace(spec, metrics=(m,)) for m in spec.metrics]

    def results() -> ResultStats:
        return read_results(spec, store.query(*build_results_query(spec)))

    def per_metric() -> list[ResultStats]:
        return [read_results(s, store.query(*build_results_query(s))) for s in singles]

    together = results()
    if not same(together, per_metric()):
        raise SystemExit("one query per metric disagrees with the one-scan query")
    bare_sql, bare_params = bare_scan(spec)
    timings = {
        "bare scan": best(args.repeat, lambda: store.query(bare_sql, bare_params)),
        "results, one query": best(args.repeat, results),
        "one query per metric": best(args.repeat, per_metric),
    }
    exposures = together.exposures
    print(
        f"{args.events:,} events, {args.identities:,} identities ({exposures.total:,} exposed, "
        f"{exposures.quarantined:,} quarantined, {exposures.unknown_variant:,} unknown variant), "
        f"{len(spec.metrics)} metrics, best of {args.repeat}"
    )
    print(f"{'':22} {'wall s':>8} {'cpu s':>8}")
    for name, (wall, cpu) in timings.items():
        print(f"{name:22} {wall:8.2f} {cpu:8.2f}")
    (bare_wall, bare_cpu), (ours_wall, ours_cpu), (each_wall, each_cpu) = timings.values()
    print(
        f"results / bare scan:            {ours_wall / bare_wall:4.1f}x wall, "
        f"{ours_cpu / bare_cpu:4.1f}x cpu (target ≤ 3x)"
    )
    print(
        f"per metric / results:           {each_wall / ours_wall:4.1f}x wall, "
        f"{each_cpu / ours_cpu:4.1f}x cpu (target ≥ 5x)"
    )


if __name__ == "__main__":
    main()
