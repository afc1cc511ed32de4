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
from tests.web import documents

from liftlab.demo.truth import check_caps, check_decisions, check_verdicts, expected_verdict
from liftlab.simulate import MetricTruth

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


def truth_rows(output: str) -> tuple[dict, dict]:
    """From the printed truth table: (metric, variant) → (expected, verdict), and
    variant → (expected decision, decision)."""
    verdicts, decisions = {}, {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 7 and cells[-1] in ("✓ matches", "✗ differs"):
            if cells[0] == "→ decision":
                decisions[cells[1]] = (cells[4], cells[5])
            else:
                verdicts[(cells[0], cells[1])] = (cells[4], cells[5])
    return verdicts, decisions


def test_the_demo_runs_every_step_and_prints_the_results(demo_output):
    code, output = demo_output
    assert code == 0, output
    for step in ("1. environment", "2. experiment", "3. simulated", "4. completed"):
        assert step in output, output
    assert "in the 14 days before each user's first exposure" in output
    assert f"Exposed identities: {USERS:,}" in output
    assert "Decision" in output and "one_click: DO NOT SHIP" in output
    assert "Analysis — method: frequentist, fixed horizon" in output
    assert "Benjamini–Hochberg" in output and "95 % CI" in output
    assert "non-inferiority bound (margin)" in output and "(margin +10.0%)" in output
    assert "(margin +5.00%)" in output  # the latency guardrail's
    assert "CUPED (14 days before exposure)" in output
    assert re.search(r"Revenue per user: capped at [\d,.]+ from these users, at [\d,.]+ in", output)
    assert re.search(r"Results page: http://127\.0\.0\.1:\d+/environments/", output)
    assert "API token:" in output
    # the simulator sent with an ingestion key the demo made through the API
    assert re.search(r"ingestion key ll_ik_[A-Za-z0-9]{12}…", output), output


def test_the_strong_effects_get_the_right_verdicts_and_decision(demo_output):
    _, output = demo_output
    verdicts, decisions = truth_rows(output)
    assert len(verdicts) == 14 and len(decisions) == 2, output
    # Far beyond the noise at this size: +15 % conversion, −10 % clicks per session, +40 %
    # errors, +10 % on the p90 latency. (Capped revenue's +15 % is not: it needs more users.)
    assert verdicts[("Checkout conversion", "one_click")] == ("win", "win")
    assert verdicts[("Clicks per session", "one_click")] == ("win", "win")
    assert verdicts[("Checkout errors", "one_click")] == ("loss", "loss")
    assert verdicts[("Page latency p90", "one_click")] == ("loss", "loss")
    assert decisions["one_click"] == ("do_not_ship", "do_not_ship")
    for (metric, variant), (expected, _) in verdicts.items():
        if variant == "express":
            assert expected in ("inconclusive", "pass"), (metric, expected)
    assert decisions["express"][0] == "no_decision"


def test_expected_verdicts_follow_role_direction_and_polarity():
    assert expected_verdict(0.1, "increase", True) == "win"
    assert expected_verdict(-0.1, "increase", True) == "loss"
    assert expected_verdict(-0.1, "decrease", True) == "win"
    assert expected_verdict(0.0, "increase", True) == "inconclusive"
    assert expected_verdict(0.0, "decrease", False, "secondary") == "inconclusive"
    # guardrails and "no change" metrics: harm is a loss, anything else passes
    assert expected_verdict(0.4, "no_change", False) == "loss"
    assert expected_verdict(-0.4, "no_change", False) == "pass"
    assert expected_verdict(0.0, "no_change", False) == "pass"
    assert expected_verdict(0.0, "increase", True, "guardrail") == "pass"
    assert expected_verdict(0.1, "increase", True, "guardrail") == "pass"
    assert expected_verdict(-0.1, "increase", True, "guardrail") == "loss"


def test_the_expected_decision_follows_the_engine_rules_on_the_expected_verdicts():
    three = {"control": 5000, "treatment": 5012, "treatment_b": 4990}
    document = documents.build(
        1, [documents.checkout(1, three), documents.latency(2, three)], n=three, final=True
    )
    truth = {
        "1": {"treatment": 0.25, "treatment_b": 0.0},
        "2": {"treatment": 0.0, "treatment_b": 0.08},
    }
    verdicts = check_verdicts(document, truth, "control")
    assert [(r["variant"], r["expected"], r["verdict"]) for r in verdicts] == [
        ("treatment", "win", "win"),
        ("treatment_b", "inconclusive", "inconclusive"),
        ("treatment", "pass", "pass"),
        ("treatment_b", "loss", "loss"),
    ]
    assert check_decisions(document, verdicts, "control") == [
        {"variant": "treatment", "expected": "ship", "decision": "ship", "matches": True},
        {
            "variant": "treatment_b",
            "expected": "do_not_ship",
            "decision": "do_not_ship",
            "matches": True,
        },
    ]


def test_a_capped_metric_shows_its_applied_cap_beside_the_true_one():
    n = {"control": 5000, "treatment": 5012}
    document = documents.build(1, [documents.checkout(1, n), documents.latency(2, n)], n=n)
    document["metrics"][1]["cap"] = {"type": "percentile", "value": 0.99, "applied": 96.5}
    truths = {
        "1": MetricTruth({"control": 0.2, "treatment": 0.25}),
        "2": MetricTruth({"control": 1200.0, "treatment": 1195.0}, cap=95.78),
    }
    assert check_caps(document, truths, "control") == [
        {"metric": "Latency", "applied": 96.5, "true": 95.78}
    ]
