"""A small client for liftlab's own REST API, so the demo goes through the real paths."""

from __future__ import annotations

from typing import Any

import requests


class ApiError(Exception):
    """The service refused a request: carries the status and the body it answered with."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:500]}")
        self.status = status


class ApiClient:
    def __init__(self, base_url: str, token: str, timeout: float = 300) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def request(self, method: str, path: str, json: Any = None) -> Any:
        response = self.session.request(
            method, self.base_url + path, json=json, timeout=self.timeout
        )
        if response.status_code >= 400:
            raise ApiError(method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json)
