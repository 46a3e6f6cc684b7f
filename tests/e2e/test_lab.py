"""End to end in a real JupyterLab: file change → parse → CDC event → Redis → server extension →
WebSocket → widget redraw, as users meet it. Each test asserts on what the page shows; key states
are saved as screenshots under test-artifacts/e2e/."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import redis

from graphlive.bus import load_graph
from tests.e2e.conftest import ARTIFACTS, REPO, screenshot
from tests.e2e.lab import Lab

TIMEOUT = 60_000  # ms: JupyterLab's first load on a 2-core machine with software WebGL

FUNCTION = '\n\ndef {name}(receipt: str) -> str:\n    return "refund-" + receipt\n'


def write_notebook(lab: Lab, name: str, *cells: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, lab.root / name)
    return name


def copy_project(lab: Lab, name: str) -> Path:
    target = lab.root / name
    shutil.copytree(REPO / "notebooks" / "demo_shop", target)
    return target


def open_notebook(page: Any, lab: Lab, name: str) -> None:
    # ?reset: start from an empty workspace, not the one an earlier test left open.
    page.goto(lab.url(f"lab/tree/{name}?reset"), wait_until="commit")
    page.locator(".jp-Notebook").first.wait_for(timeout=TIMEOUT)
    page.locator("#jp-main-statusbar >> text=Idle").first.wait_for(timeout=TIMEOUT)


def run_all(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()


def output_matching(page: Any, pattern: str) -> re.Match[str]:
    out = page.locator(".jp-OutputArea-output", has_text=re.compile(pattern)).last
    out.wait_for(timeout=TIMEOUT)
    m = re.search(pattern, out.inner_text())
    assert m, out.inner_text()
    return m


def wait_counts(page: Any, nodes: int, edges: int, timeout: int = TIMEOUT) -> None:
    """Wait until the (last) view on the page shows exactly these counts."""
    page.wait_for_function(
        "([n, e]) => { const all = (id) => document.querySelectorAll(`[data-testid=${id}]`);"
        " const num = (els) => els.length && parseInt(els[els.length - 1].textContent"
        ".replace(/[^0-9]/g, ''), 10);"
        " return num(all('gl-node-count')) === n && num(all('gl-edge-count')) === e; }",
        arg=[nodes, edges],
        timeout=timeout,
    )


def status_text(page: Any) -> str:
    return str(page.get_by_test_id("gl-status").last.inner_text())


def test_quickstart_view_matches_python(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "quickstart.ipynb")
    run_all(page)
    m = output_matching(page, r"-> (\d+) nodes, (\d+) edges")
    wait_counts(page, int(m.group(1)), int(m.group(2)))
    screenshot(page, "quickstart-connected")
    assert "live" in status_text(page)


def test_file_edit_reaches_two_tabs(browser: Any, lab: Lab) -> None:
    """A watched edit shows up in two tabs on the same graph. The latency (issue 8's target:
    within 2 s) is measured and saved in test-artifacts/e2e/edit-latency.json, not asserted:
    on a loaded 2-core machine a wall-clock deadline would fail for reasons unrelated to it."""
    project = copy_project(lab, "watched_shop")
    producer = write_notebook(
        lab,
        "e2e_watch.ipynb",
        "import graphlive\n"
        "lg = graphlive.analyze('watched_shop', graph='e2e-watch')\n"
        "lg.watch()\n"
        "print(f'watching: {lg.graph.node_count} nodes, {lg.graph.edge_count} edges')",
        "lg.view()",
    )
    viewer = write_notebook(
        lab,
        "e2e_viewer.ipynb",
        "from graphlive.widget import GraphView\nGraphView.for_graph('e2e-watch')",
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    first, second = context.new_page(), context.new_page()
    try:
        open_notebook(first, lab, producer)
        run_all(first)
        m = output_matching(first, r"watching: (\d+) nodes, (\d+) edges")
        nodes, edges = int(m.group(1)), int(m.group(2))
        wait_counts(first, nodes, edges)
        open_notebook(second, lab, viewer)
        run_all(second)
        wait_counts(second, nodes, edges)
        payments = project / "shop" / "payments.py"
        started = time.perf_counter()
        payments.write_text(payments.read_text() + FUNCTION.format(name="refund"))
        # One new function: one node and its `contains` edge, in both tabs.
        wait_counts(first, nodes + 1, edges + 1)
        latency = {"first_tab_s": round(time.perf_counter() - started, 3)}
        wait_counts(second, nodes + 1, edges + 1)
        latency["second_tab_s"] = round(time.perf_counter() - started, 3)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "edit-latency.json").write_text(json.dumps(latency))
        print(f"watched edit -> both tabs: {latency}")
        screenshot(first, "watch-edit-first-tab")
        screenshot(second, "watch-edit-second-tab")
    finally:
        context.close()


def test_reanalyze_button_runs_a_server_side_analysis(page: Any, lab: Lab) -> None:
    project = copy_project(lab, "reanalysed_shop")
    name = write_notebook(
        lab,
        "e2e_reanalyze.ipynb",
        "import graphlive\n"
        "lg = graphlive.analyze('reanalysed_shop', graph='e2e-reanalyze')\n"
        "print(f'analysed: {lg.graph.node_count} nodes, {lg.graph.edge_count} edges')",
        "lg.view()",
    )
    open_notebook(page, lab, name)
    run_all(page)
    m = output_matching(page, r"analysed: (\d+) nodes, (\d+) edges")
    nodes, edges = int(m.group(1)), int(m.group(2))
    wait_counts(page, nodes, edges)
    # Not watched: the change only shows once someone re-analyses.
    payments = project / "shop" / "payments.py"
    payments.write_text(payments.read_text() + FUNCTION.format(name="reanalysed"))
    page.get_by_test_id("gl-reanalyze").last.click()
    wait_counts(page, nodes + 1, edges + 1)
    screenshot(page, "reanalyze-done")


def test_load_ext_cells_update_the_view(page: Any, lab: Lab) -> None:
    name = write_notebook(
        lab,
        "e2e_cells.ipynb",
        "%load_ext graphlive",
        "def a():\n    return 1",
        "%graphlive",
        "def b():\n    return a() + len('x')",
        "class C:\n    def m(self):\n        return b()",
        "%graphlive status",
    )
    open_notebook(page, lab, name)
    run_all(page)
    m = output_matching(page, r"(\d+) nodes, (\d+) edges, 3 cells")
    wait_counts(page, int(m.group(1)), int(m.group(2)))
    screenshot(page, "load-ext-cells")


class WatchProcess:
    """``graphlive watch`` in its own process, as a user would run it next to JupyterLab."""

    def __init__(self, lab: Lab, project: Path, graph: str) -> None:
        cmd = [sys.executable, "-m", "graphlive.cli", "watch", str(project), "--graph", graph,
               "--json"]  # fmt: skip
        env = {**os.environ, "GRAPHLIVE_REDIS_URL": lab.redis_url}
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        for stream, tag in ((self.proc.stdout, "out:"), (self.proc.stderr, "err:")):
            threading.Thread(target=self._pump, args=(stream, tag), daemon=True).start()

    def _pump(self, stream: Any, tag: str) -> None:
        for line in stream:
            self.lines.put(tag + line)

    def next(self, prefix: str, timeout: float = 60) -> str:
        while True:
            line = self.lines.get(timeout=timeout)
            if line.startswith(prefix):
                return line[len(prefix) :]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def test_view_survives_a_server_restart_while_a_watcher_publishes(page: Any, lab: Lab) -> None:
    project = copy_project(lab, "restart_shop")
    watcher = WatchProcess(lab, project, "e2e-restart")
    client = redis.Redis.from_url(lab.redis_url)
    try:
        assert "watching" in watcher.next("err:")
        name = write_notebook(
            lab,
            "e2e_restart.ipynb",
            "from graphlive.widget import GraphView\nGraphView.for_graph('e2e-restart')",
        )
        open_notebook(page, lab, name)
        run_all(page)
        graph, _ = load_graph(client, "e2e-restart")
        wait_counts(page, graph.node_count, graph.edge_count)
        lab.stop()
        # While the server is down the watcher keeps publishing: add two functions, drop one.
        payments = project / "shop" / "payments.py"
        text = payments.read_text().replace(
            "def _invoice(cents: int) -> str:", "def _gone(cents: int) -> str:"
        )
        payments.write_text(
            text + FUNCTION.format(name="refund_a") + FUNCTION.format(name="refund_b")
        )
        update = json.loads(watcher.next("out:"))
        assert update["error"] is None and update["publish_error"] is None
        lab.start()
        graph, _ = load_graph(client, "e2e-restart")
        assert "shop.payments.refund_b" in graph and "shop.payments._invoice" not in graph
        # The page reconnects by itself and resumes: exactly the producer's graph.
        wait_counts(page, graph.node_count, graph.edge_count)
        screenshot(page, "restart-resumed")
        # And the live path works again after the restart.
        (project / "shop" / "extra.py").write_text("def extra():\n    return 1\n")
        json.loads(watcher.next("out:"))
        graph, _ = load_graph(client, "e2e-restart")
        wait_counts(page, graph.node_count, graph.edge_count)
    finally:
        client.close()
        watcher.stop()


def test_graphlive_lab_command(browser: Any, lab_redis: str, tmp_path: Path) -> None:
    """`graphlive lab PATH`: analyses and watches PATH, opens JupyterLab on its notebook."""
    from tests.e2e.lab import GraphliveLab

    project = tmp_path / "my shop"
    shutil.copytree(REPO / "notebooks" / "demo_shop", project)
    server = GraphliveLab(root=project, redis_url=lab_redis, workdir=tmp_path)
    server.start()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    client = redis.Redis.from_url(lab_redis)
    try:
        notebook = project / ".graphlive" / "my-shop.ipynb"
        assert notebook.exists()
        assert (project / ".graphlive" / ".gitignore").read_text().strip().endswith("*")
        graph, _ = load_graph(client, "my-shop")
        assert "shop.payments.charge" in graph
        # The server's default URL opens the notebook.
        page.goto(server.url("?reset"), wait_until="commit")
        page.locator(".jp-Notebook").first.wait_for(timeout=TIMEOUT)
        page.locator("#jp-main-statusbar >> text=Idle").first.wait_for(timeout=TIMEOUT)
        assert "my-shop.ipynb" in page.title() or page.get_by_text("Live code graph").count()
        run_all(page)
        wait_counts(page, graph.node_count, graph.edge_count)
        output_matching(page, r"<LiveGraph 'my-shop': \d+ nodes")
        # The watcher lives in the `graphlive lab` process: an edit reaches the view.
        payments = project / "shop" / "payments.py"
        payments.write_text(payments.read_text() + FUNCTION.format(name="refund"))
        wait_counts(page, graph.node_count + 1, graph.edge_count + 1)
        screenshot(page, "graphlive-lab")
    finally:
        client.close()
        context.close()
        server.stop()
