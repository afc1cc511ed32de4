"""A seed fixes every event and id; another seed changes them, but never a user's variant."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from liftlab.simulate import generate

from .plans import behaviour_plan, events_of, two_variant_plan


@pytest.mark.parametrize("make", [two_variant_plan, behaviour_plan])
def test_a_seeded_run_is_reproducible(make) -> None:
    plan = make(users=2_000)
    assert events_of(plan) == events_of(plan)


def test_different_seeds_give_different_events_and_ids() -> None:
    one = events_of(two_variant_plan(users=2_000, seed=1))
    other = events_of(two_variant_plan(users=2_000, seed=2))
    assert {e["event_id"] for e in one}.isdisjoint(e["event_id"] for e in other)
    assert [e["timestamp"] for e in one[:100]] != [e["timestamp"] for e in other[:100]]


def test_chunks_are_independent_of_each_other() -> None:
    """Chunk k is the same whether or not the chunks before it were generated."""
    plan = behaviour_plan(users=3_000, users_per_chunk=1_000)
    chunks = list(generate(plan))
    assert len(chunks) == 3
    assert sum(c.counts.users for c in chunks) == 3_000
    fewer = next(generate(replace(plan, users=2_000)))  # the same identifiers' width
    assert chunks[0].events == fewer.events


def test_an_identifier_keeps_its_variant_whatever_the_seed() -> None:
    def first_variants(seed: int) -> dict[str, str]:
        plan = replace(two_variant_plan(users=1_000), seed=seed, double_exposure_share=0.0)
        exposures = (e for e in events_of(plan) if e["event"] == plan.exposure_event)
        return {e["identifier"]: e["value"] for e in exposures}

    assert first_variants(3) == first_variants(4)


def test_event_ids_are_version_4_uuids_unique_apart_from_resends() -> None:
    chunks = list(generate(two_variant_plan(users=2_000)))
    ids = [e["event_id"] for c in chunks for e in c.events]
    assert len(set(ids)) == len(ids) - sum(c.counts.duplicates for c in chunks)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
