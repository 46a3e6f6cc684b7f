"""Honest indicators and the details panel, in the built bundle in a real Chromium: latency of
live events only, the end of a Redis outage, the analysis label after Re-analyze, ids that wrap
at their dots and a resizable side panel.

The page plays the graphlive server through a scripted WebSocket (benchmarks/render/harness.js)
and answers the REST calls of Re-analyze with a scripted ``fetch``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import require_chromium, scripted_page_fixtures

pytestmark = require_chromium()

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="graphview.css"></head>
<body style="margin:0"><div id="app" style="width:1000px"></div>
<script type="module">
import { mount } from "./graphview.js";
import { FakeModel, ScriptedSocket } from "./harness.js";
window.ScriptedSocket = ScriptedSocket;
// Re-analyze's REST calls: the graph summary, then the POST (status set by the test).
window.analyzeStatus = 202;
window.requests = [];
const fakeFetch = async (url, init = {}) => {
  window.requests.push({ url: String(url), method: init.method || "GET" });
  if (String(url).endsWith("/analyze")) return new Response("{}", { status: window.analyzeStatus });
  return new Response(JSON.stringify({ analysis: { path: "pkg" } }), { status: 200 });
};
window.model = new FakeModel({ graph: "demo", server_url: "", base_url: "/user/x/", since: null,
  snapshot: true, filters: [], height: 500, path: "", counts: {}, status: {} });
window.cleanup = mount(window.model, document.getElementById("app"), {
  createSocket: (u) => new ScriptedSocket(u), location: { href: location.href },
  fetch: fakeFetch });
window.ready = true;
</script></body></html>"""

HELPERS = """
window.seq = 0;
window.epoch = "e1";
/** An event published `ageMs` ago. */
window.ev = (type, data, ageMs = 0) => ({ seq: ++window.seq, epoch: window.epoch, v: 1,
  id: "x" + window.seq, graph: "demo", type, time: (Date.now() - ageMs) / 1000, source: "test",
  data });
window.frame = (events) => ({ op: "events", graph: "demo", epoch: events[0].epoch,
  from: events[0].seq, through: events[events.length - 1].seq, events });
window.sock = () => window.ScriptedSocket.sockets[window.ScriptedSocket.sockets.length - 1];
window.fn = (id) => ({ node: { id, kind: "function", name: id.split(".").pop() } });
window.testid = (id) => document.querySelector(`[data-testid=${id}]`);
"""


page_url, page = scripted_page_fixtures(PAGE, HELPERS)


#: What gl-latency shows before any live event.
NO_VALUE = "\u2013"


def text(page: Any, testid: str) -> str:
    return str(page.get_by_test_id(testid).inner_text())


def wait_text(page: Any, testid: str, expected: str) -> None:
    page.wait_for_function(
        "([id, t]) => window.testid(id) && window.testid(id).textContent === t",
        arg=[testid, expected],
        timeout=10_000,
    )


def open_with_history(page: Any, history: int, age_ms: int) -> None:
    """Subscribed at head ``history``: an empty snapshot, then that many events ``age_ms`` old."""
    page.evaluate(
        """([n, age]) => {
          window.sock().push({ op: "subscribed", graph: "demo", epoch: "e1", head: n,
                               mode: "snapshot" });
          window.sock().push({ op: "snapshot", graph: "demo", epoch: "e1", seq: 0, nodes: [],
                               edges: [] });
          const events = [];
          for (let i = 0; i < n; i++) {
            events.push(window.ev("node_added", window.fn("m.f" + i), age));
          }
          window.sock().push(window.frame(events));
        }""",
        [history, age_ms],
    )
    wait_text(page, "gl-node-count", str(history))


def test_replayed_history_does_not_enter_the_latency_indicator(page: Any) -> None:
    open_with_history(page, 30, age_ms=15_000)
    # Wait for a UI pass that has seen the events (the log shows them), then read the latency.
    page.wait_for_function("document.querySelectorAll('[data-testid=gl-log-entry]').length === 30")
    assert text(page, "gl-latency") == NO_VALUE
    page.evaluate("window.sock().push(window.frame([window.ev('node_added', window.fn('m.l'))]))")
    page.wait_for_function("window.testid('gl-latency').getAttribute('data-value') !== ''")
    # Live: milliseconds on this page, nowhere near the 15 s age of the history.
    assert int(page.get_by_test_id("gl-latency").get_attribute("data-value")) < 5_000


def test_available_clears_the_redis_notice_and_live_resumes(page: Any) -> None:
    open_with_history(page, 3, age_ms=0)
    wait_text(page, "gl-status", "live")
    page.evaluate(
        """() => window.sock().push({ op: "error", code: "unavailable",
             message: "Redis is unreachable; the server keeps retrying" })"""
    )
    page.wait_for_function("window.testid('gl-status').textContent.startsWith('unavailable')")
    assert page.get_by_test_id("gl-status").get_attribute("data-state") == "error"
    page.evaluate("""() => window.sock().push({ op: "available" })""")
    wait_text(page, "gl-status", "live")
    assert page.get_by_test_id("gl-status").get_attribute("data-state") == "open"
    # The server resumes by itself: the client asks for nothing, and events apply again.
    assert page.evaluate("window.sock().sent.map((m) => m.op)") == ["subscribe"]
    page.evaluate("window.sock().push(window.frame([window.ev('node_added', window.fn('m.x'))]))")
    wait_text(page, "gl-node-count", "4")


def test_reanalyze_never_shows_the_last_run_as_this_one(page: Any) -> None:
    open_with_history(page, 2, age_ms=0)
    page.evaluate(
        """() => window.sock().push(window.frame([
             window.ev("analysis_started", { files: 2 }),
             window.ev("analysis_completed", { files: 2, seconds: 0.5 })]))"""
    )
    wait_text(page, "gl-progress", "analysis complete (2 files, 0.5 s)")
    # Refused: the label goes back to what it was.
    page.evaluate("window.analyzeStatus = 409")
    page.get_by_test_id("gl-reanalyze").click()
    page.wait_for_function("window.testid('gl-reanalyze').getAttribute('data-state') === 'error'")
    wait_text(page, "gl-progress", "analysis complete (2 files, 0.5 s)")
    # Accepted: "requested" until the run's own events come ...
    page.evaluate("window.analyzeStatus = 202")
    page.get_by_test_id("gl-reanalyze").click()
    wait_text(page, "gl-progress", "re-analysis requested…")
    assert page.get_by_test_id("gl-progress").get_attribute("data-phase") == "running"
    assert page.evaluate("window.requests.at(-1)")["method"] == "POST"
    # ... which start with the graph_reset of the run's new epoch: followed live, no resync.
    page.evaluate(
        """() => { window.epoch = "e2";
          window.sock().push(window.frame([window.ev("graph_reset", {}),
            window.ev("analysis_started", { files: 5 }),
            window.ev("analysis_progress", { phase: "parse", done: 2, total: 5, file: "pkg/a.py" }),
            window.ev("node_added", window.fn("pkg.a"))])); }"""
    )
    wait_text(page, "gl-progress", "parse 40% pkg/a.py")
    assert page.get_by_test_id("gl-progress").get_attribute("data-phase") == "running"
    wait_text(page, "gl-node-count", "1")
    assert page.evaluate("window.sock().sent.map((m) => m.op)") == ["subscribe"]
    assert text(page, "gl-status") == "live"
    page.evaluate(
        """() => window.sock().push(window.frame([
             window.ev("analysis_completed", { files: 5 })]))"""
    )
    wait_text(page, "gl-progress", "analysis complete (5 files)")


LONG_ID = "shop.payments.processors.stripe_gateway.StripeProcessor.charge_with_retry_and_backoff"


def test_details_wrap_ids_at_dots_and_the_side_panel_resizes(page: Any) -> None:
    page.evaluate(
        """(id) => { window.sock().push({ op: "snapshot", graph: "demo", epoch: "e1", seq: 0,
            nodes: [{ id, kind: "method", name: id.split(".").pop(), file: "shop/p.py", line: 3,
                      doc: "Charge.\\n\\n    Retries\\n    -------\\n    Uses ``stripe``." }],
            edges: [] });
          window.testid("gl-root").graphliveView.select([id]); }""",
        LONG_ID,
    )
    page.wait_for_function(
        "([id]) => window.testid('gl-details-id')?.textContent === id", arg=[LONG_ID]
    )
    side = page.locator(".gl-side")
    width = side.bounding_box()["width"]
    assert width >= 280
    lines = page.evaluate(
        """() => { const dd = window.testid("gl-details-id");
          const tops = new Set(); let split = 0;
          for (const n of dd.childNodes) {
            if (n.nodeType !== Node.TEXT_NODE) continue;
            const r = document.createRange(); r.selectNodeContents(n);
            const rects = [...r.getClientRects()];
            if (new Set(rects.map((x) => Math.round(x.top))).size > 1) split += 1;
            rects.forEach((x) => tops.add(Math.round(x.top)));
          }
          return { lines: tops.size, split }; }"""
    )
    # The id needs several lines, and every line ends at a dot: no name is cut.
    assert lines["lines"] > 1 and lines["split"] == 0
    doc = page.get_by_test_id("gl-details-doc").text_content()
    assert doc == "Charge.\n\nRetries\nUses stripe."
    # Dragging the grip to the left widens the panel.
    grip = page.get_by_test_id("gl-side-grip").bounding_box()
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + 40
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y, steps=5)
    page.mouse.up()
    assert side.bounding_box()["width"] == pytest.approx(width + 150, abs=2)
