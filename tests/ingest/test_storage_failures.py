"""When a disk fails under the service: ingestion, management writes and results answer 503
in general words (no path, no engine text: those are logged), and the first request after
the disk is fixed succeeds, without a restart.

Root runs these tests, and root writes through a read-only mode bit, so the failures are
raised where they arise: the OSError of the file the chDB backend writes an insert to, the
engine's own error, and SQLite's ``OperationalError`` under Django.
"""

from __future__ import annotations

import errno
import json
import sqlite3
from contextlib import contextmanager

import pytest
from clickhouse_connect.driver import _backend
from clickhouse_connect.driver._chdbclient import ChdbClient
from clickhouse_connect.driver.exceptions import OperationalError
from django.db import connection
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from tests.api import paths
from tests.api.bodies import experiment_body, metric_body
from tests.api.conftest import client_for, make_environment, make_user
from tests.ingest.test_api import batch, send, sendable, stored

pytestmark = pytest.mark.django_db
# What the client is told (liftlab.eventstore.errors), spelt out.
FULL = "The event store is out of disk space."
READ_ONLY = "The event store cannot write to its disk (read-only or not permitted)."
UNAVAILABLE = "The event store is unavailable."
STORE_PATH = "/var/lib/liftlab/events/store/0a1/0a1b2c3d-table/tmp_insert_202612_1_1_0"


@pytest.fixture(autouse=True)
def _static_files_looked_up_lazily(settings) -> None:
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def alice():
    return make_user("alice")


@pytest.fixture
def admin(alice):
    return client_for(alice)


@pytest.fixture
def environment(alice):
    return sendable(make_environment(alice))


def assert_general(response, reason: str) -> None:
    assert response.status_code == 503, response.content
    detail = response.json()["detail"]
    assert detail == f"{reason} Please retry later."
    assert "/" not in detail and "Code" not in detail and "Errno" not in detail


@contextmanager
def insert_file_fails(code: int):
    """The file clickhouse-connect's chDB backend writes an insert's data to cannot be made."""
    real = _backend.chdb_backend.tempfile.NamedTemporaryFile

    def fail(*args, **kwargs):
        raise OSError(code, errno.errorcode[code], STORE_PATH)

    _backend.chdb_backend.tempfile.NamedTemporaryFile = fail
    try:
        yield
    finally:
        _backend.chdb_backend.tempfile.NamedTemporaryFile = real


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, FULL),
        (errno.EROFS, READ_ONLY),
        (errno.EACCES, READ_ONLY),
        (errno.EIO, UNAVAILABLE),
    ],
)
def test_a_failing_disk_under_the_event_store_is_503_and_the_retry_is_stored(
    environment, caplog, code, reason
):
    body = json.dumps(batch(3)).encode()
    with insert_file_fails(code):
        failed = send(environment.key, body)
    assert_general(failed, reason)
    assert STORE_PATH in caplog.text  # the operator still learns where
    retried = send(environment.key, body)
    assert (retried.status_code, retried.json()["accepted"]) == (202, 3)
    assert stored(environment) == 3


def test_an_engine_error_is_503_without_the_engine_text(environment, monkeypatch, caplog):
    message = (
        "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space on disk `default` "
        f"at {STORE_PATH}. (NOT_ENOUGH_SPACE) (version 26.9.1)"
    )

    def refuse(*args, **kwargs):
        raise OperationalError(message)

    body = json.dumps(batch(2)).encode()
    monkeypatch.setattr(ChdbClient, "insert_arrow", refuse)
    assert_general(send(environment.key, body), FULL)
    assert "NOT_ENOUGH_SPACE" in caplog.text
    monkeypatch.undo()
    assert send(environment.key, body).json()["accepted"] == 2


@contextmanager
def sqlite_writes_fail(message: str):
    """SQLite refuses every write (as on a full or read-only disk); reads still work."""
    real = SQLiteCursorWrapper.execute

    def execute(self, query, params=None):
        if query.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            raise sqlite3.OperationalError(message)
        return real(self, query, params)

    SQLiteCursorWrapper.execute = execute
    try:
        yield
    finally:
        SQLiteCursorWrapper.execute = real


needs_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="simulates SQLite's own errors"
)
SQLITE_FAILURES = [
    ("database or disk is full", "The database is out of disk space."),
    ("attempt to write a readonly database", "The database is read-only."),
    ("database is locked", "The database is busy."),
    ("disk I/O error", "The database cannot use its disk."),
]


@needs_sqlite
@pytest.mark.parametrize(("message", "reason"), SQLITE_FAILURES)
def test_a_management_write_on_a_failing_database_is_503_then_works(
    admin, environment, message, reason
):
    body = metric_body()
    with sqlite_writes_fail(message):
        assert_general(admin.post(paths.metrics(environment.key), body, format="json"), reason)
    assert admin.post(paths.metrics(environment.key), body, format="json").status_code == 201


@pytest.fixture
def running_experiment(admin, environment) -> int:
    metric = admin.post(paths.metrics(environment.key), metric_body(), format="json").json()
    experiment = admin.post(
        paths.experiments(environment.key), experiment_body(), format="json"
    ).json()
    attach = {"metric": metric["id"], "expected_direction": "increase"}
    assert admin.post(
        paths.attachments(environment.key, experiment["id"]), attach, format="json"
    ).status_code in (200, 201)
    start = admin.post(paths.experiments(environment.key, experiment["id"], "start"))
    assert start.status_code == 200, start.content
    return experiment["id"]


@needs_sqlite
def test_a_results_refresh_on_a_failing_database_is_503_then_works(
    admin, environment, running_experiment
):
    url = paths.experiments(environment.key, running_experiment, "results")
    with sqlite_writes_fail("database or disk is full"):
        assert_general(admin.get(url), "The database is out of disk space.")
    assert admin.get(url).status_code == 200


def test_results_on_a_failing_event_store_are_503_in_general_words(
    admin, environment, running_experiment, monkeypatch, caplog
):
    def refuse(*args, **kwargs):
        raise OperationalError(f"Code: 1001. DB::Exception: std::exception: open {STORE_PATH}")

    url = paths.experiments(environment.key, running_experiment, "results")
    monkeypatch.setattr(ChdbClient, "query", refuse)
    assert_general(admin.get(url), UNAVAILABLE)
    assert STORE_PATH in caplog.text
    monkeypatch.undo()
    assert admin.get(url).status_code == 200
