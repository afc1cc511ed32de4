"""``GET /api/v1/experiment-flags/``: what an SDK learns with its ingestion key."""

from __future__ import annotations

import requests
from tests.sources.experiments import running_experiment

from liftlab.sdk import Client, DeliveryError, FlagExperiment


def test_the_flags_of_running_and_paused_experiments_only(server):
    running = running_experiment(server)
    draft = requests.post(
        f"{running.root}/experiments/",
        json={
            "name": "not started",
            "feature_name": "later",
            "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}],
            "control_variant": "a",
        },
        headers=server.admin,
        timeout=30,
    )
    assert draft.status_code == 201, draft.text
    answer = requests.get(
        f"{server.base}/api/v1/experiment-flags/",
        headers={"Authorization": f"Bearer {running.secret}"},
        timeout=30,
    )
    assert answer.json() == {
        "flags": [
            {
                "flag": running.flag,
                "experiment": running.experiment,
                "exposure_event": "$flag_exposure",
                "variants": ["control", "treatment"],
            }
        ]
    }
    client = Client(running.secret, server.base)
    assert client.experiment_flags() == {
        running.flag: FlagExperiment(running.experiment, "$flag_exposure")
    }
    client.close()


def test_another_environment_sees_its_own_and_no_key_sees_nothing(server):
    first, second = running_experiment(server), running_experiment(server)
    client = Client(second.secret, server.base)
    assert client.experiment_flags() == {
        second.flag: FlagExperiment(second.experiment, "$flag_exposure")
    }
    client.close()
    assert first.flag != second.flag
    anonymous = requests.get(f"{server.base}/api/v1/experiment-flags/", timeout=30)
    assert anonymous.status_code == 401
    stranger = Client("ll_ik_notakey", server.base)
    try:
        stranger.experiment_flags()
    except DeliveryError as error:
        assert error.status == 401
    else:
        raise AssertionError("an unknown key learned flags")
    finally:
        stranger.close()
