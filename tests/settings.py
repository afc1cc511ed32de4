"""Settings for the test run: liftlab's own, under a fresh LIFTLAB_HOME per process.

pytest-django imports the settings before any conftest runs, so the test home must be
chosen here; it is exported so that `liftlab.config` and any subprocess see the same one.
"""

import os
import tempfile

os.environ["LIFTLAB_HOME"] = tempfile.mkdtemp(prefix="liftlab-test-")
os.environ.pop("EVENTSTORE_URL", None)
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from liftlab.settings import *  # noqa: F403

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not shared-cache memory: the concurrency tests' threads then lock as a server's
    # do (shared-cache memory databases lock per table and never wait for the busy timeout).
    DATABASES["default"]["TEST"] = {"NAME": str(HOME / "test.sqlite3")}  # noqa: F405
