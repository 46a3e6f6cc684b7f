"""Debian's Chromium for browser tests, driven by Playwright (browsers are never downloaded).

Where Chromium is missing, browser tests skip with a reason — except under the project's test
command (``scripts/test.sh`` sets ``GRAPHLIVE_REQUIRE_BROWSER=1`` after installing it), where a
missing browser is a failure: CI must never pass by skipping what it claims to check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("GRAPHLIVE_CHROMIUM", "/usr/bin/chromium"))

#: Headless flags: software WebGL through SwiftShader, no background traffic on a closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_available() -> bool:
    return CHROMIUM.exists()


def require_chromium() -> pytest.MarkDecorator:
    """A mark for browser tests: skip (or fail under the test command) without Chromium."""
    if not chromium_available() and os.environ.get("GRAPHLIVE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Chromium is required but missing at {CHROMIUM}", pytrace=False)
    return pytest.mark.skipif(
        not chromium_available(),
        reason=f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    )
