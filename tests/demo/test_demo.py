"""`liftlab demo --no-serve` end to end: a real server child, real ingestion, frozen results.

The demo's verdicts are checked against the simulated truth by the demo itself; here we
check what it printed against the truth we know independently (the scenario's effects).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from liftlab.demo.truth import expected_verdict

USERS = 30_000


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory) -> tuple[int, str]:
    home = tmp_path_factory.mktemp("demo-home")
    env = {**os.environ, "LIFTLAB_HOME": str(home)}
    for inherited in ("EVENTSTORE_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(inherited, None)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "liftlab",
            "demo",
            "--no-serve",
            "--users",
            str(USERS),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    return run.returncode, run.stdout + run.stderr


def truth_rows(output: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(metric, variant) → (expected, verdict) from the printed truth table."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 7 and cells[-1] in ("✓ matches", "✗ differs"):
            rows[(cells[0], cells[1])] = (cells[4], cells[5])
    return rows


def test_the_demo_runs_every_step_and_prints_the_results(demo_output):
    code, output = demo_output
    assert code == 0, output
    for step in ("1. environment", "2. experiment", "3. simulated", "4. completed"):
        assert step in output, output
    assert f"Exposed identities: {USERS:,}" in output
    assert re.search(r"Results page: http://127\.0\.0\.1:\d+/environments/", output)
    assert "API token:" in output


def test_the_strong_effects_get_the_right_verdicts(demo_output):
    _, output = demo_output
    rows = truth_rows(output)
    assert len(rows) == 10, output
    # +15 % conversion and +40 % errors are far beyond the noise at this size.
    assert rows[("Checkout conversion", "one_click")] == ("win", "win")
    assert rows[("Checkout errors", "one_click")] == ("loss", "loss")
    for (metric, variant), (expected, _) in rows.items():
        if variant == "express":
            assert expected in ("inconclusive", "pass"), (metric, expected)


def test_expected_verdicts_follow_direction_and_polarity():
    assert expected_verdict(0.1, "increase", True) == "win"
    assert expected_verdict(-0.1, "increase", True) == "loss"
    assert expected_verdict(-0.1, "decrease", True) == "win"
    assert expected_verdict(0.0, "increase", True) == "inconclusive"
    assert expected_verdict(0.4, "no_change", False) == "loss"
    assert expected_verdict(-0.4, "no_change", False) == "pass"
    assert expected_verdict(0.0, "no_change", False) == "pass"
