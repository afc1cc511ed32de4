"""What the API must answer: the status, a JSON body, and for errors the field they name."""

from __future__ import annotations

from typing import Any


def created(response) -> dict[str, Any]:
    """The body of a 201, failing with the body when the API refused."""
    assert response.status_code == 201, response.content
    return response.json()


def ok(response) -> Any:
    """The body of a 200, failing with the body otherwise."""
    assert response.status_code == 200, response.content
    return response.json()


def refused(response, status: int, field: str | None = None) -> dict[str, Any]:
    """A JSON error with `status` whose body names `field` (a full path for nested input)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    if field is not None:
        assert field in body, body
    return body
