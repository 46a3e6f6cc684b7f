"""Views created by graph name: their saved copy, and exports of notebooks without one.

A ``GraphView.for_graph("name")`` loads its saved copy from Redis when it is created; the
exporter fills views that carry no copy (JupyterLab saves no widget state by default) by
loading their graph by name from Redis at export time, and says so in the page and on stderr
when it cannot. Everything runs against a real redis-server; the acceptance test executes a
notebook with ``jupyter nbconvert --execute`` (a real kernel), exports it with
``graphlive export`` (and nbconvert's ``--to graphlive``) and opens the pages in Chromium with
every network request refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import redis

from graphlive.bus.snapshot import load_graph
from graphlive.export import export_html, saved_copy, saved_copy_from_redis
from graphlive.graph import Edge, EdgeKind, Node, NodeKind
from graphlive.live import LiveGraph, analyze
from graphlive.widget import GraphView
from tests.browser import launch_chromium, page_errors, refusing_context, require_chromium
from tests.test_export import PACKAGE

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.fixture
def published(tmp_path: Path, redis_url: str, graph_name: str) -> int:
    """The tiny shop analysed into ``graph_name`` on the test Redis; yields its node count as
    Redis holds it."""
    for rel, text in PACKAGE.items():
        path = tmp_path / "code" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    live: LiveGraph = analyze(tmp_path / "code", graph=graph_name, redis_url=redis_url)
    live.close()
    client = redis.Redis.from_url(redis_url)
    try:
        nodes = load_graph(client, graph_name)[0].node_count
    finally:
        client.close()
    assert nodes > 5
    return nodes


@pytest.fixture
def dead_redis(tmp_path: Path) -> str:
    """A Redis URL nothing listens on."""
    return f"unix://{tmp_path / 'nobody-here.sock'}"


def widget_output(model_id: str, text: str) -> Any:
    return nbformat.v4.new_output(
        "display_data", data={_WIDGET_VIEW: {"model_id": model_id}, "text/plain": text}
    )


def notebook(*cells: tuple[str, list[Any]]) -> Any:
    nb = nbformat.v4.new_notebook()
    for source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = outputs
        nb.cells.append(cell)
    return nb


def page_states(page: str) -> list[dict[str, Any]]:
    """The states the exported page mounts its views with."""
    found = re.findall(
        r'<script type="application/json" id="graphlive-state-\d+">(.*?)</script>', page
    )
    return [json.loads(text) for text in found]


# ---------------------------------------------------------------------- copies from Redis


def add_module(live: LiveGraph, i: int) -> None:
    with live.graph.transaction():
        live.graph.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py", line=1))
        live.graph.add_node(Node.make(f"m{i}.f", NodeKind.FUNCTION, file=f"m{i}.py", line=2))
        live.graph.add_edge(Edge(EdgeKind.CONTAINS, f"m{i}", f"m{i}.f", 0, f"m{i}.py"))


def test_the_copy_from_redis_is_the_graph_redis_holds(
    redis_client: redis.Redis, redis_url: str, graph_name: str
) -> None:
    def expected() -> dict[str, Any]:
        return saved_copy(*load_graph(redis_client, graph_name))

    assert saved_copy_from_redis(redis_client, graph_name) is None
    live = LiveGraph(graph_name, redis_url=redis_url)
    try:
        for i in range(10):
            add_module(live, i)
        assert live.snapshot()
        # Nothing after the snapshot: the copy is made from the snapshot's content.
        at_snapshot = saved_copy_from_redis(redis_client, graph_name)
        assert at_snapshot == expected() and len(at_snapshot["nodes"]) == 20
        # Events after the snapshot: they are in the copy too.
        add_module(live, 10)
        assert live.flush()
        with_tail = saved_copy_from_redis(redis_client, graph_name)
        assert with_tail is not None and with_tail == expected()
        assert len(with_tail["nodes"]) == 22 and with_tail["seq"] > at_snapshot["seq"]
    finally:
        live.close()


# ---------------------------------------------------------------------- views created by name


def test_a_view_created_by_name_saves_its_graph_from_redis(
    published: int, redis_url: str, graph_name: str
) -> None:
    view = GraphView.for_graph(graph_name, redis_url=redis_url, height=300)
    try:
        saved = view.saved_graph
        assert saved["v"] == 1 and saved["graph"] == graph_name and saved["level"] == "full"
        assert len(saved["nodes"]) == published == saved["total"]["nodes"]
        assert saved["epoch"] and saved["seq"] > 0
        # The output's text names the graph: exporters read it from there.
        assert repr(view) == f"GraphView(graph={graph_name!r}, height=300)"
        assert view._repr_mimebundle_()[0]["text/plain"] == repr(view)
    finally:
        view.close()
    unsaved = GraphView.for_graph(graph_name, redis_url=redis_url, save=False)
    assert unsaved.saved_graph == {}
    # save_snapshot() refreshes the copy from Redis the same way.
    unsaved.save_snapshot()
    client = redis.Redis.from_url(redis_url)
    try:
        assert unsaved.saved_graph == saved_copy(*load_graph(client, graph_name), max_visible=300)
    finally:
        client.close()
    unsaved.close()
    # A graph Redis does not hold (yet): an empty copy, as of an empty graph.
    empty = GraphView.for_graph(f"{graph_name}-none", redis_url=redis_url, save=False)
    empty.save_snapshot()
    assert empty.saved_graph["nodes"] == [] and empty.saved_graph["graph"] == empty.graph
    empty.close()


def test_a_view_of_a_name_redis_lacks_or_cannot_reach_still_works(
    redis_url: str, graph_name: str, dead_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    missing = GraphView.for_graph(graph_name, redis_url=redis_url)
    assert missing.saved_graph == {} and missing.graph == graph_name
    missing.close()
    with caplog.at_level(logging.WARNING, logger="graphlive.widget"):
        unreachable = GraphView.for_graph(graph_name, redis_url=dead_redis)
    assert unreachable.saved_graph == {} and unreachable.graph == graph_name
    assert f"no saved copy of graph {graph_name!r}" in caplog.text
    unreachable.close()


# ---------------------------------------------------------------------- export rules


def test_export_loads_views_without_widget_state_by_name(
    published: int, redis_url: str, graph_name: str
) -> None:
    nb = notebook(
        # As JupyterLab saves it: the output, no widget state; the name is in the source.
        (
            "from graphlive.widget import GraphView\n"
            f"GraphView.for_graph({graph_name!r}, height=300)",
            [widget_output("m1", "<graphlive.widget.GraphView object at 0x7f>")],
        ),
        # The name only in the output's text (this version's repr).
        ("lg.view()", [widget_output("m2", f"GraphView(graph={graph_name!r}, height=400)")]),
        # Another widget is left alone.
        ("IntSlider()", [widget_output("m3", "IntSlider(value=0)")]),
    )
    page, problems = export_html(nb, redis_url=redis_url)
    assert problems == []
    states = page_states(page)
    assert [s["graph"] for s in states] == [graph_name, graph_name]
    assert [s["height"] for s in states] == [300, 400]
    assert all(len(s["saved_graph"]["nodes"]) == published for s in states)
    assert page.count('class="graphlive-static"') == 2 and "IntSlider(value=0)" in page


def test_export_fills_an_empty_saved_copy_from_the_models_graph(
    published: int, redis_url: str, graph_name: str, dead_redis: str
) -> None:
    def with_state(saved: dict[str, Any]) -> Any:
        nb = notebook(("view", [widget_output("m1", "<graphlive.widget.GraphView object>")]))
        model = {"graph": graph_name, "height": 333, "saved_graph": saved, "_esm": "x" * 100}
        nb.metadata["widgets"] = {
            _WIDGET_STATE: {
                "version_major": 2,
                "version_minor": 0,
                "state": {"m1": {"state": model}},
            }
        }
        return nb

    page, problems = export_html(with_state({}), redis_url=redis_url)
    assert problems == []
    (state,) = page_states(page)
    assert state["height"] == 333 and len(state["saved_graph"]["nodes"]) == published
    assert "_esm" not in state
    # A saved copy in the widget state wins: Redis is not needed at all.
    saved = state["saved_graph"] | {"nodes": state["saved_graph"]["nodes"][:2]}
    page, problems = export_html(with_state(saved), redis_url=dead_redis)
    assert problems == [] and len(page_states(page)[0]["saved_graph"]["nodes"]) == 2


def test_export_says_why_a_view_shows_no_graph(
    published: int, redis_url: str, graph_name: str, dead_redis: str
) -> None:
    named = (f"GraphView.for_graph({graph_name!r})", [widget_output("m1", "GraphView")])
    page, problems = export_html(notebook(named), redis_url=dead_redis)
    assert len(problems) == 1
    assert f"cell 1: the view of graph {graph_name!r} has no saved copy" in problems[0]
    assert f"Redis at {dead_redis} could not be reached" in problems[0]
    assert page_states(page) == [] and page.count('data-testid="gl-export-missing"') == 1

    absent = ('GraphView.for_graph("not-published")', [widget_output("m1", "GraphView")])
    page, problems = export_html(notebook(absent), redis_url=redis_url)
    assert problems == [
        "cell 1: the view of graph 'not-published' has no saved copy, and "
        f"Redis at {redis_url} holds no graph named 'not-published'"
    ]
    assert "holds no graph named" in page and page_states(page) == []

    anonymous = ("lg.view()", [widget_output("m1", "<graphlive.widget.GraphView object>")])
    page, problems = export_html(notebook(anonymous), redis_url=redis_url)
    assert len(problems) == 1 and "does not name it" in problems[0]
    assert 'data-testid="gl-export-missing"' in page


def test_export_cli_reports_views_it_could_not_fill(
    published: int, graph_name: str, dead_redis: str, tmp_path: Path
) -> None:
    path = tmp_path / "saved-by-lab.ipynb"
    nb = notebook((f"GraphView.for_graph({graph_name!r})", [widget_output("m1", "GraphView")]))
    nbformat.write(nb, path)
    out = tmp_path / "page.html"
    done = subprocess.run(
        [sys.executable, "-m", "graphlive.cli", "export", str(path), "-o", str(out),
         "--redis-url", dead_redis],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"the view of graph {graph_name!r} has no saved copy" in done.stderr
    assert "could not be reached" in done.stderr and "1 view(s) show a notice" in done.stderr
    assert 'data-testid="gl-export-missing"' in out.read_text()


# ---------------------------------------------------------------------- acceptance


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@require_chromium()
def test_a_notebook_showing_a_graph_by_name_exports_it_offline(
    published: int, redis_url: str, graph_name: str, dead_redis: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    source = tmp_path / "by-name.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from graphlive.widget import GraphView\n\n"
            f"GraphView.for_graph({graph_name!r}, height=480)"
        )
    ]
    nbformat.write(nb, source)
    env = {
        **os.environ,
        "GRAPHLIVE_REDIS_URL": redis_url,
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "GRAPHLIVE_DATA_DIR": str(tmp_path / "graphlive-data"),
    }
    # Headless execution with a real kernel, as CI would run the notebook.
    executed = tmp_path / "executed.ipynb"
    done = run(
        [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", str(source),
         "--output", executed.stem],
        env, tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Exported with Redis gone: the copy the view saved when it was created is what shows.
    from_state = tmp_path / "from-state.html"
    cli = [sys.executable, "-m", "graphlive.cli", "export"]
    done = run(
        [*cli, str(executed), "-o", str(from_state)],
        env | {"GRAPHLIVE_REDIS_URL": dead_redis},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    # Saved as JupyterLab saves by default (no widget state): loaded by name at export time.
    saved = nbformat.read(executed, as_version=4)
    assert saved.metadata.pop("widgets")
    no_state = tmp_path / "no-state.ipynb"
    nbformat.write(saved, no_state)
    from_redis = tmp_path / "from-redis.html"
    done = run([*cli, str(no_state), "-o", str(from_redis)], env, tmp_path)
    assert done.returncode == 0, done.stderr
    # The same through nbconvert's entry point, Redis named in its configuration.
    via_nbconvert = tmp_path / "via-nbconvert.html"
    done = run(
        [sys.executable, "-m", "nbconvert", "--to", "graphlive", str(no_state),
         "--output", via_nbconvert.stem, f"--GraphliveHTMLExporter.redis_url={redis_url}"],
        env | {"GRAPHLIVE_REDIS_URL": dead_redis}, tmp_path,
    )  # fmt: skip
    assert done.returncode == 0 and "WARNING" not in done.stderr, done.stderr

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = refusing_context(browser, r"^(?!file:|blob:|data:)", requests)
        for html_file in (from_state, from_redis, via_nbconvert):
            page = context.new_page()
            errors = page_errors(page)
            page.goto(html_file.as_uri(), wait_until="load")
            page.wait_for_function(
                "document.querySelector('[data-testid=gl-node-count]')?.dataset.value"
                f" === '{published}'"
            )
            assert page.get_by_test_id("gl-status").inner_text() == "saved copy"
            assert page.get_by_test_id("gl-export-missing").count() == 0
            assert errors == []
            page.close()
        assert requests == []
        browser.close()
