"""A running experiment in a served environment, and what its results count, via the API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from tests.serving.conftest import Served
from tests.sources.cutting_proxy import CuttingProxy

VARIANTS = ("control", "treatment")


@dataclass(frozen=True)
class Running:
    """An environment with a running two-variant experiment on ``flag``, and a sender's key."""

    served: Served
    environment: str
    experiment: int
    flag: str
    secret: str  # an ingestion key of the environment
    key_id: int  # that key's id, to revoke it

    def revoke_key(self) -> None:
        _post(self.served, f"{self.root}/ingestion-keys/{self.key_id}/revoke/")

    @property
    def root(self) -> str:
        return f"{self.served.base}/api/v1/environments/{self.environment}"


def _post(served: Served, url: str, body: dict | None = None) -> dict:
    response = requests.post(url, json=body, headers=served.admin, timeout=60)
    assert response.status_code < 300, response.text
    return response.json()


def running_experiment(served: Served, **fields: str) -> Running:
    """A fresh environment (so tests never see each other's events) with an ingestion key
    and an experiment started an hour ago, judged on the count and the sum of ``purchase``;
    ``fields`` are more of the experiment's (``exposure_event``)."""
    base = f"{served.base}/api/v1"
    environment = _post(served, f"{base}/environments/", {"name": f"sdk {uuid.uuid4().hex[:8]}"})
    root = f"{base}/environments/{environment['key']}"
    key = _post(served, f"{root}/ingestion-keys/", {"name": "sdk"})
    flag = f"flag-{uuid.uuid4().hex[:8]}"
    experiment = _post(
        served,
        f"{root}/experiments/",
        {
            "name": f"experiment on {flag}",
            "feature_name": flag,
            "variants": [{"key": key, "weight": 0.5} for key in VARIANTS],
            "control_variant": VARIANTS[0],
            **fields,
        },
    )
    # Revenue sums the events' value column: each source maps its own field to it.
    for name, aggregation in (("purchases", "count"), ("revenue", "sum")):
        metric = _post(
            served,
            f"{root}/experiment-metrics/",
            {
                "name": name,
                "aggregation": aggregation,
                "definition": {"version": 1, "event": "purchase", "value": None, "filters": []},
            },
        )
        _post(
            served,
            f"{root}/experiments/{experiment['id']}/metrics/",
            {"metric": metric["id"], "expected_direction": "increase", "role": "secondary"},
        )
    started = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    _post(served, f"{root}/experiments/{experiment['id']}/start/", {"started_at": started})
    return Running(served, environment["key"], experiment["id"], flag, key["key"], key["id"])


def counted(running: Running) -> dict[str, dict[str, float]]:
    """Per variant: identities exposed (``n``), and the purchases and revenue they made."""
    response = requests.get(
        f"{running.root}/experiments/{running.experiment}/results/?refresh=true",
        headers=running.served.admin,
        timeout=120,
    )
    assert response.status_code == 200, response.text
    document = response.json()
    table = {row["variant"]: {"n": row["n"]} for row in document["exposures"]["variants"]}
    for metric in document["metrics"]:
        for row in metric["variants"]:
            table[row["variant"]][metric["name"]] = row["sum"]
    return table


@dataclass(frozen=True)
class User:
    identifier: str
    variant: str
    purchases: tuple[float, ...]


def workload(users: int, prefix: str = "user") -> list[User]:
    """Users alternating between the variants, each with 0 to 2 purchases of known values."""
    return [
        User(f"{prefix}-{i}", VARIANTS[i % 2], tuple(float(10 + i + k) for k in range(i % 3)))
        for i in range(users)
    ]


def expected(users: list[User]) -> dict[str, dict[str, float]]:
    """What ``counted`` must read once every user's exposure and purchases are stored."""
    table = {variant: {"n": 0, "purchases": 0, "revenue": 0.0} for variant in VARIANTS}
    for user in users:
        row = table[user.variant]
        row["n"] += 1
        row["purchases"] += len(user.purchases)
        row["revenue"] += sum(user.purchases)
    return table


# How a test sends users' exposures and purchases for an experiment to a base URL through an
# SDK, collecting the errors the SDK reports.
SendThrough = Callable[[Running, list[User], str, list], None]


def counts_exactly(
    send_through: SendThrough, served: Served, proxy: CuttingProxy | None = None
) -> None:
    """What an SDK sends for 60 users of a fresh running experiment is counted exactly, with
    no error reported: straight to the server, or through ``proxy``, which cuts answers, so
    the SDK sends batches again (which must not double count)."""
    running, users, errors = running_experiment(served), workload(60), []
    cut_before = proxy.cut if proxy else 0
    send_through(running, users, proxy.base if proxy else served.base, errors)
    assert errors == []
    if proxy:
        assert proxy.cut > cut_before  # answers were lost, so batches were sent again
    assert counted(running) == expected(users)
