"""``liftlab simulate``: traffic with known true effects for an experiment's variants.

Reads the experiment and its attached metrics (from the database, or from the --send
server's API when --token is given), generates exposures and product events whose true
effects are the --effect options, and sends them to the ingestion API or writes NDJSON.
Sending needs an ingestion key of the environment (--ingestion-key or LIFTLAB_INGESTION_KEY);
with --token and no key, one is made through the API for the run and revoked after it.
See docs/simulator.md for what is generated and what an effect means.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from liftlab.cli import CommandError, setup_django
from liftlab.simulate import (
    Counts,
    ExperimentSpec,
    ExperimentUnavailable,
    PlanError,
    SendError,
    SimulationPlan,
    build_plan,
    parse_effect,
    simulate_to_api,
    simulate_to_file,
    true_means,
)

INGESTION_KEY_VARIABLE = "LIFTLAB_INGESTION_KEY"
NO_KEY = (
    "--send needs an ingestion key of the environment: --ingestion-key KEY or "
    f"${INGESTION_KEY_VARIABLE} (an admin makes one with `liftlab keys create ENV_KEY --name "
    "NAME --actor ADMIN`), or an admin's --token to make one for this run"
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="generate an experiment's traffic with known true effects",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--environment", required=True, metavar="KEY")
    parser.add_argument("--experiment", required=True, type=int, metavar="ID")
    parser.add_argument("--users", required=True, type=_positive_int, metavar="N")
    parser.add_argument(
        "--days", required=True, type=_positive_float, metavar="D", help="arrival period"
    )
    parser.add_argument(
        "--effect",
        action="append",
        default=[],
        metavar="METRIC[:VARIANT]=±N%",
        help="true relative effect on a metric (id or name), all treatments unless VARIANT",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.add_argument(
        "--start",
        type=_timestamp,
        metavar="ISO",
        help="first arrival, ISO 8601 (UTC unless an offset is given); default: ends now",
    )
    parser.add_argument(
        "--horizon-hours",
        type=_positive_float,
        default=SimulationPlan.horizon_hours,
        metavar="H",
        help="how long after their first exposure users keep sending events",
    )
    parser.add_argument(
        "--pre-days",
        type=_non_negative_float,
        default=SimulationPlan.pre_days,
        metavar="D",
        help="days before their first exposure in which users already act (0: none)",
    )
    parser.add_argument(
        "--pre-post-correlation",
        type=_share,
        default=SimulationPlan.pre_post_correlation,
        metavar="R",
        help="chance that a user's traits before exposure carry over to after it",
    )
    parser.add_argument(
        "--double-exposure",
        type=_share,
        default=SimulationPlan.double_exposure_share,
        metavar="SHARE",
        help="share of users also exposed to a second variant",
    )
    parser.add_argument(
        "--duplicates",
        type=_share,
        default=SimulationPlan.duplicate_share,
        metavar="SHARE",
        help="share of events sent twice with the same event_id",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--send", metavar="URL", help="post to this service's ingestion API")
    target.add_argument("--out", type=Path, metavar="FILE", help="write NDJSON to this file")
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        help="API token: read the experiment from the --send server instead of the database "
        "(and, with no --ingestion-key, make a key for the run: an admin's token)",
    )
    parser.add_argument(
        "--ingestion-key",
        metavar="KEY",
        default=os.environ.get(INGESTION_KEY_VARIABLE) or None,
        help=f"the ingestion key --send authenticates with (default: ${INGESTION_KEY_VARIABLE})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=simulate)


def _read_experiment(args: argparse.Namespace) -> ExperimentSpec:
    if args.token:
        from liftlab.simulate.remote import fetch_experiment

        return fetch_experiment(args.send, args.environment, args.experiment, args.token)
    setup_django()
    from django.db import DatabaseError

    from liftlab.simulate.database import load_experiment

    try:
        return load_experiment(args.environment, args.experiment)
    except DatabaseError as exc:
        raise CommandError(f"cannot read the database: {exc}") from None


def _plan(args: argparse.Namespace) -> SimulationPlan:
    if args.token and not args.send:
        raise CommandError("--token reads the experiment from the --send server; give --send")
    try:
        return build_plan(
            _read_experiment(args),
            users=args.users,
            days=args.days,
            effects=[parse_effect(text) for text in args.effect],
            seed=args.seed,
            start=args.start,
            horizon_hours=args.horizon_hours,
            pre_days=args.pre_days,
            pre_post_correlation=args.pre_post_correlation,
            double_exposure_share=args.double_exposure,
            duplicate_share=args.duplicates,
        )
    except (PlanError, ExperimentUnavailable) as exc:
        raise CommandError(str(exc)) from None


@contextmanager
def _ingestion_key(args: argparse.Namespace) -> Iterator[str]:
    """The key to send with: the one given, else one made for this run (revoked after it)."""
    if args.ingestion_key:
        yield args.ingestion_key
        return
    from liftlab.simulate.remote import create_ingestion_key, revoke_ingestion_key

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    try:
        key = create_ingestion_key(
            args.send, args.environment, args.token, f"liftlab simulate {stamp}"
        )
    except ExperimentUnavailable as exc:
        raise CommandError(f"cannot make an ingestion key for the run: {exc}") from None
    try:
        yield key["key"]
    finally:
        try:
            revoke_ingestion_key(args.send, args.environment, args.token, key["id"])
        except ExperimentUnavailable as exc:
            raise CommandError(
                f"could not revoke the run's ingestion key {key['prefix']}…: {exc}"
            ) from None


def simulate(args: argparse.Namespace) -> int:
    if args.send and not (args.ingestion_key or args.token):
        raise CommandError(NO_KEY)
    plan = _plan(args)
    progress = not args.no_progress
    if args.send:
        try:
            with _ingestion_key(args) as key:
                sent = simulate_to_api(plan, args.send, key, progress)
        except SendError as exc:
            raise CommandError(str(exc)) from None
        outcome = (
            f"accepted {sent.accepted:,} · duplicates {sent.duplicates:,} · rejected "
            f"{sent.rejected:,} (batches: {sent.batches}, retries: {sent.retries}, "
            f"{sent.seconds:.1f} s)"
        )
        counts = sent.counts
    else:
        try:
            written = simulate_to_file(plan, args.out, progress)
        except OSError as exc:
            raise CommandError(f"--out {args.out}: {exc.strerror or exc}") from None
        outcome = f"wrote {written.path} ({written.seconds:.1f} s)"
        counts = written.counts
    _print_summary(plan, counts, outcome)
    return 0


def _print_summary(plan: SimulationPlan, counts: Counts, outcome: str) -> None:
    console = Console()
    console.print(
        f"{counts.users:,} users over {plan.days:g} days from {plan.start:%Y-%m-%d %H:%M} UTC "
        f"(seed {plan.seed}), flag {plan.flag!r}\n"
        f"{counts.events:,} events: {counts.exposures:,} exposures, "
        f"{counts.product_events:,} product events, {counts.pre_exposure_events:,} before "
        f"exposure, {counts.duplicates:,} duplicate re-sends\n"
        f"{counts.double_exposed_users:,} users exposed to two variants (to be quarantined)\n"
        f"{outcome}",
        highlight=False,
        markup=False,
    )
    if plan.metrics:
        console.print(_truth_table(plan))


def _truth_table(plan: SimulationPlan) -> Table:
    table = Table(title="true values (per-user means, ratios, quantiles) and lifts")
    table.add_column("metric")
    table.add_column("aggregation")
    for variant in plan.variants:
        table.add_column(Text(variant.key), justify="right")
    means = true_means(plan)
    for metric in plan.metrics:
        by_variant = means[metric.key]
        control = by_variant[plan.control]
        cells = [
            f"{by_variant[v.key]:.4g}"
            + ("" if v.key == plan.control else f" ({by_variant[v.key] / control - 1:+.2%})")
            for v in plan.variants
        ]
        table.add_row(Text(f"{metric.name} (id {metric.key})"), str(metric.aggregation), *cells)
    return table
