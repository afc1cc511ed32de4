"""Included at the root: the paths Segment's and PostHog's SDKs post to, under a host of
their own (``host=`` in the SDK), with or without a trailing slash."""

from django.urls import re_path

from liftlab.sources.views import PostHogView, SegmentView

urlpatterns = [
    re_path(
        r"^v1/(?P<kind>batch|track|page|screen|identify|group|alias)/?$",
        SegmentView.as_view(),
        name="segment",
    ),
    re_path(r"^(?:batch|capture|e)/?$", PostHogView.as_view(), name="posthog"),
]
