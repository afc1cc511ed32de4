"""``liftlab results ENV_KEY EXPERIMENT_ID``: the results document as a readable table."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from liftlab.cli import CommandError, setup_django

VERDICT_STYLES = {
    "win": "bold green",
    "pass": "green",
    "loss": "bold red",
    "inconclusive": "yellow",
    "insufficient_data": "dim",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("results", help="print an experiment's results")
    parser.add_argument("environment_key")
    parser.add_argument("experiment_id", type=int)
    parser.add_argument("--json", action="store_true", help="the API's JSON document instead")
    parser.add_argument("--refresh", action="store_true", help="recompute a running experiment")
    parser.set_defaults(func=show_results)


def show_results(args: argparse.Namespace) -> int:
    setup_django()
    from rest_framework.exceptions import ValidationError

    from liftlab.experiments.models import Experiment
    from liftlab.experiments.results import results_for

    experiment = (
        Experiment.objects.alive()
        .filter(environment__key=args.environment_key, pk=args.experiment_id)
        .first()
    )
    if experiment is None:
        raise CommandError(
            f"no experiment {args.experiment_id} in environment {args.environment_key!r}"
        )
    try:
        document = results_for(experiment, refresh=args.refresh)
    except ValidationError as exc:
        raise CommandError(_first_message(exc.detail)) from exc
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        render(document, Console(), title=experiment.name)
    return 0


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        field, messages = next(iter(detail.items()))
        return f"{field}: {_first_message(messages)}"
    if isinstance(detail, list):
        return str(detail[0])
    return str(detail)


def render(document: dict, console: Console, *, title: str = "") -> None:
    """Print the exposure summary, the SRM check and one table per metric."""
    exposures = document["exposures"]
    final = "final" if document["is_final"] else f"as of {document['computed_at']}"
    console.print(f"[bold]{title}[/bold] ({document['status']}, {final})")
    shares = ", ".join(
        f"{v['variant']} {v['n']:,} (expected {v['expected_share']:.0%})"
        for v in exposures["variants"]
    )
    console.print(
        f"Exposed identities: {exposures['total']:,} — {shares}; quarantined "
        f"{exposures['quarantined']:,}, unknown variant {exposures['unknown_variant']:,}"
    )
    srm = document["srm"]
    if srm["mismatch"]:
        console.print(f"[bold red]Sample ratio mismatch[/] (p = {_num(srm['p_value'])})")
    for metric in document["metrics"]:
        console.print(_metric_table(metric, document["alpha"]))


def _metric_table(metric: dict, alpha: float) -> Table:
    table = Table(
        title=f"{metric['name']} — {metric['role']}, {metric['aggregation']}, "
        f"expected {metric['expected_direction']} → [{_style(metric['verdict'])}]"
        f"{metric['verdict']}[/]",
        title_justify="left",
    )
    for column in (
        "variant",
        "n",
        "mean",
        "abs. lift",
        f"{1 - alpha:.0%} CI",
        "rel. lift",
        "rel. CI",
        "p-value",
        "verdict",
    ):
        table.add_column(column, justify="left" if column in ("variant", "verdict") else "right")
    comparisons = {c["variant"]: c for c in metric["comparisons"]}
    for variant in metric["variants"]:
        c = comparisons.get(variant["variant"])
        table.add_row(
            variant["variant"],
            f"{variant['n']:,}",
            _num(variant["mean"]),
            *(_comparison_cells(c) if c else ["control", "", "", "", "", ""]),
        )
    return table


def _comparison_cells(c: dict) -> list[str]:
    return [
        _num(c["absolute_lift"]),
        _interval(c["absolute_ci"], _num),
        _pct(c["relative_lift"]),
        _interval(c["relative_ci"], _pct),
        _num(c["p_value"]),
        f"[{_style(c['verdict'])}]{c['verdict']}[/]",
    ]


def _style(verdict: str) -> str:
    return VERDICT_STYLES.get(verdict, "")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2%}"


def _interval(bounds: list | None, fmt) -> str:
    return "—" if not bounds or bounds[0] is None else f"[{fmt(bounds[0])}, {fmt(bounds[1])}]"
