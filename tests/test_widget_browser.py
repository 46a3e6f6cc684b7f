"""The built GraphView bundle in a real Chromium: rendering, indicators, resume, batching.

The page plays the graphlive server through a scripted WebSocket (benchmarks/render/harness.js),
so this checks the front end alone; the server side has its own tests. Needs Debian's Chromium
(``apt-get install chromium``); skipped with a reason where it is missing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.browser import require_chromium, scripted_page_fixtures

pytestmark = require_chromium()

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="graphview.css"></head>
<body style="margin:0"><div id="app" style="width:1000px"></div>
<script type="module">
import { mount } from "./graphview.js";
import { FakeModel, ScriptedSocket, makeGraph } from "./harness.js";
window.ScriptedSocket = ScriptedSocket;
window.makeGraph = makeGraph;
window.model = new FakeModel({ graph: "demo", server_url: "", base_url: "/user/x/", since: null,
  snapshot: true, filters: [], height: 500, path: "", counts: {}, status: {} });
window.cleanup = mount(window.model, document.getElementById("app"), {
  createSocket: (u) => new ScriptedSocket(u), location: { href: location.href } });
window.ready = true;
</script></body></html>"""

HELPERS = """
window.seq = 0;
window.ev = (type, data) => ({ seq: ++window.seq, epoch: "e1", v: 1, id: "x" + window.seq,
  graph: "demo", type, time: Date.now() / 1000, source: "test", data });
window.frame = (events) => ({ op: "events", graph: "demo", epoch: "e1",
  from: events[0].seq, through: events[events.length - 1].seq, events });
window.sock = () => window.ScriptedSocket.sockets[window.ScriptedSocket.sockets.length - 1];
"""


page_url, page = scripted_page_fixtures(PAGE, HELPERS)


def text(page: Any, testid: str) -> str:
    return str(page.get_by_test_id(testid).inner_text())


def test_snapshot_and_events_update_the_graph_and_indicators(page: Any) -> None:
    sent = page.evaluate("window.sock().sent")
    assert sent[0] == {"op": "subscribe", "graph": "demo", "since": None}
    origin = urlsplit(page.url).netloc
    assert page.evaluate("window.sock().url") == (
        f"ws://{origin}/user/x/graphlive/ws/events/filtered"
    )
    page.evaluate(
        """() => { const g = window.makeGraph(200, 400);
        window.sock().push({ op: "snapshot", graph: "demo", epoch: "e1", seq: 0, ...g }); }"""
    )
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-node-count]').textContent === '200'"
    )
    assert text(page, "gl-edge-count") == "400"
    page.evaluate(
        """() => window.sock().push(window.frame([
          window.ev("analysis_started", {}),
          window.ev("node_added", { node: { id: "pkg.new", kind: "class", name: "New" } }),
          window.ev("edge_added", { edge: { id: "calls:pkg.new->pkg.m0.f0@3", kind: "calls",
                                          source: "pkg.new", target: "pkg.m0.f0", line: 3 } }),
          window.ev("analysis_progress", { done: 1, total: 4, file: "pkg/a.py" }),
          window.ev("diagnostic", { file: "bad.py", message: "syntax error" }),
        ]))"""
    )
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-node-count]').textContent === '201'"
    )
    assert text(page, "gl-edge-count") == "401"
    assert text(page, "gl-status") == "live"
    progress = page.get_by_test_id("gl-progress")
    assert progress.get_attribute("aria-valuenow") == "25"
    assert progress.get_attribute("data-phase") == "running"
    assert page.get_by_test_id("gl-log-entry").count() == 5
    assert text(page, "gl-latency").isdigit()
    # The log filter box narrows the log only: the subscription is unchanged.
    page.get_by_test_id("gl-log-filter").fill("node_* edge_*")
    page.wait_for_function("document.querySelectorAll('[data-testid=gl-log-entry]').length === 2")
    assert page.evaluate("window.sock().sent.length") == 1
    # The `filters` trait is the subscription's server-side filter.
    page.evaluate("window.model.set('filters', ['node_*', 'edge_*'])")
    assert page.evaluate("window.sock().sent.at(-1)") == {
        "op": "filter",
        "graph": "demo",
        "filters": {"types": ["edge_*", "node_*"]},
    }
    # Counts and status are written back to the model (the Python traits).
    page.wait_for_function("window.model.state.counts.nodes === 201", timeout=5000)
    assert page.evaluate("window.model.state.counts.seq") == 5
    assert page.evaluate("window.model.state.status.label") == "live"
    # Something was drawn: the WebGL canvas is not blank.
    png = page.get_by_test_id("gl-canvas").screenshot()
    assert len(set(png[100:4000])) > 20


def test_reconnect_resumes_from_the_last_event(page: Any) -> None:
    page.evaluate(
        """() => { window.sock().push({ op: "snapshot", graph: "demo", epoch: "e1", seq: 0,
                                        ...window.makeGraph(20, 10) });
                   window.sock().push(window.frame([window.ev("node_added",
                     { node: { id: "a.b", kind: "function", name: "b" } })])); }"""
    )
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-node-count]').textContent === '21'"
    )
    page.evaluate("window.sock().onclose({ code: 4001, reason: 'slow consumer' })")
    page.wait_for_function("window.ScriptedSocket.sockets.length === 2")
    page.wait_for_function("window.sock().sent.length > 0")
    assert page.evaluate("window.sock().sent[0]") == {
        "op": "subscribe",
        "graph": "demo",
        "since": {"epoch": "e1", "seq": 1},
    }
    # Replayed overlap is dropped by seq; new events apply.
    page.evaluate(
        """() => { window.seq = 0;
          const fn = (id) => ({ node: { id, kind: "function", name: id } });
          const again = window.ev("node_added", fn("a.b"));
          const next = window.ev("node_added", fn("a.c"));
          window.sock().push(window.frame([again, next])); }"""
    )
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-node-count]').textContent === '22'"
    )
    assert text(page, "gl-status") == "live"


def test_removing_a_node_with_1000_edges_is_applied_in_one_batch(page: Any) -> None:
    page.evaluate(
        """() => {
          const nodes = [{ id: "hub", kind: "module", name: "hub" }];
          const edges = [];
          for (let i = 0; i < 1000; i++) {
            nodes.push({ id: "c" + i, kind: "function", name: "c" + i });
            edges.push({ id: "calls:c" + i + "->hub@1", kind: "calls", source: "c" + i,
                         target: "hub", line: 1 });
          }
          window.hubEdges = edges;
          window.sock().push({ op: "snapshot", graph: "demo", epoch: "e1", seq: 0, nodes, edges });
        }"""
    )
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-edge-count]').textContent === '1000'"
    )
    result = page.evaluate(
        """async () => {
          const events = window.hubEdges.map((e) => window.ev("edge_removed", { edge: e }));
          const hub = { id: "hub", kind: "module", name: "hub" };
          events.push(window.ev("node_removed", { node: hub }));
          const t0 = performance.now();
          window.sock().push(window.frame(events));
          let frames = 0;
          while (document.querySelector('[data-testid=gl-edge-count]').textContent !== '0') {
            await new Promise((r) => requestAnimationFrame(r));
            frames += 1;
          }
          return { ms: performance.now() - t0, frames };
        }"""
    )
    assert text(page, "gl-node-count") == "1000"
    # One frame applies the batch, the next shows the counts. Attached, sigma 3 would re-index
    # the whole graph per dropped edge; detached it is one re-index.
    assert result["frames"] <= 3
    assert result["ms"] < 5000
