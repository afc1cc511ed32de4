"""Request bodies that are not what a JSON endpoint expects: a 4xx naming the body, never a 500.

The management API parses bodies itself (``liftlab.api.parsers``): JSON only, bounded in
nesting (``'[' * 100000`` used to be a RecursionError, a 500) and in size.
"""

from __future__ import annotations

import json

import pytest

from liftlab.api.parsers import MAX_BODY_DEPTH, nested_deeper_than

from . import paths
from .bodies import experiment_body, metric_body
from .expect import refused

DEEP = "[" * 100_000


@pytest.fixture
def endpoints(environment, create_experiment, create_metric) -> list[tuple[str, str]]:
    """(method, url) of every management endpoint that reads a body."""
    key = environment.key
    experiment, metric = create_experiment(), create_metric()
    return [
        ("POST", paths.ENVIRONMENTS),
        ("PATCH", paths.environment(key)),
        ("POST", paths.members(key)),
        ("PATCH", paths.members(key, "victor")),
        ("POST", paths.metrics(key)),
        ("PATCH", paths.metrics(key, metric["id"])),
        ("POST", paths.experiments(key)),
        ("PATCH", paths.experiments(key, experiment["id"])),
        ("POST", paths.experiments(key, experiment["id"], "start")),
        ("POST", paths.attachments(key, experiment["id"])),
    ]


def _send(client, method: str, url: str, body: str | bytes, content_type="application/json"):
    client.raise_request_exception = False
    return client.generic(method, url, body, content_type=content_type)


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        "{" * 50_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        "[" * 5_000 + "]" * 5_000,
        json.dumps(json.loads("[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1))),
    ],
    ids=["unclosed-arrays", "unclosed-objects", "deep-objects", "deep-arrays", "just-too-deep"],
)
def test_deeply_nested_json_is_a_400_naming_the_body(superuser, endpoints, body):
    for method, url in endpoints:
        detail = refused(_send(superuser, method, url, body), 400, "detail")["detail"]

        assert "body" in detail and "levels deep" in detail, (method, url, detail)


@pytest.mark.parametrize(
    "body",
    ["{", "[1,]", "NaN", '{"name": Infinity}', '{"name": 1e400}', '{"a": "\\x"}', "\ufeff{}"],
    ids=["unclosed", "trailing-comma", "nan", "infinity", "overflow", "bad-escape", "bom"],
)
def test_malformed_json_is_a_400_naming_the_body(superuser, endpoints, body):
    for method, url in endpoints:
        detail = refused(_send(superuser, method, url, body), 400, "detail")["detail"]

        assert "body" in detail, (method, url, detail)


def test_a_body_that_is_not_utf8_is_a_400(superuser, endpoints):
    for method, url in endpoints:
        refused(_send(superuser, method, url, b'{"name": "\xff"}'), 400, "detail")


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
)
def test_only_json_is_read(superuser, endpoints, content_type):
    for method, url in endpoints:
        refused(_send(superuser, method, url, "name=x", content_type), 415)


def test_a_body_over_the_size_limit_is_a_413(superuser, settings, environment):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps(metric_body(description="x" * 2_000))

    refused(_send(superuser, "POST", paths.metrics(environment.key), body), 413)


def test_nesting_within_the_limit_reaches_the_field_checks(admin, environment):
    """Free JSON fields keep their own, tighter limit, and name the field."""
    deep = json.loads("[" * 40 + "]" * 40)
    body = experiment_body(analysis={"prior": deep})

    refused(_send(admin, "POST", paths.experiments(environment.key), json.dumps(body)), 400)


@pytest.mark.parametrize(
    ("text", "deeper_than_2"),
    [
        ("[]", False),
        ("[[]]", False),
        ("[[[]]]", True),
        ('{"a": [{"b": 1}]}', True),
        ('["[[[[", "]]]]"]', False),  # brackets inside strings do not nest
        ('["\\"[[[["]', False),  # nor do brackets after an escaped quote
        ("[{]}", False),  # unbalanced: the decoder reports it
        ("[[[", True),
    ],
)
def test_nesting_is_counted_outside_strings(text, deeper_than_2):
    assert nested_deeper_than(text, 2) is deeper_than_2
