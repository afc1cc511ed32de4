"""The project's URLs with the events endpoint in front, until liftlab.urls includes it."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("liftlab.events.urls")),
    path("", include("liftlab.urls")),
]
