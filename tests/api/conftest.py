"""Fixtures for the API tests: people with each role, an environment, and object factories.

Objects are created through the API itself (as the environment's admin) so every test starts
from states the service can actually reach; only users, tokens and environments are made
directly, because creating them is what the tests of those endpoints are for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from liftlab.accounts.models import Environment, Membership, Role

from . import paths
from .bodies import experiment_body, metric_body
from .expect import created
from .results_data import experiment_with_metrics  # noqa: F401 (a fixture for results tests)

Factory = Callable[..., dict[str, Any]]


@pytest.fixture(autouse=True)
def _database(db: None) -> None:
    """Every API test reads or writes the model database."""


@pytest.fixture(autouse=True)
def _static_files_looked_up_lazily(settings) -> None:
    """WhiteNoise scans every app's static files each time a client builds its middleware (once
    per process in production); these tests build hundreds of clients and fetch no static file."""
    settings.WHITENOISE_AUTOREFRESH = True


def make_user(username: str, *, superuser: bool = False):
    """A user as `liftlab user create` makes one: no password, a token for the API."""
    user = get_user_model().objects.create(
        username=username, is_superuser=superuser, is_staff=superuser
    )
    Token.objects.create(user=user)
    return user


def client_for(user) -> APIClient:
    """An API client that authenticates every request with the user's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


def make_environment(admin, *, viewer=None, **fields: Any) -> Environment:
    environment = Environment.objects.create(name=fields.pop("name", "Production"), **fields)
    Membership.objects.create(environment=environment, user=admin, role=Role.ADMIN)
    if viewer is not None:
        Membership.objects.create(environment=environment, user=viewer, role=Role.VIEWER)
    return environment


@pytest.fixture
def superuser_user():
    return make_user("root", superuser=True)


@pytest.fixture
def admin_user():
    return make_user("alice")


@pytest.fixture
def viewer_user():
    return make_user("victor")


@pytest.fixture
def outsider_user():
    return make_user("olga")


@pytest.fixture
def superuser(superuser_user) -> APIClient:
    return client_for(superuser_user)


@pytest.fixture
def admin(admin_user) -> APIClient:
    return client_for(admin_user)


@pytest.fixture
def viewer(viewer_user) -> APIClient:
    return client_for(viewer_user)


@pytest.fixture
def outsider(outsider_user) -> APIClient:
    return client_for(outsider_user)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def environment(admin_user, viewer_user) -> Environment:
    """alice administers it, victor views it; root (a superuser) and olga are not members."""
    return make_environment(admin_user, viewer=viewer_user)


@pytest.fixture
def colleague_user(admin_user, outsider_user):
    """olga, who shares an environment ("Shared") with alice: alice may add her to others.

    An admin adds only people who already share an environment with them (a superuser adds
    anyone), so that adding a member tells nobody which usernames exist.
    """
    shared = Environment.objects.create(name="Shared")
    Membership.objects.create(environment=shared, user=admin_user, role=Role.ADMIN)
    Membership.objects.create(environment=shared, user=outsider_user, role=Role.VIEWER)
    return outsider_user


@pytest.fixture
def other_environment(outsider_user) -> Environment:
    """An environment olga administers and nobody else belongs to."""
    return make_environment(outsider_user, name="Elsewhere")


@pytest.fixture
def create_metric(admin, environment) -> Factory:
    """`create_metric(**fields)`: a metric in `environment` made by alice (or `key`/`client`)."""

    def create(key: str = environment.key, client: APIClient = admin, **fields: Any):
        return created(client.post(paths.metrics(key), metric_body(**fields), format="json"))

    return create


@pytest.fixture
def create_experiment(admin, environment) -> Factory:
    """`create_experiment(**fields)`: a draft 50/50 experiment on a fresh flag."""

    def create(key: str = environment.key, client: APIClient = admin, **fields: Any):
        body = experiment_body(**fields)
        return created(client.post(paths.experiments(key), body, format="json"))

    return create


@pytest.fixture
def attach(admin, environment) -> Factory:
    """`attach(experiment_id, metric_id, **fields)`: the attachment, expected to increase."""

    def create(
        experiment_id: int,
        metric_id: int,
        key: str = environment.key,
        client: APIClient = admin,
        **fields: Any,
    ):
        body = {"metric": metric_id, "expected_direction": "increase", **fields}
        return created(client.post(paths.attachments(key, experiment_id), body, format="json"))

    return create


@pytest.fixture
def transition(admin, environment) -> Callable[..., None]:
    """Move an experiment along its lifecycle through the API, e.g. ``transition(id, "start")``."""

    def move(experiment_id: int, *actions: str, key: str = environment.key) -> None:
        for action in actions:
            response = admin.post(paths.experiments(key, experiment_id, action))
            assert response.status_code == 200, response.content

    return move
