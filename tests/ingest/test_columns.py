"""Column-wise validation: a column's fast check never changes what an event becomes.

Each event is converted alone (every column can take its fast path) and next to an event
that is wrong in every field (every column must go value by value through the rules): the
row or the reason must be the same both ways.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.ingest import Rules
from liftlab.ingest.columns import to_stored_events

NOW = datetime(2026, 5, 4, 12, 0, 0, 250000, tzinfo=UTC)
POISON = {
    "event": 1,
    "identifier": 1,
    "timestamp": True,
    "value": True,
    "feature_name": 1,
    "properties": 1,
    "traits": 1,
    "event_id": 1,
    "sdk_language": 1,
    "sdk_version": 1,
}
texts = st.one_of(st.none(), st.text(max_size=5), st.sampled_from(["", " ", "$flag_exposure"]))
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
# ISO texts as clients write them, and the spellings only one of two parsers might read: a
# 'Z', an offset without its colon, a comma before the fraction, nanoseconds.
iso_texts = st.builds(
    lambda moment, sep, spec, respell: respell(moment.isoformat(sep, spec)),
    st.datetimes(
        min_value=datetime(1999, 12, 30),
        max_value=datetime(2026, 5, 6),
        timezones=st.one_of(st.none(), st.just(UTC), offsets),
    ),
    st.sampled_from(["T", " "]),
    st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"]),
    st.sampled_from(
        [
            lambda text: text,
            lambda text: text.replace("+00:00", "Z"),
            lambda text: text[:-3] + text[-2:] if text[-6] in "+-" else text,
            lambda text: text.replace(".", ","),
            lambda text: text[:26] + "789" + text[26:] if text[19:20] == "." else text,
        ]
    ),
)
times = st.one_of(
    st.none(),
    st.datetimes(timezones=st.sampled_from([UTC, None])).map(datetime.isoformat),
    iso_texts,
    st.integers(min_value=900_000_000_000, max_value=1_800_000_000_000),
    st.sampled_from(["2026-05-04T13:00:00.5+02:00", "2026-05-05T12:00:00.251Z", "2026-05-04"]),
)
values = st.one_of(
    texts,
    st.integers(),
    st.floats(),
    st.floats(min_value=1e-11, max_value=1e-3),
    st.booleans(),
    st.sampled_from(["},{", "null", 2**64, -(2**63)]),
)
objects = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(["a", "a.b", "é"]), values, max_size=3)
)
ids = st.one_of(
    st.none(),
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: f"{{{u}}}"),
    st.text(max_size=5),
)
events = st.fixed_dictionaries(
    {},
    optional={
        "event": texts,
        "identifier": texts,
        "timestamp": times,
        "value": values,
        "feature_name": texts,
        "properties": objects,
        "traits": objects,
        "event_id": ids,
        "sdk_language": texts,
    },
)


def outcome(raws):
    """The first event's row (a random id only by its version) or its reasons."""
    rows, rejected = to_stored_events(raws, "env", NOW, Rules())
    errors = [r["error"] for r in rejected if r["index"] == 0]
    if errors:
        return None, errors
    row = rows[0]
    return row._replace(event_id=row.event_id if raws[0].get("event_id") else 4), errors


@settings(max_examples=300, deadline=None)
@given(events)
def test_the_fast_and_the_value_by_value_paths_agree(raw):
    assert outcome([raw]) == outcome([raw, POISON])


@settings(max_examples=300, deadline=None)
@given(st.lists(events, min_size=1, max_size=4))
def test_a_batch_gives_each_event_what_it_gets_alone(raws):
    """Columns of several objects (orjson's one-array path) cut back into the same texts, and
    a column of times mixing offsets and none reads each as it is read alone."""
    rows, rejected = to_stored_events(raws, "env", NOW, Rules())
    alone = [to_stored_events([raw], "env", NOW, Rules()) for raw in raws]
    assert [r["error"] for r in rejected] == [r[0]["error"] for _, r in alone if r]
    kept = [rows[0] for rows, _ in alone if rows]
    assert [(r.traits, r.metadata, r.timestamp) for r in rows] == [
        (r.traits, r.metadata, r.timestamp) for r in kept
    ]


def test_canonical_ids_are_read_as_their_bytes():
    given_id = uuid.uuid4()
    rows, _ = to_stored_events(
        [{"event": "e", "identifier": "u", "event_id": str(given_id)}], "env", NOW, Rules()
    )
    assert rows[0].event_id == given_id
