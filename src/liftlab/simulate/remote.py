"""Read an experiment and its attached metrics through the REST API, with an API token; make
and revoke the ingestion key a run sends with.

For simulating against a server whose database is not at hand (a load test of a remote
deployment): the same ``ExperimentSpec`` as ``database.load_experiment`` gives.
"""

from __future__ import annotations

from typing import Any

import requests

from liftlab.simulate.experiment import AttachedMetric, ExperimentSpec, ExperimentUnavailable
from liftlab.simulate.plan import Variant

_TIMEOUT = (5.0, 60.0)


def _get(session: requests.Session, url: str) -> Any:
    return _request(session, "GET", url)


def _request(session: requests.Session, method: str, url: str, body: Any = None) -> Any:
    try:
        response = session.request(method, url, json=body, timeout=_TIMEOUT)
    except requests.RequestException as exc:
        raise ExperimentUnavailable(f"cannot reach {url}: {exc}") from None
    if response.status_code in (401, 403):
        raise ExperimentUnavailable(f"{url}: the token was refused (HTTP {response.status_code})")
    if response.status_code == 404:
        raise ExperimentUnavailable(f"{url}: not found")
    if not response.ok:
        raise ExperimentUnavailable(f"{url}: HTTP {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


def _pages(session: requests.Session, url: str) -> list[dict[str, Any]]:
    """Every item of a paginated list (``results`` and ``next``), or of a plain list."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = _get(session, next_url)
        if isinstance(page, list):
            return items + page
        items.extend(page["results"])
        next_url = page.get("next")
    return items


def fetch_experiment(
    base_url: str, environment_key: str, experiment_id: int, token: str
) -> ExperimentSpec:
    """The experiment, its attachments and each attached metric's definition."""
    root = f"{base_url.rstrip('/')}/api/v1/environments/{environment_key}"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {token}"
        experiment = _get(session, f"{root}/experiments/{experiment_id}/")
        attachments = _pages(session, f"{root}/experiments/{experiment_id}/metrics/?page_size=500")
        metrics = [_get(session, f"{root}/experiment-metrics/{a['metric']}/") for a in attachments]
    return ExperimentSpec(
        flag=experiment["feature_name"],
        variants=tuple(Variant(v["key"], float(v["weight"])) for v in experiment["variants"]),
        control=experiment["control_variant"],
        exposure_event=experiment["exposure_event"],
        metrics=tuple(
            AttachedMetric(str(m["id"]), m["name"], m["aggregation"], m["definition"])
            for m in metrics
        ),
    )


def create_ingestion_key(base_url: str, environment_key: str, token: str, name: str) -> dict:
    """A new ingestion key made through the API (the token's user must be an admin of the
    environment): ``{"id", "prefix", "key", …}``, where ``key`` is the secret to send with."""
    url = f"{base_url.rstrip('/')}/api/v1/environments/{environment_key}/ingestion-keys/"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {token}"
        return _request(session, "POST", url, {"name": name})


def revoke_ingestion_key(base_url: str, environment_key: str, token: str, key_id: int) -> None:
    url = f"{base_url.rstrip('/')}/api/v1/environments/{environment_key}/ingestion-keys/{key_id}/"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {token}"
        _request(session, "DELETE", url)
