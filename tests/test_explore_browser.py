# Page-side JavaScript snippets are kept on one line each where that reads best.
# ruff: noqa: E501
"""Exploring a graph in the built GraphView bundle, in a real Chromium.

The page plays the graphlive server through a scripted WebSocket (benchmarks/render/harness.js)
and the anywidget model through a small fake that records what the view writes back, so each
test checks what is on screen — counts, details, links, the selection — after real clicks and
key presses. Needs Debian's Chromium (tests/browser.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    VIEW_HELPERS_JS,
    launch_chromium,
    page_errors,
    require_chromium,
    serve_bundle_page,
)

pytestmark = require_chromium()

PAGE = (
    """<!doctype html><html><head><meta charset="utf-8">
<script id="jupyter-config-data" type="application/json">
{"baseUrl": "/user/x/", "serverRoot": "/home/u/work"}</script>
<link rel="stylesheet" href="graphview.css"></head>
<body style="margin:0"><div id="app" style="width:1150px"></div>
<script type="module">
import { mount } from "./graphview.js";
import * as H from "./harness.js";
window.H = H;
const init = window.initialState ?? {};
window.model = new H.FakeModel({ graph: "demo", server_url: "", base_url: "", since: null,
  snapshot: true, filters: [], height: 600, path: "/home/u/work/proj", source_root: "",
  transport: "websocket", node_kinds: [], edge_kinds: [], path_prefixes: [], focus: null,
  selection: [], color_by: "kind", size_by: "kind", expanded: null, collapse_above: 2000,
  max_visible: 400, saved_graph: {}, counts: {}, status: {}, level: {}, ...(init.state ?? {}) });
const Socket = init.refuse ? H.RefusedSocket : H.ScriptedSocket;
const env = { createSocket: (u) => new Socket(u), location: { href: location.href } };
// Clicking nodes needs them to stay where they were drawn: no layout worker then.
if (init.noLayout) env.createWorker = () => null;
window.cleanup = mount(window.model, document.getElementById("app"), env);
"""
    + VIEW_HELPERS_JS
    + """window.ready = true;
</script></body></html>"""
)


def _n(
    id_: str, kind: str, file: str | None = None, line: int | None = None, **extra: Any
) -> dict[str, Any]:
    node: dict[str, Any] = {"id": id_, "kind": kind, "name": id_.rsplit(".", 1)[-1]}
    if file is not None:
        node["file"] = file
    if line is not None:
        node["line"] = line
    node.update(extra)
    return node


def _e(kind: str, source: str, target: str, line: int = 0) -> dict[str, Any]:
    return {
        "id": f"{kind}:{source}->{target}@{line}",
        "kind": kind,
        "source": source,
        "target": target,
        "line": line,
    }


E, U, V = "pkg/core/engine.py", "pkg/core/util.py", "pkg/api/views.py"
SMALL_NODES = [
    _n("pkg", "package", "pkg/__init__.py", 1),
    _n("pkg.core", "package", "pkg/core/__init__.py", 1),
    _n("pkg.core.engine", "module", E, 1),
    _n("pkg.core.engine.Engine", "class", E, 10, doc="Runs the jobs.", loc=30),
    _n("pkg.core.engine.Engine.run", "method", E, 12, complexity=7, loc=12, doc="Run one job."),
    _n("pkg.core.engine.helper", "function", E, 40, complexity=2),
    _n("pkg.core.util", "module", U, 1),
    _n("pkg.core.util.parse", "function", U, 3, complexity=4, doc="Parse a spec."),
    _n("pkg.core.util.fmt", "function", U, 9),
    _n("pkg.api", "package", "pkg/api/__init__.py", 1),
    _n("pkg.api.views", "module", V, 1),
    _n("pkg.api.views.index", "function", V, 5),
    _n("pkg.api.views.detail", "function", V, 11),
    _n("os.path.join", "external"),
    _n("<builtin>.len", "external"),
]
SMALL_EDGES = [
    *(
        _e("contains", s, t)
        for s, t in [
            ("pkg", "pkg.core"),
            ("pkg", "pkg.api"),
            ("pkg.core", "pkg.core.engine"),
            ("pkg.core", "pkg.core.util"),
            ("pkg.core.engine", "pkg.core.engine.Engine"),
            ("pkg.core.engine.Engine", "pkg.core.engine.Engine.run"),
            ("pkg.core.engine", "pkg.core.engine.helper"),
            ("pkg.core.util", "pkg.core.util.parse"),
            ("pkg.core.util", "pkg.core.util.fmt"),
            ("pkg.api", "pkg.api.views"),
            ("pkg.api.views", "pkg.api.views.index"),
            ("pkg.api.views", "pkg.api.views.detail"),
        ]
    ),
    _e("calls", "pkg.api.views.index", "pkg.core.engine.Engine.run", 6),
    _e("calls", "pkg.api.views.detail", "pkg.core.util.parse", 12),
    _e("calls", "pkg.api.views.detail", "pkg.core.util.fmt", 13),
    _e("calls", "pkg.core.engine.Engine.run", "pkg.core.engine.helper", 14),
    _e("calls", "pkg.core.engine.helper", "pkg.core.util.parse", 41),
    _e("calls", "pkg.core.util.parse", "os.path.join", 4),
    _e("calls", "pkg.core.util.fmt", "<builtin>.len", 10),
    _e("imports", "pkg.api.views", "pkg.core.engine", 1),
    _e("imports", "pkg.api.views", "pkg.core.util", 2),
]


def ego(node: str, depth: int) -> set[str]:
    """Reference ego network (undirected BFS), independent of the front end's code."""
    seen = {node}
    frontier = {node}
    for _ in range(depth):
        nxt = set()
        for e in SMALL_EDGES:
            for a, b in ((e["source"], e["target"]), (e["target"], e["source"])):
                if a in frontier and b not in seen:
                    nxt.add(b)
        seen |= nxt
        frontier = nxt
    return seen


def shown(
    keep_node: Callable[[dict[str, Any]], bool], keep_edge: Callable[[dict[str, Any]], bool]
) -> tuple[int, int]:
    ids = {n["id"] for n in SMALL_NODES if keep_node(n)}
    pairs = {
        (e["source"], e["target"])
        for e in SMALL_EDGES
        if keep_edge(e) and e["source"] in ids and e["target"] in ids
    }
    return len(ids), len(pairs)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_bundle_page(tmp_path_factory.mktemp("explore"), PAGE) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


@pytest.fixture
def open_page(browser: Any, page_url: str) -> Iterator[Callable[..., Any]]:
    pages: list[tuple[Any, list[str]]] = []

    def open_(
        state: dict[str, Any] | None = None,
        *,
        refuse: bool = False,
        no_layout: bool = False,
        graph: dict[str, Any] | None = None,
    ) -> Any:
        pg = browser.new_page(viewport={"width": 1150, "height": 700}, accept_downloads=True)
        errors = page_errors(pg)
        init = {"state": state or {}, "refuse": refuse, "noLayout": no_layout}
        pg.add_init_script(f"window.initialState = {json.dumps(init)};")
        pg.goto(page_url, wait_until="commit")
        pg.wait_for_function("window.ready === true")
        pages.append((pg, errors))
        if graph is not None:
            push_snapshot(pg, graph)
        return pg

    yield open_
    for pg, errors in pages:
        assert errors == []
        pg.close()


SMALL = {"nodes": SMALL_NODES, "edges": SMALL_EDGES}


def push_snapshot(page: Any, graph: dict[str, Any]) -> None:
    """Send ``graph`` as the server's snapshot once connected; wait until the view counts it."""
    page.wait_for_function("window.sock() && window.sock().readyState === 1")
    page.evaluate(
        "g => window.sock().push({ op: 'snapshot', graph: 'demo', epoch: 'e1', seq: 0, ...g })",
        graph,
    )
    wait_value(page, "gl-node-count", len(graph["nodes"]))


def value(page: Any, testid: str) -> str:
    return str(page.get_by_test_id(testid).first.get_attribute("data-value"))


def wait_value(page: Any, testid: str, expected: int) -> None:
    page.wait_for_function(
        f"document.querySelector('[data-testid={testid}]').dataset.value === '{expected}'"
    )


def click_node(page: Any, key: str, *, shift: bool = False) -> None:
    """A real mouse click where sigma draws display node `key`."""
    page.evaluate("window.frames(2)")
    pos = page.evaluate("k => window.view().graphRenderer.viewportPosition(k)", key)
    box = page.get_by_test_id("gl-canvas").bounding_box()
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
    if shift:
        page.keyboard.up("Shift")


def selection(page: Any) -> list[str]:
    return list(json.loads(page.get_by_test_id("gl-selection").get_attribute("data-ids")))


# ---------------------------------------------------------------------- search and details


def test_search_autocompletes_and_shows_details(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    assert value(page, "gl-visible-node-count") == "15"
    assert value(page, "gl-visible-edge-count") == "21"
    page.get_by_test_id("gl-search").fill("par")
    results = page.get_by_test_id("gl-search-result")
    results.first.wait_for()
    assert results.first.get_attribute("data-id") == "pkg.core.util.parse"
    page.get_by_test_id("gl-search").press("Enter")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-details]').dataset.id === 'pkg.core.util.parse'"
    )
    assert selection(page) == ["pkg.core.util.parse"]
    assert page.get_by_test_id("gl-details-kind").inner_text() == "function"
    assert page.get_by_test_id("gl-details-doc").inner_text() == "Parse a spec."
    assert page.get_by_test_id("gl-details-complexity").inner_text() == "4"
    assert value(page, "gl-callers") == "2"  # detail, helper
    assert value(page, "gl-callees") == "1"  # os.path.join
    assert page.get_by_test_id("gl-jump").inner_text() == "pkg/core/util.py:3"
    # The selection is written back to the model, i.e. to view.selection in Python.
    assert page.evaluate("window.model.state.selection") == ["pkg.core.util.parse"]
    # The search list is keyboard-driven and closes after a choice.
    assert page.get_by_test_id("gl-search-results").is_hidden()
    page.get_by_test_id("gl-search").fill("e")
    page.get_by_test_id("gl-search-result").first.wait_for()
    page.get_by_test_id("gl-search").press("ArrowDown")
    second = page.get_by_test_id("gl-search-result").nth(1)
    assert second.get_attribute("aria-selected") == "true"
    chosen = second.get_attribute("data-id")
    page.get_by_test_id("gl-search").press("Enter")
    page.wait_for_function(
        f"document.querySelector('[data-testid=gl-details]').dataset.id === {json.dumps(chosen)}"
    )


def test_clicking_nodes_selects_and_shift_click_adds(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL, no_layout=True)
    click_node(page, "pkg.core.engine.Engine.run")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-details]').dataset.id === 'pkg.core.engine.Engine.run'"
    )
    assert page.get_by_test_id("gl-details-kind").inner_text() == "method"
    assert value(page, "gl-callers") == "1" and value(page, "gl-callees") == "1"
    click_node(page, "pkg.core.util.fmt", shift=True)
    page.wait_for_function(
        "JSON.parse(document.querySelector('[data-testid=gl-selection]').dataset.ids).length === 2"
    )
    assert selection(page) == ["pkg.core.engine.Engine.run", "pkg.core.util.fmt"]
    assert page.get_by_test_id("gl-path").is_enabled()
    page.get_by_test_id("gl-clear-selection").click()
    assert selection(page) == []
    assert page.get_by_test_id("gl-details").get_attribute("data-id") is None


# ---------------------------------------------------------------------- jump to source


def test_jump_to_source_link_opens_the_file_in_jupyterlab(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    origin = page.evaluate("location.origin")
    page.evaluate("window.view().reveal('pkg.core.engine.Engine.run')")
    link = page.get_by_test_id("gl-jump")
    link.wait_for()
    # The analysed root /home/u/work/proj is proj/ under the server root /home/u/work.
    assert link.get_attribute("href") == f"{origin}/user/x/lab/tree/proj/pkg/core/engine.py"
    assert link.inner_text() == "pkg/core/engine.py:12"
    assert link.get_attribute("data-commandlinker-command") == "rendermime:handle-local-link"
    assert json.loads(link.get_attribute("data-commandlinker-args")) == {
        "path": "proj/pkg/core/engine.py",
        "id": "#line=11",
    }
    # Outside JupyterLab the plain link opens the file in the lab UI in a new tab.
    with page.context.expect_page() as new_page:
        link.click()
    opened = new_page.value
    opened.wait_for_load_state("commit")
    assert opened.url == f"{origin}/user/x/lab/tree/proj/pkg/core/engine.py"
    opened.close()
    # Inside JupyterLab, its CommandLinker (a body click listener reading these attributes)
    # takes the click instead: same window, the command opens the file at the line.
    page.evaluate(
        """() => { window.executed = [];
          document.body.addEventListener("click", (e) => {
            const el = e.target.closest("[data-commandlinker-command]");
            if (!el) return;
            e.preventDefault();
            window.executed.push([el.dataset.commandlinkerCommand, JSON.parse(el.dataset.commandlinkerArgs)]);
          }); }"""
    )
    pages_before = len(page.context.pages)
    link.click()
    page.wait_for_function("window.executed.length === 1")
    assert page.evaluate("window.executed[0]") == [
        "rendermime:handle-local-link",
        {"path": "proj/pkg/core/engine.py", "id": "#line=11"},
    ]
    assert len(page.context.pages) == pages_before


def test_a_file_outside_the_server_root_has_no_link(open_page: Callable[..., Any]) -> None:
    page = open_page({"path": "/srv/elsewhere"}, graph=SMALL)
    page.evaluate("window.view().reveal('pkg.core.util.fmt')")
    jump = page.get_by_test_id("gl-jump")
    jump.wait_for()
    assert jump.get_attribute("data-state") == "unavailable"
    assert jump.get_attribute("href") is None
    assert jump.inner_text() == "pkg/core/util.py:9"


# ---------------------------------------------------------------------- ego and path


def test_ego_view_and_its_depth(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    assert page.get_by_test_id("gl-ego").is_disabled()
    page.evaluate("window.view().reveal('pkg.core.util.parse')")
    page.get_by_test_id("gl-ego").click()
    depth1 = ego("pkg.core.util.parse", 1)
    assert len(depth1) == 5
    wait_value(page, "gl-visible-node-count", len(depth1))
    mode = page.get_by_test_id("gl-mode")
    assert mode.get_attribute("data-mode") == "ego"
    assert "5 nodes within 1 hop" in mode.inner_text()
    assert page.evaluate("window.model.state.focus") == {
        "mode": "ego",
        "node": "pkg.core.util.parse",
        "depth": 1,
    }
    drawn = set(page.evaluate("window.view().view.graph.nodes()"))
    assert drawn == depth1
    depth = page.get_by_test_id("gl-ego-depth")
    depth.fill("2")
    depth.dispatch_event("change")
    wait_value(page, "gl-visible-node-count", len(ego("pkg.core.util.parse", 2)))
    assert page.evaluate("window.model.state.focus.depth") == 2
    page.get_by_test_id("gl-overview").click()
    wait_value(page, "gl-visible-node-count", 15)
    assert page.evaluate("window.model.state.focus") is None


def test_path_between_two_selected_nodes(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    page.evaluate("window.view().select(['pkg.api.views.index', 'os.path.join'], true)")
    page.get_by_test_id("gl-path").click()
    wait_value(page, "gl-visible-node-count", 5)
    assert value(page, "gl-visible-edge-count") == "4"
    assert set(page.evaluate("window.view().view.graph.nodes()")) == {
        "pkg.api.views.index",
        "pkg.core.engine.Engine.run",
        "pkg.core.engine.helper",
        "pkg.core.util.parse",
        "os.path.join",
    }
    assert page.get_by_test_id("gl-mode").inner_text() == "path: 4 hops (calls)"
    assert page.evaluate("window.model.state.focus") == {
        "mode": "path",
        "source": "pkg.api.views.index",
        "target": "os.path.join",
    }
    # No directed path from fmt to index; ignoring direction there are 3 hops (via views).
    page.evaluate(
        "window.model.set('focus', {mode: 'path', source: 'pkg.core.util.fmt', target: 'pkg.api.views.index'})"
    )
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-mode]').textContent.includes('ignoring direction')"
    )
    assert page.get_by_test_id("gl-mode").inner_text().startswith("path: 3 hops (")
    wait_value(page, "gl-visible-node-count", 4)
    # Over edge kinds that do not connect them: nothing drawn, and the view says so.
    page.evaluate("window.model.set('edge_kinds', ['inherits'])")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-mode]').textContent === 'path: no path'"
    )
    wait_value(page, "gl-visible-node-count", 0)


# ---------------------------------------------------------------------- filters


def test_filters_by_node_kind_edge_kind_and_path(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    page.get_by_test_id("gl-filters-toggle").click()
    page.locator("[data-testid=gl-filter-kind][data-kind=external]").uncheck()
    n, m = shown(lambda x: x["kind"] != "external", lambda e: True)
    assert (n, m) == (13, 19)
    wait_value(page, "gl-visible-node-count", n)
    assert value(page, "gl-visible-edge-count") == str(m)
    assert page.evaluate("window.model.state.node_kinds") == [
        "package", "module", "class", "interface", "function", "method", "lambda", "cell",
    ]  # fmt: skip
    for kind in ("contains", "imports", "inherits", "implements", "decorates"):
        page.locator(f"[data-testid=gl-filter-edge][data-kind={kind}]").uncheck()
    n, m = shown(lambda x: x["kind"] != "external", lambda e: e["kind"] == "calls")
    assert (n, m) == (13, 5)
    page.wait_for_function(
        f"document.querySelector('[data-testid=gl-visible-edge-count]').dataset.value === '{m}'"
    )
    assert value(page, "gl-visible-node-count") == str(n)
    assert page.evaluate("window.model.state.edge_kinds") == ["calls"]
    path = page.get_by_test_id("gl-filter-path")
    path.fill("pkg/api/")
    path.press("Enter")
    n, m = shown(
        lambda x: str(x.get("file", "")).startswith("pkg/api/"), lambda e: e["kind"] == "calls"
    )
    assert n == 4
    wait_value(page, "gl-visible-node-count", n)
    assert value(page, "gl-visible-edge-count") == str(m)
    assert page.evaluate("window.model.state.path_prefixes") == ["pkg/api/"]
    # Python sets the traits: the checkboxes follow and everything shows again.
    page.evaluate(
        "window.model.set('node_kinds', []); window.model.set('edge_kinds', []); window.model.set('path_prefixes', [])"
    )
    wait_value(page, "gl-visible-node-count", 15)
    assert value(page, "gl-visible-edge-count") == "21"
    assert page.locator("[data-testid=gl-filter-kind][data-kind=external]").is_checked()


def test_encodings_and_legend(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    legend = page.get_by_test_id("gl-legend")
    page.wait_for_function("document.querySelectorAll('[data-testid=gl-legend-item]').length > 0")
    kinds = {k.get_attribute("data-key") for k in page.get_by_test_id("gl-legend-item").all()}
    assert kinds == {n["kind"] for n in SMALL_NODES}
    page.get_by_test_id("gl-color-by").select_option("complexity")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-legend]').dataset.mode === 'complexity'"
    )
    assert legend.get_attribute("data-mode") == "complexity"
    colors = page.evaluate(
        "window.view().view.graph.getNodeAttribute('pkg.core.engine.Engine.run', 'color')"
    )
    assert colors != page.evaluate(
        "window.view().view.graph.getNodeAttribute('pkg.core.engine.helper', 'color')"
    )
    page.get_by_test_id("gl-size-by").select_option("degree")
    assert page.evaluate("window.model.state.color_by") == "complexity"
    assert page.evaluate("window.model.state.size_by") == "degree"
    size = page.evaluate(
        "k => window.view().view.graph.getNodeAttribute(k, 'size')", "pkg.core.util.parse"
    )
    small = page.evaluate(
        "k => window.view().view.graph.getNodeAttribute(k, 'size')", "<builtin>.len"
    )
    assert size > small  # parse has 4 edges, len 1


# ---------------------------------------------------------------------- languages

G = "srv/server.go"
POLY_NODES = [
    _n("app", "package", "app/__init__.py", 1),
    _n("app.main", "module", "app/main.py", 1),
    _n("app.main.run", "function", "app/main.py", 3),
    _n("app.main.Job", "class", "app/main.py", 9),
    _n("srv", "module", G, 1, language="go"),
    _n("srv.Handler", "interface", G, 5, language="go"),
    _n("srv.Server", "class", G, 12, language="go"),
    _n("srv.Server.Serve", "method", G, 14, language="go"),
]
POLY_EDGES = [
    _e("contains", "app", "app.main"),
    _e("contains", "app.main", "app.main.run"),
    _e("contains", "app.main", "app.main.Job"),
    _e("contains", "srv", "srv.Handler"),
    _e("contains", "srv", "srv.Server"),
    _e("contains", "srv.Server", "srv.Server.Serve"),
    _e("implements", "srv.Server", "srv.Handler", 12),
    _e("calls", "app.main.run", "srv.Server.Serve", 4),
]
PY_IDS = {n["id"] for n in POLY_NODES if "language" not in n}
GO_IDS = {n["id"] for n in POLY_NODES if n.get("language") == "go"}


def test_language_filter_and_colour_by_language(open_page: Callable[..., Any]) -> None:
    page = open_page(graph={"nodes": POLY_NODES, "edges": POLY_EDGES})
    drawn = "window.view().view.graph"
    colour = f"k => {drawn}.getNodeAttribute(k, 'color')"
    by_kind = {k: page.evaluate(colour, k) for k in PY_IDS | GO_IDS}
    # One checkbox per language present; nodes without `language` are Python.
    page.get_by_test_id("gl-filters-toggle").click()
    boxes = page.get_by_test_id("gl-filter-language")
    assert [b.get_attribute("data-language") for b in boxes.all()] == ["python", "go"]
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-legend-languages]')?.textContent === 'languages: python, go'"
    )
    # The new kinds are drawn in their own colours.
    assert by_kind["srv.Handler"] != by_kind["srv.Server"]

    # Uncheck Go: its nodes (and every edge touching them) go.
    page.locator("[data-testid=gl-filter-language][data-language=go]").uncheck()
    wait_value(page, "gl-visible-node-count", len(PY_IDS))
    assert set(page.evaluate(f"{drawn}.nodes()")) == PY_IDS
    py_edges = [e for e in POLY_EDGES if e["source"] in PY_IDS and e["target"] in PY_IDS]
    assert len(py_edges) == 3  # the contains edges inside app/; the call into Go is gone
    wait_value(page, "gl-visible-edge-count", len(py_edges))
    assert page.evaluate("window.model.state.languages") == ["python"]
    # A language appearing later gets its checkbox, unchecked while the filter shows Python only.
    page.evaluate(
        """() => window.sock().push({ op: 'events', graph: 'demo', epoch: 'e1', from: 1, through: 1, events: [
          { seq: 1, epoch: 'e1', v: 1, id: 'r1', graph: 'demo', type: 'node_added', time: Date.now() / 1000,
            source: 't', data: { node: { id: 'lib.parse', kind: 'function', name: 'parse', file: 'lib/parse.rs', line: 1, language: 'rust' } } }] })"""
    )
    wait_value(page, "gl-node-count", len(POLY_NODES) + 1)
    rust = page.locator("[data-testid=gl-filter-language][data-language=rust]")
    rust.wait_for()
    assert not rust.is_checked()
    assert not page.evaluate(f"{drawn}.hasNode('lib.parse')")
    # Python clears the filter: every language shows again.
    page.evaluate("window.model.set('languages', [])")
    wait_value(page, "gl-visible-node-count", len(POLY_NODES) + 1)
    assert rust.is_checked()

    # Colour by language: one colour per language whatever the kind, the legend says which.
    page.get_by_test_id("gl-color-by").select_option("language")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-legend]').dataset.mode === 'language'"
    )
    assert page.evaluate("window.model.state.color_by") == "language"
    items = page.get_by_test_id("gl-legend-item")
    assert [i.inner_text() for i in items.all()] == ["go", "python", "rust"]
    py_colours = {page.evaluate(colour, k) for k in PY_IDS}
    go_colours = {page.evaluate(colour, k) for k in GO_IDS}
    assert len(py_colours) == 1 and len(go_colours) == 1 and py_colours != go_colours
    assert page.get_by_test_id("gl-legend-languages").count() == 0
    # Back to kind: the kind colours return.
    page.get_by_test_id("gl-color-by").select_option("kind")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-legend]').dataset.mode === 'kind'"
    )
    assert {k: page.evaluate(colour, k) for k in PY_IDS | GO_IDS} == by_kind


# ---------------------------------------------------------------------- collapse and expand


def codebase(page: Any, pkgs: int, mods: int, defs: int) -> dict[str, Any]:
    return dict(page.evaluate("([p, m, d]) => window.H.makeCodebase(p, m, d)", [pkgs, mods, defs]))


def test_large_graph_opens_collapsed_and_clusters_expand_on_click(
    open_page: Callable[..., Any],
) -> None:
    page = open_page({"collapse_above": 100, "max_visible": 8}, no_layout=True)
    graph = codebase(page, 6, 5, 8)
    total = len(graph["nodes"])
    push_snapshot(page, graph)
    visible = int(value(page, "gl-visible-node-count"))
    assert 1 < visible <= 8
    level = page.get_by_test_id("gl-auto-level")
    assert level.get_attribute("data-collapsed") == "true"
    # Clusters show their member counts in their labels, and stand for every element.
    clusters = page.evaluate(
        "() => window.view().view.graph.mapNodes((k, a) => [a.group, a.count, a.label])"
    )
    assert sum(c[1] for c in clusters) == total
    p0 = next(c for c in clusters if c[0] == "p0/")
    assert p0[1] == 1 + 5 * 9 and p0[2] == "p0/ (46)"
    # Bundled edges: counts of the model edges between clusters.
    assert (
        page.evaluate("() => window.view().view.graph.reduceEdges((n, _k, a) => n + a.count, 0)")
        > 0
    )

    click_node(page, "\u0001p0/")
    wait_value(page, "gl-visible-node-count", visible - 1 + 6)  # __init__.py + 5 modules
    assert page.get_by_test_id("gl-details").get_attribute("data-id") == "p0/"
    assert page.get_by_test_id("gl-details-members").inner_text() == "46"
    assert "p0/" in page.evaluate("window.model.state.expanded")
    assert level.get_attribute("data-mode") == "user"

    # Events while collapsed update the clusters incrementally.
    rebuilds = page.evaluate("window.view().view.rebuilds")
    page.evaluate(
        """() => window.sock().push({ op: 'events', graph: 'demo', epoch: 'e1', from: 1, through: 2, events: [
          { seq: 1, epoch: 'e1', v: 1, id: 'a', graph: 'demo', type: 'node_added', time: Date.now() / 1000,
            source: 't', data: { node: { id: 'p1.m0.new', kind: 'function', name: 'new', file: 'p1/m0.py', line: 99 } } },
          { seq: 2, epoch: 'e1', v: 1, id: 'b', graph: 'demo', type: 'node_added', time: Date.now() / 1000,
            source: 't', data: { node: { id: 'p0.m1.new', kind: 'function', name: 'new', file: 'p0/m1.py', line: 99 } } }] })"""
    )
    wait_value(page, "gl-node-count", total + 2)
    page.wait_for_function(
        "window.view().view.graph.getNodeAttribute('\\u0001p1/', 'label') === 'p1/ (47)'"
    )
    assert (
        page.evaluate("window.view().view.graph.getNodeAttribute('\\u0001p0/m1.py', 'count')") == 10
    )
    assert page.evaluate("window.view().view.rebuilds") == rebuilds
    assert int(value(page, "gl-visible-node-count")) == visible - 1 + 6

    # Expand a module the same way (its module node and 8 functions), collapse it from its
    # details, then collapse the package.
    expanded = visible - 1 + 6
    click_node(page, "\u0001p0/m2.py")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-details]').dataset.id === 'p0/m2.py'"
    )
    wait_value(page, "gl-visible-node-count", expanded - 1 + 9)
    assert page.evaluate("window.view().view.graph.hasNode('p0.m2.f7')")
    page.get_by_test_id("gl-details-collapse").click()
    wait_value(page, "gl-visible-node-count", expanded)
    page.evaluate("window.model.emit('msg:custom', { type: 'collapse', target: 'p0/' })")
    wait_value(page, "gl-visible-node-count", visible)
    page.get_by_test_id("gl-auto-level").click()
    assert page.evaluate("window.model.state.expanded") is None


def test_search_reveals_an_element_inside_a_collapsed_package(
    open_page: Callable[..., Any],
) -> None:
    page = open_page({"collapse_above": 100, "max_visible": 8})
    push_snapshot(page, codebase(page, 6, 5, 8))
    assert page.evaluate("window.view().view.displayKeyOf('p4.m3.f7')") == "\u0001p4/"
    page.get_by_test_id("gl-search").fill("p4.m3.f7")
    page.get_by_test_id("gl-search-result").first.wait_for()
    page.get_by_test_id("gl-search-result").first.click()
    page.wait_for_function("window.view().view.graph.hasNode('p4.m3.f7')")
    assert page.get_by_test_id("gl-details").get_attribute("data-id") == "p4.m3.f7"
    assert set(page.evaluate("window.model.state.expanded")) >= {"p4/", "p4/m3.py"}


# ---------------------------------------------------------------------- driven from Python


def test_python_drives_the_view_through_traits_and_messages(open_page: Callable[..., Any]) -> None:
    page = open_page({"collapse_above": 100, "max_visible": 8})
    push_snapshot(page, codebase(page, 6, 5, 8))
    # GraphView.reveal(): a custom message.
    page.evaluate("window.model.emit('msg:custom', { type: 'reveal', id: 'p2.m1.f3' })")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-details]').dataset.id === 'p2.m1.f3'"
    )
    assert page.evaluate("window.view().view.graph.hasNode('p2.m1.f3')")
    # GraphView.expand()/collapse() of a group key.
    page.wait_for_function(
        "Number(document.querySelector('[data-testid=gl-visible-node-count]').dataset.value)"
        " === window.view().view.graph.order"
    )
    before = int(value(page, "gl-visible-node-count"))
    page.evaluate("window.model.emit('msg:custom', { type: 'collapse', target: 'p2/' })")
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=gl-visible-node-count]').dataset.value) < {before}"
    )
    assert page.evaluate("window.view().view.graph.hasNode('\\u0001p2/')")
    # GraphView.ego(): the focus trait.
    page.evaluate(
        "window.model.set('selection', ['p3.m0.f0']); window.model.set('focus', {mode: 'ego', node: 'p3.m0.f0', depth: 1})"
    )
    page.wait_for_function("document.querySelector('[data-testid=gl-mode]').dataset.mode === 'ego'")
    assert page.get_by_test_id("gl-details").get_attribute("data-id") == "p3.m0.f0"
    expected = page.evaluate(
        "() => { const g = window.view().store.state.graph; return 1 + g.neighbors('p3.m0.f0').length; }"
    )
    wait_value(page, "gl-visible-node-count", expected)
    # GraphView.expanded = [...]: the level trait.
    page.evaluate("window.model.set('focus', null); window.model.set('expanded', ['p5/'])")
    page.wait_for_function("window.view().view.graph.hasNode('\\u0001p5/m4.py')")
    assert not page.evaluate("window.view().view.graph.hasNode('\\u0001p0/m0.py')")
    # The level and counts are reported back.
    page.wait_for_function("window.model.state.level.mode === 'user'")
    page.wait_for_function(
        "window.model.state.counts.visible_nodes === window.view().view.graph.order"
    )


def test_png_export_downloads_the_picture(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    page.evaluate("window.frames(3)")
    with page.expect_download() as download:
        page.get_by_test_id("gl-export-png").click()
    path = download.value.path()
    data = Path(path).read_bytes()
    assert download.value.suggested_filename == "demo.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # Not a blank picture: decode it in the page and count distinct colours.
    distinct = page.evaluate(
        """async (b64) => { const img = new Image(); img.src = 'data:image/png;base64,' + b64;
          await img.decode(); const c = document.createElement('canvas');
          c.width = img.width; c.height = img.height; const x = c.getContext('2d');
          x.drawImage(img, 0, 0); const d = x.getImageData(0, 0, c.width, c.height).data;
          const s = new Set(); for (let i = 0; i < d.length; i += 4 * 7) s.add(d[i] << 16 | d[i+1] << 8 | d[i+2]);
          return s.size; }""",
        __import__("base64").b64encode(data).decode(),
    )
    assert distinct > 5


# ---------------------------------------------------------------------- transports and saved copies


def test_without_a_graphlive_endpoint_the_view_falls_back_to_the_kernel_comm(
    open_page: Callable[..., Any],
) -> None:
    # The WebSocket handshake fails and GET graphlive/api/graphs is a real 404 from the page's
    # static server: no extension. The view subscribes through the model's comm instead.
    page = open_page({"transport": "auto"}, refuse=True)
    page.wait_for_function("window.model.sent.some((m) => m.type === 'graphlive-client')")
    first = page.evaluate("window.model.sent.find((m) => m.type === 'graphlive-client').message")
    assert first == {"op": "subscribe", "graph": "demo", "since": None}
    assert page.get_by_test_id("gl-root").get_attribute("data-transport") == "comm"
    # Frames from the kernel, in the WebSocket's format, drive the view.
    page.evaluate(
        """(g) => window.model.emit('msg:custom', { type: 'graphlive-frames', frames: [
          { op: 'hello', protocol: 1 },
          { op: 'subscribed', graph: 'demo', epoch: 'k1', head: 3, mode: 'snapshot' },
          { op: 'snapshot', graph: 'demo', epoch: 'k1', seq: 3, ...g }] })""",
        SMALL,
    )
    wait_value(page, "gl-node-count", 15)
    page.evaluate(
        """() => window.model.emit('msg:custom', { type: 'graphlive-frames', frames: [
          { op: 'events', graph: 'demo', epoch: 'k1', from: 4, through: 5, events: [
            { seq: 4, epoch: 'k1', v: 1, id: 'x4', graph: 'demo', type: 'node_added', time: Date.now() / 1000,
              source: 't', data: { node: { id: 'pkg.new', kind: 'function', name: 'new' } } },
            { seq: 5, epoch: 'k1', v: 1, id: 'x5', graph: 'demo', type: 'edge_added', time: Date.now() / 1000,
              source: 't', data: { edge: { id: 'calls:pkg.new->pkg.core.util.parse@1', kind: 'calls',
                source: 'pkg.new', target: 'pkg.core.util.parse', line: 1 } } }] }] })"""
    )
    wait_value(page, "gl-node-count", 16)
    assert value(page, "gl-edge-count") == "22"
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-status]').textContent === 'live (kernel)'"
    )
    page.wait_for_function("window.model.state.status.transport === 'comm'")
    # Reports are throttled (twice a second) but always catch up with the last change.
    page.wait_for_function("window.model.state.counts.seq === 5")


def test_a_saved_copy_shows_without_any_source(open_page: Callable[..., Any]) -> None:
    saved = {
        "v": 1, "graph": "demo", "epoch": "e9", "seq": 40, "level": "full",
        "nodes": SMALL_NODES, "edges": SMALL_EDGES, "positions": {}, "truncated": False,
        "total": {"nodes": 15, "edges": 21},
    }  # fmt: skip
    page = open_page({"transport": "static", "saved_graph": saved})
    wait_value(page, "gl-node-count", 15)
    assert value(page, "gl-edge-count") == "21"
    assert page.get_by_test_id("gl-status").inner_text() == "saved copy"
    assert page.get_by_test_id("gl-root").get_attribute("data-source") == "saved"
    # Still explorable: search and details work on the copy.
    page.get_by_test_id("gl-search").fill("helper")
    page.get_by_test_id("gl-search-result").first.click()
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-details]').dataset.id === 'pkg.core.engine.helper'"
    )


def test_the_view_keeps_a_saved_copy_in_the_model(open_page: Callable[..., Any]) -> None:
    page = open_page(graph=SMALL)
    page.wait_for_function(
        "window.model.state.saved_graph && window.model.state.saved_graph.v === 1", timeout=15_000
    )
    saved = page.evaluate("window.model.state.saved_graph")
    assert saved["level"] == "full"
    assert {n["id"] for n in saved["nodes"]} == {n["id"] for n in SMALL_NODES}
    assert len(saved["edges"]) == 21
    assert set(saved["positions"]) == {n["id"] for n in SMALL_NODES}


def test_saved_copy_stands_in_until_live_data_arrives(open_page: Callable[..., Any]) -> None:
    # A comm nobody answers (a notebook rendered from its saved widget state, no kernel):
    # after a moment the saved copy shows; live frames replace it when they come.
    saved = {
        "v": 1, "graph": "demo", "epoch": "old", "seq": 3, "level": "full",
        "nodes": SMALL_NODES[:5], "edges": [], "positions": {}, "truncated": False,
        "total": {"nodes": 5, "edges": 0},
    }  # fmt: skip
    page = open_page({"transport": "comm", "saved_graph": saved})
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-status]').textContent === 'saved copy'"
    )
    assert value(page, "gl-node-count") == "5"
    assert page.get_by_test_id("gl-root").get_attribute("data-source") == "saved"
    # The view never wrote its stand-in back as a new saved copy.
    assert page.evaluate("window.model.state.saved_graph.epoch") == "old"
    page.evaluate(
        """(g) => window.model.emit('msg:custom', { type: 'graphlive-frames', frames: [
          { op: 'subscribed', graph: 'demo', epoch: 'k2', head: 9, mode: 'snapshot' },
          { op: 'snapshot', graph: 'demo', epoch: 'k2', seq: 9, ...g }] })""",
        SMALL,
    )
    wait_value(page, "gl-node-count", 15)
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-status]').textContent === 'live (kernel)'"
    )
    assert page.get_by_test_id("gl-root").get_attribute("data-source") == "live"
