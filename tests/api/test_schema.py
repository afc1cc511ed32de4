"""The OpenAPI document at /api/schema/ describes every endpoint, its success and its errors."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from . import paths
from .expect import ok

ENV = "/api/v1/environments/{environment_key}"
READ = {401, 404}
GATED_READ = {401, 403, 404}
WRITE = {400, 401, 403, 404}

# (method, path, success status, error statuses the endpoint can answer)
OPERATIONS: list[tuple[str, str, int, set[int]]] = [
    ("get", "/api/v1/environments/", 200, {401}),
    ("post", "/api/v1/environments/", 201, {400, 401, 403}),
    ("get", "/api/v1/environments/{key}/", 200, READ),
    ("patch", "/api/v1/environments/{key}/", 200, WRITE),
    ("get", f"{ENV}/members/", 200, READ),
    ("post", f"{ENV}/members/", 201, WRITE),
    ("get", f"{ENV}/members/{{username}}/", 200, READ),
    ("patch", f"{ENV}/members/{{username}}/", 200, WRITE),
    ("delete", f"{ENV}/members/{{username}}/", 204, WRITE),
    ("get", f"{ENV}/audit-log/", 200, READ),
    ("get", f"{ENV}/experiment-metrics/", 200, GATED_READ),
    ("post", f"{ENV}/experiment-metrics/", 201, WRITE),
    ("get", f"{ENV}/experiment-metrics/{{id}}/", 200, GATED_READ),
    ("patch", f"{ENV}/experiment-metrics/{{id}}/", 200, WRITE),
    ("delete", f"{ENV}/experiment-metrics/{{id}}/", 204, {401, 403, 404, 409}),
    ("get", f"{ENV}/experiments/", 200, GATED_READ),
    ("post", f"{ENV}/experiments/", 201, WRITE),
    ("get", f"{ENV}/experiments/{{id}}/", 200, GATED_READ),
    ("patch", f"{ENV}/experiments/{{id}}/", 200, WRITE),
    ("delete", f"{ENV}/experiments/{{id}}/", 204, GATED_READ),
    ("post", f"{ENV}/experiments/{{id}}/start/", 200, WRITE),
    ("post", f"{ENV}/experiments/{{id}}/pause/", 200, WRITE),
    ("post", f"{ENV}/experiments/{{id}}/complete/", 200, WRITE),
    ("get", f"{ENV}/experiments/{{experiment_pk}}/metrics/", 200, GATED_READ),
    ("post", f"{ENV}/experiments/{{experiment_pk}}/metrics/", 201, WRITE),
    ("get", f"{ENV}/experiments/{{experiment_pk}}/metrics/{{id}}/", 200, GATED_READ),
    ("patch", f"{ENV}/experiments/{{experiment_pk}}/metrics/{{id}}/", 200, WRITE),
    ("delete", f"{ENV}/experiments/{{experiment_pk}}/metrics/{{id}}/", 204, WRITE),
    # admins only, reads included: a viewer's GET is a 403 too
    ("get", f"{ENV}/ingestion-keys/", 200, GATED_READ),
    ("post", f"{ENV}/ingestion-keys/", 201, WRITE),
    ("get", f"{ENV}/ingestion-keys/{{id}}/", 200, GATED_READ),
    ("delete", f"{ENV}/ingestion-keys/{{id}}/", 204, GATED_READ),
    ("post", f"{ENV}/ingestion-keys/{{id}}/revoke/", 200, {401, 403, 404}),
    ("post", f"{ENV}/ingestion-keys/{{id}}/rotate/", 200, {401, 403, 404, 409}),
]

CASES = [
    pytest.param(method, path, success, errors, id=f"{method} {path}")
    for method, path, success, errors in OPERATIONS
]


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict[str, Any]:
    """Fetched once, anonymously: the document is public and the same for everyone."""
    with django_db_blocker.unblock():
        return ok(APIClient().get(paths.SCHEMA, {"format": "json"}))


def test_the_schema_is_public_openapi_3_json(anonymous):
    response = anonymous.get(paths.SCHEMA, {"format": "json"})

    assert ok(response)["openapi"].startswith("3.")
    assert "json" in response["Content-Type"]


@pytest.mark.parametrize(("method", "path", "success", "errors"), CASES)
def test_every_endpoint_is_described(schema, method, path, success, errors):
    assert method in schema["paths"].get(path, {}), sorted(schema["paths"])


@pytest.mark.parametrize(("method", "path", "success", "errors"), CASES)
def test_every_endpoint_documents_its_success(schema, method, path, success, errors):
    assert str(success) in schema["paths"][path][method]["responses"]


@pytest.mark.parametrize(("method", "path", "success", "errors"), CASES)
def test_every_endpoint_documents_its_error_responses(schema, method, path, success, errors):
    responses = schema["paths"][path][method]["responses"]

    assert {str(code) for code in errors} <= set(responses), sorted(responses)
    assert all(responses[str(code)].get("description") for code in errors)


def component(schema: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    return schema["components"]["schemas"][ref["$ref"].removeprefix("#/components/schemas/")]


@pytest.mark.parametrize("name", ["Metric", "MetricRequest", "PatchedMetricRequest"])
def test_a_metrics_definition_is_the_union_of_every_version(schema, name):
    definition = schema["components"]["schemas"][name]["properties"]["definition"]

    (reference,) = definition["allOf"]  # beside the field's description
    union = component(schema, reference)
    assert "version 2" in definition["description"]

    versions = [component(schema, ref) for ref in union["anyOf"]]
    assert [v["title"] for v in versions] == ["DefinitionV1", "EventDefinition", "RatioDefinition"]
    assert [v["properties"]["version"]["const"] for v in versions] == [1, 2, 2]
    assert all(v["additionalProperties"] is False for v in versions)


def test_every_part_of_a_definition_is_published_under_its_own_name(schema):
    components = schema["components"]["schemas"]
    ratio = components["RatioDefinition"]["properties"]
    event = components["EventDefinition"]["properties"]

    assert component(schema, ratio["numerator"])["properties"]["aggregation"] == {
        "$ref": "#/components/schemas/DefinitionPartAggregation"
    }
    assert components["DefinitionPartAggregation"]["enum"] == ["count", "sum", "occurrence"]
    assert components["DefinitionCapType"]["enum"] == ["absolute", "percentile"]
    assert components["DefinitionQuantileLevel"]["enum"] == ["event", "identity"]
    assert {"$ref": "#/components/schemas/DefinitionQuantile"} in event["quantile"]["anyOf"]
    # the result document's Window is another one
    assert set(components["DefinitionWindow"]["properties"]) == {"hours"}
    assert set(components["Window"]["properties"]) == {"start", "end"}
    refs = [v for v in _walk(schema) if isinstance(v, str) and v.startswith("#/")]
    assert all(ref.removeprefix("#/components/schemas/") in components for ref in refs), refs


def _walk(value: Any):
    """Every value nested in a JSON document."""
    yield value
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        yield from _walk(child)


@pytest.mark.parametrize(
    ("name", "reduction"),
    [
        ("ExperimentMetric", "VarianceReduction"),
        ("ExperimentMetricRequest", "VarianceReductionRequest"),
    ],
)
def test_an_attachments_variance_reduction_is_a_lookback_or_null(schema, name, reduction):
    field = schema["components"]["schemas"][name]["properties"]["variance_reduction"]

    assert field["oneOf"] == [{"$ref": f"#/components/schemas/{reduction}"}, {"type": "null"}]
    lookback = schema["components"]["schemas"][reduction]["properties"]["lookback_days"]
    assert (lookback["type"], lookback["minimum"], lookback["maximum"]) == ("integer", 1, 365)
