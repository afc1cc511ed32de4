"""The audit log: one entry per change (who, when, what, before/after), newest first, paged."""

from __future__ import annotations

from typing import Any

import pytest

from . import paths
from .expect import created, ok

FIELDS = {
    "id",
    "created_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
}


@pytest.fixture
def log(admin, environment):
    """All of the environment's entries, newest first, as alice sees them."""

    def read(**params: Any) -> list[dict[str, Any]]:
        page = ok(admin.get(paths.audit_log(environment.key), {"page_size": 500, **params}))
        return page["results"]

    return read


def latest(log) -> dict[str, Any]:
    return log()[0]


def test_creating_an_environment_logs_it_and_its_first_admin(superuser):
    environment = created(superuser.post(paths.ENVIRONMENTS, {"name": "Prod"}, format="json"))

    page = ok(superuser.get(paths.audit_log(environment["key"])))

    member, creation = page["results"]
    assert set(creation) == FIELDS
    assert (creation["action"], creation["object_type"], creation["actor"]) == (
        "create",
        "environment",
        "root",
    )
    assert creation["object_id"] == str(environment["id"])
    assert creation["before"] is None and creation["after"] == environment
    assert (member["action"], member["object_type"]) == ("create", "member")
    assert member["after"]["username"] == "root" and member["after"]["role"] == "admin"


def test_changing_an_environment_logs_before_and_after(admin, environment, log):
    ok(admin.patch(paths.environment(environment.key), {"name": "Live"}, format="json"))

    entry = latest(log)

    assert (entry["action"], entry["object_type"], entry["actor"]) == (
        "update",
        "environment",
        "alice",
    )
    assert (entry["before"]["name"], entry["after"]["name"]) == ("Production", "Live")
    assert entry["created_at"]


def test_member_changes_are_logged(admin, colleague_user, environment, log):
    created(
        admin.post(
            paths.members(environment.key), {"username": "olga", "role": "viewer"}, format="json"
        )
    )
    url = paths.members(environment.key, "olga")
    ok(admin.patch(url, {"role": "admin"}, format="json"))
    assert admin.delete(url).status_code == 204

    removal, change, addition = log()[:3]

    assert [e["object_type"] for e in (removal, change, addition)] == ["member"] * 3
    assert (addition["action"], addition["before"], addition["after"]["role"]) == (
        "create",
        None,
        "viewer",
    )
    assert (change["action"], change["before"]["role"], change["after"]["role"]) == (
        "update",
        "viewer",
        "admin",
    )
    assert (removal["action"], removal["before"]["username"], removal["after"]) == (
        "delete",
        "olga",
        None,
    )


def test_metric_changes_are_logged(admin, environment, create_metric, log):
    metric = create_metric(name="Revenue")
    url = paths.metrics(environment.key, metric["id"])
    ok(admin.patch(url, {"name": "Net revenue"}, format="json"))
    assert admin.delete(url).status_code == 204

    deletion, change, creation = log()[:3]

    assert {e["object_type"] for e in (deletion, change, creation)} == {"metric"}
    assert {e["object_id"] for e in (deletion, change, creation)} == {str(metric["id"])}
    assert (creation["action"], creation["after"]) == ("create", metric)
    assert (change["action"], change["before"]["name"], change["after"]["name"]) == (
        "update",
        "Revenue",
        "Net revenue",
    )
    assert (deletion["action"], deletion["before"]["name"], deletion["after"]) == (
        "delete",
        "Net revenue",
        None,
    )


def test_experiment_changes_and_status_changes_are_logged(
    admin, environment, create_experiment, transition, log
):
    experiment = create_experiment(name="Button")
    url = paths.experiments(environment.key, experiment["id"])
    ok(admin.patch(url, {"name": "Big button"}, format="json"))
    transition(experiment["id"], "start", "pause", "start", "complete")
    assert admin.delete(url).status_code == 204

    entries = log()[:7]

    assert {e["object_type"] for e in entries} == {"experiment"}
    assert [e["action"] for e in entries] == [
        "delete",
        *["status_change"] * 4,
        "update",
        "create",
    ]
    statuses = [(e["before"]["status"], e["after"]["status"]) for e in reversed(entries[1:5])]
    assert statuses == [
        ("draft", "running"),
        ("running", "paused"),
        ("paused", "running"),
        ("running", "completed"),
    ]
    assert entries[-2]["after"]["name"] == "Big button"


def test_attachment_changes_are_logged(
    admin, environment, create_experiment, create_metric, attach, log
):
    experiment = create_experiment()
    attachment = attach(experiment["id"], create_metric()["id"], role="primary")
    url = paths.attachments(environment.key, experiment["id"], attachment["id"])
    ok(admin.patch(url, {"role": "guardrail"}, format="json"))
    assert admin.delete(url).status_code == 204

    deletion, change, creation = log()[:3]

    assert {e["object_type"] for e in (deletion, change, creation)} == {"attachment"}
    assert [e["action"] for e in (deletion, change, creation)] == ["delete", "update", "create"]
    assert (change["before"]["role"], change["after"]["role"]) == ("primary", "guardrail")
    assert creation["after"] == attachment


def test_refused_changes_leave_no_entry(
    admin, environment, create_metric, create_experiment, attach, log
):
    metric = create_metric()
    attach(create_experiment()["id"], metric["id"])
    before = log()

    assert admin.delete(paths.metrics(environment.key, metric["id"])).status_code == 409
    assert admin.delete(paths.members(environment.key, "alice")).status_code == 400
    bad_patch = {"aggregation": "sum"}
    response = admin.patch(paths.metrics(environment.key, metric["id"]), bad_patch, format="json")
    assert response.status_code == 400

    assert log() == before


def test_entries_are_listed_newest_first(admin, environment, create_metric, log):
    made = [create_metric()["id"] for _ in range(3)]

    ids = [int(e["object_id"]) for e in log() if e["object_type"] == "metric"]

    assert ids == made[::-1]
    entry_ids = [e["id"] for e in log()]
    assert entry_ids == sorted(entry_ids, reverse=True)


def test_the_log_is_paginated_with_a_chosen_page_size(admin, viewer, environment, create_metric):
    for _ in range(5):
        create_metric()
    url = paths.audit_log(environment.key)

    first = ok(viewer.get(url, {"page_size": 2}))
    second = ok(viewer.get(first["next"]))
    last = ok(viewer.get(url, {"page_size": 2, "page": 3}))

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 5
    assert len(first["results"]) == len(second["results"]) == 2
    assert len(last["results"]) == 1 and last["next"] is None
    assert first["previous"] is None and second["previous"] is not None
    seen = [e["id"] for page in (first, second, last) for e in page["results"]]
    assert len(set(seen)) == 5


def test_each_environment_sees_only_its_own_entries(
    admin, outsider, environment, other_environment, create_metric
):
    create_metric(key=other_environment.key, client=outsider)

    theirs = ok(outsider.get(paths.audit_log(other_environment.key)))["results"]

    assert [e["object_type"] for e in theirs] == ["metric"]
    assert ok(admin.get(paths.audit_log(environment.key)))["count"] == 0


def test_an_out_of_range_page_is_a_json_404(admin, environment):
    response = admin.get(paths.audit_log(environment.key), {"page": 99})

    assert response.status_code == 404 and "detail" in response.json()
