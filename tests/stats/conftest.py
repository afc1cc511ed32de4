"""The gbstats reference worker, shared by every test of a session (starting it costs ~2 s)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .gbstats_worker import GBSTATS_VERSION, GbstatsWorker, gbstats_python


@pytest.fixture(scope="session")
def gbstats() -> Iterator[GbstatsWorker]:
    """gbstats in its own venv; skipped where it is not built, but a failure on CI.

    ``make test`` builds .venv-gbstats first, so on CI (``CI`` set, as `.ci/run` is run) a
    missing reference means the comparison silently did not happen: that must not pass.
    """
    python = gbstats_python()
    if python is None:
        message = "no gbstats venv (make .venv-gbstats/.installed, or set GBSTATS_PYTHON)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    worker = GbstatsWorker(python)
    if worker.version != GBSTATS_VERSION:
        worker.close()
        pytest.fail(f"gbstats {worker.version} found, the reference is {GBSTATS_VERSION}")
    yield worker
    worker.close()
