"""Results per segment: every breakdown dimension's segments, all in one query.

An identity's segment in a dimension is the dimension's value on its first exposure (as text;
``breakdowns.MISSING`` when the event does not carry it; among exposures at the same first
moment, the smallest text). Per dimension, the ``TOP_SEGMENTS`` values with the most assigned
identities (ties by text) are segments of their own, the rest one segment, ``OTHER`` (a value
that is itself the text ``other`` joins it). Each segment gets the full results of its
identities; a percentile cap is the experiment's (ranked over every assigned identity, not per
segment): segments are slices of one analysis, and a metric's numbers are capped alike in all.

The query is the results query (``query.ResultsQuery``) with (dimension, segment) as slice key:

1. ``assignment`` adds each identity's ``raw_segments``: per dimension, its value on the first
   exposure (``argMin(value, (time, value))``).
2. ``top_segments`` ranks the values of each dimension by assigned identities (a scalar
   subquery over the exposures' rows, computed once); an identity's ``segments`` are its raw
   values, those outside the top as ``OTHER``.
3. ``exposures`` and ``per_variant`` count and sum each identity once per dimension
   (``ARRAY JOIN`` of its segments); the metric rows are read and grouped per identity once.
"""

from __future__ import annotations

from liftlab.analysis.breakdowns import MISSING, OTHER, TOP_SEGMENTS, Breakdown, Source
from liftlab.analysis.query import ASSIGNED, HASHED, IdentityKey, ResultsQuery
from liftlab.analysis.results import (
    ResultStats,
    Run,
    Table,
    read_sliced,
    run_without_collisions,
)
from liftlab.analysis.spec import ExperimentSpec

SCALARS = ("String", "Int64", "UInt64", "Double", "Bool")
"""The JSON types of a trait that has a value; anything else (null, an object) is missing."""


class SegmentsQuery(ResultsQuery):
    """The results query sliced by breakdown segment; see the module docstring."""

    keys = ("dimension", "segment")

    def _value(self, breakdown: Breakdown) -> str:
        """The dimension's text on an exposure row, ``MISSING`` where it has none."""
        missing = self.params.bind(MISSING, "String")
        if breakdown.source is Source.TRAIT:
            name = self.params.bind(breakdown.property, "String")
            kind = f"JSONType(traits, {name})"
            scalars = self.params.bind(list(SCALARS), "Array(String)")
            return (
                f"multiIf({kind} = 'String', JSONExtractString(traits, {name}), "
                f"has({scalars}, toString({kind})), JSONExtractRaw(traits, {name}), {missing})"
            )
        if breakdown.source is Source.METADATA:
            raw = f"getSubcolumn(metadata, {self.params.bind(breakdown.property, 'String')})"
            return f"if(isNull({raw}), {missing}, toString({raw}))"
        column = breakdown.source.value
        return f"if({column} = '', {missing}, toString({column}))"

    def exposure_columns(self) -> list[str]:
        return [f"{self._value(b)} AS segment_{k}" for k, b in enumerate(self.spec.breakdowns)]

    def assignment_columns(self) -> list[str]:
        firsts = [f"argMin(segment_{k}, (time, segment_{k}))" for k in range(self._dimensions)]
        return [f"[{', '.join(firsts)}] AS raw_segments"]

    @property
    def _dimensions(self) -> int:
        return len(self.spec.breakdowns)

    def head(self) -> list[str]:
        return [self.assignment(), self.top_segments()]

    def top_segments(self) -> str:
        """Per dimension (in order), its ``TOP_SEGMENTS`` values by assigned identities."""
        return f"""top_segments AS (
    SELECT arrayMap(t -> t.2, arraySort(groupArray((dimension, top)))) AS tops
    FROM (
        SELECT dimension, groupArray(raw) AS top
        FROM (
            SELECT dimension, raw, countIf(status = '{ASSIGNED}') AS assigned
            FROM assignment
            ARRAY JOIN arrayEnumerate(raw_segments) AS dimension, raw_segments AS raw
            GROUP BY dimension, raw
            ORDER BY dimension, assigned DESC, raw
            LIMIT {TOP_SEGMENTS} BY dimension
        )
        GROUP BY dimension
    )
)"""

    def _segments(self) -> str:
        """An identity's segment per dimension: its raw value if in the top, else ``OTHER``."""
        other = self.params.bind(OTHER, "String")
        return (
            "arrayMap((raw, k) -> if(has((SELECT tops FROM top_segments)[k], raw), raw, "
            f"{other}), raw_segments, arrayEnumerate(raw_segments))"
        )

    def exposed(self) -> str:
        joined = f"arrayEnumerate(raw_segments) AS dimension, {self._segments()} AS segment"
        return f"assignment\n    ARRAY JOIN {joined}"

    def carried(self) -> dict[str, str]:
        return {"segments": self._segments()}

    def window(self) -> str:
        """A percentile cap ranks every assigned identity: all segments of the dimension."""
        return "OVER (PARTITION BY dimension)"

    def slices(self) -> str:
        return "per_identity ARRAY JOIN arrayEnumerate(segments) AS dimension, segments AS segment"


def build_segments_query(
    spec: ExperimentSpec, identity: IdentityKey = HASHED
) -> tuple[str, dict[str, object]]:
    """The SQL and parameters of every segment's results: the results query's rows
    (``build_results_query``), each led by ``dimension`` (1 for the first of
    ``spec.breakdowns``) and ``segment``."""
    query = SegmentsQuery(spec, identity)
    return query.sql(), query.params.values


def read_segments(spec: ExperimentSpec, table: Table) -> dict[str, dict[str, ResultStats]]:
    """Per dimension key, per segment (those with exposed identities), its results."""
    segments: dict[str, dict[str, ResultStats]] = {b.key: {} for b in spec.breakdowns}
    for (dimension, segment), stats in read_sliced(spec, table, SegmentsQuery.keys).items():
        segments[spec.breakdowns[int(dimension) - 1].key][segment] = stats
    return segments


def query_segments(spec: ExperimentSpec, run: Run) -> dict[str, dict[str, ResultStats]]:
    """Each breakdown dimension's segments with their results, in one query through ``run``;
    no query without breakdowns."""
    if not spec.breakdowns:
        return {}
    return read_segments(spec, run_without_collisions(spec, build_segments_query, run))
