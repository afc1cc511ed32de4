"""Importing a file of events: NDJSON, CSV or Parquet, streamed in batches through ``ingest``.

Each format is read as (position, raw event) pairs, where the position is what a person
looks up in the file: a line for NDJSON and CSV, a row for Parquet. A record that cannot be
decoded (a bad JSON line, properties that are not JSON text) becomes an ``Unreadable``
that validation rejects, so one bad line never stops an import.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from liftlab import config
from liftlab.eventstore import EventStore
from liftlab.ingest.body import loads
from liftlab.ingest.errors import IngestError
from liftlab.ingest.memory import collector_paused
from liftlab.ingest.pipeline import IngestResult, ingest
from liftlab.ingest.validation import FIELDS, Rules, Unreadable

REPORTED_REJECTIONS = 1000  # the summary keeps the first ones; the count covers all
JSON_TEXT_FIELDS = ("properties", "traits")

Records = Iterator[tuple[int, Any]]
Progress = Callable[[int, int], None]  # (done, total), in the reader's unit of work


class ImportFileError(IngestError):
    """The file cannot be imported at all (unknown format, unknown columns)."""


@dataclass
class ImportSummary:
    """What an import did; ``rejected`` holds ``{"index": line or row, "error"}``."""

    position: str
    accepted: int = 0
    duplicates: int = 0
    rejected_count: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def import_file(
    path: Path,
    environment_key: str,
    store: EventStore,
    *,
    rules: Rules | None = None,
    batch_size: int = config.IMPORT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportSummary:
    """Validate and store every record of the file, one batch at a time."""
    position, total, records, meter = open_records(path)
    summary = ImportSummary(position=position)
    while True:
        with collector_paused():
            stored = _store_batch(records, batch_size, environment_key, store, rules)
        if stored is None:
            break
        positions, result = stored
        summary.accepted += result.accepted
        summary.duplicates += result.duplicates
        summary.rejected_count += len(result.rejected)
        room = REPORTED_REJECTIONS - len(summary.rejected)
        summary.rejected.extend(
            {"index": positions[r["index"]], "error": r["error"]} for r in result.rejected[:room]
        )
        if progress:
            progress(meter.done, total)
    return summary


def _store_batch(
    records: Records, size: int, environment_key: str, store: EventStore, rules: Rules | None
) -> tuple[tuple[int, ...], IngestResult] | None:
    """Read and store the next ``size`` records: their positions and outcome, None at the end.

    The records are freed on return, before the collector resumes (liftlab.ingest.memory).
    """
    batch = list(itertools.islice(records, size))
    if not batch:
        return None
    positions, raws = zip(*batch, strict=True)
    return positions, ingest(raws, environment_key, store, rules=rules, split_months=True)


class Meter:
    """How much of its file a reader has consumed: bytes, or rows for Parquet.

    Asked once per batch, so a text reader's position is read then, not kept per line.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.position: Callable[[], int] = lambda: self.rows

    @property
    def done(self) -> int:
        return self.position()


def open_records(path: Path) -> tuple[str, int, Records, Meter]:
    """(position word, total work, the records, the meter of work done) for the file."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    kind = Path(name.removesuffix(".gz")).suffix
    meter = Meter()
    if kind == ".parquet" and not compressed:
        try:
            parquet = pq.ParquetFile(path)
        except pa.ArrowException as exc:
            raise ImportFileError(f"{path.name}: not a readable Parquet file ({exc})") from None
        _check_columns(parquet.schema_arrow.names, path.name)
        return "row", parquet.metadata.num_rows, _parquet(parquet, meter), meter
    readers = {".ndjson": _ndjson, ".jsonl": _ndjson, ".csv": _csv}
    if kind not in readers:
        raise ImportFileError(f"{path.name}: use .ndjson, .jsonl, .csv (or .gz of those), .parquet")
    lines = _lines(path, compressed, meter)
    return "line", path.stat().st_size, readers[kind](lines, path.name), meter


def _lines(path: Path, compressed: bool, meter: Meter) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as raw, gzip.open(raw) if compressed else nullcontext(raw) as stream:
        meter.position = raw.tell
        try:
            yield from enumerate(stream, start=1)
        except (gzip.BadGzipFile, EOFError) as exc:
            raise ImportFileError(f"{path.name}: not valid gzip ({exc})") from None
        end = raw.tell()
    meter.position = lambda: end


def _ndjson(lines: Iterator[tuple[int, bytes]], name: str) -> Records:
    for number, line in lines:
        if line.strip():
            yield number, _json_or_unreadable(line, "line")


def _csv(lines: Iterator[tuple[int, bytes]], name: str) -> Records:
    reader = csv.DictReader(_decoded(lines, name), restkey="(cells beyond the header)")
    _check_columns(reader.fieldnames or [], name)
    for row in reader:
        yield reader.line_num, _csv_event(row)


def _decoded(lines: Iterator[tuple[int, bytes]], name: str) -> Iterator[str]:
    for number, line in lines:
        try:
            yield line.decode()
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{name}: line {number} is not UTF-8 text ({exc})") from None


def _csv_event(row: dict[str, Any]) -> Any:
    """Empty cells are absent fields; JSON columns are parsed; digits-only times are epoch ms."""
    event = {key: value for key, value in row.items() if value != ""}
    for key in JSON_TEXT_FIELDS:
        if key in event:
            event[key] = _json_or_unreadable(event[key], key)
            if type(event[key]) is Unreadable:
                return event[key]
    stamp = event.get("timestamp")
    if stamp is not None and stamp.isdigit():
        event["timestamp"] = int(stamp)
    return event


def _parquet(parquet: pq.ParquetFile, meter: Meter) -> Records:
    try:
        for batch in parquet.iter_batches(batch_size=config.IMPORT_BATCH_SIZE):
            for row in batch.to_pylist():
                meter.rows += 1
                yield meter.rows, _parquet_event(row)
    except pa.ArrowException as exc:
        raise ImportFileError(f"row {meter.rows + 1} cannot be read ({exc})") from None


def _parquet_event(row: dict[str, Any]) -> Any:
    """Nulls are absent fields; JSON text, map and binary-UUID columns become plain values."""
    event = {key: value for key, value in row.items() if value is not None}
    for key in JSON_TEXT_FIELDS:
        value = event.get(key)
        if isinstance(value, str):
            event[key] = _json_or_unreadable(value, key)
            if type(event[key]) is Unreadable:
                return event[key]
        elif isinstance(value, list):  # a Parquet MAP arrives as (key, value) pairs
            event[key] = dict(value)
    if isinstance(event.get("event_id"), bytes) and len(event["event_id"]) == 16:
        event["event_id"] = str(uuid.UUID(bytes=event["event_id"]))
    return event


def _json_or_unreadable(text: str | bytes, what: str) -> Any:
    try:
        return loads(text)
    except (ValueError, RecursionError) as exc:
        return Unreadable(f"{what} is not valid JSON: {exc}")


def _check_columns(columns: list[str], name: str) -> None:
    unknown = sorted(set(columns) - FIELDS)
    if unknown:
        raise ImportFileError(
            f"{name}: unknown column(s) {', '.join(unknown)}; the columns are the event "
            f"fields: {', '.join(sorted(FIELDS))}"
        )
