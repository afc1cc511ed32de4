"""The demo's story: a checkout experiment with three variants and known true effects.

``one_click`` truly lifts checkout conversion (a clear win, which carries revenue with it)
and needs fewer clicks per session, but also raises checkout errors and makes pages slower at
the 90th percentile (clear losses on both guardrails: do not ship); ``express`` truly changes
nothing (inconclusive on every metric it is meant to move, a pass on the guardrails: no
decision). Revenue is heavy-tailed (whales), so the revenue metrics are capped. The analysis
runs on the defaults: fixed horizon, relative lift, Benjamini–Hochberg over primary and
secondary metrics, CUPED with a 14-day lookback wherever the metric allows it.
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
        "description": "Sum of order amounts per exposed user, within a week of exposure, "
        "each user's capped at the 99th percentile: a few big spenders must not drown it.",
        "aggregation": "sum",
        "unit": "USD",
        "definition": {
            "version": 2,
            "event": "purchase",
            "value": "amount",
            "filters": [],
            "window": {"hours": 168},
            "cap": {"type": "percentile", "value": 0.99},
        },
    },
    {
        "name": "Mean order value",
        "description": "Each user's average order amount (0 for users who did not buy), "
        "capped at the 99th percentile.",
        "aggregation": "mean",
        "unit": "USD",
        "definition": {
            "version": 2,
            "event": "purchase",
            "value": "amount",
            "filters": [],
            "cap": {"type": "percentile", "value": 0.99},
        },
    },
    {
        "name": "Pro plan page views",
        "description": "Page views by users on the pro plan.",
        "aggregation": "count",
        "unit": "count",
        "definition": {
            "version": 1,
            "event": "page_view",
            "value": None,
            "filters": [{"property": "plan", "op": "eq", "value": "pro"}],
        },
    },
    {
        "name": "Clicks per session",
        "description": "All clicks over all sessions; a shorter checkout needs fewer.",
        "aggregation": "ratio",
        "definition": {
            "version": 2,
            "numerator": {"event": "click", "value": None, "filters": [], "aggregation": "count"},
            "denominator": {
                "event": "session",
                "value": None,
                "filters": [],
                "aggregation": "count",
            },
        },
    },
    {
        "name": "Checkout errors",
        "description": "Errors shown during checkout; fewer is better.",
        "aggregation": "count",
        "higher_is_better": False,
        "definition": {"version": 1, "event": "checkout_error", "value": None, "filters": []},
    },
    {
        "name": "Page latency p90",
        "description": "The 90th percentile of every page view's latency_ms; lower is better.",
        "aggregation": "quantile",
        "higher_is_better": False,
        "unit": "ms",
        "definition": {
            "version": 2,
            "event": "page_view",
            "value": "latency_ms",
            "filters": [],
            "quantile": {"q": 0.9, "level": "event"},
        },
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


# In the order they are attached; regression adjustment (CUPED) is the attachments' default.
ATTACHMENTS = [
    Attachment("Checkout conversion", "increase", "primary"),
    Attachment("Revenue per user", "increase", "secondary"),
    Attachment("Mean order value", "increase", "secondary"),
    Attachment("Pro plan page views", "increase", "secondary"),
    Attachment("Clicks per session", "decrease", "secondary"),
    # A team tolerating up to 10 % more checkout errors for a better checkout; a margin that
    # this traffic can demonstrate (docs/simulator.md: the default 1 % cannot be shown safe
    # here, whatever the truth).
    Attachment("Checkout errors", "no_change", "guardrail", non_inferiority_margin=0.10),
    # Pages may get at most 5 % slower at the 90th percentile.
    Attachment("Page latency p90", "no_change", "guardrail", non_inferiority_margin=0.05),
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
    # 1 % of users are whales whose every order is 50 times larger: a third of the revenue
    # comes from them (docs/simulator.md, "The demo's scenario").
    StreamSpec(
        "purchase",
        active_rate=0.10,
        extra_events=0.3,
        value_mean=45.0,
        value_sigma=1.0,
        whale_share=0.01,
        whale_multiplier=50.0,
    ),
    # Page views carry their latency: log-normal around 250 ms, 3 times slower for the 5 % of
    # users on slow connections.
    StreamSpec(
        "page_view",
        active_rate=0.6,
        extra_events=2.0,
        value_mean=250.0,
        value_sigma=0.5,
        whale_share=0.05,
        whale_multiplier=3.0,
    ),
    StreamSpec(
        "checkout_error", active_rate=0.05, extra_events=0.5, value_mean=1.0, value_sigma=0.0
    ),
    StreamSpec("session", active_rate=0.5, extra_events=0.6, value_mean=1.0, value_sigma=0.0),
    StreamSpec("click", parent="session", per_parent=2.0, value_mean=1.0, value_sigma=0.0),
)


# express moves nothing: these are 0, and the metrics not named follow unchanged knobs.
EXPRESS_UNCHANGED = (
    "Checkout conversion",
    "Checkout errors",
    "Pro plan page views",
    "Clicks per session",
    "Page latency p90",
)


def effects() -> list[Effect]:
    """The true effects: relative changes of each metric against control (before any cap)."""
    return [
        Effect("Checkout conversion", 0.15, "one_click"),
        Effect("Checkout errors", 0.40, "one_click"),
        Effect("Pro plan page views", 0.0, "one_click"),
        Effect("Clicks per session", -0.10, "one_click"),
        Effect("Page latency p90", 0.10, "one_click"),
        *(Effect(metric, 0.0, "express") for metric in EXPRESS_UNCHANGED),
    ]
