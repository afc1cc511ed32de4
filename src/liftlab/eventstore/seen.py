"""A growable Bloom filter of the event ids one environment has stored.

Why: asking the table which of 5,000 random UUIDs it holds reads one granule per id; with a
few million stored ids that costs 40-200 ms per batch and grows with the table (measured in
docs/eventstore.md). When this process is the table's only writer (embedded chDB), a filter
that has seen every stored id answers "certainly new" for almost all of them in microseconds,
and only the few "maybe seen" ids (retries, ~0.1 % false positives) go to the table.

The filter is a list of layers: when the newest layer holds its capacity, a twice larger one
is added, so it never has to re-read the table after it was built. Keys are the 16 bytes of
the id; Python's (per-process salted) SipHash spreads them, so ids that are not random
(sequential, hand-made) are spread too. The filter lives as long as the process: it is built
from the table the first time an environment is written to.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

HASHES = 4
BITS_PER_KEY = 24  # with 4 hashes: 0.06 % false positives at capacity
MIN_CAPACITY = 1 << 16
_ROUNDS = np.arange(HASHES, dtype=np.uint64)[:, None]


def _hashes(keys: Sequence[bytes]) -> np.ndarray:
    """Each key's SipHash as an unsigned 64-bit number (``hash`` runs in C through ``map``)."""
    return np.fromiter(map(hash, keys), np.int64, len(keys)).view(np.uint64)


class _Layer:
    """One fixed-size Bloom filter, tested and set for a whole chunk of keys at once."""

    __slots__ = ("bits", "capacity", "count", "size")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = capacity * BITS_PER_KEY
        self.bits = np.zeros(self.size // 8 + 1, np.uint8)
        self.count = 0

    def test(self, hashes: np.ndarray, add: bool) -> np.ndarray:
        """For each key, whether all its bits were set before; with ``add``, set them now.

        Double hashing: bit ``i`` of a key is ``(low + i * high) % size`` of its hash.
        """
        low, high = hashes & np.uint64(0xFFFFFFFF), (hashes >> np.uint64(32)) | np.uint64(1)
        positions = (low + _ROUNDS * high) % np.uint64(self.size)
        cells = positions >> np.uint64(3)
        masks = np.left_shift(1, positions & np.uint64(7)).astype(np.uint8)
        present = np.all(self.bits[cells] & masks, axis=0)
        if add:
            np.bitwise_or.at(self.bits, cells.ravel(), masks.ravel())
            self.count += len(hashes)
        return present


class SeenFilter:
    """Answers "certainly not stored" or "maybe stored" for an event id's 16 bytes."""

    def __init__(self, expected: int) -> None:
        self._layers = [_Layer(max(MIN_CAPACITY, 2 * expected))]

    def add_all(self, keys: Iterable[bytes]) -> None:
        """Record keys, a chunk at a time (how the filter is built from the table)."""
        iterator = iter(keys)
        while chunk := list(itertools.islice(iterator, MIN_CAPACITY)):
            self.check_and_add(chunk)

    def check_and_add(self, keys: Sequence[bytes]) -> list[bool]:
        """For each key, False when it was certainly never added before; then add them all.

        A chunk is tested before any of it is added, so the keys of one call must be
        distinct (the store passes one batch's ids after dropping repeats). Adding before
        the rows are stored is safe: an id recorded but never stored only costs one table
        lookup if it comes again.
        """
        hashes = _hashes(keys)
        maybe: list[bool] = []
        while len(maybe) < len(keys):
            layer = self._layers[-1]
            if layer.count >= layer.capacity:
                layer = _Layer(2 * layer.capacity)
                self._layers.append(layer)
            chunk = hashes[len(maybe) : len(maybe) + layer.capacity - layer.count]
            flags = layer.test(chunk, add=True)
            for older in self._layers[:-1]:
                flags |= older.test(chunk, add=False)
            maybe.extend(flags.tolist())
        return maybe
