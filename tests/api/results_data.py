"""Traffic with known per-identity values for the results tests: a running experiment with
four metrics, hostile strings in every name, and the raw truth to check the engine against."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from . import paths
from .events import event, exposure, hours_ago, store_events
from .expect import ok

HOSTILE = "it's \"quoted\" \\ {p0:String} '); DROP TABLE events; -- ünïcødé 🚀"
USERS_PER_ARM = 120


@pytest.fixture
def experiment_with_metrics(environment, create_metric, create_experiment, attach, admin):
    """A running 50/50 experiment (started two days ago) with four metrics attached."""
    flag = f"flag {HOSTILE}"
    metrics = {
        "revenue": create_metric(
            name="revenue",
            aggregation="sum",
            definition={"version": 1, "event": f"purchase {HOSTILE}", "value": HOSTILE},
        ),
        "order_value": create_metric(
            name="order value",
            aggregation="mean",
            definition={"version": 1, "event": f"purchase {HOSTILE}", "value": HOSTILE},
        ),
        "converted": create_metric(
            name="converted",
            aggregation="occurrence",
            definition={"version": 1, "event": f"purchase {HOSTILE}"},
        ),
        "pro_views": create_metric(
            name="pro views",
            aggregation="count",
            definition={
                "version": 1,
                "event": "page_view",
                "filters": [{"property": "plan", "op": "eq", "value": HOSTILE}],
            },
        ),
    }
    experiment = create_experiment(
        feature_name=flag,
        variants=[{"key": "control", "weight": 0.5}, {"key": HOSTILE, "weight": 0.5}],
    )
    for metric in metrics.values():
        attach(experiment["id"], metric["id"])
    response = admin.post(
        paths.experiments(environment.key, experiment["id"], "start"),
        {"started_at": hours_ago(48).isoformat()},
        format="json",
    )
    ok(response)
    return experiment, metrics


def simulate(environment_key: str, flag: str, variants: list[str], seed: int) -> dict:
    """Store random traffic; return each identity's true per-metric values by variant."""
    rng = np.random.default_rng(seed)
    events, truth = (
        [],
        {v: {"revenue": [], "order_value": [], "converted": [], "pro_views": []} for v in variants},
    )
    for v_index, variant in enumerate(variants):
        for u in range(USERS_PER_ARM):
            user = f"user-{seed}-{v_index}-{u}-{HOSTILE}"
            exposed_at = hours_ago(40 - rng.uniform(0, 10))
            events.append(exposure(environment_key, flag, user, variant, exposed_at))
            amounts = rng.lognormal(3 + 0.3 * v_index, 1, size=rng.poisson(0.6 + 0.2 * v_index))
            for amount in amounts:
                events.append(
                    event(
                        environment_key,
                        f"purchase {HOSTILE}",
                        user,
                        exposed_at + timedelta(hours=rng.uniform(0, 20)),
                        properties={HOSTILE: round(float(amount), 2)},
                    )
                )
            # Before exposure: must not count.
            events.append(
                event(
                    environment_key,
                    f"purchase {HOSTILE}",
                    user,
                    exposed_at - timedelta(hours=1),
                    properties={HOSTILE: 1000},
                )
            )
            views = 0
            for _ in range(rng.poisson(2)):
                plan = HOSTILE if rng.random() < 0.5 else "free"
                views += plan == HOSTILE
                events.append(
                    event(
                        environment_key,
                        "page_view",
                        user,
                        exposed_at + timedelta(hours=rng.uniform(0, 20)),
                        properties={"plan": plan},
                    )
                )
            rounded = [round(float(a), 2) for a in amounts]
            truth[variant]["revenue"].append(sum(rounded))
            truth[variant]["order_value"].append(float(np.mean(rounded)) if rounded else 0.0)
            truth[variant]["converted"].append(1.0 if rounded else 0.0)
            truth[variant]["pro_views"].append(float(views))
    store_events(events)
    return {v: {k: np.array(x) for k, x in by.items()} for v, by in truth.items()}


def results(client, environment, experiment_id: int, **query) -> dict:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return ok(client.get(paths.experiments(environment.key, experiment_id, "results") + suffix))


def simulate_with(admin, environment, experiment: dict, analysis: dict, seed: int) -> dict:
    """Set the experiment's analysis settings, then store random traffic for it (``simulate``)."""
    url = paths.experiments(environment.key, experiment["id"])
    ok(admin.patch(url, {"analysis": analysis}, format="json"))
    variants = [v["key"] for v in experiment["variants"]]
    return simulate(environment.key, experiment["feature_name"], variants, seed=seed)
