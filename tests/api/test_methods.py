"""Every HTTP method on every API path: a proper status, never a 500.

``OPTIONS`` (a browser's pre-flight, which carries no credentials) answers 200 with ``Allow``
for anyone; a method a path does not support is a 405 with a JSON body, whoever asks, before
any permission check. The paths are the published schema's, so a new endpoint is covered
without a change here.
"""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from . import paths
from .expect import ok, refused

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND")
IDENTITIES = ("superuser", "admin", "viewer", "outsider", "anonymous")
# The ingestion endpoint authenticates senders by a header of its own (liftlab.events).
EVENTS = "/api/v1/events/"


@pytest.fixture
def urls(anonymous, environment, create_metric, create_experiment, attach) -> list[str]:
    """Every path of the schema with its parameters naming real objects, plus unknown ones."""
    schema = ok(anonymous.get(paths.SCHEMA, {"format": "json"}))
    metric, experiment = create_metric(), create_experiment()
    attachment = attach(experiment["id"], metric["id"])
    values = {
        "key": environment.key,
        "environment_key": environment.key,
        "username": "victor",
        "experiment_pk": experiment["id"],
    }
    ids = {
        "experiment-metrics": metric["id"],
        "experiments": experiment["id"],
        "metrics": attachment["id"],
    }

    def fill(template: str) -> str:
        kind = re.search(r"([a-z-]+)/\{id\}/", template)
        here = {**values, "id": ids.get(kind.group(1), 1) if kind else 1}
        return re.sub(r"\{(\w+)\}", lambda m: str(here[m[1]]), template)

    filled = [fill(template) for template in schema["paths"]]
    return [*filled, paths.SCHEMA, "/api/v1/no-such-thing/", paths.metrics(environment.key, 999)]


def _client(request, who: str) -> APIClient:
    client = request.getfixturevalue(who)
    client.raise_request_exception = False  # a 500 is an answer to report, not an exception
    return client


@pytest.mark.parametrize("who", IDENTITIES)
def test_no_method_on_any_api_path_is_a_server_error(request, urls, who):
    client = _client(request, who)
    failures = []
    for url in urls:
        for method in METHODS:
            response = client.generic(method, url)
            json_body = response.get("Content-Type", "").startswith("application/json")
            api_error = response.status_code >= 400 and url.startswith("/api/v1/")
            if response.status_code >= 500 or (api_error and method != "HEAD" and not json_body):
                failures.append((method, url, response.status_code, response.content[:200]))

    assert not failures


@pytest.mark.parametrize("who", IDENTITIES)
def test_options_answers_200_with_allow_for_anyone(request, urls, who):
    client = _client(request, who)
    for url in (u for u in urls if u.startswith("/api/v1/") and u != EVENTS):
        if "no-such-thing" in url:
            continue
        response = client.options(url)

        assert response.status_code == 200, (url, response.content)
        assert "OPTIONS" in response["Allow"], url


@pytest.mark.parametrize("who", IDENTITIES)
def test_unsupported_methods_are_405_with_json_for_anyone(request, urls, who):
    client = _client(request, who)
    for url in (u for u in urls if u.startswith("/api/v1/") and u != EVENTS):
        if "no-such-thing" in url:
            continue
        allowed = {m.strip() for m in client.options(url)["Allow"].split(",")}
        for method in sorted(set(METHODS) - allowed - {"HEAD"}):
            body = refused(client.generic(method, url), 405)

            assert method in body["detail"], (method, url, body)
        if "HEAD" not in allowed:
            assert client.head(url).status_code == 405, url


def test_the_environment_list_answers_every_method(superuser, admin, anonymous):
    """It used to look for an environment key it does not have: a 500 (KeyError 'key')."""
    for client in (superuser, admin, anonymous):
        assert client.options(paths.ENVIRONMENTS).status_code == 200
        for method in ("PUT", "PATCH", "DELETE", "TRACE"):
            refused(client.generic(method, paths.ENVIRONMENTS), 405)


def test_a_viewer_is_told_405_not_403_for_a_method_no_one_may_use(viewer, environment):
    refused(viewer.put(paths.environment(environment.key), {}, format="json"), 405)
    refused(viewer.patch(paths.environment(environment.key), {}, format="json"), 403)


def test_a_superusers_pre_flight_describes_what_it_may_send(superuser):
    body = ok(superuser.options(paths.ENVIRONMENTS))

    assert "name" in body["actions"]["POST"]
