"""``liftlab results``: an experiment's results as a readable table, and refreshes from cron.

- ``liftlab results ENV_KEY EXPERIMENT_ID [--json] [--refresh]`` (short for ``results show …``)
  prints the document; the table itself is ``liftlab.terminal.render``, which the demo prints
  with too.
- ``liftlab results refresh (--all | ENV_KEY EXPERIMENT_ID)`` recomputes running experiments'
  results now, as ``liftlab serve``'s schedule does: for cron, where several processes serve
  one ClickHouse server and none of them refreshes on a schedule.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from rich.console import Console

from liftlab.cli import CommandError, setup_django

if TYPE_CHECKING:
    from liftlab.experiments.results import Refreshed

SHOW = "show"
USAGE = """liftlab results ENV_KEY EXPERIMENT_ID [--json] [--refresh]
       liftlab results refresh (--all | ENV_KEY EXPERIMENT_ID)"""
FAILED = 1  # a refresh failed: the store or the database, not the command line (that is 2)


class ShowUnlessNamed(argparse._SubParsersAction):
    """``results``' sub-commands, where a first word that names none means ``show``.

    So ``liftlab results ENV_KEY EXPERIMENT_ID`` keeps working beside ``results refresh``, and
    unambiguously: an environment key is 22 random characters, never ``refresh`` or ``show``.
    """

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        if values[0] not in self._name_parser_map:
            values = [SHOW, *values]
        super().__call__(parser, namespace, values, option_string)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("results", help="print or refresh results", usage=USAGE)
    commands = parser.add_subparsers(
        action=ShowUnlessNamed, dest="results_command", metavar="{show,refresh}", required=True
    )
    commands.choices = None  # any first word is accepted: ShowUnlessNamed reads it as ENV_KEY
    show = commands.add_parser(
        SHOW, help="an experiment's results (the default: liftlab results ENV_KEY EXPERIMENT_ID)"
    )
    show.add_argument("environment_key")
    show.add_argument("experiment_id", type=int)
    show.add_argument("--json", action="store_true", help="the API's JSON document instead")
    show.add_argument("--refresh", action="store_true", help="recompute a running experiment")
    show.set_defaults(func=show_results)
    refresh = commands.add_parser(
        "refresh",
        help="recompute running experiments' results now (for cron)",
        usage="liftlab results refresh (--all | ENV_KEY EXPERIMENT_ID)",
    )
    refresh.add_argument("--all", action="store_true", help="every running experiment")
    refresh.add_argument("environment_key", nargs="?")
    refresh.add_argument("experiment_id", nargs="?", type=int)
    refresh.set_defaults(func=refresh_results)


def find_experiment(environment_key: str, experiment_id: int):
    """The experiment, or a ``CommandError`` naming what was looked for."""
    from liftlab.experiments.models import Experiment

    experiment = (
        Experiment.objects.alive()
        .filter(environment__key=environment_key, pk=experiment_id)
        .select_related("environment")
        .first()
    )
    if experiment is None:
        raise CommandError(f"no experiment {experiment_id} in environment {environment_key!r}")
    return experiment


def show_results(args: argparse.Namespace) -> int:
    setup_django()
    from liftlab.experiments.results import results_for
    from liftlab.terminal import render

    experiment = find_experiment(args.environment_key, args.experiment_id)
    try:
        document = results_for(experiment, refresh=args.refresh)
    except refusals() as exc:
        raise CommandError(refusal_text(exc)) from exc
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        render(document, Console(), control=experiment.control_variant, title=experiment.name)
    return 0


def refresh_results(args: argparse.Namespace) -> int:
    """Refresh, printing each experiment and its time as it finishes; 1 if any failed."""
    one = args.environment_key is not None
    if args.all == one or (one and args.experiment_id is None):
        raise CommandError("results refresh takes --all, or ENV_KEY EXPERIMENT_ID")
    setup_django()
    from liftlab.experiments.results import refresh_each, running_experiments

    experiments = (
        [find_experiment(args.environment_key, args.experiment_id)]
        if one
        else running_experiments()
    )
    outcomes = [_print_outcome(outcome) for outcome in refresh_each(experiments)]
    failed = sum(o.error is not None for o in outcomes)
    seconds = sum(o.seconds for o in outcomes)
    if not outcomes:
        print("no running experiments to refresh")
    else:
        print(f"{len(outcomes) - failed} refreshed, {failed} failed, in {seconds:.2f} s")
    return FAILED if failed else 0


def _print_outcome(outcome: Refreshed) -> Refreshed:
    """One line per experiment: to stdout when refreshed, to stderr (for cron's mail) if not."""
    experiment = outcome.experiment
    named = (
        f"experiment {experiment.pk} ({experiment.name!r}, environment "
        f"{experiment.environment.key})"
    )
    if outcome.error is None:
        print(f"refreshed {named} in {outcome.seconds:.2f} s")
    else:
        print(
            f"liftlab: {named} not refreshed after {outcome.seconds:.2f} s: {outcome.error}",
            file=sys.stderr,
        )
    return outcome


def refusals() -> tuple[type[Exception], ...]:
    """What the services refuse with: domain errors, and DRF's from the serializers."""
    from rest_framework.exceptions import ValidationError

    from liftlab.experiments.errors import Refused

    return (Refused, ValidationError)


def refusal_text(exc: Exception) -> str:
    """One line naming the field: ``analysis.alpha: Input should be less than 0.5``."""
    detail = getattr(exc, "detail", None)
    return first_message(detail) if detail is not None else str(exc)


def first_message(detail) -> str:
    """The first of a DRF error body's messages, with its field: one line for a terminal."""
    from liftlab.api.exceptions import error_lines

    return error_lines(detail)[0]
