"""A batch sprayed over many days costs a bounded number of partitions, and never holds up
another environment's batches.

The table is partitioned by month; one request may span ``Limits.max_months`` months (12):
more is a 400 naming the field and the limit, with nothing stored. The file importer splits
such a batch into inserts of at most that many months instead.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tests.eventstore.events import count
from tests.ingest.test_api import send, sendable, stored

from liftlab.accounts.models import Environment
from liftlab.eventstore import open_store
from liftlab.eventstore.arrow_batch import months
from liftlab.ingest import Limits, Rules, TooManyMonthsError, ingest
from liftlab.ingest.files import import_file

FIRST_DAY = datetime(2000, 1, 1, tzinfo=UTC)


def spray(days: int, start: datetime = FIRST_DAY, **fields) -> list[dict]:
    """One event on each of ``days`` consecutive days."""
    return [
        {
            "event": "purchase",
            "identifier": f"u{day}",
            "timestamp": (start + timedelta(days=day, hours=12)).isoformat(),
            "event_id": str(uuid.uuid4()),
            **fields,
        }
        for day in range(days)
    ]


def partitions(store, env_key: str) -> int:
    sql = "SELECT uniqExact(_partition_id) FROM events WHERE environment_key = {env:String}"
    return store.query(sql, {"env": env_key}).rows[0][0]


def test_a_batch_spanning_more_months_than_the_limit_is_refused_whole(store, env_key):
    events = spray(400)  # 2000-01-01 … 2001-02-03: 14 months
    with pytest.raises(TooManyMonthsError) as refused:
        ingest(events, env_key, store)
    assert str(refused.value).startswith("timestamp: the events fall in 14 calendar months")
    assert "at most 12 (INGEST_MAX_MONTHS)" in str(refused.value)
    assert count(store, env_key) == 0


def test_twelve_months_of_days_are_twelve_partitions(store, env_key):
    events = spray(366)  # the whole of 2000, a leap year
    assert ingest(events, env_key, store).accepted == 366
    assert partitions(store, env_key) == 12


def test_rejected_events_do_not_count_towards_the_months(store, env_key):
    events = spray(31) + spray(300, datetime(2001, 1, 1, tzinfo=UTC), event="")
    result = ingest(events, env_key, store)
    assert (result.accepted, len(result.rejected)) == (31, 300)


def test_the_limit_comes_from_the_environment(monkeypatch, store, env_key):
    monkeypatch.setenv("INGEST_MAX_MONTHS", "2")
    rules = Rules(limits=Limits.from_env())
    assert ingest(spray(60), env_key, store, rules=rules).accepted == 60
    with pytest.raises(TooManyMonthsError, match="at most 2"):
        ingest(spray(70, FIRST_DAY + timedelta(days=400)), env_key, store, rules=rules)


@pytest.mark.django_db
def test_the_api_answers_400_naming_the_field_and_stores_nothing(settings):
    settings.WHITENOISE_AUTOREFRESH = True
    environment = sendable(Environment.objects.create(name="Production"))
    started = time.monotonic()
    response = send(environment.key, json.dumps(spray(6500)).encode())  # 6,500 days
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert "timestamp: the events fall in 214 calendar months" in response.json()["detail"]
    assert stored(environment) == 0
    print(f"6,500-day spray refused in {elapsed:.2f} s")


def test_an_import_spanning_years_is_stored_in_inserts_of_at_most_twelve_months(
    store, env_key, tmp_path, monkeypatch
):
    events = spray(3000)  # 99 months, one day each
    path = tmp_path / "history.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in events))
    months_per_insert = []
    insert = type(store).insert_columns

    def counting(self, columns):
        months_per_insert.append(len(set(months(columns.timestamp).to_pylist())))
        return insert(self, columns)

    monkeypatch.setattr(type(store), "insert_columns", counting)
    summary = import_file(path, env_key, store)
    assert (summary.accepted, summary.rejected_count) == (3000, 0)
    assert max(months_per_insert) <= 12 and sum(months_per_insert) == 99
    assert partitions(store, env_key) == 99  # one per month, where days made 3,000
    assert import_file(path, env_key, store).duplicates == 3000


@pytest.mark.slow
def test_a_spray_never_holds_up_another_environments_batch(env_key):
    """A batch at the limits (50,000 events over 12 months) is stored while another
    environment sends single events: none of those waits a second."""
    store = open_store()
    heavy = [
        {
            "event": "purchase",
            "identifier": f"u{i}",
            "timestamp": (FIRST_DAY + timedelta(minutes=10 * i)).isoformat(),
            "event_id": str(uuid.uuid4()),
        }
        for i in range(50_000)  # 347 days
    ]
    other = f"{env_key}-other"
    ingest([{"event": "warm", "identifier": "u"}], other, store)  # its id filter exists
    waits: list[float] = []
    done = threading.Event()

    def single_events() -> None:
        while not done.is_set():
            started = time.monotonic()
            ingest([{"event": "purchase", "identifier": "b"}], other, store)
            waits.append(time.monotonic() - started)

    sender = threading.Thread(target=single_events)
    sender.start()
    try:
        for round_ in range(3):
            batch = [{**e, "event_id": str(uuid.uuid4())} for e in heavy] if round_ else heavy
            assert ingest(batch, env_key, store).accepted == len(heavy)
    finally:
        done.set()
        sender.join()
    assert len(waits) >= 3
    assert max(waits) < 1.0, f"the longest single-event batch took {max(waits):.2f} s"
