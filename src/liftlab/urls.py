"""Root URLs: the API, its schema and docs, the Segment and PostHog compatible paths."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("api/v1/", include("liftlab.api.urls")),
    path("api/v1/", include("liftlab.events.urls")),
    path("api/v1/", include("liftlab.planning.urls")),
    path("", include("liftlab.sources.urls")),  # Segment's and PostHog's own paths
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("liftlab.web.urls")),
]

handler400 = "liftlab.api.exceptions.bad_request"
handler404 = "liftlab.api.exceptions.not_found"
handler500 = "liftlab.api.exceptions.server_error"
