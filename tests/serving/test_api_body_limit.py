"""A management body over DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413 in Django itself too
(whatever server runs it), not Django's HTML "Bad Request (400)" page."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from liftlab.api.exceptions import bad_request


@pytest.fixture
def admin_client(db) -> APIClient:
    user = get_user_model().objects.create(username="root", is_superuser=True, is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_management_body_over_the_limit_is_a_json_413_naming_the_limit(admin_client):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"name": "x" * limit})

    response = admin_client.post("/api/v1/environments/", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": f"The request body is larger than the limit of {limit} bytes."
    }


def test_djangos_own_400s_are_json_under_the_api_and_html_elsewhere():
    factory = RequestFactory()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    too_big = bad_request(factory.post("/api/v1/anything/"), RequestDataTooBig("too big"))
    suspicious = bad_request(factory.get("/api/v1/anything/"), SuspiciousOperation("odd"))
    page = bad_request(factory.post("/environments/"), RequestDataTooBig("too big"))

    assert too_big.status_code == 413
    assert json.loads(too_big.content) == {
        "detail": f"The request body is larger than the limit of {limit} bytes."
    }
    assert suspicious.status_code == 400 and json.loads(suspicious.content) == {
        "detail": "Bad request."
    }
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
