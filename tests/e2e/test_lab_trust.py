"""`graphlive lab` writes a signed notebook: JupyterLab trusts it, so jump-to-source opens the
file at once instead of asking "Run Command?" first (as it does for an untrusted notebook)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.e2e.conftest import REPO
from tests.e2e.lab import GraphliveLab

TIMEOUT = 60_000  # ms: JupyterLab's first load on a 2-core machine with software WebGL
OPENED = "jupyterapp.shell.currentWidget?.context?.path === 'shop/payments.py'"


class ExposedLab(GraphliveLab):
    """`graphlive lab` with ``window.jupyterapp`` (to read what JupyterLab shows)."""

    def server_args(self) -> list[str]:
        return [*super().server_args(), "--LabApp.expose_app_in_browser=True"]


def jump_asks_first(context: Any, server: ExposedLab, notebook: str) -> bool:
    """Run the view's cell of ``notebook`` and click the jump link of shop.payments.charge;
    whether JupyterLab asked before opening the file (the file must open either way)."""
    page = context.new_page()
    try:
        page.set_default_timeout(TIMEOUT)
        page.goto(server.url(f"lab/tree/.graphlive/{notebook}?reset"), wait_until="commit")
        page.wait_for_function(
            "window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
            " === 'idle'"
        )
        # What the notebook asks for: run the view's cell (only that one).
        page.evaluate(
            """() => { const nb = jupyterapp.shell.currentWidget.content;
              nb.activeCellIndex = 1; return jupyterapp.commands.execute('notebook:run-cell'); }"""
        )
        page.wait_for_function(
            "Number(document.querySelector('[data-testid=gl-node-count]')?.dataset.value) > 0"
        )
        page.get_by_test_id("gl-search").fill("charge")
        page.locator("[data-testid=gl-search-result][data-id='shop.payments.charge']").click()
        link = page.get_by_test_id("gl-jump")
        link.wait_for()
        assert link.get_attribute("href", timeout=TIMEOUT).endswith("/lab/tree/shop/payments.py")
        link.click()
        page.wait_for_function(f"({OPENED}) || !!document.querySelector('.jp-Dialog')")
        asked = page.locator(".jp-Dialog").count() > 0
        if asked:
            page.locator(".jp-Dialog .jp-mod-accept").click()
        page.wait_for_function(OPENED)
        return asked
    finally:
        page.close()


def test_jump_links_of_the_lab_notebook_open_without_asking(
    browser: Any, lab_redis: str, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    shutil.copytree(REPO / "notebooks" / "demo_shop", project)
    server = ExposedLab(root=project, redis_url=lab_redis, workdir=tmp_path)
    server.start()
    # The same notebook with one character more: unsigned, as graphlive lab wrote it before.
    signed = project / ".graphlive" / "shop.ipynb"
    twin = json.loads(signed.read_text())
    twin["cells"][1]["source"] += "\n"
    (signed.parent / "unsigned.ipynb").write_text(json.dumps(twin))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        asked = {
            name: jump_asks_first(context, server, name)
            for name in ("shop.ipynb", "unsigned.ipynb")
        }
        assert asked == {"shop.ipynb": False, "unsigned.ipynb": True}
    finally:
        context.close()
        server.stop()
