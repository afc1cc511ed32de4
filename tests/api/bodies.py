"""Valid request bodies with fresh names, and the check that the API accepted one."""

from __future__ import annotations

import itertools
from typing import Any

_unique = itertools.count(1)

# Version-2 definitions of each new kind: a capped sum, a ratio and a quantile.
CAPPED_REVENUE = {
    "version": 2,
    "event": "purchase",
    "value": "amount",
    "cap": {"type": "percentile", "value": 0.99},
}
REVENUE_PER_ORDER = {
    "version": 2,
    "numerator": {"event": "purchase", "value": "amount", "aggregation": "sum"},
    "denominator": {"event": "purchase", "aggregation": "count"},
}
P90_LATENCY = {
    "version": 2,
    "event": "request",
    "value": "latency_ms",
    "quantile": {"q": 0.9, "level": "event"},
}


def metric_body(**fields: Any) -> dict[str, Any]:
    """A valid metric (a count of purchases) with a fresh name, with `fields` overriding."""
    return {
        "name": f"metric-{next(_unique)}",
        "aggregation": "count",
        "definition": {"version": 1, "event": "purchase"},
        **fields,
    }


def experiment_body(**fields: Any) -> dict[str, Any]:
    """A valid 50/50 experiment on a fresh flag, with `fields` overriding."""
    return {
        "name": "Checkout button",
        "feature_name": f"flag-{next(_unique)}",
        "variants": [{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        **fields,
    }
