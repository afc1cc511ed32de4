"""``liftlab demo``: from nothing to a finished experiment with believable results.

Everything goes through the real paths: the REST API of a running ``liftlab serve`` for the
metric library, the experiment and its lifecycle, and the ingestion key the simulator sends
with; the ingestion API for the simulated events; the results endpoint (frozen at completion)
for the table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from liftlab.demo import scenario
from liftlab.demo.client import ApiClient
from liftlab.demo.truth import check_caps, check_decisions, check_verdicts
from liftlab.simulate import build_plan, expected_truth, metric_truths, simulate_to_api
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
    decisions: list[dict] = field(default_factory=list)


def run_demo(api: ApiClient, token: str, *, users: int, seed: int, console: Console) -> DemoOutcome:
    """Steps 1-4: library, experiment, simulated traffic, completion and the verdict check."""
    began = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    environment = api.post("/api/v1/environments/", {"name": f"Demo {stamp}"})
    root = f"/api/v1/environments/{environment['key']}"
    metrics = {m["name"]: api.post(f"{root}/experiment-metrics/", m) for m in scenario.METRICS}
    # Senders authenticate with an ingestion key, never with the environment's key.
    ingestion_key = api.post(f"{root}/ingestion-keys/", {"name": "demo simulator"})
    console.print(
        f"[bold]1.[/] environment {environment['name']!r}, {len(metrics)} metrics, "
        f"ingestion key {ingestion_key['prefix']}…",
        highlight=False,
    )

    experiment = api.post(f"{root}/experiments/", scenario.EXPERIMENT)
    for attachment in scenario.ATTACHMENTS:
        api.post(
            f"{root}/experiments/{experiment['id']}/metrics/",
            {**attachment.body(), "metric": metrics[attachment.metric]["id"]},
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

    sent = simulate_to_api(plan, api.base_url, ingestion_key["key"], progress=console.is_terminal)
    console.print(
        f"[bold]3.[/] simulated {users:,} users over {DAYS} days: {sent.counts.events:,} events "
        f"sent ({sent.counts.pre_exposure_events:,} in the {plan.pre_days:g} days before each "
        f"user's first exposure), {sent.accepted:,} stored, {sent.duplicates:,} duplicates "
        f"dropped, {sent.counts.double_exposed_users:,} users exposed to two variants, "
        f"{sent.seconds:.1f} s"
    )

    api.post(f"{root}/experiments/{experiment['id']}/complete/")
    document = api.get(f"{root}/experiments/{experiment['id']}/results/")
    console.print("[bold]4.[/] completed; final results:")
    control = experiment["control_variant"]
    render(document, console, control=control, title=experiment["name"])
    checks = check_verdicts(document, expected_truth(plan), control)
    decisions = check_decisions(document, checks, control)
    console.print(_truth_table(checks, decisions))
    for cap in check_caps(document, metric_truths(plan), control):
        console.print(
            f"{cap['metric']}: capped at {_number(cap['applied'])} from these users, at "
            f"{_number(cap['true'])} in the distribution they were drawn from."
        )
    matched = sum(row["matches"] for row in decisions)
    console.print(f"{matched} of {len(decisions)} decisions match the simulated truth.")
    return DemoOutcome(
        environment["key"],
        experiment["id"],
        document,
        checks,
        time.monotonic() - began,
        decisions,
    )


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _mark(matches: bool) -> str:
    return "[green]✓ matches[/]" if matches else "[red]✗ differs[/]"


def _truth_table(checks: list[dict], decisions: list[dict]) -> Table:
    """Each verdict against the true effect, then each treatment's decision against the
    decision those true effects call for."""
    table = Table(title="Verdicts and decisions against the simulated truth", title_justify="left")
    for column in ("metric", "variant", "true lift", "measured", "expected", "verdict", ""):
        table.add_column(column)
    for i, row in enumerate(checks):
        measured = row["measured_lift"]
        table.add_row(
            row["metric"],
            row["variant"],
            f"{row['true_lift']:+.1%}",
            "—" if measured is None else f"{measured:+.1%}",
            row["expected"],
            row["verdict"],
            _mark(row["matches"]),
            end_section=i == len(checks) - 1,
        )
    for row in decisions:
        table.add_row(
            "→ decision",
            row["variant"],
            "",
            "",
            row["expected"],
            row["decision"],
            _mark(row["matches"]),
        )
    return table
