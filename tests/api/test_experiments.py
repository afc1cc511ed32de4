"""Experiments: variants, defaults, one open experiment per flag, draft-only fields, soft delete."""

from __future__ import annotations

import pytest

from liftlab.experiments.models import Experiment

from . import paths
from .bodies import experiment_body
from .expect import created, ok, refused


def variants(*weights: float, keys: list[str] | None = None) -> list[dict[str, object]]:
    keys = keys or [f"v{i}" for i in range(len(weights))]
    return [{"key": k, "weight": w} for k, w in zip(keys, weights, strict=True)]


@pytest.fixture
def post(admin, environment):
    def send(**fields):
        body = experiment_body(**fields)
        return admin.post(paths.experiments(environment.key), body, format="json")

    return send


def test_an_experiment_has_the_documented_fields_and_defaults(post):
    experiment = created(post(name="Green button", hypothesis="green sells"))

    assert set(experiment) == {
        "id",
        "name",
        "hypothesis",
        "feature_name",
        "variants",
        "control_variant",
        "exposure_event",
        "analysis",
        "analysis_changed_at",
        "status",
        "started_at",
        "ended_at",
        "created_at",
    }
    assert experiment["variants"] == [
        {"key": "control", "weight": 0.5},
        {"key": "treatment", "weight": 0.5},
    ]
    assert experiment["control_variant"] == "control"
    assert experiment["exposure_event"] == "$flag_exposure"
    assert experiment["analysis"] == {
        "engine": "frequentist",
        "sequential": False,
        "sequential_tuning": 5000.0,
        "alpha": 0.05,
        "scale": "relative",
        "correction": "benjamini_hochberg",
        "prior": {"mean": 0.0, "sd": None},
        "chance_to_win_threshold": 0.95,
        "breakdowns": [],
    }
    assert experiment["analysis_changed_at"] is None
    assert experiment["status"] == "draft"
    assert experiment["started_at"] is None and experiment["ended_at"] is None


def test_the_control_defaults_to_the_first_variant(post):
    experiment = created(post(variants=variants(0.5, 0.5, keys=["b", "a"])))

    assert experiment["control_variant"] == "b"


def test_explicit_control_exposure_event_and_analysis_are_kept(post):
    analysis = {"alpha": 0.01, "engine": "bayesian", "prior": {"mean": 0.0, "sd": 0.1}}
    experiment = created(
        post(control_variant="treatment", exposure_event="seen", analysis=analysis)
    )

    assert (experiment["control_variant"], experiment["exposure_event"]) == ("treatment", "seen")
    assert experiment["analysis"]["alpha"] == 0.01
    assert experiment["analysis"]["engine"] == "bayesian"
    assert experiment["analysis"]["prior"] == {"mean": 0.0, "sd": 0.1}
    assert experiment["analysis"]["scale"] == "relative"


@pytest.mark.parametrize(
    "weights",
    [
        (0.5, 0.5),
        (1 / 3, 1 / 3, 1 / 3),
        (0.1, 0.2, 0.7),
        (0.5, 0.5 + 5e-10),
        (0.05,) * 20,
    ],
    ids=["halves", "thirds", "uneven", "within-1e-9", "twenty"],
)
def test_valid_variant_sets_are_accepted(post, weights):
    experiment = created(post(variants=variants(*weights)))

    assert [v["weight"] for v in experiment["variants"]] == list(weights)


@pytest.mark.parametrize(
    "value",
    [
        variants(1.0),
        variants(*(1 / 21,) * 21),
        variants(0.5, 0.5, keys=["same", "same"]),
        variants(0.5, 0.4),
        variants(0.5, 0.5 + 2e-9),
        variants(0.6, 0.6),
        variants(1.0, 0.0),
        variants(1.5, -0.5),
        variants(0.5, 0.5, keys=["a", ""]),
        [{"key": "a", "weight": 0.5}, {"key": "b"}],
        [{"key": "a", "weight": 0.5}, {"weight": 0.5}],
        [{"key": "a", "weight": 0.5}, {"key": "b", "weight": "half"}],
        [],
        "control,treatment",
        None,
    ],
    ids=[
        "one",
        "twenty-one",
        "duplicate-keys",
        "sum-below-1",
        "sum-off-by-2e-9",
        "sum-above-1",
        "zero-weight",
        "negative-weight",
        "blank-key",
        "missing-weight",
        "missing-key",
        "text-weight",
        "empty",
        "not-a-list",
        "null",
    ],
)
def test_invalid_variants_are_400(post, value):
    refused(post(variants=value), 400, "variants")


def test_the_control_must_be_a_variant_key(post):
    refused(post(control_variant="nobody"), 400, "control_variant")


@pytest.mark.parametrize(
    ("analysis", "field"),
    [
        ({"alpha": 0}, "analysis.alpha"),
        ({"alpha": -0.05}, "analysis.alpha"),
        ({"alpha": 0.5}, "analysis.alpha"),
        ({"alpha": 1.5}, "analysis.alpha"),
        ({"alpha": "low"}, "analysis.alpha"),
        ({"alpha": None}, "analysis.alpha"),
        ({"engine": "magic"}, "analysis.engine"),
        ({"engine": "bayesian", "sequential": True}, "analysis.sequential"),
        ({"sequential": "yes"}, "analysis.sequential"),
        ({"sequential_tuning": 0}, "analysis.sequential_tuning"),
        ({"scale": "log"}, "analysis.scale"),
        ({"correction": "bonferroni'); DROP TABLE x; --"}, "analysis.correction"),
        ({"prior": {"sd": -1}}, "analysis.prior.sd"),
        ({"prior": {"mean": "0"}}, "analysis.prior.mean"),
        ({"chance_to_win_threshold": 0.4}, "analysis.chance_to_win_threshold"),
        ({"unknown": 1}, "analysis.unknown"),
        ({"alpha": 0.05, "\u0000": 1}, "analysis"),
        ([0.05], "analysis"),
        ("frequentist", "analysis"),
    ],
)
def test_analysis_settings_are_validated_field_by_field(post, analysis, field):
    refused(post(analysis=analysis), 400, field)


@pytest.mark.parametrize("field", ["name", "feature_name"])
def test_name_and_feature_name_are_required_and_not_blank(admin, environment, field):
    body = experiment_body()
    url = paths.experiments(environment.key)

    refused(admin.post(url, {**body, field: " "}, format="json"), 400, field)
    del body[field]
    refused(admin.post(url, body, format="json"), 400, field)


def test_one_open_experiment_per_flag(post, environment):
    created(post(feature_name="checkout"))

    refused(post(feature_name="checkout"), 400, "feature_name")
    assert Experiment.objects.filter(environment=environment, feature_name="checkout").count() == 1


@pytest.mark.parametrize("actions", [("start",), ("start", "pause")], ids=["running", "paused"])
def test_a_running_or_paused_experiment_holds_its_flag(post, transition, actions):
    transition(created(post(feature_name="checkout"))["id"], *actions)

    refused(post(feature_name="checkout"), 400, "feature_name")


def test_a_completed_experiment_frees_its_flag(post, transition):
    transition(created(post(feature_name="checkout"))["id"], "start", "complete")

    created(post(feature_name="checkout"))


def test_a_deleted_experiment_frees_its_flag(post, admin, environment):
    first = created(post(feature_name="checkout"))
    assert admin.delete(paths.experiments(environment.key, first["id"])).status_code == 204

    created(post(feature_name="checkout"))


def test_flags_are_per_environment(post, create_experiment, outsider, other_environment):
    created(post(feature_name="checkout"))

    create_experiment(key=other_environment.key, client=outsider, feature_name="checkout")


def test_moving_a_draft_onto_a_held_flag_is_400(post, admin, environment):
    created(post(feature_name="checkout"))
    draft = created(post(feature_name="search"))
    url = paths.experiments(environment.key, draft["id"])

    refused(admin.patch(url, {"feature_name": "checkout"}, format="json"), 400, "feature_name")


def test_a_completed_experiment_can_be_edited_while_its_flag_is_reused(
    post, admin, environment, transition
):
    first = created(post(feature_name="checkout"))
    transition(first["id"], "start", "complete")
    created(post(feature_name="checkout"))
    url = paths.experiments(environment.key, first["id"])

    assert ok(admin.patch(url, {"name": "Archived"}, format="json"))["name"] == "Archived"


DRAFT_ONLY = {
    "feature_name": "elsewhere",
    "variants": variants(0.25, 0.75, keys=["control", "treatment"]),
    "control_variant": "treatment",
    "exposure_event": "seen",
}


@pytest.fixture
def experiment(post):
    return created(post())


@pytest.mark.parametrize(("field", "value"), DRAFT_ONLY.items(), ids=DRAFT_ONLY)
def test_flag_variants_control_and_exposure_event_change_in_draft(
    admin, environment, experiment, field, value
):
    url = paths.experiments(environment.key, experiment["id"])

    assert ok(admin.patch(url, {field: value}, format="json"))[field] == value


@pytest.mark.parametrize(("field", "value"), DRAFT_ONLY.items(), ids=DRAFT_ONLY)
@pytest.mark.parametrize(
    "actions",
    [("start",), ("start", "pause"), ("start", "complete")],
    ids=["running", "paused", "completed"],
)
def test_flag_variants_control_and_exposure_event_are_frozen_after_draft(
    admin, environment, experiment, transition, actions, field, value
):
    transition(experiment["id"], *actions)
    url = paths.experiments(environment.key, experiment["id"])

    body = refused(admin.patch(url, {field: value}, format="json"), 400, field)

    status = Experiment.objects.get(pk=experiment["id"]).status
    assert status in str(body[field])
    assert ok(admin.get(url))[field] == experiment[field]


def test_name_hypothesis_and_analysis_change_while_running(
    admin, environment, experiment, transition
):
    transition(experiment["id"], "start")
    url = paths.experiments(environment.key, experiment["id"])
    change = {"name": "Renamed", "hypothesis": "clearer", "analysis": {"alpha": 0.01}}

    changed = ok(admin.patch(url, change, format="json"))

    assert (changed["name"], changed["hypothesis"]) == ("Renamed", "clearer")
    assert changed["analysis"]["alpha"] == 0.01
    assert changed["analysis"]["correction"] == "benjamini_hochberg"  # the rest is kept
    assert changed["analysis_changed_at"] is not None


def test_analysis_changes_in_a_draft_are_not_changes_after_start(admin, environment, experiment):
    url = paths.experiments(environment.key, experiment["id"])
    changed = ok(admin.patch(url, {"analysis": {"engine": "bayesian"}}, format="json"))
    assert changed["analysis"]["engine"] == "bayesian"
    assert changed["analysis_changed_at"] is None


def test_resending_the_same_analysis_after_start_is_no_change(
    admin, environment, experiment, transition
):
    transition(experiment["id"], "start")
    url = paths.experiments(environment.key, experiment["id"])
    changed = ok(admin.patch(url, {"analysis": {"alpha": 0.05}}, format="json"))
    assert changed["analysis_changed_at"] is None


def test_a_completed_experiment_keeps_its_analysis(admin, environment, experiment, transition):
    transition(experiment["id"], "start")
    transition(experiment["id"], "complete")
    url = paths.experiments(environment.key, experiment["id"])
    refused(admin.patch(url, {"analysis": {"alpha": 0.01}}, format="json"), 400, "analysis")


def test_a_control_outside_new_variants_is_400(admin, environment, experiment):
    url = paths.experiments(environment.key, experiment["id"])
    change = {"variants": variants(0.5, 0.5, keys=["a", "b"]), "control_variant": "control"}

    refused(admin.patch(url, change, format="json"), 400, "control_variant")


def test_delete_is_soft_and_hides_every_endpoint_of_the_experiment(
    admin, environment, experiment, create_metric, attach
):
    metric = create_metric()
    attachment = attach(experiment["id"], metric["id"])
    key, pk = environment.key, experiment["id"]

    assert admin.delete(paths.experiments(key, pk)).status_code == 204

    for method, url in [
        ("get", paths.experiments(key, pk)),
        ("patch", paths.experiments(key, pk)),
        ("delete", paths.experiments(key, pk)),
        ("post", paths.experiments(key, pk, "start")),
        ("post", paths.experiments(key, pk, "pause")),
        ("post", paths.experiments(key, pk, "complete")),
        ("get", paths.attachments(key, pk)),
        ("post", paths.attachments(key, pk)),
        ("get", paths.attachments(key, pk, attachment["id"])),
        ("patch", paths.attachments(key, pk, attachment["id"])),
        ("delete", paths.attachments(key, pk, attachment["id"])),
    ]:
        body = {"name": "x", "metric": metric["id"], "expected_direction": "increase"}
        refused(getattr(admin, method)(url, body, format="json"), 404)
    assert pk not in [e["id"] for e in ok(admin.get(paths.experiments(key)))]
    assert Experiment.objects.get(pk=pk).deleted_at is not None


@pytest.mark.parametrize("experiment_id", ["999999", "abc", "1.5", "-1", "1e3"])
@pytest.mark.parametrize("suffix", ["", "start/", "metrics/", "metrics/1/"])
def test_unknown_or_malformed_experiment_ids_are_json_404(
    admin, environment, experiment_id, suffix
):
    url = f"{paths.experiments(environment.key)}{experiment_id}/{suffix}"

    response = admin.post(url) if suffix == "start/" else admin.get(url)

    refused(response, 404)


def test_an_experiment_is_reached_only_through_its_own_environment(
    admin, outsider, create_experiment, other_environment, environment
):
    theirs = create_experiment(key=other_environment.key, client=outsider)

    refused(admin.get(paths.experiments(environment.key, theirs["id"])), 404)
    refused(admin.post(paths.experiments(environment.key, theirs["id"], "start")), 404)
    refused(admin.get(paths.attachments(environment.key, theirs["id"])), 404)


def test_members_list_live_experiments_in_creation_order(viewer, environment, create_experiment):
    first, second = create_experiment(), create_experiment()

    listed = ok(viewer.get(paths.experiments(environment.key)))

    assert [e["id"] for e in listed] == [first["id"], second["id"]]
