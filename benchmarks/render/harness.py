"""Shared harness of the browser benchmarks in this directory (bench_render.py, bench_explore.py).

One page directory holds the built GraphView bundle (src/graphlive/static), the page helpers
(harness.js), a bare sigma + graphology bundle built with esbuild from the same versions as the
widget (js/node_modules), and the benchmark's own page script. A local HTTP server serves it
to Debian's Chromium (/usr/bin/chromium) with SwiftShader, so both pages draw with the same
software WebGL in the same browser and results can be read as ratios.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# The same Chromium and flags as the browser tests (software WebGL, no background traffic).
sys.path.insert(0, str(ROOT))
from tests.browser import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402

# The bare page: sigma and graphology as globals, nothing else.
BARE_ENTRY = """
import Graph from "graphology";
import Sigma from "sigma";
window.Graph = Graph;
window.Sigma = Sigma;
"""

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="graphview.css"></head>
<body style="margin:0"><div id="app" style="width:1200px;height:800px"></div>
<script src="bare.js"></script><script type="module" src="bench.js"></script></body></html>"""


def build_page_dir(tmp: Path, page_script: str, bundle: Path | None = None) -> None:
    """Fill `tmp` with the page: bundle, helpers, bare sigma, and `page_script` as bench.js.

    `bundle` replaces the built graphview.js, e.g. an older commit's
    (``git show REV:src/graphlive/static/graphview.js > old.js``) to compare in the same run
    conditions.
    """
    static = ROOT / "src" / "graphlive" / "static"
    for name in ("graphview.js", "graphview.css"):
        shutil.copy(static / name, tmp / name)
    if bundle is not None:
        shutil.copy(bundle, tmp / "graphview.js")
    shutil.copy(HERE / "harness.js", tmp / "harness.js")
    shutil.copy(HERE / page_script, tmp / "bench.js")
    esbuild = ROOT / "js" / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        raise SystemExit("js/node_modules is missing: run `npm ci` in js/ first")
    subprocess.run(
        [str(esbuild), "--bundle", "--minify", "--format=iife", f"--outfile={tmp / 'bare.js'}"],
        input=BARE_ENTRY.encode(),
        cwd=ROOT / "js",
        check=True,
    )
    (tmp / "index.html").write_text(PAGE)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def browser_session(page_script: str, bundle: Path | None = None) -> Iterator[tuple[Any, str]]:
    """A Chromium and the URL of the page running `page_script`, served for the duration."""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        build_page_dir(tmp, page_script, bundle)
        handler = functools.partial(_Quiet, directory=str(tmp))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
                try:
                    yield browser, url
                finally:
                    browser.close()
        finally:
            server.shutdown()


def new_page(browser: Any, url: str) -> Page:
    """A fresh page of the benchmark, once its script and bare sigma are loaded."""
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.on("pageerror", lambda exc: print("page error:", exc))
    page.goto(url, wait_until="commit")
    page.wait_for_function("typeof window.prepare === 'function' && !!window.Sigma")
    return page
