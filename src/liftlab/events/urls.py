"""Include under ``api/v1/``: ``path("api/v1/", include("liftlab.events.urls"))``."""

from django.urls import path

from liftlab.events.views import EventsView

urlpatterns = [path("events/", EventsView.as_view(), name="events")]
