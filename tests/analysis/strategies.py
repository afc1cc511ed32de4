"""Hypothesis strategies: small event sets and experiments that provoke every rule at once.

Times sit on a half-hour grid (plus an optional millisecond), so first exposures, window ends,
lookback starts and the experiment's start and end coincide with event times and their
inclusive bounds are exercised; the pools are small, so identities get several exposures and
events each. Metric events also fall up to 50 hours before the first exposures, inside and
outside one- and two-day lookbacks.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from liftlab.analysis.breakdowns import Breakdown
from liftlab.analysis.definition import parse_definition
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.eventstore import StoredEvent

BASE = datetime(2026, 3, 1, tzinfo=UTC)
START = BASE + timedelta(hours=1)
END = BASE + timedelta(hours=10)
EXPOSURE = "$flag_exposure"
FLAG = 'checkout\'s "flag"'
HOSTILE_EVENT = "purchase'); DROP TABLE events; --"
HOSTILE_KEY = "ké\\y\x00`\"'"
VARIANTS = ("control", "treat\\ment 🎉")
IDENTITIES = ["u1", "u2", "u3", "u4", "ü'\x00"]
METRIC_EVENTS = ["purchase", "signup", HOSTILE_EVENT]
PROPERTIES = ["plan", "amount", HOSTILE_KEY]
VALUE_TEXTS = ["1", "2.5", "-3", "1e2", ".5", "abc", "", " 4", "nan", "inf"]
PROPERTY_VALUES = ["pro", "free", "12", "", "x'y", 0, 5, -3, 2.5, -0.25, True, False, None]
SCALARS = ["pro", "free", "12", "", 5, -3, 2.5, 12, True, False]
NUMBERS = [-3, 0, 2.5, 5, 12]

times = st.builds(
    lambda slot, extra_ms: BASE + timedelta(minutes=30 * slot, milliseconds=extra_ms),
    st.integers(0, 24),
    st.sampled_from([0, 0, 1]),
)
earlier = st.builds(
    lambda slot, extra_ms: BASE + timedelta(minutes=30 * slot, milliseconds=extra_ms),
    st.integers(-100, -1),
    st.sampled_from([0, 0, 1]),
)
"""Before every exposure: in a lookback of one or two days of some identity, or of none."""
metadata = st.dictionaries(st.sampled_from(PROPERTIES), st.sampled_from(PROPERTY_VALUES))


def stored(
    env: str,
    event: str,
    feature: str,
    identifier: str,
    value: str,
    at,
    meta,
    traits: dict[str, object] | None = None,
    sdk: tuple[str, str] = ("python", "1"),
) -> StoredEvent:
    return StoredEvent(
        environment_key=env,
        event=event,
        feature_name=feature,
        identifier=identifier,
        value=value,
        timestamp=at,
        collected_at=at,
        traits=json.dumps(traits or {}),
        metadata=json.dumps(meta),
        sdk_language=sdk[0],
        sdk_version=sdk[1],
        event_id=uuid.uuid4(),
    )


exposures = st.tuples(
    st.sampled_from([FLAG, FLAG, FLAG, "other-flag"]),
    st.sampled_from(IDENTITIES),
    st.sampled_from([*VARIANTS, *VARIANTS, "ghost"]),
    times,
)
metric_events = st.tuples(
    st.sampled_from(METRIC_EVENTS),
    st.sampled_from(IDENTITIES),
    st.sampled_from(VALUE_TEXTS),
    st.one_of(times, times, earlier),
    metadata,
)


@st.composite
def assignments(draw, at=times) -> list[tuple[str, str, str, datetime]]:
    """Every identity exposed, mostly to one variant (a ghost for some), so that most are
    assigned; more exposures, stray ones to another value quarantining their identity."""
    variant_of = {who: draw(st.sampled_from([*VARIANTS, *VARIANTS, "ghost"])) for who in IDENTITIES}
    chosen = [(FLAG, who, None, draw(at)) for who in IDENTITIES]
    chosen += draw(
        st.lists(
            st.tuples(
                st.sampled_from([FLAG, FLAG, FLAG, "other-flag"]),
                st.sampled_from(IDENTITIES),
                st.sampled_from([None] * 5 + [*VARIANTS, "ghost"]),
                at,
            ),
            max_size=8,
        )
    )
    return [(flag, who, stray or variant_of[who], at) for flag, who, stray, at in chosen]


def event_rows(env: str, exposed, others) -> list[StoredEvent]:
    rows = [stored(env, EXPOSURE, f, i, v, t, {}) for f, i, v, t in exposed]
    rows += [stored(env, e, "", i, v, t, m) for e, i, v, t, m in others]
    return rows


def filter_data(prop: str, op: str, value: object) -> dict[str, object]:
    data: dict[str, object] = {"property": prop, "op": op}
    if value is not None:
        data["value"] = value
    return data


filters = st.one_of(
    st.builds(
        filter_data,
        st.sampled_from(PROPERTIES),
        st.sampled_from(["eq", "neq"]),
        st.sampled_from(SCALARS),
    ),
    st.builds(
        filter_data,
        st.sampled_from(PROPERTIES),
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(SCALARS), min_size=1, max_size=3),
    ),
    st.builds(
        filter_data,
        st.sampled_from(PROPERTIES),
        st.sampled_from(["gt", "gte", "lt", "lte"]),
        st.sampled_from(NUMBERS),
    ),
    st.builds(
        filter_data,
        st.sampled_from(PROPERTIES),
        st.just("contains"),
        st.sampled_from(["r", "", "'", "1"]),
    ),
    st.builds(
        filter_data,
        st.sampled_from(PROPERTIES),
        st.sampled_from(["is_set", "is_not_set"]),
        st.none(),
    ),
)
definitions = st.builds(
    lambda event, value, flts, hours: parse_definition(
        {
            "version": 1,
            "event": event,
            "value": value,
            "filters": flts,
            "window": None if hours is None else {"hours": hours},
        }
    ),
    st.sampled_from(METRIC_EVENTS),
    st.sampled_from([None, "amount", HOSTILE_KEY]),
    st.lists(filters, max_size=2),
    st.sampled_from([None, 1, 2, 3]),
)


def _value_only_where_read(aggregation: str, definition):
    """count and occurrence read no value (the API refuses one, and so does MetricSpec)."""
    if aggregation in ("sum", "mean"):
        return aggregation, definition
    return aggregation, definition.model_copy(update={"value": None})


metrics = st.lists(
    st.builds(
        _value_only_where_read,
        st.sampled_from(["count", "sum", "mean", "occurrence"]),
        definitions,
    ),
    min_size=1,
    max_size=5,
)


measures = st.fixed_dictionaries(
    {
        "event": st.sampled_from(METRIC_EVENTS),
        "filters": st.one_of(st.just([]), st.lists(filters, max_size=2)),
    }
)
"""Half without filters: most filters match few of the few events an example has."""
values = st.sampled_from([None, "amount", HOSTILE_KEY])
windows = st.sampled_from([None, {"hours": 1}, {"hours": 2}, {"hours": 3}])
lookbacks = st.sampled_from([None, 1, 2])
caps = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"type": st.just("absolute"), "value": st.sampled_from([0.5, 1, 2.5, 100])}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("percentile"),
            "value": st.sampled_from([0.1, 0.25, 0.5, 0.6, 0.75, 0.9, 0.99]),
        }
    ),
)
"""Percentile levels where N·level is a whole number for small N, and where it is not."""


def per_identity_metric(aggregation: str, measure, value, window, cap, lookback):
    reads = aggregation in ("sum", "mean")
    definition = {
        "version": 2,
        **measure,
        "value": value if reads else None,
        "window": window,
        "cap": None if aggregation == "occurrence" else cap,
    }
    return aggregation, parse_definition(definition), lookback


def ratio_metric(numerator, denominator, window, cap, lookback):
    definition = {
        "version": 2,
        "numerator": numerator,
        "denominator": denominator,
        "window": window,
        "cap": cap,
    }
    return "ratio", parse_definition(definition), lookback


def part(measure, aggregation: str, value):
    return {**measure, "aggregation": aggregation, "value": value if aggregation == "sum" else None}


def quantile_metric(measure, value, window, q: float, level: str):
    definition = {
        "version": 2,
        **measure,
        "value": value,
        "window": window,
        "quantile": {"q": q, "level": level},
    }
    return "quantile", parse_definition(definition)


parts = st.builds(part, measures, st.sampled_from(["count", "sum", "occurrence"]), values)
any_metric = st.one_of(
    st.builds(
        per_identity_metric,
        st.sampled_from(["count", "sum", "mean", "occurrence"]),
        measures,
        values,
        windows,
        caps,
        lookbacks,
    ),
    st.builds(ratio_metric, parts, parts, windows, caps, lookbacks),
    st.builds(
        quantile_metric,
        measures,
        values,
        windows,
        st.sampled_from([0.1, 0.25, 0.5, 0.9]),
        st.sampled_from(["identity", "event"]),
    ),
)
"""Version 2 metrics: per-identity numbers with caps and lookbacks, ratios, quantiles."""
metrics_v2 = st.lists(any_metric, min_size=1, max_size=5)


def experiment(env: str, chosen) -> ExperimentSpec:
    """``chosen``: (aggregation, definition[, lookback days]) of each metric."""
    return ExperimentSpec(
        environment_key=env,
        feature_name=FLAG,
        exposure_event=EXPOSURE,
        variant_keys=VARIANTS,
        start=START,
        end=END,
        metrics=tuple(MetricSpec(f"m{i}", *metric) for i, metric in enumerate(chosen)),
    )


LAST_DAY = 3
DAYS_END = BASE + timedelta(days=LAST_DAY, hours=10)
"""Results over time: from ``START`` to 10:00 on the fourth day, four cutoffs."""
days_times = st.builds(
    lambda day, slot, extra_ms: (
        BASE + timedelta(days=day, minutes=30 * slot, milliseconds=extra_ms)
    ),
    st.integers(0, LAST_DAY),
    st.sampled_from([0, 1, 22, 46, 47]),
    st.sampled_from([0, 0, 1, -1]),
)
"""Times on every day, at its start, its last half hour and its last millisecond (-1 ms of
the next day's start), on both sides of each cutoff."""
multi_day_exposures = st.tuples(
    st.sampled_from([FLAG, FLAG, FLAG, "other-flag"]),
    st.sampled_from(IDENTITIES),
    st.sampled_from([*VARIANTS, *VARIANTS, "ghost"]),
    days_times,
)
multi_day_events = st.tuples(
    st.sampled_from(METRIC_EVENTS),
    st.sampled_from(IDENTITIES),
    st.sampled_from(VALUE_TEXTS),
    st.one_of(days_times, days_times, earlier),
    metadata,
)

HOSTILE_VALUE = "x'\\\"`;\n\x00 {p0:String} ) OR 1=1 -- 日本"
TRAIT_NAMES = ["country", HOSTILE_VALUE]
TRAIT_VALUES = ["US", "FR", "", "other", 5, -3, 2.5, True, None, {"nested": 1}, HOSTILE_VALUE]
SDK = [("python", "1"), ("python", "2"), ("js", "1"), ("", "")]
BREAKDOWNS = (
    Breakdown(source="trait", property="country"),
    Breakdown(source="trait", property=HOSTILE_VALUE),
    Breakdown(source="metadata", property="plan"),
    Breakdown(source="metadata", property=HOSTILE_KEY),
    Breakdown(source="sdk_language"),
    Breakdown(source="sdk_version"),
)
"""Every source, hostile names among them (more than an experiment may name: the query
takes any number)."""
described_exposures = st.tuples(
    st.sampled_from([FLAG, FLAG, FLAG, "other-flag"]),
    st.sampled_from(IDENTITIES),
    st.sampled_from([*VARIANTS, *VARIANTS, "ghost"]),
    times,
    st.dictionaries(st.sampled_from(TRAIT_NAMES), st.sampled_from(TRAIT_VALUES)),
    st.dictionaries(
        st.sampled_from(["plan", HOSTILE_KEY]), st.sampled_from([*PROPERTY_VALUES, HOSTILE_VALUE])
    ),
    st.sampled_from(SDK),
)
"""Exposures carrying traits, metadata and SDK columns that differ between an identity's
exposures (its first one decides)."""


def described_rows(env: str, exposed) -> list[StoredEvent]:
    return [
        stored(env, EXPOSURE, f, i, v, t, meta, traits, sdk)
        for f, i, v, t, traits, meta, sdk in exposed
    ]
