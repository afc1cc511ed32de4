"""Importing files: three formats, compressed or not, with rejections located in the file."""

from __future__ import annotations

import csv
import gzip
import json
import uuid
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.eventstore.events import count

from liftlab.ingest.files import ImportFileError, import_file

IDS = [str(uuid.uuid4()) for _ in range(4)]
EVENTS = [
    {"event": "signup", "identifier": "u1", "timestamp": 1_767_225_600_000, "event_id": IDS[0]},
    {"event": "purchase", "identifier": "u1", "value": 12.5, "properties": {"plan": "pro"}},
    {"event": "$flag_exposure", "identifier": "u2", "feature_name": "f", "value": "control"},
    {"event": "purchase", "identifier": "u2", "traits": {"country": "NZ"}, "event_id": IDS[1]},
]


def write_ndjson(path, events, *, bad_line: str | None = None):
    lines = [json.dumps(e) for e in events]
    if bad_line is not None:
        lines.insert(1, bad_line)
    text = "\n".join(lines) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


def write_csv(path, events):
    columns = ["event", "identifier", "timestamp", "value", "feature_name", "properties", "traits"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, [*columns, "event_id"])
        writer.writeheader()
        for e in events:
            row = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in e.items()}
            writer.writerow(row)
    return path


@pytest.mark.parametrize("name", ["events.ndjson", "events.jsonl", "events.ndjson.gz"])
def test_ndjson_files_are_imported(store, env_key, tmp_path, name):
    summary = import_file(write_ndjson(tmp_path / name, EVENTS), env_key, store)
    assert (summary.accepted, summary.duplicates, summary.rejected_count) == (4, 0, 0)
    assert count(store, env_key) == 4


def test_a_bad_line_is_rejected_by_its_line_number(store, env_key, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", EVENTS, bad_line='{"event": oops}')
    summary = import_file(path, env_key, store)
    assert summary.accepted == 4
    assert summary.position == "line"
    assert summary.rejected[0]["index"] == 2
    assert summary.rejected[0]["error"].startswith("line is not valid JSON")


def test_nul_characters_reject_their_line_naming_the_field(store, env_key, tmp_path):
    path = write_ndjson(
        tmp_path / "e.ndjson", EVENTS, bad_line='{"event": "a\\u0000", "identifier": "u"}'
    )
    summary = import_file(path, env_key, store)
    assert (summary.accepted, summary.rejected_count) == (4, 1)
    assert summary.rejected[0] == {"index": 2, "error": "event contains a NUL character (\\u0000)"}


def test_csv_cells_are_parsed_like_json_fields(store, env_key, tmp_path):
    summary = import_file(write_csv(tmp_path / "e.csv", EVENTS), env_key, store)
    assert (summary.accepted, summary.rejected_count) == (4, 0)
    rows = store.query(
        "SELECT toString(getSubcolumn(metadata, 'plan')), timestamp FROM events "
        "WHERE environment_key = {env:String} AND event = 'purchase' ORDER BY identifier",
        {"env": env_key},
    ).rows
    assert rows[0][0] == "pro"
    first = store.query(
        "SELECT timestamp FROM events WHERE environment_key = {env:String} AND event = 'signup'",
        {"env": env_key},
    ).rows
    assert first == [(datetime(2026, 1, 1, tzinfo=UTC),)]


def test_csv_rejections_name_the_line(store, env_key, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("event,identifier,properties\nsignup,u1,{}\nsignup,,{}\nsignup,u3,{not json\n")
    summary = import_file(path, env_key, store)
    assert summary.accepted == 1
    assert summary.rejected == [
        {"index": 3, "error": "identifier is missing or empty"},
        {"index": 4, "error": summary.rejected[1]["error"]},
    ]
    assert summary.rejected[1]["error"].startswith("properties is not valid JSON")


def test_a_csv_with_unknown_columns_is_refused_whole(store, env_key, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("event,identifier,user_email\nsignup,u1,a@b.c\n")
    with pytest.raises(ImportFileError, match=r"unknown column.*user_email"):
        import_file(path, env_key, store)
    assert count(store, env_key) == 0


def test_a_csv_that_is_not_utf8_is_refused(store, env_key, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"event,identifier\nsignup,\xff\xfe\n")
    with pytest.raises(ImportFileError, match="line 2 is not UTF-8"):
        import_file(path, env_key, store)


def test_parquet_with_json_text_struct_and_map_columns(store, env_key, tmp_path):
    path = tmp_path / "e.parquet"
    table = pa.table(
        {
            "event": ["signup", "purchase", "purchase"],
            "identifier": ["u1", "u2", None],
            "timestamp": pa.array(
                [datetime(2026, 1, 2, tzinfo=UTC)] * 3, pa.timestamp("ms", tz="UTC")
            ),
            "properties": ['{"plan": "pro"}', None, "{}"],
            "traits": pa.array([[("k", "v")], None, None], pa.map_(pa.string(), pa.string())),
            "event_id": pa.array([uuid.UUID(IDS[2]).bytes, None, None], pa.binary(16)),
        }
    )
    pq.write_table(table, path)
    summary = import_file(path, env_key, store)
    assert (summary.position, summary.accepted) == ("row", 2)
    assert summary.rejected == [{"index": 3, "error": "identifier is missing or empty"}]
    rows = store.query(
        "SELECT traits, toString(event_id) FROM events "
        "WHERE environment_key = {env:String} AND event = 'signup'",
        {"env": env_key},
    ).rows
    assert rows == [('{"k":"v"}', IDS[2])]


def test_importing_a_file_twice_stores_it_once(store, env_key, tmp_path):
    with_ids = [dict(e, event_id=str(uuid.uuid4())) for e in EVENTS]
    path = write_ndjson(tmp_path / "e.ndjson", with_ids)
    import_file(path, env_key, store, batch_size=3)
    again = import_file(path, env_key, store, batch_size=3)
    assert (again.accepted, again.duplicates) == (0, 4)
    assert count(store, env_key) == 4


@pytest.mark.parametrize(("batch_size", "batches"), [(2, 2), (3, 2), (10, 1)])
def test_progress_is_reported_per_batch_up_to_the_whole_file(
    store, env_key, tmp_path, batch_size, batches
):
    path = write_ndjson(tmp_path / "e.ndjson", EVENTS)
    reports: list[tuple[int, int]] = []
    import_file(path, env_key, store, batch_size=batch_size, progress=lambda *r: reports.append(r))
    assert len(reports) == batches
    assert reports[-1] == (path.stat().st_size, path.stat().st_size)


def test_only_a_thousand_rejections_are_kept_but_all_are_counted(store, env_key, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", [{"event": "x"}] * 1500)
    summary = import_file(path, env_key, store)
    assert (summary.rejected_count, len(summary.rejected)) == (1500, 1000)


@pytest.mark.parametrize("name", ["events.json", "events.xlsx", "events", "events.parquet.gz"])
def test_other_file_types_are_refused(store, env_key, tmp_path, name):
    path = tmp_path / name
    path.write_text("[]")
    with pytest.raises(ImportFileError, match=r"use \.ndjson"):
        import_file(path, env_key, store)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("e.parquet", b"PAR1 not really", "not a readable Parquet file"),
        ("e.ndjson.gz", gzip.compress(b'{"event": "a"}\n' * 100, mtime=0)[:40], "not valid gzip"),
        ("e.csv.gz", b"plain text, not gzip", "not valid gzip"),
    ],
)
def test_a_damaged_file_is_refused_with_a_reason(store, env_key, tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=reason):
        import_file(path, env_key, store)
