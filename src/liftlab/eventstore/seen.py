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

from collections.abc import Iterable

HASHES = 4
BITS_PER_KEY = 24  # with 4 hashes: 0.06 % false positives at capacity
MASK64 = (1 << 64) - 1
MIN_CAPACITY = 1 << 16


class _Layer:
    """One fixed-size Bloom filter; the loops are written out because they run per event."""

    __slots__ = ("bits", "capacity", "count", "size")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = capacity * BITS_PER_KEY
        self.bits = bytearray(self.size // 8 + 1)
        self.count = 0

    def contains(self, key: bytes) -> bool:
        h = hash(key) & MASK64
        a, b, size, bits = h & 0xFFFFFFFF, (h >> 32) | 1, self.size, self.bits
        for i in range(HASHES):
            p = (a + i * b) % size
            if not bits[p >> 3] & (1 << (p & 7)):
                return False
        return True

    def add_many(self, keys: list[bytes]) -> None:
        size, bits = self.size, self.bits
        for key in keys:
            h = hash(key) & MASK64
            a, b = h & 0xFFFFFFFF, (h >> 32) | 1
            for i in range(HASHES):
                p = (a + i * b) % size
                bits[p >> 3] |= 1 << (p & 7)
        self.count += len(keys)


class SeenFilter:
    """Answers "certainly not stored" or "maybe stored" for an event id's 16 bytes."""

    def __init__(self, expected: int) -> None:
        self._layers = [_Layer(max(MIN_CAPACITY, 2 * expected))]

    def maybe_seen(self, keys: Iterable[bytes]) -> list[bool]:
        """For each key, False only when it was never added."""
        layers = self._layers
        return [any(layer.contains(key) for layer in layers) for key in keys]

    def add_all(self, keys: Iterable[bytes]) -> None:
        """Record keys; opens a new, twice larger layer whenever the newest one is full."""
        pending = list(keys)
        while pending:
            layer = self._layers[-1]
            room = layer.capacity - layer.count
            if room <= 0:
                self._layers.append(_Layer(2 * layer.capacity))
                continue
            layer.add_many(pending[:room])
            pending = pending[room:]
