"""``rm -rf $LIFTLAB_HOME/events`` under a running ``liftlab serve``: no batch is acknowledged
after it, results say the store is unavailable (without a path), and after a restart the
refused batch can be sent again and is stored. Across processes: the server child holds the
folder (tests/ingest/test_restarts.py explains why each test has its own LIFTLAB_HOME)."""

from __future__ import annotations

import shutil

import pytest
import requests
from tests.api import paths
from tests.api.bodies import experiment_body, metric_body
from tests.ingest.test_restarts import batches, home, kill, run  # noqa: F401 (home: a fixture)

from liftlab.demo.server import serve_on_free_port

MISSING = "The event store is unavailable: its data folder is missing or was replaced."

SETUP = (
    "from liftlab.cli.server import migrate; migrate();"
    "from django.contrib.auth import get_user_model;"
    "from rest_framework.authtoken.models import Token;"
    "from liftlab.accounts.models import Environment;"
    "from liftlab.ingestion_keys.services import create_key;"
    "user = get_user_model().objects.create(username='root', is_superuser=True, is_staff=True);"
    "environment = Environment.objects.create(name='Production');"
    "print(environment.key, create_key(environment, 'tests', None)[1],"
    " Token.objects.create(user=user).key)"
)


def send(base: str, secret: str, events: list[dict]) -> requests.Response:
    headers = {"Authorization": f"Bearer {secret}"}
    return requests.post(base + "/api/v1/events/", json=events, headers=headers, timeout=60)


def running_experiment(base: str, token: str, key: str) -> str:
    """Through the API: a metric, an experiment measuring it, started; its results URL."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    metric = session.post(base + paths.metrics(key), json=metric_body(), timeout=30).json()
    experiment = session.post(base + paths.experiments(key), json=experiment_body(), timeout=30)
    experiment_id = experiment.json()["id"]
    attach = {"metric": metric["id"], "expected_direction": "increase"}
    assert session.post(base + paths.attachments(key, experiment_id), json=attach, timeout=30).ok
    assert session.post(base + paths.experiments(key, experiment_id, "start"), timeout=30).ok
    return base + paths.experiments(key, experiment_id, "results")


@pytest.mark.slow
def test_no_batch_is_acknowledged_once_the_event_folder_is_gone(home, tmp_path):  # noqa: F811
    key, secret, token = run(home, "-c", SETUP).stdout.split()
    first, second = batches(2)
    server, base = serve_on_free_port(home, str(tmp_path / "server.log"))
    try:
        results = running_experiment(base, token, key)
        assert send(base, secret, first).status_code == 202
        shutil.rmtree(f"{home['LIFTLAB_HOME']}/events")
        refused = send(base, secret, second)
        assert refused.status_code == 503, refused.text
        assert refused.json()["detail"] == f"{MISSING} Please retry later."
        answer = requests.get(results, headers={"Authorization": f"Token {token}"}, timeout=60)
        assert answer.status_code == 503, answer.text
        assert "/" not in answer.json()["detail"]
        assert send(base, secret, second).status_code == 503  # and it stays so
    finally:
        kill(server)
    log = (tmp_path / "server.log").read_text()
    assert "events" in log and "missing" in log  # the operator is told what and where

    server, base = serve_on_free_port(home, str(tmp_path / "server.log"))
    try:
        again = send(base, secret, second)
    finally:
        kill(server)
    assert again.status_code == 202
    assert (again.json()["accepted"], again.json()["duplicates"]) == (len(second), 0)
