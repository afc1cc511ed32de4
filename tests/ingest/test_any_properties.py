"""Whatever JSON object a sender puts in properties, the batch is never failed by the store."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liftlab.eventstore import open_store
from liftlab.ingest import ingest

# Few letters and many dots: nested and dotted spellings of one path come up often.
KEYS = st.text(alphabet="ab.", max_size=3) | st.text(alphabet='é_ 😀\x00"\\', max_size=3)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)
PROPERTIES = st.dictionaries(KEYS, JSON, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PROPERTIES, min_size=1, max_size=4))
def test_every_event_is_either_stored_or_rejected(batch):
    store = open_store()
    raws = [{"event": "e", "identifier": "u", "properties": p} for p in batch]
    result = ingest(raws, "env-any-properties", store)
    assert result.accepted + len(result.rejected) == len(batch)
    assert all("twice" in r["error"] or "NUL" in r["error"] for r in result.rejected)
