"""The API keeps its published contract, generated case by case by schemathesis.

A live ``liftlab serve`` (``world.py``) with two environments, metrics, experiments in every
state and five identities (superuser, admin, viewer, outsider, anonymous); ``st run`` for each
identity generates requests for every operation of /api/schema/ (examples, coverage and
fuzzing phases, valid and invalid input), with path parameters drawn mostly from the objects
that exist. A run fails on any 5xx, on a response whose body or headers the schema does not
describe, on an undocumented status code, on invalid input accepted, on a wrong 405.

``CONTRACT_MAX_EXAMPLES`` (default 10) and ``CONTRACT_SEED`` (default fixed, so that CI is
repeatable) tune a run; a failure prints schemathesis' report with a curl line to replay it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .world import IDENTITIES, SENDER, LiveServer, World

MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "10"))
SEED = os.environ.get("CONTRACT_SEED", "20261201")
MIN_CASES = 2_000
# Every check (schemathesis' default) but positive_data_acceptance: a body can fit the schema
# and still be refused with a 400 naming the field (weights that do not sum to 1, a username no
# one has). The events endpoint takes a batch whose invalid events it lists under `rejected` in
# its 202 (by design: one bad event never costs the others), so an event that breaks its schema
# is reported, not refused: negative_data_rejection does not apply there. Its
# X-Environment-Key header is drawn from the real keys nine times out of ten (the legacy
# credential, still accepted where an environment allows it), so schemathesis' ignored_auth
# check would read a valid key it chose as "generated auth accepted"; tests/ingest/test_api.py
# proves the events endpoint's 401s instead.
CHECKS = """
[checks]
positive_data_acceptance.enabled = false

[[operations]]
include-path = "/api/v1/events/"
checks.negative_data_rejection.enabled = false
checks.ignored_auth.enabled = false
"""
HOOKS = "tests.contract.hooks"
ROOT = Path(__file__).resolve().parents[2]  # where `tests.contract.hooks` imports from


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    with LiveServer(tmp_path_factory.mktemp("contract")) as world:
        yield world


def config(world: World) -> str:
    """schemathesis.toml: path parameters name real objects nine times out of ten."""

    def dictionary(name: str, values: list) -> str:
        return f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n"

    keys, ids = world.environment_keys, sorted({*world.metric_ids, *world.experiment_ids})
    bindings = {
        "path.environment_key": "environment_keys",
        "path.key": "environment_keys",
        "path.id": "ids",
        "path.experiment_pk": "experiment_ids",
        "path.username": "usernames",
        "header.X-Environment-Key": "environment_keys",
    }
    return "\n".join(
        [
            dictionary("environment_keys", keys),
            dictionary("ids", sorted({*ids, *world.attachment_ids, *world.ingestion_key_ids})),
            dictionary("experiment_ids", world.experiment_ids),
            dictionary("usernames", world.usernames),
            "[parameters]",
            *(f'"{p}" = {{ dictionary = "{d}", probability = 0.9 }}' for p, d in bindings.items()),
            CHECKS,
        ]
    )


def run(world: World, identity: str, folder: Path) -> tuple[int, str]:
    """One ``st run`` as ``identity``: its exit code and its output."""
    config_file = folder / "schemathesis.toml"
    config_file.write_text(config(world))
    headers = [arg for k, v in world.headers(identity).items() for arg in ("-H", f"{k}: {v}")]
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_file),
        "run",
        f"{world.base_url}/api/schema/?format=json",
        *headers,
        "--phases=examples,coverage,fuzzing",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        "--workers=1",  # hypothesis' lambda-source cache is not thread-safe (a FlakyFailure)
        "--request-timeout=60",
        "--warnings=off",
        "--no-color",
        *(["--include-path=/api/v1/events/"] if identity == SENDER else []),
    ]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": path}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=folder)
    output = done.stdout + done.stderr
    (folder / "schemathesis.log").write_text(output)
    return done.returncode, output


def report(output: str) -> str:
    """The failures and errors of a run and its summary, without the progress lines."""
    start = min((output.find(h) for h in ("= ERRORS =", "= FAILURES =") if h in output), default=0)
    return output[output.rfind("\n", 0, max(start, 0)) + 1 :][-20_000:]


@pytest.mark.contract
def test_every_operation_keeps_the_published_contract_for_every_identity(world, tmp_path):
    outcomes = {}
    for identity in [*IDENTITIES, SENDER]:
        folder = tmp_path / identity
        folder.mkdir()
        code, output = run(world, identity, folder)
        generated = re.search(r"(\d+) generated", output)
        outcomes[identity] = (code, int(generated[1]) if generated else 0, output)

    counts = {identity: cases for identity, (_, cases, _) in outcomes.items()}
    print(f"schemathesis cases per identity: {counts}, {sum(counts.values())} in all")
    failed = {identity: output for identity, (code, _, output) in outcomes.items() if code}
    assert not failed, "\n\n".join(f"===== as {who}\n{report(out)}" for who, out in failed.items())
    assert sum(counts.values()) >= MIN_CASES, counts
