"""Hostile text through every text field: stored and returned unchanged, or a clean 400 naming
the field, never a 500. NUL must be refused (PostgreSQL cannot store it), and so must unpaired
surrogates (they can be escaped in JSON but neither stored nor encoded as UTF-8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from . import paths
from .bodies import P90_LATENCY, REVENUE_PER_ORDER, experiment_body, metric_body
from .expect import created, ok, refused

HOSTILE = {
    "quotes": """it's "quoted" `cmd`""",
    "backslashes": "back\\slash\\ \\n \\x00",
    "sql": "'); DROP TABLE x; --",
    "placeholders": "{p:String} %s %(name)s {0} $1 ?",
    "html": "<script>alert(1)</script>",
    "rtl": "שלום مرحبا \u202eevil\u202c",
    "emoji": "🧪🚀👩‍👩‍👧🇫🇷",
    "combining-marks": "e\u0301\u0308 Z\u0335\u0321a\u0336 naïve 日本語",
    "invisible": "a\u200bb\ufeff\u00ad",
    "whitespace": "  padded\n\tline\r  ",
}
NUL = "nul\x00byte"
SURROGATE = "lone \ud800 surrogate"


@dataclass(frozen=True)
class Api:
    admin: Any
    superuser: Any
    key: str

    def post(self, client, url: str, body: dict[str, Any]):
        """Send raw JSON: the test client's own encoder cannot send unpaired surrogates."""
        return client.post(url, json.dumps(body), content_type="application/json")


@dataclass(frozen=True)
class TextInput:
    """How one text field is sent and where it comes back."""

    error_key: str
    max_length: int
    send: Callable[[Api, str], Any]
    read: Callable[[dict[str, Any]], str]
    reread: Callable[[Api, dict[str, Any]], dict[str, Any]]


def _with_value(body: dict[str, Any], value: str) -> dict[str, Any]:
    """`body` with each "VALUE" placeholder replaced by the hostile text."""
    return json.loads(json.dumps(body).replace('"VALUE"', json.dumps(value)))


def _creating(url: Callable[[str], str], make_body: Callable[..., dict[str, Any]], **fields: Any):
    """A sender that creates an object (as alice) from `make_body(**fields)` with the value in."""

    def send(api: Api, value: str):
        return api.post(api.admin, url(api.key), _with_value(make_body(**fields), value))

    return send


def _metric(**fields: Any) -> Callable[[Api, str], Any]:
    return _creating(paths.metrics, metric_body, **fields)


def _experiment(**fields: Any) -> Callable[[Api, str], Any]:
    return _creating(paths.experiments, experiment_body, **fields)


def _add_member(api: Api, value: str):
    """Add the user named `value`, made first when such a user can exist at all (by root: an
    admin adds only people who already share an environment with them)."""
    if value not in (NUL, SURROGATE) and len(value) <= 150:
        get_user_model().objects.create(username=value)
    return api.post(api.superuser, paths.members(api.key), {"username": value, "role": "viewer"})


def _definition(**changes: Any) -> dict[str, Any]:
    return {"version": 1, "event": "purchase", **changes}


def _reread_environment(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    return ok(api.superuser.get(paths.environment(body["key"])))


def _reread_member(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """From the list: a username may hold a slash, which no URL can carry."""
    return next(m for m in ok(api.admin.get(paths.members(api.key))) if m["id"] == body["id"])


def _reread_metric(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    return ok(api.admin.get(paths.metrics(api.key, body["id"])))


def _reread_experiment(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    return ok(api.admin.get(paths.experiments(api.key, body["id"])))


def _filter(**fields: Any) -> dict[str, Any]:
    return _definition(filters=[{"property": "plan", "op": "eq", "value": "pro", **fields}])


def _ratio(numerator: dict[str, Any] | None = None, denominator: dict[str, Any] | None = None):
    """A ratio metric whose parts take the changes given (one of them holds "VALUE")."""
    definition = {
        **REVENUE_PER_ORDER,
        "numerator": {**REVENUE_PER_ORDER["numerator"], **(numerator or {})},
        "denominator": {**REVENUE_PER_ORDER["denominator"], **(denominator or {})},
    }
    return _metric(aggregation="ratio", definition=definition)


TWO_VARIANTS = [{"key": "VALUE", "weight": 0.5}, {"key": "other", "weight": 0.5}]

FIELDS = {
    "environment.name": TextInput(
        "name",
        200,
        lambda api, v: api.post(api.superuser, paths.ENVIRONMENTS, {"name": v}),
        lambda body: body["name"],
        _reread_environment,
    ),
    "member.username": TextInput(
        "username",
        150,
        _add_member,
        lambda body: body["username"],
        _reread_member,
    ),
    "metric.name": TextInput(
        "name", 200, _metric(name="VALUE"), lambda b: b["name"], _reread_metric
    ),
    "metric.description": TextInput(
        "description",
        10_000,
        _metric(description="VALUE"),
        lambda b: b["description"],
        _reread_metric,
    ),
    "definition.event": TextInput(
        "definition.event",
        200,
        _metric(definition=_definition(event="VALUE")),
        lambda b: b["definition"]["event"],
        _reread_metric,
    ),
    "definition.value": TextInput(
        "definition.value",
        200,
        _metric(aggregation="sum", definition=_definition(value="VALUE")),
        lambda b: b["definition"]["value"],
        _reread_metric,
    ),
    "definition.filters.property": TextInput(
        "definition.filters.0.property",
        200,
        _metric(definition=_filter(property="VALUE")),
        lambda b: b["definition"]["filters"][0]["property"],
        _reread_metric,
    ),
    "definition.filters.value": TextInput(
        "definition.filters.0.value",
        1000,
        _metric(definition=_filter(value="VALUE")),
        lambda b: b["definition"]["filters"][0]["value"],
        _reread_metric,
    ),
    "definition.numerator.event": TextInput(
        "definition.numerator.event",
        200,
        _ratio(numerator={"event": "VALUE"}),
        lambda b: b["definition"]["numerator"]["event"],
        _reread_metric,
    ),
    "definition.denominator.value": TextInput(
        "definition.denominator.value",
        200,
        _ratio(denominator={"aggregation": "sum", "value": "VALUE"}),
        lambda b: b["definition"]["denominator"]["value"],
        _reread_metric,
    ),
    "definition.numerator.filters.value": TextInput(
        "definition.numerator.filters.0.value",
        1000,
        _ratio(numerator={"filters": [{"property": "plan", "op": "contains", "value": "VALUE"}]}),
        lambda b: b["definition"]["numerator"]["filters"][0]["value"],
        _reread_metric,
    ),
    "quantile.definition.value": TextInput(
        "definition.value",
        200,
        _metric(aggregation="quantile", definition={**P90_LATENCY, "value": "VALUE"}),
        lambda b: b["definition"]["value"],
        _reread_metric,
    ),
    "experiment.name": TextInput(
        "name", 200, _experiment(name="VALUE"), lambda b: b["name"], _reread_experiment
    ),
    "experiment.hypothesis": TextInput(
        "hypothesis",
        10_000,
        _experiment(hypothesis="VALUE"),
        lambda b: b["hypothesis"],
        _reread_experiment,
    ),
    "experiment.feature_name": TextInput(
        "feature_name",
        200,
        _experiment(feature_name="VALUE"),
        lambda b: b["feature_name"],
        _reread_experiment,
    ),
    "experiment.exposure_event": TextInput(
        "exposure_event",
        200,
        _experiment(exposure_event="VALUE"),
        lambda b: b["exposure_event"],
        _reread_experiment,
    ),
    "experiment.variants.key": TextInput(
        "variants",
        200,
        _experiment(variants=TWO_VARIANTS, control_variant="other"),
        lambda b: b["variants"][0]["key"],
        _reread_experiment,
    ),
    "experiment.control_variant": TextInput(
        "control_variant",
        200,
        _experiment(variants=TWO_VARIANTS, control_variant="VALUE"),
        lambda b: b["control_variant"],
        _reread_experiment,
    ),
}


@pytest.fixture
def api(admin, superuser, environment) -> Api:
    """alice for everything in `environment`; root for creating environments."""
    return Api(admin=admin, superuser=superuser, key=environment.key)


def stored_values() -> list[Any]:
    """Every hostile value for every field, plus strings exactly at the field's limit."""
    cases = []
    for field, spec in FIELDS.items():
        for name, value in HOSTILE.items():
            cases.append(pytest.param(field, value, id=f"{field}-{name}"))
        for name, char in (("ascii", "x"), ("emoji", "🧪")):
            cases.append(pytest.param(field, char * spec.max_length, id=f"{field}-max-{name}"))
    return cases


def refused_values() -> list[Any]:
    """NUL, an unpaired surrogate and one character too many, for every field."""
    cases = []
    for field, spec in FIELDS.items():
        for name, value in (("nul", NUL), ("surrogate", SURROGATE)):
            cases.append(pytest.param(field, value, id=f"{field}-{name}"))
        over = "x" * (spec.max_length + 1)
        cases.append(pytest.param(field, over, id=f"{field}-over-max"))
    return cases


@pytest.mark.parametrize(("field", "value"), stored_values())
def test_hostile_text_is_stored_and_returned_unchanged(api, field, value):
    spec = FIELDS[field]

    body = created(spec.send(api, value))

    assert spec.read(body) == value
    assert spec.read(spec.reread(api, body)) == value


@pytest.mark.parametrize(("field", "value"), refused_values())
def test_unstorable_or_too_long_text_is_a_clean_400_naming_the_field(api, field, value):
    refused(FIELDS[field].send(api, value), 400, FIELDS[field].error_key)


@pytest.mark.parametrize("field", ["environment.name", "metric.name", "experiment.name"])
def test_hostile_text_survives_the_audit_log(api, field):
    spec = FIELDS[field]
    value = HOSTILE["sql"] + HOSTILE["emoji"] + HOSTILE["rtl"]
    body = created(spec.send(api, value))
    key = body["key"] if field == "environment.name" else api.key

    entries = ok(api.superuser.get(paths.audit_log(key)))["results"]

    kind = field.split(".")[0]
    (creation,) = [e for e in entries if e["object_type"] == kind]
    assert spec.read(creation["after"]) == value
    assert value in creation["object_repr"]


@pytest.mark.parametrize(
    "username",
    [v for v in HOSTILE.values() if "/" not in v],
    ids=[k for k, v in HOSTILE.items() if "/" not in v],
)
def test_a_member_with_a_hostile_username_is_read_by_url(api, username):
    created(_add_member(api, username))

    assert ok(api.admin.get(paths.members(api.key, username)))["username"] == username


@pytest.mark.parametrize("key", ["a\x00b", "'); DROP TABLE x; --", "🧪", "..", "%00"])
def test_hostile_environment_keys_in_urls_are_json_404(api, key):
    refused(api.admin.get(paths.environment(key)), 404)
    refused(api.admin.get(paths.metrics(key)), 404)


@pytest.mark.parametrize("username", ["a\x00b", "..", "%00"])
def test_hostile_usernames_in_urls_are_json_404(api, username):
    refused(api.admin.get(paths.members(api.key, username)), 404)


@pytest.fixture
def attachable(api, create_experiment, create_metric) -> tuple[int, int]:
    """(experiment id, metric id), ready to be attached."""
    return create_experiment()["id"], create_metric()["id"]


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("aggregation", metric_body(aggregation=SURROGATE)),
        ("metric_type", metric_body(metric_type=SURROGATE)),
    ],
)
def test_an_unpaired_surrogate_in_a_metric_choice_is_a_clean_400(api, field, body):
    refused(api.post(api.admin, paths.metrics(api.key), body), 400, field)


@pytest.mark.parametrize(
    ("path", "definition"),
    [
        ("definition.cap.type", {"version": 2, "event": "e", "cap": {"type": "VALUE", "value": 1}}),
        ("definition.quantile.level", {**P90_LATENCY, "quantile": {"q": 0.5, "level": "VALUE"}}),
        (
            "definition.numerator.aggregation",
            {**REVENUE_PER_ORDER, "numerator": {"event": "e", "aggregation": "VALUE"}},
        ),
    ],
)
@pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_unstorable_text_in_a_version_2_choice_is_a_clean_400(api, path, definition, text):
    body = metric_body(definition=_with_value(definition, text))

    refused(api.post(api.admin, paths.metrics(api.key), body), 400, path)


@pytest.mark.parametrize(
    "field",
    [
        "metric",
        "expected_direction",
        "role",
        "variance_reduction",
    ],
)
def test_an_unpaired_surrogate_in_an_attachment_is_a_clean_400(api, attachable, field):
    experiment, metric = attachable
    body = {"metric": metric, "expected_direction": "increase", "role": "primary", field: SURROGATE}

    refused(api.post(api.admin, paths.attachments(api.key, experiment), body), 400, field)


def test_an_unpaired_surrogate_in_a_member_role_is_a_clean_400(api, outsider_user):
    body = {"username": "olga", "role": SURROGATE}

    refused(api.post(api.admin, paths.members(api.key), body), 400, "role")


def test_an_unpaired_surrogate_as_the_lookback_is_a_clean_400(api, attachable):
    experiment, metric = attachable
    body = {
        "metric": metric,
        "expected_direction": "increase",
        "variance_reduction": {"lookback_days": SURROGATE, SURROGATE: 14},
    }

    refused(
        api.post(api.admin, paths.attachments(api.key, experiment), body), 400, "variance_reduction"
    )
