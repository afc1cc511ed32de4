"""Results per segment: every breakdown dimension's segments, all in one query.

An identity's segment in a dimension is the dimension's value on its first exposure (as text;
``breakdowns.MISSING`` when the event does not carry it). Every dimension reads the same
exposure: among exposures at the same first moment, the one whose ``event_id`` is smallest.
Per dimension, the ``TOP_SEGMENTS`` values with the most assigned identities (ties by text) are
segments of their own, the rest one segment, ``OTHER`` (a value that is itself the text
``other`` joins it). Each segment gets the full results of its identities; a percentile cap is
the experiment's (ranked over every assigned identity, not per segment): segments are slices of
one analysis, and a metric's numbers are capped alike in all.

The query is the results query (``query.ResultsQuery``) with (dimension, segment) as slice key:

1. ``assignment`` adds each identity's ``raw_segments``: per dimension, its value on the first
   exposure (``argMin(values, (time, event_id))``).
2. ``top_segments`` ranks the values of each dimension by assigned identities (a scalar
   subquery over the exposures' rows, computed once); an identity's ``segments`` are its raw
   values, those outside the top as ``OTHER``.
3. ``exposures`` counts each identity once per dimension (``ARRAY JOIN`` of its segments);
   the metric rows are read and grouped per identity once. Unless a metric ranks (a
   percentile cap, a quantile), ``segment_sums`` sums the identities' products per
   combination of segments and arm, and ``per_variant`` sums those few rows per dimension;
   with one, ``per_variant`` sums each identity once per dimension.
"""

from __future__ import annotations

from liftlab.analysis.breakdowns import MISSING, OTHER, TOP_SEGMENTS, Breakdown, Source
from liftlab.analysis.query import (
    ASSIGNED,
    HASHED,
    IdentityKey,
    Plan,
    ResultsQuery,
    products,
    select_list,
)
from liftlab.analysis.results import (
    ResultStats,
    Run,
    Table,
    read_sliced,
    run_without_collisions,
)
from liftlab.analysis.spec import ExperimentSpec

MAX_DIMENSIONS = 8
"""Each identity's segments travel as one UInt64, a byte (its position in the top) each."""
SIGN_BIT = 1 << 63
"""Flipped in a signed 64-bit time, it orders as an unsigned number does."""
SCALARS = ("String", "Int64", "UInt64", "Double", "Bool")
"""The JSON types of a trait that has a value; anything else (null, an object) is missing."""


class SegmentsQuery(ResultsQuery):
    """The results query sliced by breakdown segment; see the module docstring."""

    keys = ("dimension", "position")

    def __init__(self, spec: ExperimentSpec, identity: IdentityKey) -> None:
        if len(spec.breakdowns) > MAX_DIMENSIONS:
            raise ValueError(f"at most {MAX_DIMENSIONS} breakdowns in one query")
        super().__init__(spec, identity)

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
        values = [f"{self._value(b)} AS segment_{k}" for k, b in enumerate(self.spec.breakdowns)]
        return ["event_id", *values]

    def assignment_columns(self) -> list[str]:
        """The values of the first exposure, all of one event (at a tie, the smallest event
        id): one ``argMin`` for all dimensions, cheaper than one per dimension.

        The moment and the id are one ``UInt256`` ordered as the tuple (time, event_id) is:
        the time with its sign bit flipped (so it orders as the signed number) above the id's
        ``UInt128``, which is what ClickHouse compares UUIDs by. Comparing that number costs
        a third of the assignment's CPU less than comparing the tuple.
        """
        values = f"[{', '.join(f'segment_{k}' for k in range(self._dimensions))}]"
        moment = f"bitXor(reinterpretAsUInt64(time), {SIGN_BIT})"
        order = f"bitShiftLeft(toUInt256({moment}), 128) + reinterpretAsUInt128(event_id)"
        return [f"argMin({values}, {order}) AS raw_segments"]

    @property
    def _dimensions(self) -> int:
        return len(self.spec.breakdowns)

    def head(self) -> list[str]:
        return [self.assignment(), self.top_segments()]

    def top_segments(self) -> str:
        """Per dimension (a map: a dimension whose only value is ``OTHER`` has no entry), its
        ``TOP_SEGMENTS`` values by assigned identities."""
        return f"""top_segments AS (
    SELECT mapFromArrays(groupArray(dimension), groupArray(top)) AS tops
    FROM (
        SELECT dimension, groupArray(raw) AS top
        FROM (
            SELECT dimension, raw, countIf(status = '{ASSIGNED}') AS assigned
            FROM assignment
            ARRAY JOIN arrayEnumerate(raw_segments) AS dimension, raw_segments AS raw
            WHERE raw != {self.params.bind(OTHER, "String")}
            GROUP BY dimension, raw
            ORDER BY dimension, assigned DESC, raw
            LIMIT {TOP_SEGMENTS} BY dimension
        )
        GROUP BY dimension
    )
)"""

    def _positions(self) -> str:
        """Per dimension, the identity's raw value's position in the top (0: ``OTHER``)."""
        return (
            "arrayMap((raw, k) -> indexOf((SELECT tops FROM top_segments)[k], raw), "
            "raw_segments, arrayEnumerate(raw_segments))"
        )

    def exposed(self) -> str:
        joined = f"arrayEnumerate(raw_segments) AS dimension, {self._positions()} AS position"
        return f"assignment\n    ARRAY JOIN {joined}"

    def carried(self) -> dict[str, str]:
        """The positions packed in one number, a byte per dimension: the join copies it to
        every metric row of the identity, which an array of texts made cost 0.6× the query."""
        byte = "(p, k) -> bitShiftLeft(toUInt64(p), 8 * (k - 1))"
        bytes_ = f"arrayMap({byte}, {self._positions()}, arrayEnumerate(raw_segments))"
        return {"segments": f"arraySum({bytes_})"}

    def expansions(self) -> list[str]:
        """Unless a metric ranks, the identities' sums per combination of segments and arm
        (``segment_sums``: a few hundred rows), so that each dimension's slices sum those
        rows rather than every identity once per dimension."""
        if self.ranks:
            return []
        columns = ["segments", "arm", "sum(collided) AS collided"]
        products_of = super()._sums  # each identity's products, summed per group
        columns += [column for plan in self.plans for column in products_of(plan)]
        return [
            f"""segment_sums AS (
    SELECT
    {select_list(columns)}
    FROM per_identity
    GROUP BY segments, arm
)"""
        ]

    def slices(self) -> str:
        dimensions = f"range(1, {self._dimensions + 1})"
        positions = (
            f"arrayMap(k -> bitAnd(bitShiftRight(segments, 8 * (k - 1)), 255), {dimensions})"
        )
        source = "per_identity" if self.ranks else "segment_sums"
        return f"{source} ARRAY JOIN {dimensions} AS dimension, {positions} AS position"

    def _sums(self, plan: Plan) -> list[str]:
        """Over ``segment_sums``, the sums of its rows' sums; else the results query's."""
        if self.ranks:
            return super()._sums(plan)
        return [f"sum({name}) AS {name}" for name, _ in products(plan.index, plan.metric)]

    def shown(self) -> list[str]:
        other = self.params.bind(OTHER, "String")
        top = "(SELECT tops FROM top_segments)[dimension][position]"
        return ["dimension", f"if(position = 0, {other}, {top}) AS segment"]

    def window(self) -> str:
        """A percentile cap ranks every assigned identity: all segments of the dimension."""
        return "OVER (PARTITION BY dimension)"


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
    for (dimension, segment), stats in read_sliced(spec, table, ("dimension", "segment")).items():
        segments[spec.breakdowns[int(dimension) - 1].key][segment] = stats
    return segments


def query_segments(spec: ExperimentSpec, run: Run) -> dict[str, dict[str, ResultStats]]:
    """Each breakdown dimension's segments with their results, in one query through ``run``;
    no query without breakdowns."""
    if not spec.breakdowns:
        return {}
    return read_segments(spec, run_without_collisions(spec, build_segments_query, run))
