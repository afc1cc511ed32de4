"""``liftlab events import|stats`` and ``liftlab eventstore init``, run in-process."""

from __future__ import annotations

import json
import uuid

import pytest

from liftlab.accounts.models import Environment
from liftlab.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture
def environment() -> Environment:
    return Environment.objects.create(name="Production")


def write_events(path, events):
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return path


GOOD = [
    {"event": "signup", "identifier": "u1", "timestamp": "2026-01-01T10:00:00Z"},
    {"event": "signup", "identifier": "u2", "timestamp": "2026-01-01T11:00:00Z"},
    {"event": "purchase", "identifier": "u1", "timestamp": "2026-01-02T10:00:00Z"},
]


def test_import_reports_and_exits_zero_when_all_is_stored(environment, tmp_path, capsys):
    path = write_events(tmp_path / "e.ndjson", GOOD)
    assert main(["events", "import", str(path), f"--environment={environment.key}"]) == 0
    assert "e.ndjson: 3 stored, 0 already stored, 0 rejected" in capsys.readouterr().out


def test_import_exits_non_zero_and_lists_rejections(environment, tmp_path, capsys):
    path = write_events(tmp_path / "e.ndjson", [*GOOD, {"event": "x"}])
    assert main(["events", "import", str(path), f"--environment={environment.key}"]) == 1
    out = capsys.readouterr().out
    assert "3 stored, 0 already stored, 1 rejected" in out
    assert "line 4: identifier is missing or empty" in out


def test_import_into_an_unknown_environment_is_a_clean_error(tmp_path, capsys):
    path = write_events(tmp_path / "e.ndjson", GOOD)
    assert main(["events", "import", str(path), "--environment=nope"]) == 2
    assert "no environment has the key 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.ndjson", None, "no such file"),
        ("e.txt", "[]", "use .ndjson"),
        ("e.csv", "event,identifier,nope\n", "unknown column(s) nope"),
    ],
)
def test_import_of_an_unusable_file_is_a_clean_error(
    environment, tmp_path, capsys, name, content, message
):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert main(["events", "import", str(path), f"--environment={environment.key}"]) == 2
    assert message in capsys.readouterr().err


def test_stats_counts_events_and_identities_by_day(environment, tmp_path, capsys):
    main(
        [
            "events",
            "import",
            str(write_events(tmp_path / "e.ndjson", GOOD)),
            f"--environment={environment.key}",
        ]
    )
    capsys.readouterr()
    assert main(["events", "stats", f"--environment={environment.key}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["day", "event", "events", "identities"]
    assert [line.split() for line in lines[1:]] == [
        ["2026-01-01", "signup", "2", "2"],
        ["2026-01-02", "purchase", "1", "1"],
    ]


def test_stats_of_an_empty_environment(environment, capsys):
    assert main(["events", "stats", f"--environment={environment.key}"]) == 0
    assert "no events stored" in capsys.readouterr().out


def test_init_prints_single_node_ddl(capsys):
    assert main(["eventstore", "init", "--print"]) == 0
    out = capsys.readouterr().out
    assert "CREATE TABLE IF NOT EXISTS `default`.events" in out
    assert out.rstrip().endswith(";")


def test_init_prints_cluster_ddl(capsys):
    assert main(["eventstore", "init", "--print", "--cluster", "main"]) == 0
    out = capsys.readouterr().out
    assert "ReplicatedReplacingMergeTree" in out
    assert "Distributed(`main`" in out


def test_init_creates_the_table_idempotently(capsys):
    assert main(["eventstore", "init"]) == 0
    assert main(["eventstore", "init"]) == 0
    assert "events table ready in chdb://" in capsys.readouterr().out


def test_init_on_a_cluster_the_engine_does_not_know_is_a_clean_error(capsys):
    assert main(["eventstore", "init", "--cluster", f"c{uuid.uuid4().hex[:6]}"]) == 2
    assert "event store:" in capsys.readouterr().err
