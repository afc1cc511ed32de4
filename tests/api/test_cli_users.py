"""`liftlab user create NAME [--superuser]`: one line on stdout, the token, and it works."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from liftlab.cli import main

from . import paths


def create_user(capsys, *args: str) -> str:
    assert main(["user", "create", *args]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1 and out.endswith("\n"), out
    return lines[0]


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_the_printed_token_authenticates_the_new_user(capsys, environment):
    token = create_user(capsys, "dana")

    client = client_with(token)

    assert client.get(paths.ENVIRONMENTS).json() == []
    user = get_user_model().objects.get(username="dana")
    assert not user.is_superuser and not user.has_usable_password()
    assert client.post(paths.ENVIRONMENTS, {"name": "P"}, format="json").status_code == 403


def test_a_superuser_token_may_create_environments(capsys):
    token = create_user(capsys, "root2", "--superuser")

    response = client_with(token).post(paths.ENVIRONMENTS, {"name": "P"}, format="json")

    assert response.status_code == 201
    assert get_user_model().objects.get(username="root2").is_superuser


def test_each_user_gets_a_different_token(capsys):
    assert create_user(capsys, "a") != create_user(capsys, "b")


def test_a_duplicate_name_exits_2_with_a_message(capsys, admin_user):
    assert main(["user", "create", "alice"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "alice" in captured.err and "already exists" in captured.err
    assert get_user_model().objects.filter(username="alice").count() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 151])
def test_an_unusable_name_exits_2_with_a_message(capsys, name):
    assert main(["user", "create", name]) == 2

    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("liftlab: ")
    assert not get_user_model().objects.filter(username=name).exists()
