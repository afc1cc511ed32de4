"""Metrics attached to experiments: what may be attached, and when attachments may change."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from liftlab.accounts.models import Environment
from liftlab.experiments import results
from liftlab.experiments.models import Experiment, ExperimentMetric

from . import paths
from .bodies import CAPPED_REVENUE, P90_LATENCY, REVENUE_PER_ORDER
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
        "variance_reduction",
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


# Regression adjustment (CUPED): `variance_reduction`.

PER_KIND = [
    ("count", {"version": 1, "event": "buy"}),
    ("sum", {"version": 1, "event": "buy", "value": "amount"}),
    ("sum", CAPPED_REVENUE),
    ("mean", {"version": 2, "event": "buy", "cap": {"type": "absolute", "value": 100}}),
    ("occurrence", {"version": 1, "event": "buy"}),
    ("ratio", REVENUE_PER_ORDER),
]


@pytest.fixture
def quantile_metric(create_metric):
    return create_metric(name="p90 latency", aggregation="quantile", definition=P90_LATENCY)


@pytest.mark.parametrize(("aggregation", "definition"), PER_KIND)
def test_a_new_attachment_looks_back_14_days_by_default(
    admin, url, create_metric, aggregation, definition
):
    metric = create_metric(aggregation=aggregation, definition=definition)

    attachment = created(admin.post(url(), attachment_body(metric["id"]), format="json"))

    assert attachment["variance_reduction"] == {"lookback_days": 14}
    assert ExperimentMetric.objects.get(pk=attachment["id"]).lookback_days == 14


def test_a_quantile_metric_is_attached_without_adjustment(admin, url, quantile_metric):
    attachment = created(admin.post(url(), attachment_body(quantile_metric["id"]), format="json"))

    assert attachment["variance_reduction"] is None
    assert attachment["aggregation"] == "quantile"


@pytest.mark.parametrize("days", [1, 30, 365])
def test_a_lookback_may_be_chosen(admin, url, metric, days):
    body = attachment_body(metric["id"], variance_reduction={"lookback_days": days})

    attachment = created(admin.post(url(), body, format="json"))

    assert attachment["variance_reduction"] == {"lookback_days": days}
    assert ok(admin.get(url(attachment["id"])))["variance_reduction"] == {"lookback_days": days}


@pytest.mark.parametrize("metric_fixture", ["metric", "quantile_metric"])
def test_null_turns_adjustment_off(admin, url, request, metric_fixture):
    metric = request.getfixturevalue(metric_fixture)
    body = attachment_body(metric["id"], variance_reduction=None)

    attachment = created(admin.post(url(), body, format="json"))

    assert attachment["variance_reduction"] is None
    assert ExperimentMetric.objects.get(pk=attachment["id"]).lookback_days is None


def test_a_quantile_metric_refuses_an_explicit_lookback(admin, url, quantile_metric):
    body = attachment_body(quantile_metric["id"], variance_reduction={"lookback_days": 14})

    body = refused(admin.post(url(), body, format="json"), 400, "variance_reduction")

    assert "quantile" in str(body["variance_reduction"])
    assert not ExperimentMetric.objects.exists()


@pytest.mark.parametrize(
    "value",
    [  # out-of-range and mistyped numbers: test_hostile_numbers
        {"lookback_days": None},
        {"lookback_days": [14]},
        {},
        {"days": 14},
        {"lookback_days": 14, "extra": 1},
        14,
        "14 days",
        [{"lookback_days": 14}],
        True,
    ],
    ids=repr,
)
def test_a_misshapen_variance_reduction_is_a_400_naming_it(admin, url, metric, value):
    body = attachment_body(metric["id"], variance_reduction=value)

    refused(admin.post(url(), body, format="json"), 400, "variance_reduction")

    assert not ExperimentMetric.objects.exists()


@pytest.mark.parametrize(
    ("value", "nested"),
    [
        ({"lookback_days": 366}, "lookback_days"),
        ({"lookback_days": "14"}, "lookback_days"),
        ({"lookback_days": 14, "extra": 1}, "extra"),
    ],
)
def test_the_error_names_the_key_inside_variance_reduction(admin, url, metric, value, nested):
    body = attachment_body(metric["id"], variance_reduction=value)

    error = refused(admin.post(url(), body, format="json"), 400, "variance_reduction")

    assert nested in error["variance_reduction"]


@pytest.mark.parametrize("actions", [(), ("start",), ("start", "pause")])
def test_the_lookback_may_change_until_completion(
    admin, attach, experiment, metric, url, transition, actions
):
    attachment = attach(experiment["id"], metric["id"])
    transition(experiment["id"], *actions)

    changed = ok(
        admin.patch(url(attachment["id"]), {"variance_reduction": {"lookback_days": 28}}, "json")
    )
    assert changed["variance_reduction"] == {"lookback_days": 28}
    off = ok(admin.patch(url(attachment["id"]), {"variance_reduction": None}, format="json"))
    assert off["variance_reduction"] is None
    assert ok(admin.get(url(attachment["id"]))) == off


def test_a_change_to_an_empty_variance_reduction_names_the_missing_days(
    admin, attach, experiment, metric, url
):
    attachment = attach(experiment["id"], metric["id"])

    error = refused(
        admin.patch(url(attachment["id"]), {"variance_reduction": {}}, format="json"),
        400,
        "variance_reduction",
    )
    assert "lookback_days" in error["variance_reduction"]
    assert ok(admin.get(url(attachment["id"]))) == attachment


def test_a_completed_experiments_lookback_cannot_change(admin, url, completed):
    change = {"variance_reduction": {"lookback_days": 7}}

    refused(admin.patch(url(completed["id"]), change, format="json"), 400, "experiment")

    assert ok(admin.get(url(completed["id"]))) == completed


def test_a_quantile_attachment_stays_unadjusted(admin, attach, experiment, quantile_metric, url):
    attachment = attach(experiment["id"], quantile_metric["id"])
    change = {"variance_reduction": {"lookback_days": 7}}

    refused(admin.patch(url(attachment["id"]), change, format="json"), 400, "variance_reduction")
    assert ok(admin.get(url(attachment["id"]))) == attachment
    # other changes need no word about adjustment
    assert (
        ok(admin.patch(url(attachment["id"]), {"role": "secondary"}, format="json"))[
            "variance_reduction"
        ]
        is None
    )


def test_lookback_changes_are_audited(admin, attach, environment, experiment, metric, url):
    attachment = attach(experiment["id"], metric["id"])
    change = {"variance_reduction": {"lookback_days": 30}}
    ok(admin.patch(url(attachment["id"]), change, format="json"))
    refused(admin.patch(url(attachment["id"]), {"variance_reduction": 5}, format="json"), 400)

    log = ok(admin.get(paths.audit_log(environment.key), {"page_size": 500}))["results"]

    update, creation = log[:2]
    assert (update["action"], update["object_type"]) == ("update", "attachment")
    assert update["before"]["variance_reduction"] == {"lookback_days": 14}
    assert update["after"]["variance_reduction"] == {"lookback_days": 30}
    assert creation["after"]["variance_reduction"] == {"lookback_days": 14}


def test_the_lookback_reaches_the_analysis_and_the_results_fingerprint(
    admin, attach, experiment, metric, url, quantile_metric
):
    adjusted = attach(experiment["id"], metric["id"])
    attach(experiment["id"], quantile_metric["id"])
    stored = Experiment.objects.get(pk=experiment["id"])
    start = timezone.now()
    stored.started_at = start
    before = results.fingerprint(stored)

    spec = results.experiment_spec(stored, start, results.attachments(stored))
    assert [m.lookback_days for m in spec.metrics] == [14, None]

    ok(admin.patch(url(adjusted["id"]), {"variance_reduction": {"lookback_days": 7}}, "json"))
    assert results.fingerprint(stored) != before
    spec = results.experiment_spec(stored, start, results.attachments(stored))
    assert [m.lookback_days for m in spec.metrics] == [7, None]


def test_the_database_refuses_a_lookback_out_of_range(metric, experiment):
    with pytest.raises(IntegrityError), transaction.atomic():
        ExperimentMetric.objects.create(
            experiment_id=experiment["id"],
            metric_id=metric["id"],
            expected_direction="increase",
            lookback_days=366,
        )


BEFORE_ADJUSTMENT = ("experiments", "0003_analysis_settings")
WITH_ADJUSTMENT = ("experiments", "0004_definition_v2_variance_reduction")


@pytest.mark.django_db(transaction=True)
def test_attachments_made_before_adjustment_existed_stay_unadjusted() -> None:
    """The migration adds the lookback as null: the results of existing attachments stay."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_ADJUSTMENT])
    old = executor.loader.project_state([BEFORE_ADJUSTMENT]).apps
    environment = Environment.objects.create(name="Old")  # accounts stays migrated
    metric = old.get_model("experiments", "Metric").objects.create(
        environment_id=environment.pk,
        name="Revenue",
        metric_type="numeric",
        aggregation="sum",
        definition={"version": 1, "event": "buy", "value": "amount"},
    )
    experiment = old.get_model("experiments", "Experiment").objects.create(
        environment_id=environment.pk,
        name="Old one",
        feature_name="old-flag",
        variants=[{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}],
        control_variant="a",
    )
    old.get_model("experiments", "ExperimentMetric").objects.create(
        experiment_id=experiment.pk, metric_id=metric.pk, expected_direction="increase"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    (attachment,) = ExperimentMetric.objects.filter(experiment_id=experiment.pk)
    assert attachment.lookback_days is None
    assert WITH_ADJUSTMENT in MigrationExecutor(connection).loader.applied_migrations
