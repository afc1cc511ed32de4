"""The demo's story: a checkout experiment with three variants and known true effects.

``one_click`` truly lifts checkout conversion (a clear win, which carries revenue with it)
but also raises checkout errors (a clear loss on the guardrail: do not ship); ``express`` truly
changes nothing (inconclusive on every metric it is meant to move, a pass on the guardrail: no
decision). The analysis runs on the defaults: fixed horizon, relative lift,
Benjamini–Hochberg over primary and secondary metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from liftlab.simulate import Effect, StreamSpec

FLAG = "checkout_flow"

METRICS = [
    {
        "name": "Checkout conversion",
        "description": "Share of exposed users who buy at least once.",
        "aggregation": "occurrence",
        "definition": {"version": 1, "event": "purchase", "value": None, "filters": []},
    },
    {
        "name": "Revenue per user",
        "description": "Sum of order amounts per exposed user, within a week of exposure.",
        "aggregation": "sum",
        "definition": {
            "version": 1,
            "event": "purchase",
            "value": "amount",
            "filters": [],
            "window": {"hours": 168},
        },
    },
    {
        "name": "Mean order value",
        "description": "Each user's average order amount (0 for users who did not buy).",
        "aggregation": "mean",
        "definition": {"version": 1, "event": "purchase", "value": "amount", "filters": []},
    },
    {
        "name": "Pro plan page views",
        "description": "Page views by users on the pro plan.",
        "aggregation": "count",
        "definition": {
            "version": 1,
            "event": "page_view",
            "value": None,
            "filters": [{"property": "plan", "op": "eq", "value": "pro"}],
        },
    },
    {
        "name": "Checkout errors",
        "description": "Errors shown during checkout; fewer is better.",
        "aggregation": "count",
        "higher_is_better": False,
        "definition": {"version": 1, "event": "checkout_error", "value": None, "filters": []},
    },
]


@dataclass(frozen=True)
class Attachment:
    """A metric attached to the experiment: how it is judged."""

    metric: str
    expected_direction: str
    role: str
    non_inferiority_margin: float | None = None  # None: the engine's default (1 %)

    def body(self) -> dict:
        body = {"expected_direction": self.expected_direction, "role": self.role}
        if self.non_inferiority_margin is not None:
            body["non_inferiority_margin"] = self.non_inferiority_margin
        return body


# In the order they are attached.
ATTACHMENTS = [
    Attachment("Checkout conversion", "increase", "primary"),
    Attachment("Revenue per user", "increase", "secondary"),
    Attachment("Mean order value", "increase", "secondary"),
    Attachment("Pro plan page views", "increase", "secondary"),
    # A team tolerating up to 10 % more checkout errors for a better checkout; a margin that
    # this traffic can demonstrate (docs/simulator.md: the default 1 % cannot be shown safe
    # here, whatever the truth).
    Attachment("Checkout errors", "no_change", "guardrail", non_inferiority_margin=0.10),
]

EXPERIMENT = {
    "name": "One-click checkout",
    "hypothesis": "Fewer checkout steps make more visitors buy, without more checkout errors.",
    "feature_name": FLAG,
    "variants": [
        {"key": "control", "weight": 0.34},
        {"key": "one_click", "weight": 0.33},
        {"key": "express", "weight": 0.33},
    ],
    "control_variant": "control",
}

STREAMS = (
    StreamSpec("purchase", active_rate=0.10, extra_events=0.3, value_mean=45.0, value_sigma=1.0),
    StreamSpec("page_view", active_rate=0.6, extra_events=3.0, value_mean=1.0, value_sigma=0.0),
    StreamSpec(
        "checkout_error", active_rate=0.05, extra_events=0.5, value_mean=1.0, value_sigma=0.0
    ),
)


def effects() -> list[Effect]:
    """The true effects: relative changes of each metric's per-user mean against control."""
    return [
        Effect("Checkout conversion", 0.15, "one_click"),
        Effect("Checkout errors", 0.40, "one_click"),
        Effect("Pro plan page views", 0.0, "one_click"),
        Effect("Checkout conversion", 0.0, "express"),
        Effect("Checkout errors", 0.0, "express"),
        Effect("Pro plan page views", 0.0, "express"),
    ]
