"""``liftlab analysis ENV_KEY EXPERIMENT_ID``: an experiment's analysis settings, shown or changed.

A change goes through the API's own rules, as the page's form does
(``liftlab.experiments.services.change_analysis``: ``ExperimentSerializer``, then the save and
its audit entry in one transaction); the actor must be an admin of the environment, as in the API.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from liftlab import formatting
from liftlab.cli import CommandError, setup_django
from liftlab.cli.actors import admin_actor
from liftlab.cli.results import find_experiment, first_message

# Settings fields an option of the same name sets as given (the prior is one object: below).
PLAIN_FIELDS = (
    "engine",
    "sequential",
    "sequential_tuning",
    "alpha",
    "scale",
    "correction",
    "chance_to_win_threshold",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analysis",
        help="show or change an experiment's analysis settings",
        description="Without a change option, prints the settings. A change is validated as "
        "the API validates it and recorded in the audit log as --actor.",
    )
    parser.add_argument("environment_key")
    parser.add_argument("experiment_id", type=int)
    parser.add_argument("--engine", metavar="ENGINE", help="frequentist or bayesian")
    parser.add_argument(
        "--sequential",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="always-valid (sequential) intervals and p-values; frequentist only",
    )
    parser.add_argument(
        "--sequential-tuning",
        type=float,
        metavar="N",
        help="identities (all arms) at which the sequential interval is narrowest",
    )
    parser.add_argument("--alpha", type=float, metavar="A", help="significance level")
    parser.add_argument("--scale", metavar="SCALE", help="the lift judged: relative or absolute")
    parser.add_argument("--correction", metavar="NAME", help="none, holm or benjamini_hochberg")
    parser.add_argument("--prior-mean", type=float, metavar="M", help="bayesian prior mean")
    parser.add_argument("--prior-sd", type=float, metavar="S", help="bayesian prior sd")
    parser.add_argument("--flat-prior", action="store_true", help="bayesian: no prior at all")
    parser.add_argument(
        "--chance-to-win-threshold",
        type=float,
        metavar="T",
        help="bayesian: the chance to win a verdict needs",
    )
    parser.add_argument(
        "--actor", metavar="USERNAME", help="the admin the change is made as (needed to change)"
    )
    parser.add_argument("--json", action="store_true", help="print the settings as JSON")
    parser.set_defaults(func=analysis)


def requested_changes(args: argparse.Namespace, stored_prior: dict[str, Any]) -> dict[str, Any]:
    """The settings fields the options name, as an API ``PATCH`` body's ``analysis`` would."""
    changes = {field: getattr(args, field) for field in PLAIN_FIELDS}
    changes = {field: value for field, value in changes.items() if value is not None}
    prior_given = args.prior_mean is not None or args.prior_sd is not None
    if args.flat_prior and prior_given:
        raise CommandError("--flat-prior takes no --prior-mean or --prior-sd")
    if args.flat_prior:
        changes["prior"] = {"mean": 0.0, "sd": None}
    elif prior_given:  # the prior is one object: the part not given is kept
        changes["prior"] = {
            "mean": stored_prior["mean"] if args.prior_mean is None else args.prior_mean,
            "sd": stored_prior["sd"] if args.prior_sd is None else args.prior_sd,
        }
    return changes


def analysis(args: argparse.Namespace) -> int:
    setup_django()
    from liftlab.analysis.settings import parse_settings

    experiment = find_experiment(args.environment_key, args.experiment_id)
    stored = parse_settings(experiment.analysis).to_json()
    changes = requested_changes(args, stored["prior"])
    if changes and {**stored, **changes} != stored:
        from rest_framework.exceptions import ValidationError

        from liftlab.api.scoping import ADMINS_ONLY
        from liftlab.experiments.services import change_analysis

        actor = admin_actor(
            args.actor,
            experiment.environment,
            doing="change the settings",
            refusal=ADMINS_ONLY,
            requires_experimentation=True,
        )
        try:
            experiment = change_analysis(experiment, changes, actor)
        except ValidationError as exc:
            raise CommandError(first_message(exc.detail)) from exc
        changed = formatting.changed_fields(stored, parse_settings(experiment.analysis).to_json())
        print(f"Changed as {actor.username}: {changed} (recorded in the audit log).")
    elif changes:
        print("The settings already are so; nothing changed.")
    if args.json:
        print(json.dumps(parse_settings(experiment.analysis).to_json(), indent=2))
    else:
        print_settings(experiment)
    return 0


def print_settings(experiment) -> None:
    from liftlab.analysis.settings import parse_settings
    from liftlab.formatting import settings_facts

    settings = parse_settings(experiment.analysis)
    where = f"experiment {experiment.pk}, {experiment.status}"
    print(f"Analysis settings of {experiment.name!r} ({where}):")
    facts = settings_facts(settings, 1.0 - settings.interval_alpha)
    width = max(len(label) for label, _ in facts)
    for label, words in facts:
        print(f"  {label.lower():<{width}}  {words}")
    if experiment.analysis_changed_at is not None:
        print(
            f"Changed after the start, last on {experiment.analysis_changed_at:%Y-%m-%d %H:%M} "
            "UTC: the results say so."
        )
