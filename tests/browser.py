"""Debian's Chromium for browser tests, driven by Playwright (browsers are never downloaded).

Where Chromium is missing, browser tests skip with a reason — except under the project's test
command (``scripts/test.sh`` sets ``GRAPHLIVE_REQUIRE_BROWSER=1`` after installing it), where a
missing browser is a failure: CI must never pass by skipping what it claims to check.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

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


def launch_chromium(playwright: Any) -> Any:
    """Launch Debian's Chromium (headless, :data:`CHROMIUM_FLAGS`) from a started Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


def page_errors(page: Any) -> list[str]:
    """A list that collects the page's uncaught errors from now on (tests assert it is empty)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output free of one access-log line a request."""


@contextlib.contextmanager
def serve_bundle_page(root: Path, page: str) -> Iterator[str]:
    """Serve ``page`` as index.html next to the built bundle and the scripted-server harness.

    Copies graphview.js/.css and benchmarks/render/harness.js into ``root``, serves it on a
    free local port and yields the page's URL; the server is shut down on exit.
    """
    static = ROOT / "src" / "graphlive" / "static"
    for name in ("graphview.js", "graphview.css"):
        shutil.copy(static / name, root / name)
    shutil.copy(ROOT / "benchmarks" / "render" / "harness.js", root / "harness.js")
    (root / "index.html").write_text(page)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
