"""End to end in a real JupyterLab without the graphlive server extension: the view falls back
to the kernel comm, follows the graph as the kernel changes it, and its jump-to-source link
opens the file at the line in the same JupyterLab window.

Real parts only: a redis-server, `jupyter lab` (server extension disabled by configuration),
an ipykernel started by it, the anywidget and ipywidgets front ends, Debian's Chromium.
Slow (JupyterLab loads in software-rendered Chromium): marked ``slow``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

import graphlive
from tests.browser import launch_chromium, require_chromium
from tests.redis_servers import stop_process

pytestmark = [require_chromium(), pytest.mark.slow]

TOKEN = "graphlive-test-token"
GRAPH = "lab-e2e"

CART = textwrap.dedent(
    '''\
    """Shopping carts."""
    from shop.prices import price_of


    class Cart:
        """Items to buy."""

        def __init__(self):
            self.items = []

        def total(self):
            return sum(price_of(i) for i in self.items)
    '''
)
PRICES = textwrap.dedent(
    '''\
    """Prices."""
    PRICES = {"apple": 3}


    def price_of(item):
        """Price of one item."""
        if item in PRICES:
            return PRICES[item]
        return 0
    '''
)
EXTRA = textwrap.dedent(
    '''\
    """Discounts, added while the view is open."""
    from shop.prices import price_of


    def discounted(item, rate):
        return price_of(item) * (1 - rate)


    def coupon(item):
        return discounted(item, 0.1)
    '''
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "root"
    (root / "proj" / "shop").mkdir(parents=True)
    (root / "proj" / "shop" / "__init__.py").write_text('"""A shop."""\n')
    (root / "proj" / "shop" / "cart.py").write_text(CART)
    (root / "proj" / "shop" / "prices.py").write_text(PRICES)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import graphlive\n"
            f"lg = graphlive.analyze('proj', graph={GRAPH!r})\n"
            "lg.view(height=460)"
        ),
        nbformat.v4.new_code_cell("lg.update(['shop/extra.py']).files"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(root / "nb.ipynb"))
    # No graphlive server extension: the view must find no endpoint and use the kernel comm.
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"graphlive_server": False}}})
    )
    runtime = tmp_path / "runtime"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "GRAPHLIVE_REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    port = free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={TOKEN}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabServerApp.workspaces_dir=" + str(tmp_path / "workspaces"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "lab.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.2)  # waiting for a subprocess to listen: nothing to wait on
        yield base, root
    finally:
        stop_process(proc, timeout=20)


def count(page: Any, testid: str) -> int:
    return int(page.get_by_test_id(testid).get_attribute("data-value"))


def test_jupyterlab_without_the_extension_uses_the_kernel_comm(lab: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    base, root = lab
    before = graphlive.analyze(root / "proj", graph=GRAPH, publish=False).graph
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(f"{base}/lab/tree/nb.ipynb?token={TOKEN}", wait_until="commit")
        page.wait_for_function(
            "window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
            " === 'idle'"
        )
        page.evaluate("jupyterapp.commands.execute('notebook:run-all-cells')")

        # 1. The graph arrives through the kernel comm (no graphlive endpoint on this server).
        nodes = "document.querySelector('[data-testid=gl-node-count]')?.dataset.value"
        page.wait_for_function(f"{nodes} === '{before.node_count}'")
        assert count(page, "gl-edge-count") == before.edge_count
        root_el = page.get_by_test_id("gl-root")
        assert root_el.get_attribute("data-transport") == "comm"
        page.wait_for_function(
            "document.querySelector('[data-testid=gl-status]').textContent === 'live (kernel)'"
        )

        # 2. The kernel changes the graph: the view follows through the comm.
        (root / "proj" / "shop" / "extra.py").write_text(EXTRA)
        after = graphlive.analyze(root / "proj", graph=GRAPH, publish=False).graph
        assert after.node_count > before.node_count
        page.evaluate(
            """() => { const nb = jupyterapp.shell.currentWidget.content;
              nb.activeCellIndex = 1; return jupyterapp.commands.execute('notebook:run-cell'); }"""
        )
        page.wait_for_function(f"{nodes} === '{after.node_count}'")
        assert count(page, "gl-edge-count") == after.edge_count

        # 3. Jump to source: the link opens the file in this JupyterLab, at the line.
        page.get_by_test_id("gl-search").fill("discounted")
        page.get_by_test_id("gl-search-result").first.click()
        link = page.get_by_test_id("gl-jump")
        link.wait_for()
        assert link.inner_text() == "shop/extra.py:5"
        assert link.get_attribute("href") == f"{base}/lab/tree/proj/shop/extra.py"
        pages = len(page.context.pages)
        link.click()
        opened = "jupyterapp.shell.currentWidget?.context?.path === 'proj/shop/extra.py'"
        # JupyterLab runs commands from page elements of trusted outputs at once, and asks
        # first for untrusted ones.
        page.wait_for_function(f"({opened}) || !!document.querySelector('.jp-Dialog')")
        if page.locator(".jp-Dialog").count():
            page.locator(".jp-Dialog .jp-mod-accept").click()
        page.wait_for_function(opened)
        page.wait_for_function(
            "jupyterapp.shell.currentWidget.content.editor.getCursorPosition().line === 4"
        )
        assert len(page.context.pages) == pages  # same window, no new tab
        browser.close()
