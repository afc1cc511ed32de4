"""Simulated events to a newline-delimited JSON file, for ``liftlab events import``.

Each line is one event exactly as the ingestion API takes it in its JSON array.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from liftlab.simulate.model import Counts, EventChunk, generate
from liftlab.simulate.plan import SimulationPlan
from liftlab.simulate.progress import Advance, user_progress


@dataclass(frozen=True)
class WriteSummary:
    counts: Counts
    path: Path
    seconds: float


def write_ndjson(chunks: Iterable[EventChunk], path: Path, advance: Advance) -> Counts:
    """Write every chunk's events, one compact JSON object per line; returns the totals."""
    total = Counts()
    with path.open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.writelines(json.dumps(e, separators=(",", ":")) + "\n" for e in chunk.events)
            total += chunk.counts
            advance(chunk.counts)
    return total


def simulate_to_file(plan: SimulationPlan, path: Path, progress: bool = True) -> WriteSummary:
    """Generate the plan's events into ``path`` (overwritten)."""
    began = time.monotonic()
    with user_progress(f"writing {path.name}", plan.users, progress) as advance:
        counts = write_ndjson(generate(plan), path, advance)
    return WriteSummary(counts, path, time.monotonic() - began)
