"""Settings for a ``liftlab serve`` child: the project's, with the events endpoint routed."""

from liftlab.settings import *  # noqa: F403

ROOT_URLCONF = "tests.ingest.urls"
