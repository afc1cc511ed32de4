"""Read an experiment and its attached metrics through the REST API, with an API token.

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
    try:
        response = session.get(url, timeout=_TIMEOUT)
    except requests.RequestException as exc:
        raise ExperimentUnavailable(f"cannot reach {url}: {exc}") from None
    if response.status_code in (401, 403):
        raise ExperimentUnavailable(f"{url}: the token was refused (HTTP {response.status_code})")
    if response.status_code == 404:
        raise ExperimentUnavailable(f"{url}: not found")
    if not response.ok:
        raise ExperimentUnavailable(f"{url}: HTTP {response.status_code}")
    return response.json()


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
