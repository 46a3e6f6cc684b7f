"""Saved copies of graphs and the offline HTML export of notebooks that show them.

The end-to-end test executes a real notebook with nbclient (a real ipykernel), exports it with
graphlive's exporter and opens the page in Chromium from file:// with every network request
refused: the graph must show with the right counts, and nothing may be fetched.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest

from graphlive.bus.reader import Position
from graphlive.export import SAVE_LIMITS, saved_copy, to_html
from graphlive.graph import CodeGraph, Node, NodeKind
from tests.browser import launch_chromium, page_errors, refusing_context, require_chromium
from tests.graphs import layered_graph


def big_graph(packages: int, modules: int, defs: int) -> CodeGraph:
    return layered_graph("big", packages, modules, defs)


def test_a_small_graph_is_saved_whole() -> None:
    g = big_graph(2, 2, 3)
    g.add_node(Node.make("ext.x", NodeKind.EXTERNAL))
    copy = saved_copy(g, Position("e1", 7))
    assert copy["level"] == "full" and copy["v"] == 1
    assert (copy["epoch"], copy["seq"]) == ("e1", 7)
    assert {n["id"] for n in copy["nodes"]} == {n.id for n in g.nodes()}
    assert len(copy["edges"]) == g.edge_count
    assert copy["total"] == {"nodes": g.node_count, "edges": g.edge_count}


def test_a_large_graph_is_saved_at_its_collapsed_package_level() -> None:
    g = big_graph(30, 12, 16)  # 30 * 12 * 17 = 6,120 nodes
    assert g.node_count > SAVE_LIMITS["nodes"]
    copy = saved_copy(g, None, max_visible=100)
    assert copy["level"] == "collapsed"
    # The deepest level with at most 100 groups: the 30 packages' sub/ directories.
    ids = {n["id"] for n in copy["nodes"]}
    assert ids == {f"p{p}/sub/" for p in range(30)} or ids == {f"p{p}/" for p in range(30)}
    assert sum(n["extra"]["members"] for n in copy["nodes"]) == g.node_count
    # Calls from p{i} to p{i-1}: one bundled edge per package pair.
    assert len(copy["edges"]) == 29
    assert all(e["kind"] == "calls" for e in copy["edges"])
    assert copy["total"]["nodes"] == g.node_count


NOTEBOOK_CELLS = [
    """\
    import graphlive
    lg = graphlive.analyze(PKG, graph="exported", publish=False)
    print(lg.graph.node_count, lg.graph.edge_count)
    """,
    "lg.view(height=480)",
]

PACKAGE = {
    "shop/__init__.py": '"""A tiny shop."""\n',
    "shop/cart.py": textwrap.dedent(
        '''\
        """Shopping carts."""
        from shop.prices import price_of


        class Cart:
            """Items to buy."""

            def __init__(self):
                self.items = []

            def add(self, item):
                self.items.append(item)

            def total(self):
                return sum(price_of(i) for i in self.items)
        '''
    ),
    "shop/prices.py": textwrap.dedent(
        '''\
        """Prices."""
        PRICES = {"apple": 3}


        def price_of(item):
            """Price of one item."""
            if item in PRICES:
                return PRICES[item]
            return 0
        '''
    ),
}


@pytest.fixture
def executed_notebook(tmp_path: Path) -> tuple[Any, int, int]:
    from nbclient import NotebookClient

    for rel, text in PACKAGE.items():
        path = tmp_path / "code" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    nb = nbformat.v4.new_notebook()
    cells = [c.replace("PKG", repr(str(tmp_path / "code"))) for c in NOTEBOOK_CELLS]
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True)
    client.execute(cwd=str(tmp_path))
    nodes, edges = (int(x) for x in nb.cells[0].outputs[0]["text"].split())
    return nb, nodes, edges


@require_chromium()
def test_exported_notebook_shows_the_graph_offline(
    executed_notebook: tuple[Any, int, int], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    nb, nodes, edges = executed_notebook
    assert nodes > 5 and edges > 5
    # The executed notebook holds the view's widget state, with its saved copy.
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [s["state"] for s in states.values() if "saved_graph" in s["state"]]
    assert len(views) == 1 and len(views[0]["saved_graph"]["nodes"]) == nodes
    page_path = tmp_path / "exported.html"
    page_path.write_text(to_html(nb))
    html = page_path.read_text()
    # Nothing loaded from elsewhere: no remote script, no widget manager, no RequireJS.
    assert not re.search(r"<script[^>]+src=\"https?:", html)
    assert "embed-amd" not in html and "require.min.js" not in html

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = refusing_context(browser, r"^(https?|wss?)://", requests)
        page = context.new_page()
        errors = page_errors(page)
        page.goto(page_path.as_uri(), wait_until="load")
        count = page.get_by_test_id("gl-node-count")
        page.wait_for_function(
            f"document.querySelector('[data-testid=gl-node-count]')?.dataset.value === '{nodes}'"
        )
        assert count.inner_text() == str(nodes)
        assert page.get_by_test_id("gl-edge-count").get_attribute("data-value") == str(edges)
        assert page.get_by_test_id("gl-status").inner_text() == "saved copy"
        assert page.get_by_test_id("gl-visible-node-count").get_attribute("data-value") == str(
            nodes
        )
        # Explorable offline: find a function and read its details.
        page.get_by_test_id("gl-search").fill("price_of")
        page.get_by_test_id("gl-search-result").first.click()
        details = page.get_by_test_id("gl-details")
        page.wait_for_function(
            "document.querySelector('[data-testid=gl-details]').dataset.id"
            " === 'shop.prices.price_of'"
        )
        assert page.get_by_test_id("gl-details-doc").inner_text() == "Price of one item."
        assert details.get_attribute("data-kind") == "function"
        # Drawn: the WebGL canvas is not blank.
        png = page.get_by_test_id("gl-canvas").screenshot()
        assert len(set(png[100:4000])) > 20
        assert errors == []
        assert requests == []
        browser.close()
