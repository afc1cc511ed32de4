"""``liftlab events import|stats`` and ``liftlab eventstore init``: the events table from a shell.

These commands need the event store and, to check an environment key, the models database.
With the embedded chDB store they cannot run while ``liftlab serve`` holds the data folder.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from liftlab import config
from liftlab.cli import CommandError

SHOWN_REJECTIONS = 20
ENVIRONMENT_HELP = "the environment's key (write --environment=KEY if it starts with '-')"
STATS_SQL = """
SELECT event, toDate(timestamp) AS day, count() AS events, uniqExact(identifier) AS identities
FROM events
WHERE environment_key = {environment_key:String}
GROUP BY event, day
ORDER BY day, event
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    events = subparsers.add_parser("events", help="import events from files, count them")
    commands = events.add_subparsers(dest="events_command", required=True)
    load = commands.add_parser("import", help="import an .ndjson, .csv or .parquet file")
    load.add_argument("file", type=Path)
    load.add_argument("--environment", required=True, metavar="KEY", help=ENVIRONMENT_HELP)
    load.add_argument(
        "--batch-size",
        type=int,
        default=config.IMPORT_BATCH_SIZE,
        help=f"events per insert (default {config.IMPORT_BATCH_SIZE:,})",
    )
    load.set_defaults(func=import_events)
    stats = commands.add_parser("stats", help="stored events by name and day")
    stats.add_argument("--environment", required=True, metavar="KEY", help=ENVIRONMENT_HELP)
    stats.set_defaults(func=event_stats)

    store = subparsers.add_parser("eventstore", help="the events table")
    store_commands = store.add_subparsers(dest="eventstore_command", required=True)
    init = store_commands.add_parser("init", help="create the events table (or print its DDL)")
    init.add_argument("--cluster", metavar="NAME", help="Replicated tables ON CLUSTER, Distributed")
    init.add_argument("--print", action="store_true", help="print the DDL instead of running it")
    init.set_defaults(func=init_eventstore)


def import_events(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    from liftlab.ingest.errors import IngestError
    from liftlab.ingest.files import import_file

    if not args.file.is_file():
        raise CommandError(f"{args.file}: no such file")
    if args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1")
    rules = _environment_rules(args.environment)
    columns = ("{task.description}", BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with _store() as store, Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"importing {args.file.name}", total=None)
        try:
            summary = import_file(
                args.file,
                args.environment,
                store,
                rules=rules,
                batch_size=args.batch_size,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except (IngestError, OSError) as exc:
            raise CommandError(str(exc)) from exc
    print(
        f"{args.file.name}: {summary.accepted} stored, {summary.duplicates} already stored, "
        f"{summary.rejected_count} rejected"
    )
    for rejection in summary.rejected[:SHOWN_REJECTIONS]:
        print(f"  {summary.position} {rejection['index']}: {rejection['error']}")
    if summary.rejected_count > SHOWN_REJECTIONS:
        print(f"  … and {summary.rejected_count - SHOWN_REJECTIONS} more")
    return 1 if summary.rejected_count else 0


def event_stats(args: argparse.Namespace) -> int:
    _environment_rules(args.environment)
    with _store() as store:
        result = store.query(STATS_SQL, {"environment_key": args.environment})
    if not result.rows:
        print(f"no events stored for environment {args.environment}")
        return 0
    width = max(len(event) for event, *_ in result.rows)
    print(f"{'day':<10}  {'event':<{width}}  {'events':>10}  {'identities':>10}")
    for event, day, count, identities in result.rows:
        print(f"{day.isoformat():<10}  {event:<{width}}  {count:>10}  {identities:>10}")
    return 0


def init_eventstore(args: argparse.Namespace) -> int:
    from liftlab.eventstore import EventStoreError
    from liftlab.eventstore.location import parse_url
    from liftlab.eventstore.schema import cluster_ddl, single_node_ddl

    try:
        database = parse_url(config.eventstore_url()).database
    except EventStoreError as exc:
        raise CommandError(str(exc)) from exc
    if args.print:
        ddl = cluster_ddl(database, args.cluster) if args.cluster else single_node_ddl(database)
        print(";\n\n".join(ddl) + ";")
        return 0
    with _store() as store:
        store.ensure_schema(cluster=args.cluster)
    print(f"events table ready in {store.location.describe()}")
    return 0


@contextmanager
def _store() -> Iterator:
    """The configured store; its errors (unreachable, folder in use…) become clean messages."""
    from liftlab.eventstore import EventStoreError, open_store

    try:
        yield open_store()
    except EventStoreError as exc:
        raise CommandError(f"event store: {exc}") from exc


def _environment_rules(key: str):
    """The environment's ingestion rules; a CommandError when no environment has that key."""
    from liftlab.cli.server import migrate

    migrate()
    from liftlab.accounts.models import Environment
    from liftlab.events.services import ingestion_rules

    environment = Environment.objects.filter(key=key).first()
    if environment is None:
        raise CommandError(f"no environment has the key {key!r}")
    return ingestion_rules(environment)
