"""``liftlab power``: the identities and days an experiment needs, for both designs.

The options make the API's request body (``POST …/power/``), validated the same way: a baseline
typed in (``--mean`` with ``--variance``, or ``--mean`` and ``--conversion`` for a rate) needs no
database; ``--metric ID --environment KEY`` reads the metric's baseline from the event store.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from liftlab.cli import CommandError, setup_django

HELP = "the environment's key (write --environment=KEY if it starts with '-')"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "power",
        help="identities and days an experiment needs (fixed horizon and sequential)",
        description="Identities and days to detect a change of --mde with --power, each "
        "treatment against the control (docs/power.md).",
    )
    typed = parser.add_argument_group("a baseline typed in")
    typed.add_argument("--mean", type=float, help="the metric's mean per identity (a rate)")
    typed.add_argument("--variance", type=float, help="the variance of the per-identity numbers")
    typed.add_argument("--conversion", action="store_true", help="--mean is a rate: p(1 − p)")
    measured = parser.add_argument_group("a baseline read from the events")
    measured.add_argument("--metric", type=int, metavar="ID", help="a metric of the environment")
    measured.add_argument("--environment", metavar="KEY", help=HELP)
    measured.add_argument("--days", type=int, default=28, help="days looked back (28)")
    parser.add_argument("--mde", type=float, required=True, help="the smallest change to detect")
    parser.add_argument("--absolute", action="store_true", help="--mde in the metric's units")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    parser.add_argument("--power", type=float, default=0.8, help="chance of detection (0.8)")
    parser.add_argument(
        "--weights", default="50,50", help="the variants' shares, control first (50,50)"
    )
    parser.add_argument("--daily-traffic", type=float, metavar="N", help="identities per day")
    parser.add_argument("--sequential", action="store_true", help="the experiment is sequential")
    parser.add_argument(
        "--sequential-tuning", type=float, default=5000.0, metavar="N", help="(5000)"
    )
    parser.add_argument(
        "--no-correction", action="store_true", help="alpha not shared by the treatments"
    )
    parser.add_argument("--identities", type=int, metavar="N", help="also the MDE at N")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    parser.set_defaults(func=power)


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The API's request body from the options."""
    if args.metric is not None:
        baseline: dict[str, Any] = {"metric": args.metric, "days": args.days}
    elif args.mean is None:
        raise CommandError("give --mean (with --variance or --conversion), or --metric")
    else:
        baseline = {"mean": args.mean, "conversion": args.conversion}
        if args.variance is not None:
            baseline["variance"] = args.variance
    body = {
        "baseline": baseline,
        "mde": args.mde,
        "scale": "absolute" if args.absolute else "relative",
        "alpha": args.alpha,
        "power": args.power,
        "weights": _weights(args.weights),
        "sequential": args.sequential,
        "sequential_tuning": args.sequential_tuning,
        "correction": "none" if args.no_correction else "bonferroni",
        "identities": args.identities,
    }
    if args.daily_traffic is not None:
        body["daily_traffic"] = args.daily_traffic
    return body


def _weights(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise CommandError(f"--weights: {text!r} is not a list of numbers such as 50,50") from None


def power(args: argparse.Namespace) -> int:
    body = request_body(args)
    from liftlab.analysis.power import PowerError, parse_question, plan

    try:
        answer = plan(parse_question(body)) if args.metric is None else _measured(args, body)
    except PowerError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps(answer.model_dump(mode="json"), indent=2))
    else:
        show(answer, Console())
    return 0


def _measured(args: argparse.Namespace, body: dict[str, Any]):
    """The answer with the metric's baseline, read in its environment's event store."""
    if args.environment is None:
        raise CommandError("--metric needs --environment KEY")
    setup_django()
    from liftlab.accounts.models import Environment
    from liftlab.planning.questions import answer

    environment = Environment.objects.filter(key=args.environment).first()
    if environment is None:
        raise CommandError(f"no environment has the key {args.environment!r}")
    return answer(environment, body)


def show(answer, console: Console) -> None:
    """The question in a sentence, where a measured baseline came from, then both designs."""
    from liftlab.planning.presenters import design_rows, question_words

    measured = getattr(answer, "measured", None)
    if measured is not None:
        console.print(
            f"Baseline of metric {measured.metric}: {measured.identities:,} identities active "
            f"in the last {measured.days} days."
        )
    console.print(question_words(answer))
    table = Table()
    table.add_column("design")
    for column in ("identities", "per arm (control first)", "days"):
        table.add_column(column, justify="right")
    asked = answer.identities is not None
    if asked:
        table.add_column(f"MDE at {answer.identities:,}", justify="right")
    for row in design_rows(answer):
        name = row.name + (" (chosen)" if row.chosen else "")
        cells = [name, row.identities, row.per_arm, row.days]
        table.add_row(*cells, *([row.mde_at_identities] if asked else []))
    console.print(table)
