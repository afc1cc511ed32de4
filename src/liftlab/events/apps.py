from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The ingestion endpoint; the events themselves live in the event store, not in models."""

    name = "liftlab.events"
    label = "events"
