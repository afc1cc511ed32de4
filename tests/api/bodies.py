"""Valid request bodies with fresh names, and the check that the API accepted one."""

from __future__ import annotations

import itertools
from typing import Any

_unique = itertools.count(1)


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
