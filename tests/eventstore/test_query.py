"""Queries: values only ever travel as bound parameters, errors come back as EventStoreError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from liftlab.eventstore import EventStoreError
from liftlab.eventstore.store import may_write

from .test_roundtrip import HOSTILE


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_string_parameters_arrive_unchanged(store, text):
    assert store.query("SELECT {s:String} AS s", {"s": text}).rows == [(text,)]


def test_array_parameters_arrive_unchanged(store):
    rows = store.query("SELECT {a:Array(String)}", {"a": HOSTILE}).rows
    assert rows == [(HOSTILE,)]


def test_datetime_parameters_keep_milliseconds(store):
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert store.query("SELECT {t:DateTime64(3, 'UTC')}", {"t": moment}).rows == [(moment,)]


def test_naive_datetime_parameters_are_refused(store):
    with pytest.raises(EventStoreError, match="timezone-aware"):
        store.query("SELECT {t:DateTime64(3, 'UTC')}", {"t": datetime(2026, 1, 1)})


def test_parameters_without_placeholders_are_refused(store):
    """Else clickhouse-connect would format the value into the SQL text."""
    with pytest.raises(EventStoreError, match="placeholder"):
        store.query("SELECT %(s)s", {"s": "1; DROP TABLE events"})


def test_a_failing_statement_raises_event_store_error(store):
    with pytest.raises(EventStoreError, match=r"UNKNOWN_TABLE|does not exist"):
        store.query("SELECT * FROM no_such_table")


def test_columns_and_rows(store):
    result = store.query("SELECT number AS n, toString(number) AS s FROM numbers(3)")
    assert result.columns == ("n", "s")
    assert result.rows == [(0, "0"), (1, "1"), (2, "2")]


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ("SELECT 1", False),
        ("  with x AS (SELECT 1) SELECT * FROM x", False),
        ("-- the results query\n/* one scan */ WITH a AS (SELECT 1) SELECT 2", False),
        ("(SELECT 1) UNION ALL (SELECT 2)", False),
        ("EXPLAIN SELECT 1", False),
        ("INSERT INTO events SELECT * FROM events", True),
        ("ALTER TABLE events DELETE WHERE 1", True),
        ("-- SELECT\nTRUNCATE TABLE events", True),
        ("/* a */ TRUNCATE TABLE events /* b */ SELECT 1", True),
        ("SELECTION_IS_NOT_A_KEYWORD", True),
    ],
)
def test_statements_that_may_write_are_told_apart(sql, writes):
    assert may_write(sql) is writes
