"""How each matching event is packed into the per-identity arrays of the results query.

The per-identity ``GROUP BY`` keeps, for every event a metric may count, its time, the
matchers it satisfies and its numbers. Its cost grows with the number of arrays it fills
(about the cost of the whole bare scan per array on 20 M events, docs/metrics.md), far more
than with their width, so these facts travel as 64-bit *lanes* packed four to an integer:

- lane 0: the time since the analysed range's start in milliseconds, shifted left by 24,
  with the bits of the first 24 matchers below it (the range may span 2^40 ms, 34 years);
- then one lane per further 64 matchers, if any;
- then one lane per number slot: the IEEE-754 bits of the event's k-th number (NaN when it
  has none); slots are per event, so their count is the most numbers any one event needs.

Lanes are grouped four at a time into words (UInt64, UInt128 or UInt256 by how many lanes a
word holds); after grouping, each lane is unpacked once into a plain array for the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

TIME_SHIFT = 24
MAX_RANGE_MS = 1 << (64 - TIME_SHIFT)
LANE_BITS = 64
LANES_PER_WORD = 4
_WORD_TYPES = {1: "UInt64", 2: "UInt128", 3: "UInt256", 4: "UInt256"}


@dataclass(frozen=True)
class MatcherBit:
    """Where a matcher's flag lives: lane and bit within it."""

    lane: int
    bit: int


@dataclass(frozen=True)
class Packing:
    """The lane layout for ``matchers`` matcher flags and ``slots`` number slots."""

    matchers: int
    slots: int

    @property
    def mask_lanes(self) -> int:
        """Lanes holding matcher bits, lane 0 included."""
        extra = max(0, self.matchers - TIME_SHIFT)
        return 1 + -(-extra // LANE_BITS)

    @property
    def lanes(self) -> int:
        return self.mask_lanes + self.slots

    @property
    def words(self) -> int:
        return -(-self.lanes // LANES_PER_WORD)

    def matcher_bit(self, index: int) -> MatcherBit:
        if index < TIME_SHIFT:
            return MatcherBit(0, index)
        extra = index - TIME_SHIFT
        return MatcherBit(1 + extra // LANE_BITS, extra % LANE_BITS)

    def slot_lane(self, slot: int) -> int:
        return self.mask_lanes + slot

    def row_lanes(self, time: str, flags: list[str], numbers: list[str]) -> list[str]:
        """Per-row lane expressions from the row's time offset, matcher flags and numbers."""
        by_lane: list[list[str]] = [[] for _ in range(self.mask_lanes)]
        for index, flag in enumerate(flags):
            where = self.matcher_bit(index)
            by_lane[where.lane].append(f"toUInt64({flag}) * {1 << where.bit}")
        by_lane[0].insert(0, f"bitShiftLeft(toUInt64({time}), {TIME_SHIFT})")
        masks = [" + ".join(terms) if terms else "toUInt64(0)" for terms in by_lane]
        return masks + [f"reinterpretAsUInt64({number})" for number in numbers]

    def row_words(self, lanes: list[str]) -> list[str]:
        """Per-row word expressions: each word packs up to four lanes, first lane highest."""
        words = []
        for start in range(0, len(lanes), LANES_PER_WORD):
            group = lanes[start : start + LANES_PER_WORD]
            kind = _WORD_TYPES[len(group)]
            terms = [
                f"bitShiftLeft(to{kind}({lane}), {LANE_BITS * (len(group) - 1 - i)})"
                for i, lane in enumerate(group)
            ]
            words.append(" + ".join(terms))
        return words

    def unpack_lane(self, lane: int, word_array: str) -> str:
        """An array of the given lane's values from the array of its words."""
        in_word = lane % LANES_PER_WORD
        word_lanes = min(LANES_PER_WORD, self.lanes - lane + in_word)
        shift = LANE_BITS * (word_lanes - 1 - in_word)
        return f"arrayMap(w -> toUInt64(bitShiftRight(w, {shift})), {word_array})"
