"""``liftlab demo``: from nothing to a finished experiment with believable results.

Everything goes through the real paths: the REST API of a running ``liftlab serve`` for the
metric library, the experiment and its lifecycle; the ingestion API for the simulated events;
the results endpoint (frozen at completion) for the table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from liftlab.demo import scenario
from liftlab.demo.client import ApiClient
from liftlab.demo.truth import check_verdicts
from liftlab.simulate import build_plan, expected_truth, simulate_to_api
from liftlab.simulate.remote import fetch_experiment
from liftlab.terminal import render

DAYS = 14


@dataclass(frozen=True)
class DemoOutcome:
    environment_key: str
    experiment_id: int
    document: dict
    checks: list[dict]
    seconds: float


def run_demo(api: ApiClient, token: str, *, users: int, seed: int, console: Console) -> DemoOutcome:
    """Steps 1-4: library, experiment, simulated traffic, completion and the verdict check."""
    began = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    environment = api.post("/api/v1/environments/", {"name": f"Demo {stamp}"})
    root = f"/api/v1/environments/{environment['key']}"
    metrics = {m["name"]: api.post(f"{root}/experiment-metrics/", m) for m in scenario.METRICS}
    console.print(f"[bold]1.[/] environment {environment['name']!r}, {len(metrics)} metrics")

    experiment = api.post(f"{root}/experiments/", scenario.EXPERIMENT)
    for name, direction, role in scenario.ATTACHMENTS:
        api.post(
            f"{root}/experiments/{experiment['id']}/metrics/",
            {"metric": metrics[name]["id"], "expected_direction": direction, "role": role},
        )
    spec = fetch_experiment(api.base_url, environment["key"], experiment["id"], token)
    plan = build_plan(
        spec,
        users=users,
        days=DAYS,
        effects=scenario.effects(),
        seed=seed,
        streams=scenario.STREAMS,
    )
    api.post(
        f"{root}/experiments/{experiment['id']}/start/", {"started_at": plan.start.isoformat()}
    )
    console.print(
        f"[bold]2.[/] experiment {experiment['name']!r} (id {experiment['id']}) started "
        f"{plan.start:%Y-%m-%d %H:%M} UTC with variants "
        + ", ".join(v["key"] for v in scenario.EXPERIMENT["variants"])
    )

    sent = simulate_to_api(plan, api.base_url, environment["key"], progress=console.is_terminal)
    console.print(
        f"[bold]3.[/] simulated {users:,} users over {DAYS} days: {sent.counts.events:,} events "
        f"sent, {sent.accepted:,} stored, {sent.duplicates:,} duplicates dropped, "
        f"{sent.counts.double_exposed_users:,} users exposed to two variants, "
        f"{sent.seconds:.1f} s"
    )

    api.post(f"{root}/experiments/{experiment['id']}/complete/")
    document = api.get(f"{root}/experiments/{experiment['id']}/results/")
    console.print("[bold]4.[/] completed; final results:")
    render(document, console, control=experiment["control_variant"], title=experiment["name"])
    checks = check_verdicts(document, expected_truth(plan))
    console.print(_truth_table(checks))
    return DemoOutcome(
        environment["key"], experiment["id"], document, checks, time.monotonic() - began
    )


def _truth_table(checks: list[dict]) -> Table:
    table = Table(title="Verdicts against the simulated truth", title_justify="left")
    for column in ("metric", "variant", "true lift", "measured", "expected", "verdict", ""):
        table.add_column(column)
    for row in checks:
        measured = row["measured_lift"]
        table.add_row(
            row["metric"],
            row["variant"],
            f"{row['true_lift']:+.1%}",
            "—" if measured is None else f"{measured:+.1%}",
            row["expected"],
            row["verdict"],
            "[green]✓ matches[/]" if row["matches"] else "[red]✗ differs[/]",
        )
    return table
