"""Whatever an SDK (or anyone) posts to the Segment and PostHog paths is answered with a 200
or a 4xx that says why, never a 5xx: hypothesis builds the bodies, a real server answers.

These paths are out of the OpenAPI schema (they speak the vendors' protocols), so the
schemathesis contract run does not reach them; this is their fuzzing.
"""

from __future__ import annotations

import base64
import gzip

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sources.experiments import running_experiment

SEGMENT_FIELDS = [
    "type", "userId", "anonymousId", "event", "properties", "traits", "context", "messageId",
    "timestamp", "sentAt", "name", "writeKey",
]  # fmt: skip
POSTHOG_FIELDS = [
    "event", "distinct_id", "properties", "uuid", "timestamp", "$set", "api_key", "token",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["$flag_exposure", "Experiment Viewed", "$feature_flag_called", "2026-01-01"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def messages(fields: list[str]):
    return st.lists(
        st.dictionaries(st.sampled_from(fields), VALUES, max_size=6) | VALUES, max_size=5
    )


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
ANSWERS = {200, 400, 401, 413}


@pytest.fixture(scope="module")
def secret(server) -> str:
    return running_experiment(server).secret


def answered(response: requests.Response) -> int:
    assert response.status_code in ANSWERS, response.text
    assert isinstance(response.json(), dict)
    return response.status_code


@FUZZ
@given(
    batch=messages(SEGMENT_FIELDS),
    top=st.dictionaries(st.sampled_from(["sentAt", "context"]), VALUES),
)
def test_segment_batches(server, secret, batch, top):
    basic = base64.b64encode(f"{secret}:".encode()).decode()
    body = {**top, "batch": batch}
    for path, json in (("batch", body), ("track", batch[0] if batch else body)):
        answer = requests.post(
            f"{server.base}/v1/{path}",
            json=json,
            headers={"Authorization": f"Basic {basic}"},
            timeout=30,
        )
        answered(answer)


@FUZZ
@given(batch=messages(POSTHOG_FIELDS), zipped=st.booleans())
def test_posthog_batches(server, secret, batch, zipped):
    import json

    for path, body in (("batch/", {"api_key": secret, "batch": batch}), ("capture/", batch)):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if zipped:
            data, headers["Content-Encoding"] = gzip.compress(data), "gzip"
        answered(requests.post(f"{server.base}/{path}", data=data, headers=headers, timeout=30))


@FUZZ
@given(raw=st.binary(max_size=200), path=st.sampled_from(["v1/batch", "v1/page", "batch/", "e/"]))
def test_bytes_that_are_not_json(server, secret, raw, path):
    basic = base64.b64encode(f"{secret}:".encode()).decode()
    answer = requests.post(
        f"{server.base}/{path}", data=raw, headers={"Authorization": f"Basic {basic}"}, timeout=30
    )
    answered(answer)
