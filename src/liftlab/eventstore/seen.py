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
from collections.abc import Iterable

HASHES = 4
BITS_PER_KEY = 24  # with 4 hashes: 0.06 % false positives at capacity
MASK64 = (1 << 64) - 1
MIN_CAPACITY = 1 << 16


class _Layer:
    """One fixed-size Bloom filter; the loop is written out because it runs per event."""

    __slots__ = ("bits", "capacity", "count", "size")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = capacity * BITS_PER_KEY
        self.bits = bytearray(self.size // 8 + 1)
        self.count = 0

    def test(self, keys: list[bytes], add: bool) -> list[bool]:
        """For each key, whether all its bits were set; with ``add``, set them afterwards."""
        size, bits, found = self.size, self.bits, []
        for key in keys:
            h = hash(key) & MASK64
            a, b = h & 0xFFFFFFFF, (h >> 32) | 1
            present = True
            for i in range(HASHES):
                p = (a + i * b) % size
                mask = 1 << (p & 7)
                if not bits[p >> 3] & mask:
                    present = False
                    if not add:
                        break
                    bits[p >> 3] |= mask
            found.append(present)
        if add:
            self.count += len(keys)
        return found


class SeenFilter:
    """Answers "certainly not stored" or "maybe stored" for an event id's 16 bytes."""

    def __init__(self, expected: int) -> None:
        self._layers = [_Layer(max(MIN_CAPACITY, 2 * expected))]

    def add_all(self, keys: Iterable[bytes]) -> None:
        """Record keys, a chunk at a time (how the filter is built from the table)."""
        iterator = iter(keys)
        while chunk := list(itertools.islice(iterator, MIN_CAPACITY)):
            self.check_and_add(chunk)

    def check_and_add(self, keys: list[bytes]) -> list[bool]:
        """For each key, False when it was certainly never added before; then add them all.

        Adding before the rows are stored is safe: an id recorded but never stored only
        costs one table lookup if it comes again.
        """
        maybe: list[bool] = []
        while len(maybe) < len(keys):
            layer = self._layers[-1]
            if layer.count >= layer.capacity:
                layer = _Layer(2 * layer.capacity)
                self._layers.append(layer)
            chunk = keys[len(maybe) : len(maybe) + layer.capacity - layer.count]
            flags = layer.test(chunk, add=True)
            for older in self._layers[:-1]:
                flags = [f or o for f, o in zip(flags, older.test(chunk, add=False), strict=True)]
            maybe.extend(flags)
        return maybe
