"""liftlab's Python SDK: ``Client`` sends events from a background thread (``client.py``);
``liftlab.sdk.openfeature`` records OpenFeature evaluations and ``track()`` calls through it.

    client = Client("ll_ik_…", "https://liftlab.example.com")
    client.expose("checkout", "one_click", "user-42")
    client.track("purchase", "user-42", value=42.0)
    client.close()  # at shutdown: sends what is queued
"""

from liftlab.sdk.client import Client, DeliveryError, FlagExperiment, RetryPolicy, Tally

__all__ = ["Client", "DeliveryError", "FlagExperiment", "RetryPolicy", "Tally"]
