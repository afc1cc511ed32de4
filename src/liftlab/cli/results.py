"""``liftlab results ENV_KEY EXPERIMENT_ID``: the results document as a readable table.

The table itself is ``liftlab.terminal.render``, which the demo prints with too.
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from liftlab.cli import CommandError, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("results", help="print an experiment's results")
    parser.add_argument("environment_key")
    parser.add_argument("experiment_id", type=int)
    parser.add_argument("--json", action="store_true", help="the API's JSON document instead")
    parser.add_argument("--refresh", action="store_true", help="recompute a running experiment")
    parser.set_defaults(func=show_results)


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
