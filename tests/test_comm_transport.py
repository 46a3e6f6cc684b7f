"""The kernel comm fallback transport against a real redis-server.

It must serve docs/protocol.md over the widget comm: a snapshot (or a replay from a position),
then every later event of the stream exactly once, in order, in contiguous ``from``/``through``
frames. The last test runs the real transport against the built front end in Chromium, with
the test playing the comm between them.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from graphlive.bus import Position, StreamReader
from graphlive.comm_transport import CLIENT_MESSAGE, SERVER_FRAMES, CommTransport
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.live import LiveGraph
from graphlive.widget import GraphView
from tests.browser import launch_chromium, page_errors, require_chromium, serve_bundle_page


class FrameSink:
    """Collects what the transport sends; tests wait on it with a condition, never a sleep."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.messages = 0
        self._cond = threading.Condition()

    def send(self, frames: list[dict[str, Any]]) -> None:
        with self._cond:
            self.frames.extend(frames)
            self.messages += 1
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 15
    ) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.frames), timeout), self.frames[-3:]

    def ops(self) -> list[str]:
        return [f["op"] for f in self.frames]

    def events(self) -> list[dict[str, Any]]:
        return [e for f in self.frames if f["op"] == "events" for e in f["events"]]

    def through(self) -> int:
        frames = [f for f in self.frames if f["op"] == "events"]
        return int(frames[-1]["through"]) if frames else -1


def add_module(lg: LiveGraph, i: int) -> None:
    with lg.graph.transaction():
        lg.graph.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py", line=1))
        lg.graph.add_node(Node.make(f"m{i}.f", NodeKind.FUNCTION, file=f"m{i}.py", line=2))
        lg.graph.add_edge(Edge(EdgeKind.CONTAINS, f"m{i}", f"m{i}.f", 0, f"m{i}.py"))
        if f"m{i - 1}.f" in lg.graph:
            lg.graph.add_edge(Edge(EdgeKind.CALLS, f"m{i}.f", f"m{i - 1}.f", 3, f"m{i}.py"))


@pytest.fixture
def live(redis_url: str, graph_name: str) -> Iterator[LiveGraph]:
    lg = LiveGraph(graph_name, redis_url=redis_url)
    for i in range(10):
        add_module(lg, i)
    assert lg.snapshot()
    yield lg
    lg.close()


@pytest.fixture
def client(redis_client: redis.Redis) -> redis.Redis:
    return redis_client


@contextlib.contextmanager
def serving(
    client: redis.Redis, live: LiveGraph, **options: Any
) -> Iterator[tuple[FrameSink, CommTransport]]:
    """A transport for ``live`` that sends into a fresh :class:`FrameSink`; closed on exit."""
    sink = FrameSink()
    transport = CommTransport(sink.send, client, live.name, block_ms=500, **options)
    try:
        yield sink, transport
    finally:
        transport.close(wait=10)


def rebuild(frames: list[dict[str, Any]], graph: str) -> CodeGraph:
    """The graph a client holds after applying these frames (snapshot, then events)."""
    from graphlive.events import from_dict

    g = CodeGraph(graph)
    for f in frames:
        if f["op"] == "snapshot":
            g.load_dict({"nodes": f["nodes"], "edges": f["edges"]})
        elif f["op"] == "events":
            g.apply_all([from_dict(e) for e in f["events"]])
    return g


def test_snapshot_then_every_event_in_order(live: LiveGraph, client: redis.Redis) -> None:
    with serving(client, live, max_frame_events=7) as (sink, transport):
        transport.handle({"op": "subscribe", "graph": live.name, "since": None})
        assert sink.ops() == ["hello", "subscribed", "snapshot"]
        snapshot = sink.frames[2]
        assert (snapshot["epoch"], snapshot["seq"]) == (live.position.epoch, live.position.seq)
        assert len(snapshot["nodes"]) == live.graph.node_count == 20
        start = Position(snapshot["epoch"], snapshot["seq"])
        # Live changes after the snapshot, in several publishes.
        for i in range(10, 25):
            add_module(live, i)
        head = live.position.seq
        sink.wait_for(lambda _: sink.through() == head)
        expected = [e for page in StreamReader(client, live.name).replay(start) for e in page]
        got = sink.events()
        assert [(e["seq"], e["id"], e["type"]) for e in got] == [
            (e.seq, e.id, e.type.value) for e in expected
        ]
        frames = [f for f in sink.frames if f["op"] == "events"]
        assert all(len(f["events"]) <= 7 for f in frames)
        assert frames[0]["from"] == start.seq + 1
        assert all(b["from"] == a["through"] + 1 for a, b in itertools.pairwise(frames))
        # Batched: fewer comm messages than frames are allowed, never more.
        assert sink.messages <= len(sink.frames)
        assert rebuild(sink.frames, live.name) == live.graph


def test_resume_from_a_position_replays_exactly_what_follows(
    live: LiveGraph, client: redis.Redis
) -> None:
    middle = Position(live.position.epoch, live.position.seq - 5)
    with serving(client, live) as (sink, transport):
        transport.handle(
            {
                "op": "subscribe",
                "graph": live.name,
                "since": {"epoch": middle.epoch, "seq": middle.seq},
            }
        )
        assert sink.ops() == ["hello", "subscribed", "events"]
        assert sink.frames[1]["mode"] == "replay"
        assert [e["seq"] for e in sink.events()] == list(
            range(middle.seq + 1, live.position.seq + 1)
        )
        # A position of another epoch cannot be continued: resync, then a snapshot.
        transport.handle(
            {"op": "subscribe", "graph": live.name, "since": {"epoch": "0" * 16, "seq": 3}}
        )
        assert sink.ops()[-3:] == ["subscribed", "resync", "snapshot"]
        assert sink.frames[-2]["reason"] == "epoch"


def test_type_filters_keep_the_range_contiguous(live: LiveGraph, client: redis.Redis) -> None:
    with serving(client, live) as (sink, transport):
        transport.handle(
            {"op": "subscribe", "graph": live.name, "since": None, "filters": {"types": ["node_*"]}}
        )
        start = sink.frames[-1]["seq"]
        add_module(live, 30)
        add_module(live, 31)
        head = live.position.seq
        sink.wait_for(lambda _: sink.through() == head)
        assert {e["type"] for e in sink.events()} == {"node_added"}
        frames = [f for f in sink.frames if f["op"] == "events"]
        assert frames[0]["from"] == start + 1 and frames[-1]["through"] == head
        # Widening the filter on the live subscription lets edges through again.
        transport.handle({"op": "filter", "graph": live.name, "filters": {"types": []}})
        add_module(live, 32)
        head = live.position.seq
        sink.wait_for(lambda _: sink.through() == head)
        assert "edge_added" in {e["type"] for e in sink.events()}


def test_ping_errors_and_unsubscribe(live: LiveGraph, client: redis.Redis) -> None:
    with serving(client, live) as (sink, transport):
        transport.handle({"op": "ping", "t": 12.5})
        assert sink.frames[-1] == {"op": "pong", "t": 12.5}
        transport.handle(
            {"op": "subscribe", "graph": "some-other-graph", "since": None, "ref": "r1"}
        )
        assert sink.frames[-1]["op"] == "error" and sink.frames[-1]["code"] == "unknown_graph"
        assert sink.frames[-1]["ref"] == "r1"
        transport.handle({"op": "nonsense"})
        assert sink.frames[-1]["code"] == "bad_request"
        transport.handle({"op": "subscribe", "graph": live.name, "since": None})
        transport.handle({"op": "unsubscribe", "graph": live.name})
        assert sink.frames[-1] == {"op": "unsubscribed", "graph": live.name}
        before = len(sink.events())
        add_module(live, 40)
        # Nothing more is sent for the graph; a new subscription gets what it asks for.
        transport.handle({"op": "subscribe", "graph": live.name, "since": None})
        assert sink.frames[-1]["op"] == "snapshot" and len(sink.events()) == before


def test_the_comm_parses_and_filters_as_the_server_does(
    live: LiveGraph, client: redis.Redis
) -> None:
    """Same parser, planner and filters as the server extension (graphlive.wire)."""
    with serving(client, live) as (sink, transport):
        # Refused with the server's error codes, echoing the ref.
        transport.handle(
            {"op": "subscribe", "graph": live.name, "since": {"epoch": "x", "seq": -1}, "ref": "a"}
        )
        assert (sink.frames[-1]["code"], sink.frames[-1]["ref"]) == ("bad_request", "a")
        transport.handle(
            {"op": "subscribe", "graph": live.name, "since": None, "filters": {"kinds": ["gizmo"]}}
        )
        assert sink.frames[-1]["code"] == "invalid_filter"
        # Kinds and paths narrow the snapshot and the events, not only types.
        transport.handle(
            {
                "op": "subscribe",
                "graph": live.name,
                "since": None,
                "filters": {"kinds": ["function"], "paths": ["m1"]},
            }
        )
        subscribed, snapshot = sink.frames[-2:]
        assert subscribed["filters"] == {"types": [], "kinds": ["function"], "paths": ["m1"]}
        # m1.py and m10.py .. m19.py do not exist yet: only m1.f passes.
        assert [n["id"] for n in snapshot["nodes"]] == ["m1.f"]
        # Node kinds leave edges unrestricted; the path prefix applies to them too.
        assert {e["file"] for e in snapshot["edges"]} == {"m1.py"}
        add_module(live, 11)  # m11.f (kind function, file m11.py) passes; its module does not
        head = live.position.seq
        sink.wait_for(lambda _: sink.through() == head)
        assert [e["data"]["node"]["id"] for e in sink.events() if e["type"] == "node_added"] == [
            "m11.f"
        ]
        # The filter op is acknowledged between the old and the new filtering.
        transport.handle({"op": "filter", "graph": live.name, "filters": {}, "ref": "f"})
        assert sink.frames[-1] == {
            "op": "filtered",
            "graph": live.name,
            "filters": {"types": [], "kinds": [], "paths": []},
            "ref": "f",
        }


def test_the_widget_serves_its_comm_from_the_graphs_redis(
    live: LiveGraph, client: redis.Redis
) -> None:
    view = GraphView.for_graph(live)
    sent: list[Any] = []
    view.send = sent.append  # type: ignore[method-assign]
    # What the front end sends through the widget comm.
    view._handle_custom_msg(  # the path ipywidgets takes for custom messages
        {"type": CLIENT_MESSAGE, "message": {"op": "subscribe", "graph": live.name, "since": None}},
        [],
    )
    assert sent and all(m["type"] == SERVER_FRAMES for m in sent)
    frames = [f for m in sent for f in m["frames"]]
    assert [f["op"] for f in frames] == ["hello", "subscribed", "snapshot"]
    assert len(frames[-1]["nodes"]) == live.graph.node_count
    # And for_graph left a saved copy of the graph for notebooks without a front end.
    assert view.saved_graph["level"] == "full"
    assert len(view.saved_graph["nodes"]) == live.graph.node_count
    view.close()


# ---------------------------------------------------------------------- in the browser

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="graphview.css"></head>
<body style="margin:0"><div id="app" style="width:1000px"></div>
<script type="module">
import { mount } from "./graphview.js";
import { FakeModel } from "./harness.js";
window.model = new FakeModel({ graph: GRAPH, server_url: "", base_url: "", since: null,
  snapshot: true, filters: [], height: 500, path: "", source_root: "", transport: "comm",
  node_kinds: [], edge_kinds: [], path_prefixes: [], focus: null, selection: [],
  color_by: "kind", size_by: "kind", expanded: null, collapse_above: 2000, max_visible: 400,
  saved_graph: {}, counts: {}, status: {}, level: {} });
window.cleanup = mount(window.model, document.getElementById("app"), {});
window.ready = true;
</script></body></html>"""


@require_chromium()
def test_front_end_follows_the_graph_through_the_comm(
    live: LiveGraph, client: redis.Redis, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    kernel_to_page: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    transport = CommTransport(kernel_to_page.put, client, live.name, block_ms=500)

    def pump(page: Any, until: str, timeout: float = 20) -> None:
        """Carry comm messages both ways until the page condition holds."""
        import time

        deadline = time.monotonic() + timeout
        while not page.evaluate(until):
            assert time.monotonic() < deadline, f"timed out waiting for {until}"
            for msg in page.evaluate("window.model.sent.splice(0)"):
                if msg.get("type") == CLIENT_MESSAGE:
                    transport.handle(msg["message"])
            try:
                frames = kernel_to_page.get(timeout=0.1)
            except queue.Empty:
                continue
            page.evaluate(
                "m => window.model.emit('msg:custom', m)", {"type": SERVER_FRAMES, "frames": frames}
            )

    html = PAGE.replace("GRAPH", repr(live.name))
    try:
        with serve_bundle_page(tmp_path, html) as url, sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1000, "height": 560})
            errors = page_errors(page)
            page.goto(url, wait_until="commit")
            page.wait_for_function("window.ready === true")
            count = "document.querySelector('[data-testid=gl-node-count]').dataset.value"
            pump(page, f"{count} === '{live.graph.node_count}'")
            assert page.get_by_test_id("gl-root").get_attribute("data-transport") == "comm"
            # The graph changes in the kernel: the view follows through the comm.
            for i in range(10, 14):
                add_module(live, i)
            pump(page, f"{count} === '{live.graph.node_count}'")
            edges = "document.querySelector('[data-testid=gl-edge-count]').dataset.value"
            pump(page, f"{edges} === '{live.graph.edge_count}'")
            status = "document.querySelector('[data-testid=gl-status]').textContent"
            assert page.evaluate(status) == "live (kernel)"
            pump(page, f"window.model.state.counts.seq === {live.position.seq}")
            assert errors == []
            browser.close()
    finally:
        transport.close(wait=10)
