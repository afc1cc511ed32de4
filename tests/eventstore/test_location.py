"""Event-store URLs, and one store object per URL in a process."""

from __future__ import annotations

import pytest

from liftlab.eventstore import EventStoreError, open_store
from liftlab.eventstore.location import parse_url


def test_chdb_url_names_an_absolute_folder(tmp_path):
    location = parse_url(f"chdb://{tmp_path}/events")
    assert (location.embedded, location.path, location.database) == (
        True,
        str(tmp_path / "events"),
        "default",
    )


@pytest.mark.parametrize("url", ["chdb://relative/path", "chdb:relative", "chdb://"])
def test_chdb_url_without_an_absolute_folder_is_refused(url):
    with pytest.raises(EventStoreError, match="absolute folder"):
        parse_url(url)


def test_server_url_reads_credentials_host_port_and_database():
    location = parse_url("clickhouse://ana:p%40ss%2Fw@db.example:9000/metrics")
    assert (location.username, location.password, location.host, location.port) == (
        "ana",
        "p@ss/w",
        "db.example",
        9000,
    )
    assert (location.database, location.embedded) == ("metrics", False)
    assert "p@ss" not in location.describe()


def test_tls_url_defaults_to_port_8443_and_plain_to_8123():
    assert parse_url("clickhouses://h/db").port == 8443
    assert parse_url("clickhouse://h").port == 8123
    assert parse_url("clickhouse://h").database == "default"


@pytest.mark.parametrize("url", ["postgres://h/db", "clickhouse:///db", "clickhouse://h/a/b"])
def test_other_urls_are_refused_with_a_reason(url):
    with pytest.raises(EventStoreError):
        parse_url(url)


def test_the_same_chdb_url_gives_the_same_store():
    assert open_store() is open_store(f"chdb://{open_store().location.path}")


def test_a_second_chdb_folder_in_one_process_is_refused(tmp_path):
    open_store()
    with pytest.raises(EventStoreError, match="one data folder per process"):
        open_store(f"chdb://{tmp_path}/elsewhere")


def test_an_unreachable_server_is_a_clear_error():
    with pytest.raises(EventStoreError, match="cannot open the event store"):
        open_store("clickhouse://default:@127.0.0.1:9/nowhere")
