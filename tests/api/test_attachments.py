"""Metrics attached to experiments: what may be attached, and when attachments may change."""

from __future__ import annotations

import pytest

from liftlab.experiments.models import ExperimentMetric

from . import paths
from .expect import created, ok, refused


@pytest.fixture
def experiment(create_experiment):
    return create_experiment()


@pytest.fixture
def metric(create_metric):
    return create_metric(
        name="Revenue", aggregation="sum", definition={"version": 1, "event": "buy"}
    )


@pytest.fixture
def url(environment, experiment):
    def build(attachment_id: object | None = None) -> str:
        return paths.attachments(environment.key, experiment["id"], attachment_id)

    return build


def attachment_body(metric_id: object, **fields: object) -> dict[str, object]:
    return {"metric": metric_id, "expected_direction": "increase", "role": "primary", **fields}


def test_an_attachment_shows_the_metric_and_how_it_is_judged(admin, url, metric):
    body = attachment_body(metric["id"], expected_direction="decrease", role="guardrail")

    attachment = created(admin.post(url(), body, format="json"))

    assert set(attachment) == {
        "id",
        "metric",
        "metric_name",
        "aggregation",
        "expected_direction",
        "role",
        "non_inferiority_margin",
        "created_at",
    }
    assert attachment["metric"] == metric["id"]
    assert attachment["metric_name"] == "Revenue"
    assert attachment["aggregation"] == "sum"
    assert (attachment["expected_direction"], attachment["role"]) == ("decrease", "guardrail")


@pytest.mark.parametrize("direction", ["increase", "decrease", "no_change"])
@pytest.mark.parametrize("role", ["primary", "secondary", "guardrail"])
def test_every_direction_and_role_is_accepted(admin, url, metric, direction, role):
    body = attachment_body(metric["id"], expected_direction=direction, role=role)

    attachment = created(admin.post(url(), body, format="json"))

    assert (attachment["expected_direction"], attachment["role"]) == (direction, role)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expected_direction": "up"}, "expected_direction"),
        ({"expected_direction": None}, "expected_direction"),
        ({"role": "main"}, "role"),
        ({"metric": 999999}, "metric"),
        ({"metric": "abc"}, "metric"),
        ({"metric": None}, "metric"),
    ],
)
def test_invalid_attachments_are_400(admin, url, metric, fields, field):
    refused(admin.post(url(), attachment_body(metric["id"], **fields), format="json"), 400, field)

    assert not ExperimentMetric.objects.exists()


def test_members_list_and_read_attachments(viewer, attach, experiment, create_metric, url):
    first = attach(experiment["id"], create_metric()["id"])
    second = attach(experiment["id"], create_metric()["id"])

    assert ok(viewer.get(url())) == [first, second]
    assert ok(viewer.get(url(first["id"]))) == first


def test_direction_and_role_may_change(admin, viewer, attach, experiment, metric, url):
    attachment = attach(experiment["id"], metric["id"])
    change = {"expected_direction": "no_change", "role": "secondary"}

    changed = ok(admin.patch(url(attachment["id"]), change, format="json"))

    assert {k: changed[k] for k in change} == change
    assert ok(viewer.get(url(attachment["id"]))) == changed


def test_the_attached_metric_cannot_be_swapped(
    admin, attach, experiment, metric, url, create_metric
):
    attachment = attach(experiment["id"], metric["id"])
    other = create_metric()

    refused(
        admin.patch(url(attachment["id"]), {"metric": other["id"]}, format="json"), 400, "metric"
    )


def test_detaching_removes_the_attachment_but_not_the_metric(
    admin, attach, experiment, metric, url, environment
):
    attachment = attach(experiment["id"], metric["id"])

    assert admin.delete(url(attachment["id"])).status_code == 204

    assert ok(admin.get(url())) == []
    refused(admin.get(url(attachment["id"])), 404)
    ok(admin.get(paths.metrics(environment.key, metric["id"])))


def test_a_metric_of_another_environment_is_400(
    admin, url, create_metric, outsider, other_environment
):
    theirs = create_metric(key=other_environment.key, client=outsider)

    refused(admin.post(url(), attachment_body(theirs["id"]), format="json"), 400, "metric")


def test_a_metric_is_attached_once(admin, attach, experiment, metric, url):
    attach(experiment["id"], metric["id"])

    refused(admin.post(url(), attachment_body(metric["id"]), format="json"), 400, "metric")
    assert ExperimentMetric.objects.count() == 1


def test_a_deleted_metric_cannot_be_attached(admin, url, metric, environment):
    assert admin.delete(paths.metrics(environment.key, metric["id"])).status_code == 204

    refused(admin.post(url(), attachment_body(metric["id"]), format="json"), 400, "metric")


@pytest.mark.parametrize("actions", [("start",), ("start", "pause")], ids=["running", "paused"])
def test_metrics_may_still_be_attached_while_running_or_paused(
    admin, url, metric, experiment, transition, actions
):
    transition(experiment["id"], *actions)

    created(admin.post(url(), attachment_body(metric["id"]), format="json"))


@pytest.fixture
def completed(attach, experiment, metric, transition):
    """The experiment, completed with `metric` attached; returns the attachment."""
    attachment = attach(experiment["id"], metric["id"])
    transition(experiment["id"], "start", "complete")
    return attachment


def test_a_completed_experiment_accepts_no_new_metric(admin, url, completed, create_metric):
    refused(admin.post(url(), attachment_body(create_metric()["id"]), format="json"), 400)

    assert ExperimentMetric.objects.count() == 1


def test_a_completed_experiments_attachments_cannot_change(admin, url, completed):
    refused(admin.patch(url(completed["id"]), {"role": "guardrail"}, format="json"), 400)

    assert ok(admin.get(url(completed["id"]))) == completed


def test_a_completed_experiments_metrics_cannot_be_detached(admin, url, completed):
    refused(admin.delete(url(completed["id"])), 400)

    assert ok(admin.get(url(completed["id"]))) == completed


@pytest.mark.parametrize("attachment_id", ["999999", "abc"])
def test_unknown_attachments_are_404(admin, url, attachment_id):
    refused(admin.get(url(attachment_id)), 404)


def test_an_attachment_is_reached_only_through_its_own_experiment(
    admin, attach, create_experiment, metric, environment
):
    first, second = create_experiment(), create_experiment()
    attachment = attach(first["id"], metric["id"])

    refused(admin.get(paths.attachments(environment.key, second["id"], attachment["id"])), 404)
    refused(admin.delete(paths.attachments(environment.key, second["id"], attachment["id"])), 404)
    assert ExperimentMetric.objects.count() == 1


def test_attaching_to_a_missing_experiment_is_404(admin, environment, metric):
    url = paths.attachments(environment.key, 999999)

    refused(admin.post(url, attachment_body(metric["id"]), format="json"), 404)
