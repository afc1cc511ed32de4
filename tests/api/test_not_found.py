"""Unknown URLs under /api/ answer JSON 404s, like every other API error."""

from __future__ import annotations

import pytest

from .expect import refused


@pytest.mark.parametrize(
    "url",
    [
        "/api/",
        "/api/v1/",
        "/api/v1/nothing/",
        "/api/v2/environments/",
        "/api/v1/environments/key/unknown/",
        "/api/v1/environments/key/experiments/1/unknown/",
        "/api/v1/environments/key/experiment-metrics/1/start/",
        "/api/v1/environments/key/audit-log/1/",
    ],
)
@pytest.mark.parametrize("as_who", ["anonymous", "admin"])
def test_unknown_api_urls_are_json_404(request, url, as_who):
    client = request.getfixturevalue(as_who)

    body = refused(client.get(url), 404)

    assert body == {"detail": "Not found."}
