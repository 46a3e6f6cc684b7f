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
import re
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


@contextlib.contextmanager
def scripted_page(url: str, helpers: str) -> Iterator[Any]:
    """A 1000x560 page at ``url`` (a :func:`serve_bundle_page` page), once its view is mounted
    (``window.ready``), ``helpers`` evaluated and the scripted socket open (``window.sock()``).

    Asserts on exit that the page raised no uncaught error, then closes the browser.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        pg = browser.new_page(viewport={"width": 1000, "height": 560})
        errors = page_errors(pg)
        pg.goto(url, wait_until="commit")
        pg.wait_for_function("window.ready === true")
        pg.evaluate(helpers)
        pg.wait_for_function("window.sock() && window.sock().readyState === 1")
        yield pg
        assert errors == []
        browser.close()


def refusing_context(browser: Any, refused: str, requests: list[str]) -> Any:
    """An offline 1200x900 browser context that aborts every request whose URL matches the
    regular expression ``refused``, appending its URL to ``requests`` (tests assert it empty)."""
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})

    def refuse(route: Any) -> None:
        requests.append(route.request.url)
        route.abort()

    context.route(re.compile(refused), refuse)
    return context


def scripted_page_fixtures(page: str, helpers: str) -> tuple[Any, Any]:
    """The fixtures of a test module that drives one scripted page, to assign as
    ``page_url, page = scripted_page_fixtures(PAGE, HELPERS)``: ``page_url`` serves ``page``
    (:func:`serve_bundle_page`, once a module) and ``page`` opens it (:func:`scripted_page`)."""

    @pytest.fixture(scope="module")
    def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
        with serve_bundle_page(tmp_path_factory.mktemp("page"), page) as url:
            yield url

    @pytest.fixture(name="page")
    def page_fixture(page_url: str) -> Iterator[Any]:
        with scripted_page(page_url, helpers) as pg:
            yield pg

    return page_url, page_fixture


#: Page-side helpers for a page that imported benchmarks/render/harness.js as ``H``: the
#: mounted view, the latest scripted socket, and a promise of ``n`` animation frames.
VIEW_HELPERS_JS = """\
window.view = () => document.querySelector("[data-testid=gl-root]").graphliveView;
window.sock = () => H.ScriptedSocket.sockets.at(-1);
window.frames = (n = 2) => new Promise((resolve) => {
  const step = (k) => (k === 0 ? resolve() : requestAnimationFrame(() => step(k - 1)));
  step(n);
});
"""


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
