# Page-side JavaScript snippets are kept on one line each where that reads best.
# ruff: noqa: E501
"""A mixed-language tree, end to end: ``graphlive.analyze`` → Redis → the server extension → the
real view in Chromium, and a live edit that follows without a reload.

Real parts: a redis-server, a Jupyter server with graphlive's extension (pytest-jupyter, base_url
``/a%40b/``), the built bundle (src/graphlive/static/graphview.js) in Debian's Chromium, talking
to the server over its token-authenticated WebSocket. Only the anywidget model is played by
benchmarks/render/harness.js' ``FakeModel``; the page and the bundle are served by the Jupyter
server itself, so the view reaches it on its own origin as a notebook page does.

Proves, from what the browser holds: the nodes of every file of the six languages arrive with
their language; the acceptance call edges (tests/test_polyglot_live.py) are in the view's graph
model; the Languages filter lists the six; "Colour: language" gives each its own colour and the
legend names them. Then ``lg.update`` after an edit of web/shop.ts brings the new method and its
call edge to the open view over the same socket: no snapshot, no resync, and only the edit's
events (all about web/shop.ts, all after the position before the edit) are delivered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.utils import url_path_join
from tornado.web import StaticFileHandler
from traitlets.config import Config

import graphlive
from tests.browser import ROOT, launch_chromium, require_chromium
from tests.polyglot_trees import ACCEPTANCE_CALLS, LANGUAGE_OF_FILE, MIXED

pytestmark = require_chromium()

LANGUAGES = set(LANGUAGE_OF_FILE.values())
TAX = "web/shop.ts:Cart.tax"
TOTAL = "web/shop.ts:Cart.total"

#: The page, served under ``<base_url>gltest/``; its module imports the bundle next to it.
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script id="jupyter-config-data" type="application/json">CONFIG</script>
<link rel="stylesheet" href="graphview.css"></head>
<body style="margin:0"><div id="app" style="width:1150px"></div>
<script type="module">
import { mount } from "./graphview.js";
import { FakeModel } from "./harness.js";
window.model = new FakeModel({ graph: GRAPH, server_url: "", base_url: "", since: null,
  snapshot: true, filters: [], height: 600, path: "", source_root: "", transport: "websocket",
  node_kinds: [], edge_kinds: [], path_prefixes: [], focus: null, selection: [],
  color_by: "kind", size_by: "kind", expanded: null, collapse_above: 2000, max_visible: 400,
  saved_graph: {}, counts: {}, status: {}, level: {} });
window.cleanup = mount(window.model, document.getElementById("app"), {});
window.view = () => document.querySelector("[data-testid=gl-root]").graphliveView;
window.ready = true;
</script></body></html>"""

#: The front end's graph model (GraphState): node keys are ids, attributes carry `data`.
MODEL_NODES = "() => window.view().store.state.graph.mapNodes((k, a) => [k, a.data.file ?? null, a.data.language ?? null])"
MODEL_CALLS = "() => { const g = window.view().store.state.graph; return g.filterEdges((_e, a) => a.kind === 'calls').map((e) => { const d = g.getEdgeAttribute(e, 'data'); return [d.source, d.target, d.line ?? null]; }); }"
#: Record what the store hears from now on: snapshots, resyncs, replaced graphs, events.
RECORD = """() => { const rec = { snapshots: 0, resyncs: 0, replaced: 0, events: [] }; window.rec = rec;
  window.view().store.addObserver({ snapshotDelivered: () => { rec.snapshots += 1; }, resync: () => { rec.resyncs += 1; },
    afterBatch: (r) => { if (r.replaced) rec.replaced += 1; },
    delivered: (events) => { for (const e of events) rec.events.push({ seq: e.seq, type: e.type, file: (e.data.node ?? e.data.edge ?? e.data).file ?? null }); } }); }"""
#: The view's store is at position `seq` and has applied everything up to it (nothing queued).
AT_HEAD = "seq => { const s = window.view().store; return s.position()?.seq === seq && s.loaded && s.loading() === null && s.batcher.backlog === 0; }"


@pytest.fixture
def jp_server_config(redis_url: str) -> Config:
    """The extension enabled, following the session's redis-server (the one analyze publishes to)."""
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"graphlive_server": True}},
            "GraphliveServer": {"redis_url": redis_url},
        }
    )


def write_tree(root: Path) -> None:
    for rel, text in MIXED.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def serve_page(serverapp: Any, folder: Path, html: str) -> None:
    """Serve ``html`` and the built bundle under ``<base_url>gltest/`` from the Jupyter server
    itself: the page is on the server's origin, as a notebook is. (A page Playwright answered
    for with ``page.route`` is refused the loopback WebSocket by Chromium's local network access
    checks: net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS.)"""
    folder.mkdir()
    (folder / "index.html").write_text(html)
    for name in ("graphview.js", "graphview.css"):
        shutil.copy(ROOT / "src" / "graphlive" / "static" / name, folder / name)
    shutil.copy(ROOT / "benchmarks" / "render" / "harness.js", folder / "harness.js")
    pattern = url_path_join(serverapp.base_url, "gltest/(.*)")
    serverapp.web_app.add_handlers(".*$", [(pattern, StaticFileHandler, {"path": str(folder)})])


def language_of(raw: str | None) -> str:
    """A node without `language` is Python (docs/widget.md, "Languages")."""
    return raw or "python"


async def test_a_mixed_tree_reaches_the_view_and_an_edit_follows_live(
    jp_serverapp: Any,
    http_server: Any,
    jp_http_port: int,
    jp_base_url: str,
    redis_url: str,
    graph_name: str,
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright

    root = tmp_path / "mix"
    write_tree(root)
    lg = graphlive.analyze(root, graph=graph_name, redis_url=redis_url, workers=1)
    config = {"baseUrl": jp_base_url, "token": jp_serverapp.identity_provider.token}
    page_html = PAGE.replace("CONFIG", json.dumps(config)).replace("GRAPH", json.dumps(graph_name))
    serve_page(jp_serverapp, tmp_path / "page", page_html)
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}gltest/index.html"
    try:
        async with async_playwright() as pw:
            browser = await launch_chromium(pw)
            page = await browser.new_page(viewport={"width": 1150, "height": 760})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            await page.goto(url, wait_until="commit")
            await page.wait_for_function("window.ready === true")
            await page.wait_for_function(AT_HEAD, arg=lg.position.seq)
            assert (
                await page.get_by_test_id("gl-root").get_attribute("data-transport") == "websocket"
            )
            await page.wait_for_function(
                "document.querySelector('[data-testid=gl-status]').textContent === 'live'"
            )

            # Every file's nodes arrived, each with its file's language.
            nodes = await page.evaluate(MODEL_NODES)
            assert len(nodes) == lg.graph.node_count
            by_file: dict[str, set[str]] = {}
            for _id, file, raw in nodes:
                if file is not None:
                    by_file.setdefault(file, set()).add(language_of(raw))
            for rel, language in LANGUAGE_OF_FILE.items():
                assert by_file.get(rel) == {language}, (rel, by_file.get(rel))
            assert {language_of(raw) for _i, _f, raw in nodes} == LANGUAGES
            # The call edges of each language, resolved, are in the view's graph.
            calls = {tuple(c) for c in await page.evaluate(MODEL_CALLS)}
            assert calls >= ACCEPTANCE_CALLS, ACCEPTANCE_CALLS - calls

            # The Languages filter lists the six; the legend names them (kind colours first).
            await page.get_by_test_id("gl-filters-toggle").click()
            boxes = await page.get_by_test_id("gl-filter-language").all()
            listed = [await b.get_attribute("data-language") for b in boxes]
            assert sorted(listed) == sorted(LANGUAGES)
            assert all([await b.is_checked() for b in boxes])
            legend = await page.get_by_test_id("gl-legend-languages").inner_text()
            assert sorted(legend.removeprefix("languages: ").split(", ")) == sorted(LANGUAGES)
            # Colour: language — the legend lists the six, one colour each on the drawn graph.
            await page.get_by_test_id("gl-color-by").select_option("language")
            await page.wait_for_function(
                "document.querySelector('[data-testid=gl-legend]').dataset.mode === 'language'"
            )
            items = page.get_by_test_id("gl-legend-item")
            assert sorted(await items.all_inner_texts()) == sorted(LANGUAGES)
            drawn = await page.evaluate(
                "() => { const v = window.view(); return v.view.graph.mapNodes((k, a) => [v.store.state.graph.getNodeAttribute(k, 'data').language ?? null, a.color]); }"
            )
            colours: dict[str, set[str]] = {}
            for raw, colour in drawn:
                colours.setdefault(language_of(raw), set()).add(colour)
            assert all(len(c) == 1 for c in colours.values()), colours
            assert len(set().union(*colours.values())) == len(LANGUAGES)

            # A live edit: a method added to Cart and called from total(), sent as events only.
            await page.evaluate(RECORD)
            before = lg.position.seq
            shop = root / "web" / "shop.ts"
            text = shop.read_text()
            shop.write_text(
                text.replace(
                    "return 1;", "return this.tax();\n  }\n\n  tax(): number {\n    return 2;"
                )
            )
            summary = lg.update([shop])
            assert summary.incremental and lg.position.seq > before
            await page.wait_for_function(AT_HEAD, arg=lg.position.seq)
            nodes_after = {n[0]: n for n in await page.evaluate(MODEL_NODES)}
            assert nodes_after[TAX][1:] == ["web/shop.ts", "typescript"]
            calls_after = {tuple(c) for c in await page.evaluate(MODEL_CALLS)}
            assert (TOTAL, TAX, 3) in calls_after
            assert calls_after >= ACCEPTANCE_CALLS, ACCEPTANCE_CALLS - calls_after
            assert len(nodes_after) == len(nodes) + 1
            # Nothing else re-sent: no snapshot, no resync, only new events, all of web/shop.ts.
            rec = await page.evaluate("window.rec")
            assert (rec["snapshots"], rec["resyncs"], rec["replaced"]) == (0, 0, 0)
            assert [e["seq"] for e in rec["events"]] == list(range(before + 1, lg.position.seq + 1))
            mutations = [e for e in rec["events"] if e["type"].startswith(("node_", "edge_"))]
            assert {"node_added", "edge_added"} <= {e["type"] for e in mutations}
            assert {e["file"] for e in mutations} == {"web/shop.ts"}, mutations
            assert sockets == [sockets[0]] and "/graphlive/ws/events" in sockets[0]
            assert errors == []
            await browser.close()
    finally:
        lg.close()
