"""Included at the root: the paths Segment's and PostHog's SDKs post to (``host=`` in the
SDK names liftlab), with or without a trailing slash, and the flags SDKs record exposures of."""

from django.urls import path, re_path

from liftlab.sources.views import ExperimentFlagsView, PostHogView, SegmentView

urlpatterns = [
    re_path(
        r"^v1/(?P<kind>batch|track|page|screen|identify|group|alias)/?$",
        SegmentView.as_view(),
        name="segment",
    ),
    re_path(r"^(?:batch|capture|e)/?$", PostHogView.as_view(), name="posthog"),
    path(
        "api/v1/experiment-flags/",
        ExperimentFlagsView.as_view({"get": "list"}),
        name="experiment-flags",
    ),
]
