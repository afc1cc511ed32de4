"""Who may do what: 401 anonymous, 404 non-member, 403 viewer on writes, 403 behind the gate.

Every endpoint is tried with a request that would succeed for an admin, so a refusal can only
come from the rule under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from liftlab.accounts.models import Membership
from liftlab.audit.models import AuditLogEntry

from . import paths
from .bodies import experiment_body, metric_body
from .conftest import make_environment
from .expect import refused


@dataclass(frozen=True)
class World:
    """One environment with one of everything, and a spare metric to attach."""

    key: str
    metric: int
    spare_metric: int
    experiment: int
    attachment: int


@dataclass(frozen=True)
class Endpoint:
    method: str
    url: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None = None
    gated: bool = True  # behind the experimentation switch

    @property
    def writes(self) -> bool:
        return self.method != "get"

    def call(self, client, world: World):
        body = self.body(world) if self.body else None
        return getattr(client, self.method)(self.url(world), body, format="json")


ENDPOINTS = {
    "environment": Endpoint("get", lambda w: paths.environment(w.key), gated=False),
    "environment-change": Endpoint(
        "patch", lambda w: paths.environment(w.key), lambda w: {"name": "X"}, gated=False
    ),
    "members": Endpoint("get", lambda w: paths.members(w.key), gated=False),
    "member": Endpoint("get", lambda w: paths.members(w.key, "alice"), gated=False),
    "member-add": Endpoint(
        "post",
        lambda w: paths.members(w.key),
        lambda w: {"username": "root", "role": "viewer"},
        gated=False,
    ),
    "member-change": Endpoint(
        "patch", lambda w: paths.members(w.key, "victor"), lambda w: {"role": "admin"}, gated=False
    ),
    "member-remove": Endpoint("delete", lambda w: paths.members(w.key, "victor"), gated=False),
    "audit-log": Endpoint("get", lambda w: paths.audit_log(w.key), gated=False),
    "metrics": Endpoint("get", lambda w: paths.metrics(w.key)),
    "metric": Endpoint("get", lambda w: paths.metrics(w.key, w.metric)),
    "metric-create": Endpoint("post", lambda w: paths.metrics(w.key), lambda w: metric_body()),
    "metric-change": Endpoint(
        "patch", lambda w: paths.metrics(w.key, w.spare_metric), lambda w: {"description": "d"}
    ),
    "metric-delete": Endpoint("delete", lambda w: paths.metrics(w.key, w.spare_metric)),
    "experiments": Endpoint("get", lambda w: paths.experiments(w.key)),
    "experiment": Endpoint("get", lambda w: paths.experiments(w.key, w.experiment)),
    "experiment-create": Endpoint(
        "post", lambda w: paths.experiments(w.key), lambda w: experiment_body()
    ),
    "experiment-change": Endpoint(
        "patch", lambda w: paths.experiments(w.key, w.experiment), lambda w: {"name": "N"}
    ),
    "experiment-delete": Endpoint("delete", lambda w: paths.experiments(w.key, w.experiment)),
    "experiment-start": Endpoint("post", lambda w: paths.experiments(w.key, w.experiment, "start")),
    "experiment-pause": Endpoint("post", lambda w: paths.experiments(w.key, w.experiment, "pause")),
    "experiment-complete": Endpoint(
        "post", lambda w: paths.experiments(w.key, w.experiment, "complete")
    ),
    "attachments": Endpoint("get", lambda w: paths.attachments(w.key, w.experiment)),
    "attachment": Endpoint("get", lambda w: paths.attachments(w.key, w.experiment, w.attachment)),
    "attach": Endpoint(
        "post",
        lambda w: paths.attachments(w.key, w.experiment),
        lambda w: {"metric": w.spare_metric, "expected_direction": "increase", "role": "primary"},
    ),
    "attachment-change": Endpoint(
        "patch",
        lambda w: paths.attachments(w.key, w.experiment, w.attachment),
        lambda w: {"role": "guardrail"},
    ),
    "detach": Endpoint("delete", lambda w: paths.attachments(w.key, w.experiment, w.attachment)),
}
ALL = sorted(ENDPOINTS)
WRITES = sorted(name for name, e in ENDPOINTS.items() if e.writes)
READS = sorted(set(ALL) - set(WRITES))
GATED = sorted(name for name, e in ENDPOINTS.items() if e.gated)
UNGATED = sorted(name for name, e in ENDPOINTS.items() if not e.gated)


@pytest.fixture
def world(
    environment, admin_user, superuser_user, create_metric, create_experiment, attach
) -> World:
    """A draft experiment with one metric attached; root shares another environment with alice,
    so that she can add him."""
    Membership.objects.create(
        environment=make_environment(admin_user, name="Shared"), user=superuser_user, role="viewer"
    )
    metric = create_metric()
    experiment = create_experiment()
    return World(
        key=environment.key,
        metric=metric["id"],
        spare_metric=create_metric()["id"],
        experiment=experiment["id"],
        attachment=attach(experiment["id"], metric["id"])["id"],
    )


@pytest.mark.parametrize("name", ALL)
def test_an_admin_may_use_every_endpoint(admin, world, name):
    """The baseline the refusals below are measured against (pausing a draft is a 400)."""
    response = ENDPOINTS[name].call(admin, world)

    assert response.status_code not in (401, 403, 404), response.content


@pytest.mark.parametrize("name", ALL)
def test_anonymous_callers_get_401(anonymous, world, name):
    response = ENDPOINTS[name].call(anonymous, world)

    refused(response, 401)
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("name", ["environment", "members", "audit-log", "metrics", "attach"])
def test_an_unknown_token_gets_401(world, name):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    refused(ENDPOINTS[name].call(client, world), 401)


@pytest.mark.parametrize("name", ALL)
def test_non_members_get_404_as_if_the_environment_did_not_exist(outsider, world, name):
    entries = AuditLogEntry.objects.count()

    refused(ENDPOINTS[name].call(outsider, world), 404)

    assert AuditLogEntry.objects.count() == entries


@pytest.mark.parametrize("name", WRITES)
def test_viewers_get_403_on_every_write(viewer, world, name):
    entries = AuditLogEntry.objects.count()

    refused(ENDPOINTS[name].call(viewer, world), 403)

    assert AuditLogEntry.objects.count() == entries


@pytest.mark.parametrize("name", READS)
def test_viewers_read_everything(viewer, world, name):
    assert ENDPOINTS[name].call(viewer, world).status_code == 200


@pytest.fixture
def gated_world(world, environment) -> World:
    """The same world after experimentation was switched off in the environment."""
    environment.experimentation_enabled = False
    environment.save()
    return world


@pytest.mark.parametrize("name", GATED)
def test_with_experimentation_off_experiment_and_metric_endpoints_are_403(
    superuser, admin, viewer, gated_world, name
):
    for client in (superuser, admin, viewer):
        body = refused(ENDPOINTS[name].call(client, gated_world), 403)

        assert "experimentation is disabled" in body["detail"].lower()


@pytest.mark.parametrize("name", UNGATED)
def test_with_experimentation_off_the_environment_itself_stays_manageable(admin, gated_world, name):
    assert ENDPOINTS[name].call(admin, gated_world).status_code < 300


def test_the_gate_does_not_reveal_environments_to_non_members(outsider, gated_world):
    refused(outsider.get(paths.metrics(gated_world.key)), 404)
