"""The ingestion endpoints read the key, environment and exposure events in one query.

The query replaces two ORM queries per batch; nothing is cached, so each batch sees the
database as it is: a revoked or rotated-away key, an environment with experimentation off,
an experiment created or deleted a moment before.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from liftlab.accounts.models import Environment
from liftlab.experiments.models import Experiment
from liftlab.ingestion_keys.auth import authenticate_with_exposures
from liftlab.ingestion_keys.models import IngestionKey
from liftlab.ingestion_keys.services import revoke_key, rotate_key

from .test_api import SECRETS, batch, send, sendable, stored

pytestmark = pytest.mark.django_db
NEEDS_A_FLAG = "needs a feature_name and a value"


def experiment(environment: Environment, exposure_event: str, name: str = "Paywall") -> Experiment:
    return Experiment.objects.create(
        environment=environment,
        name=name,
        feature_name=name.lower(),
        variants=[{"key": "control", "weight": 0.5}, {"key": "test", "weight": 0.5}],
        control_variant="control",
        exposure_event=exposure_event,
    )


def first_error(response) -> str:
    return response.json()["rejected"][0]["error"]


@pytest.fixture
def environment() -> Environment:
    return sendable(Environment.objects.create(name="Production"))


def test_a_batch_costs_one_database_query_once_the_keys_use_is_recorded(environment):
    experiment(environment, "saw_paywall")
    assert send(environment.key, json.dumps(batch(1)).encode()).status_code == 202
    with CaptureQueriesContext(connection) as queries:
        response = send(environment.key, json.dumps(batch(1, event="saw_paywall")).encode())
    assert NEEDS_A_FLAG in first_error(response)  # the experiment's rules were applied
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_the_credential_is_the_orms_key_environment_and_exposure_events(environment):
    experiment(environment, "saw_paywall")
    experiment(environment, "saw_paywall", name="Paywall 2")  # the same event, listed once
    experiment(environment, "opened_cart", name="Cart")
    experiment(sendable(Environment.objects.create(name="Other")), "elsewhere", name="Other")
    deleted = experiment(environment, "gone", name="Gone")
    deleted.deleted_at = timezone.now()
    deleted.save()
    # Read first: authenticating records the key's use (last_used_at) after reading its row.
    key = IngestionKey.objects.select_related("environment").get(environment=environment)
    credential = authenticate_with_exposures(SECRETS[environment.key])
    assert credential is not None
    assert credential.exposure_events == {"saw_paywall", "opened_cart"}
    assert credential.environment == environment
    assert [getattr(credential.environment, f.attname) for f in Environment._meta.fields] == [
        getattr(key.environment, f.attname) for f in Environment._meta.fields
    ]
    assert [getattr(credential.key, f.attname) for f in IngestionKey._meta.fields] == [
        getattr(key, f.attname) for f in IngestionKey._meta.fields
    ]
    assert type(credential.environment.experimentation_enabled) is bool


def test_an_environment_without_experiments_has_no_exposure_events_of_its_own(environment):
    credential = authenticate_with_exposures(SECRETS[environment.key])
    assert credential is not None and credential.exposure_events == frozenset()


def test_each_batch_sees_experiments_created_and_deleted_just_before(environment):
    body = json.dumps(batch(1, event="saw_paywall")).encode()
    assert send(environment.key, body).json()["accepted"] == 1
    created = experiment(environment, "saw_paywall")
    assert NEEDS_A_FLAG in first_error(send(environment.key, body))
    created.deleted_at = timezone.now()
    created.save()
    body = json.dumps(batch(1, event="saw_paywall")).encode()
    assert send(environment.key, body).json()["accepted"] == 1


def test_a_revoked_or_rotated_key_is_refused_from_its_next_batch(environment):
    body = json.dumps(batch(1)).encode()
    assert send(environment.key, body).status_code == 202
    key = IngestionKey.objects.get(environment=environment)
    new_secret = rotate_key(key, None)
    assert send(environment.key, json.dumps(batch(1)).encode()).status_code == 401
    assert send(new_secret, json.dumps(batch(1)).encode()).status_code == 202
    revoke_key(IngestionKey.objects.get(environment=environment), None)
    assert send(new_secret, json.dumps(batch(1)).encode()).status_code == 401
    assert stored(environment) == 2


def test_experimentation_switched_off_is_a_403_from_the_next_batch(environment):
    assert send(environment.key, json.dumps(batch(1)).encode()).status_code == 202
    Environment.objects.filter(pk=environment.pk).update(experimentation_enabled=False)
    response = send(environment.key, json.dumps(batch(1)).encode())
    assert response.status_code == 403
    assert stored(environment) == 1


def test_a_key_of_the_right_shape_but_wrong_secret_is_refused(environment):
    secret = SECRETS[environment.key]
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert authenticate_with_exposures(forged) is None
    assert send(forged, json.dumps(batch(1)).encode()).status_code == 401


@pytest.mark.parametrize("vendor", ["segment", "posthog"])
def test_segment_and_posthog_batches_cost_one_query_too(environment, vendor):
    """Their keys are read by the same query, and the rules come with them."""
    secret = SECRETS[environment.key]
    experiment(environment, "saw_paywall")
    if vendor == "segment":
        path, headers = "/v1/batch", {"HTTP_AUTHORIZATION": basic(secret)}

        def body(event: str) -> dict:
            message = {"type": "track", "event": event, "userId": "u1"}
            return {"batch": [{**message, "messageId": str(uuid.uuid4())}]}
    else:
        path, headers = "/batch/", {}

        def body(event: str) -> dict:
            message = {"event": event, "distinct_id": "u1", "uuid": str(uuid.uuid4())}
            return {"api_key": secret, "batch": [message]}

    def post(event: str):
        return APIClient().post(path, body(event), format="json", **headers)

    assert post("signup").json()["accepted"] == 1
    with CaptureQueriesContext(connection) as queries:
        response = post("saw_paywall")
    assert NEEDS_A_FLAG in first_error(response)  # the experiment's rules were applied
    assert len(queries) == 1, [q["sql"] for q in queries]


def basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"{secret}:".encode()).decode()
