"""The Bloom filter that screens event ids: never forgets, rarely imagines."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.eventstore.seen import MIN_CAPACITY, SeenFilter


def false_positive_rate(seen: SeenFilter, count: int = 20000) -> float:
    strangers = [os.urandom(16) for _ in range(count)]
    return sum(seen.check_and_add(strangers)) / count


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(min_size=16, max_size=16), max_size=300, unique=True))
def test_every_added_key_is_maybe_seen_afterwards(keys):
    seen = SeenFilter(expected=0)
    seen.check_and_add(keys)
    assert all(seen.check_and_add(keys))


def test_keys_loaded_from_the_table_are_maybe_seen():
    keys = [os.urandom(16) for _ in range(1000)]
    seen = SeenFilter(expected=len(keys))
    seen.add_all(iter(keys))
    assert all(seen.check_and_add(keys))


def test_false_positives_stay_rare_at_capacity():
    seen = SeenFilter(expected=0)
    seen.add_all(os.urandom(16) for _ in range(MIN_CAPACITY))
    assert false_positive_rate(seen) < 0.005


def test_growing_past_capacity_keeps_every_key_and_the_rate_low():
    seen = SeenFilter(expected=0)
    keys = [os.urandom(16) for _ in range(3 * MIN_CAPACITY)]
    assert not any(seen.check_and_add(keys[:10]))
    seen.add_all(keys)
    assert all(seen.check_and_add(keys))
    assert false_positive_rate(seen) < 0.01


def test_sequential_keys_are_spread_too():
    seen = SeenFilter(expected=0)
    seen.add_all(i.to_bytes(16, "big") for i in range(MIN_CAPACITY))
    strangers = [i.to_bytes(16, "big") for i in range(MIN_CAPACITY, MIN_CAPACITY + 20000)]
    assert sum(seen.check_and_add(strangers)) / len(strangers) < 0.005
