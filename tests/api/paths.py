"""URLs of the API under test, built in one place so a route change is one edit."""

from __future__ import annotations

from urllib.parse import quote

ENVIRONMENTS = "/api/v1/environments/"
SCHEMA = "/api/schema/"


def environment(key: str) -> str:
    return f"{ENVIRONMENTS}{quote(key, safe='')}/"


def members(key: str, username: str | None = None) -> str:
    base = f"{environment(key)}members/"
    return base if username is None else f"{base}{quote(username, safe='')}/"


def metrics(key: str, metric_id: object | None = None) -> str:
    base = f"{environment(key)}experiment-metrics/"
    return base if metric_id is None else f"{base}{metric_id}/"


def experiments(key: str, experiment_id: object | None = None, action: str | None = None) -> str:
    base = f"{environment(key)}experiments/"
    if experiment_id is None:
        return base
    return f"{base}{experiment_id}/" + (f"{action}/" if action else "")


def attachments(key: str, experiment_id: object, attachment_id: object | None = None) -> str:
    base = f"{experiments(key, experiment_id)}metrics/"
    return base if attachment_id is None else f"{base}{attachment_id}/"


def audit_log(key: str) -> str:
    return f"{environment(key)}audit-log/"


def ingestion_keys(key: str, key_id: object | None = None, action: str | None = None) -> str:
    base = f"{environment(key)}ingestion-keys/"
    if key_id is None:
        return base
    return f"{base}{key_id}/" + (f"{action}/" if action else "")
