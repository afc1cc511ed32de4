"""The metric library: types, names, what may change, and soft deletion."""

from __future__ import annotations

import pytest

from liftlab.experiments.models import Metric

from . import paths
from .bodies import CAPPED_REVENUE, P90_LATENCY, REVENUE_PER_ORDER, metric_body
from .expect import created, ok, refused

PURCHASE = {"version": 1, "event": "purchase"}
AMOUNT = {"version": 1, "event": "purchase", "value": "amount"}


@pytest.fixture
def post(admin, environment):
    def send(**fields):
        return admin.post(paths.metrics(environment.key), metric_body(**fields), format="json")

    return send


def test_a_metric_has_the_documented_fields_and_defaults(post):
    metric = created(post(name="Purchases", aggregation="count", definition=PURCHASE))

    assert set(metric) == {
        "id",
        "name",
        "description",
        "metric_type",
        "aggregation",
        "higher_is_better",
        "unit",
        "definition",
        "created_at",
    }
    assert metric["name"] == "Purchases"
    assert metric["description"] == ""
    assert metric["unit"] == ""
    assert metric["higher_is_better"] is True
    assert metric["created_at"]


@pytest.mark.parametrize("unit", ["ms", "s", "count", "USD", "EUR", ""])
def test_a_metric_takes_a_unit_a_time_a_count_or_a_currency(post, unit):
    metric = created(post(aggregation="sum", definition=AMOUNT, unit=unit))
    assert metric["unit"] == unit
    assert Metric.objects.get(pk=metric["id"]).unit == unit


@pytest.mark.parametrize("unit", ["usd", "dollars", "m s", "US", "€"])
def test_an_unknown_unit_is_refused_naming_the_field_and_what_it_takes(post, unit):
    body = refused(post(aggregation="sum", definition=AMOUNT, unit=unit), 400, "unit")
    assert "three-letter currency code" in body["unit"][0]


def test_the_definition_is_stored_in_its_complete_canonical_form(post):
    metric = created(post(definition=PURCHASE))

    assert metric["definition"] == {
        "version": 1,
        "event": "purchase",
        "value": None,
        "filters": [],
        "window": None,
    }


@pytest.mark.parametrize(
    ("aggregation", "definition", "metric_type"),
    [
        ("count", PURCHASE, "numeric"),
        ("sum", AMOUNT, "numeric"),
        ("mean", AMOUNT, "numeric"),
        ("occurrence", PURCHASE, "conversion"),
        ("sum", CAPPED_REVENUE, "numeric"),
        ("ratio", REVENUE_PER_ORDER, "ratio"),
        ("quantile", P90_LATENCY, "quantile"),
    ],
)
def test_an_omitted_metric_type_follows_the_aggregation(post, aggregation, definition, metric_type):
    metric = created(post(aggregation=aggregation, definition=definition))

    assert metric["metric_type"] == metric_type
    assert Metric.objects.get(pk=metric["id"]).metric_type == metric_type


@pytest.mark.parametrize(
    ("aggregation", "definition", "metric_type"),
    [
        ("count", PURCHASE, "numeric"),
        ("sum", AMOUNT, "numeric"),
        ("occurrence", PURCHASE, "conversion"),
        ("ratio", REVENUE_PER_ORDER, "ratio"),
        ("quantile", P90_LATENCY, "quantile"),
    ],
)
def test_a_matching_metric_type_is_accepted(post, aggregation, definition, metric_type):
    metric = created(post(aggregation=aggregation, definition=definition, metric_type=metric_type))

    assert metric["metric_type"] == metric_type


@pytest.mark.parametrize(
    ("aggregation", "definition", "metric_type"),
    [
        ("occurrence", PURCHASE, "numeric"),
        ("count", PURCHASE, "conversion"),
        ("sum", AMOUNT, "conversion"),
        ("mean", AMOUNT, "conversion"),
        ("count", PURCHASE, "ratio"),
        ("sum", AMOUNT, "quantile"),
        ("ratio", REVENUE_PER_ORDER, "numeric"),
        ("ratio", REVENUE_PER_ORDER, "quantile"),
        ("quantile", P90_LATENCY, "numeric"),
        ("quantile", P90_LATENCY, "ratio"),
    ],
)
def test_a_metric_type_that_contradicts_the_aggregation_is_400(
    post, aggregation, definition, metric_type
):
    body = refused(
        post(aggregation=aggregation, definition=definition, metric_type=metric_type),
        400,
        "metric_type",
    )

    assert set(body) == {"metric_type"}
    assert not Metric.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"aggregation": "median"}, "aggregation"),
        ({"aggregation": "RATIO"}, "aggregation"),
        ({"aggregation": None}, "aggregation"),
        ({"metric_type": "ratio"}, "metric_type"),
        ({"higher_is_better": "sometimes"}, "higher_is_better"),
        ({"name": ""}, "name"),
        ({"name": " \t"}, "name"),
        ({"definition": None}, "definition"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(post, fields, field):
    refused(post(**fields), 400, field)


def test_required_fields_are_400_when_missing(admin, environment):
    body = refused(admin.post(paths.metrics(environment.key), {}, format="json"), 400)

    assert {"name", "aggregation", "definition"} <= set(body)


@pytest.mark.parametrize("aggregation", ["count", "occurrence"])
def test_count_and_occurrence_metrics_read_no_value(post, aggregation):
    refused(post(aggregation=aggregation, definition=AMOUNT), 400, "definition.value")


@pytest.mark.parametrize("aggregation", ["sum", "mean"])
@pytest.mark.parametrize("value", ["amount", None])
def test_sum_and_mean_metrics_read_a_property_or_the_events_value(post, aggregation, value):
    metric = created(post(aggregation=aggregation, definition={**PURCHASE, "value": value}))

    assert metric["definition"]["value"] == value


def test_higher_is_better_can_be_false(post):
    assert created(post(higher_is_better=False))["higher_is_better"] is False


def test_names_are_unique_per_environment(post, admin, environment):
    created(post(name="Revenue"))

    refused(post(name="Revenue"), 400, "name")
    assert Metric.objects.filter(environment=environment, name="Revenue").count() == 1


def test_the_same_name_may_exist_in_another_environment(post, outsider, other_environment):
    created(post(name="Revenue"))

    body = metric_body(name="Revenue")
    created(outsider.post(paths.metrics(other_environment.key), body, format="json"))


def test_a_deleted_metrics_name_can_be_reused(post, admin, environment):
    first = created(post(name="Revenue"))
    assert admin.delete(paths.metrics(environment.key, first["id"])).status_code == 204

    second = created(post(name="Revenue"))

    assert second["id"] != first["id"]


def test_members_list_and_read_live_metrics(viewer, create_metric, environment):
    first, second = create_metric(), create_metric()

    listed = ok(viewer.get(paths.metrics(environment.key)))
    assert [m["id"] for m in listed] == [first["id"], second["id"]]
    assert ok(viewer.get(paths.metrics(environment.key, first["id"]))) == first


def test_a_metric_is_reached_only_through_its_own_environment(
    admin, outsider, create_metric, other_environment, environment
):
    theirs = create_metric(key=other_environment.key, client=outsider)

    refused(admin.get(paths.metrics(environment.key, theirs["id"])), 404)
    refused(admin.patch(paths.metrics(environment.key, theirs["id"]), {"name": "x"}), 404)
    refused(admin.delete(paths.metrics(environment.key, theirs["id"])), 404)


@pytest.mark.parametrize("metric_id", ["999999", "abc", "1.5", "-1"])
def test_unknown_or_malformed_metric_ids_are_404(admin, environment, metric_id):
    refused(admin.get(paths.metrics(environment.key, metric_id)), 404)


@pytest.fixture
def metric(create_metric):
    return create_metric(name="Revenue", aggregation="sum", definition=AMOUNT)


@pytest.fixture
def patch(admin, environment, metric):
    def send(**fields):
        return admin.patch(paths.metrics(environment.key, metric["id"]), fields, format="json")

    return send


def test_name_description_and_direction_may_change(patch, metric, viewer, environment):
    changed = ok(patch(name="Net revenue", description="after refunds", higher_is_better=False))

    assert (changed["name"], changed["description"], changed["higher_is_better"]) == (
        "Net revenue",
        "after refunds",
        False,
    )
    assert ok(viewer.get(paths.metrics(environment.key, metric["id"]))) == changed


def test_a_rename_onto_another_live_metrics_name_is_400(patch, create_metric):
    create_metric(name="Orders")

    refused(patch(name="Orders"), 400, "name")


def test_keeping_its_own_name_is_not_a_duplicate(patch):
    assert ok(patch(name="Revenue", description="same name"))["name"] == "Revenue"


@pytest.mark.parametrize(
    "fields",
    [
        {"definition": {**AMOUNT, "event": "refund"}},
        {"aggregation": "mean"},
        {"metric_type": "conversion"},
    ],
    ids=["definition", "aggregation", "metric_type"],
)
def test_definition_aggregation_and_metric_type_cannot_change(patch, metric, fields):
    (field,) = fields

    body = refused(patch(**fields), 400, field)

    assert "cannot be changed" in str(body[field])
    assert Metric.objects.get(pk=metric["id"]).definition == metric["definition"]


@pytest.mark.parametrize(
    "fields",
    [
        {"definition": {**REVENUE_PER_ORDER, "cap": {"type": "absolute", "value": 10}}},
        {"definition": PURCHASE},
        {"aggregation": "sum"},
        {"metric_type": "numeric"},
    ],
    ids=["definition-cap", "definition-v1", "aggregation", "metric_type"],
)
def test_a_ratio_metric_keeps_its_definition_and_aggregation(
    admin, environment, create_metric, fields
):
    metric = create_metric(aggregation="ratio", definition=REVENUE_PER_ORDER)
    url = paths.metrics(environment.key, metric["id"])
    (field,) = fields

    refused(admin.patch(url, fields, format="json"), 400, field)

    assert ok(admin.get(url)) == metric


def test_resending_the_unchanged_aggregation_is_accepted(patch):
    assert ok(patch(aggregation="sum", description="d"))["aggregation"] == "sum"


def test_delete_is_soft(admin, viewer, environment, metric):
    url = paths.metrics(environment.key, metric["id"])

    assert admin.delete(url).status_code == 204

    refused(viewer.get(url), 404)
    refused(admin.patch(url, {"name": "back"}, format="json"), 404)
    refused(admin.delete(url), 404)
    assert metric["id"] not in [m["id"] for m in ok(viewer.get(paths.metrics(environment.key)))]
    assert Metric.objects.get(pk=metric["id"]).deleted_at is not None


@pytest.mark.parametrize(
    "actions", [(), ("start",), ("start", "pause")], ids=["draft", "running", "paused"]
)
def test_a_metric_attached_to_an_open_experiment_cannot_be_deleted(
    admin, environment, metric, create_experiment, attach, transition, actions
):
    experiment = create_experiment()
    attach(experiment["id"], metric["id"])
    transition(experiment["id"], *actions)
    url = paths.metrics(environment.key, metric["id"])

    refused(admin.delete(url), 409)

    assert ok(admin.get(url))["id"] == metric["id"]


def test_a_metric_attached_only_to_a_completed_experiment_can_be_deleted(
    admin, environment, metric, create_experiment, attach, transition
):
    experiment = create_experiment()
    attach(experiment["id"], metric["id"])
    transition(experiment["id"], "start", "complete")

    assert admin.delete(paths.metrics(environment.key, metric["id"])).status_code == 204


def test_a_metric_attached_only_to_a_deleted_experiment_can_be_deleted(
    admin, environment, metric, create_experiment, attach
):
    experiment = create_experiment()
    attach(experiment["id"], metric["id"])
    assert admin.delete(paths.experiments(environment.key, experiment["id"])).status_code == 204

    assert admin.delete(paths.metrics(environment.key, metric["id"])).status_code == 204


def test_a_detached_metric_can_be_deleted(admin, environment, metric, create_experiment, attach):
    experiment = create_experiment()
    attachment = attach(experiment["id"], metric["id"])
    url = paths.attachments(environment.key, experiment["id"], attachment["id"])
    assert admin.delete(url).status_code == 204

    assert admin.delete(paths.metrics(environment.key, metric["id"])).status_code == 204
