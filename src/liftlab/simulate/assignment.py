"""Which variant an identifier gets: a deterministic hash of (flag, identifier) by weights.

The same identifier always lands in the same variant of a flag, whatever the random seed, as
with a real flag service: several runs into one experiment describe the same users coming
back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

_BUCKETS = float(2**64)


def bucket_positions(flag: str, identifiers: Sequence[str]) -> np.ndarray:
    """A uniform position in [0, 1) per identifier, from 64 bits of its BLAKE2b hash."""
    digests = b"".join(
        hashlib.blake2b(f"{flag}\x00{identifier}".encode(), digest_size=8).digest()
        for identifier in identifiers
    )
    return np.frombuffer(digests, dtype=">u8").astype(np.float64) / _BUCKETS


def assign_variants(flag: str, identifiers: Sequence[str], weights: Sequence[float]) -> np.ndarray:
    """Index of each identifier's variant; variant i gets a share weights[i] / sum(weights)."""
    edges = np.cumsum(np.asarray(weights, dtype=np.float64))
    edges /= edges[-1]
    chosen = np.searchsorted(edges, bucket_positions(flag, identifiers), side="right")
    return np.minimum(chosen, len(edges) - 1)
