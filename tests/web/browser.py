"""Headless Chromium for page tests: Debian's ``chromium`` driven by Playwright, never downloaded.

Each browser gets a fresh profile folder and no background networking, so a run touches nothing
outside the test and never reaches the internet.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Skipped on a machine without Chromium, but never on CI (``CI`` set, as .ci/run does, which
# installs it): there a missing browser must fail the browser tests, not quietly skip them.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"{CHROMIUM} is missing (apt-get install chromium)",
)


@contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator:
    """A page in a fresh headless Chromium profile; closed with everything it opened."""
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="liftlab-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def screenshot(page, name: str, selector: str | None = None) -> Path:
    """Save the whole page, or one element of it, under ``screenshots/`` (the CI prints that
    folder)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if selector is None:
        page.screenshot(path=str(path), full_page=True)
    else:
        page.locator(selector).screenshot(path=str(path))
    return path
