"""Large snapshots sent in parts: ``snapshot`` with ``"more": true``, then ``snapshot_part``s."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
import weakref
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
import redis.asyncio

from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position
from graphlive.bus.snapshot import write_snapshot
from graphlive.events import ChangeEvent
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.wire import Limits
from graphlive.wire.filters import EventFilter
from graphlive_server.history import THREAD_THRESHOLD, History
from graphlive_server.outbox import ControlFrame
from graphlive_server.service import GraphliveService
from graphlive_server.session import YIELD_AFTER_BYTES, ClientSession
from graphlive_server.snapshots import SnapshotParts, SplicedParts
from tests.server.clients import GLClient, RawWebSocket, publish_nodes, wait_until

Connect = Callable[..., Awaitable[GLClient]]


def producer(client: redis.Redis, name: str) -> tuple[CodeGraph, list[ChangeEvent]]:
    """A graph whose every change is published to ``name``'s stream."""
    pub = Publisher(client, name)
    graph = CodeGraph(name)
    published: list[ChangeEvent] = []
    graph.listen(lambda batch: published.extend(pub.publish(batch).positioned(batch)))
    return graph, published


def build(graph: CodeGraph, start: int, count: int) -> None:
    """Functions f<start>… in pkg/a (even) and pkg/b (odd), each calling the previous one."""
    with graph.transaction():
        for i in range(start, start + count):
            folder = "a" if i % 2 == 0 else "b"
            kind = NodeKind.CLASS if i % 3 == 0 else NodeKind.FUNCTION
            node = Node.make(f"pkg.{folder}.f{i}", kind, file=f"pkg/{folder}/m.py", line=i + 1)
            graph.add_node(node)
            if i > 0:
                prev = f"pkg.{'a' if (i - 1) % 2 == 0 else 'b'}.f{i - 1}"
                graph.add_edge(Edge(EdgeKind.CALLS, node.id, prev, i + 1, node.file))


async def read_snapshot(client: GLClient, graph: str) -> list[dict[str, Any]]:
    """The frames of ``graph``'s snapshot, from ``snapshot`` to the part without ``more``."""
    first = await client.until("snapshot")
    assert first["graph"] == graph
    frames = [first]
    while frames[-1].get("more"):
        frame = await client.recv()
        if frame.get("graph") == graph:
            assert frame["op"] == "snapshot_part", f"{frame['op']} of {graph} between parts"
            frames.append(frame)
    return frames


def union(frames: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    nodes = [n["id"] for f in frames for n in f["nodes"]]
    edges = [e["id"] for f in frames for e in f["edges"]]
    return nodes, edges


@pytest.mark.parametrize("gl_config", [{"snapshot_chunk_elements": 50}])
async def test_a_big_snapshot_arrives_in_parts_then_events_in_order(
    gl_connect: Connect, redis_client: redis.Redis, graph_name: str
) -> None:
    graph, published = producer(redis_client, graph_name)
    build(graph, 0, 120)  # 120 nodes, 119 edges: 5 parts of 50
    at = Position(published[-1].epoch, published[-1].seq)
    write_snapshot(redis_client, graph, at)
    expected_nodes = sorted(n.id for n in graph.nodes())
    expected_edges = sorted(e.id for e in graph.edges())
    build(graph, 120, 3)  # a tail after the snapshot: replayed after the last part
    small, small_events = producer(redis_client, graph_name + "-small")
    build(small, 0, 10)  # 19 elements: one frame, as before
    write_snapshot(redis_client, small, Position(small_events[-1].epoch, small_events[-1].seq))

    client = await gl_connect()
    await client.hello()
    assert (await client.subscribe(graph_name))["mode"] == "snapshot"
    frames = await read_snapshot(client, graph_name)
    assert [f["op"] for f in frames] == ["snapshot"] + ["snapshot_part"] * 4
    assert frames[0]["parts"] == 5 and [f.get("part") for f in frames[1:]] == [1, 2, 3, 4]
    assert [f["more"] for f in frames] == [True, True, True, True, False]
    assert all(f["epoch"] == at.epoch and f["seq"] == at.seq for f in frames)
    assert all(len(f["nodes"]) + len(f["edges"]) <= 50 for f in frames)
    nodes, edges = union(frames)
    assert sorted(nodes) == expected_nodes and sorted(edges) == expected_edges
    assert len(nodes) == len(set(nodes)) and len(edges) == len(set(edges))
    # The tail and then live events follow the last part, contiguous from the snapshot.
    client.positions[graph_name] = (at.epoch, at.seq)
    tail = await client.events_through(graph_name, published[-1].seq)
    assert [e["seq"] for e in tail] == list(range(at.seq + 1, published[-1].seq + 1))
    build(graph, 123, 2)
    live = await client.events_through(graph_name, published[-1].seq)
    assert {e["data"]["node"]["id"] for e in live if e["type"] == "node_added"} == {
        "pkg.b.f123",
        "pkg.a.f124",
    }

    await client.subscribe(small.name)
    single = await client.expect("snapshot")
    assert "more" not in single and len(single["nodes"]) == 10 and len(single["edges"]) == 9


@pytest.mark.parametrize("gl_config", [{"snapshot_chunk_elements": 40}])
async def test_filters_apply_to_each_part(
    gl_connect: Connect, redis_client: redis.Redis, graph_name: str
) -> None:
    graph, published = producer(redis_client, graph_name)
    build(graph, 0, 100)  # 199 elements: 5 parts of 40
    write_snapshot(redis_client, graph, Position(published[-1].epoch, published[-1].seq))

    client = await gl_connect("filtered")
    await client.hello()
    await client.subscribe(graph_name, filters={"kinds": ["class"], "paths": ["pkg/a/"]})
    frames = await read_snapshot(client, graph_name)
    assert len(frames) == 5 and frames[0]["parts"] == 5  # filters do not change the cut
    for f in frames:
        assert all(n["kind"] == "class" and n["file"].startswith("pkg/a/") for n in f["nodes"])
        assert all(e["file"].startswith("pkg/a/") for e in f["edges"])
    nodes, edges = union(frames)
    assert sorted(nodes) == sorted(
        n.id for n in graph.nodes() if n.kind is NodeKind.CLASS and n.file.startswith("pkg/a/")
    )
    assert sorted(edges) == sorted(e.id for e in graph.edges() if e.file.startswith("pkg/a/"))


# ------------------------------------------------------------------ a client that stops reading

#: Parts of at most ~16 KB (a quarter of the queue); ~10 MB of snapshot is far more than the
#: kernel's socket buffers hold (server send buffer ≤ 4 MB, client receive window 4 KB), so the
#: server must wait for the client between parts.
SLOW = {"max_queue_bytes": 64 * 1024, "snapshot_chunk_elements": 1000}
BIG_NODES = 40_000


def write_big_snapshot(client: redis.Redis, name: str) -> Position:
    """A snapshot of BIG_NODES heavy nodes (its content need not match the short stream)."""
    result = publish_nodes(Publisher(client, name), 0, 1)
    at = Position(result.epoch, result.last)
    graph = CodeGraph(name)
    pad = "x" * 200
    with graph.transaction():
        for i in range(BIG_NODES):
            graph.add_node(Node.make(f"big.n{i}", NodeKind.FUNCTION, file="big.py", doc=pad))
    write_snapshot(client, graph, at)
    return at


async def session_of(service: GraphliveService, graph: str) -> ClientSession:
    """The session that subscribed to ``graph`` (once the server has read the subscribe)."""
    await wait_until(lambda: any(graph in s.subscriptions for s in service.sessions))
    (session,) = [s for s in service.sessions if graph in s.subscriptions]
    return session


def stalled(session: ClientSession, graph: str) -> bool:
    """The subscription sends ``graph``'s snapshot in parts and waits for the queue to drain."""
    sub = session.subscriptions.get(graph)
    return (
        sub is not None
        and sub.snapshot_parts is not None
        and sub.snapshot_parts[0] > 0
        and session.outbox.queued_bytes > session.outbox.max_bytes // 2
    )


OpenSlow = Callable[[], Awaitable[RawWebSocket]]


@pytest.fixture
def open_slow(gl_connect: Connect, gl_token: str, jp_http_port: int, jp_base_url: str) -> OpenSlow:
    """Opens a raw client with a tiny receive window that reads only when told to, so a big
    snapshot's transfer stalls between parts."""

    async def open_client() -> RawWebSocket:
        await (await gl_connect()).hello()  # the server is up and listening
        slow = await RawWebSocket.connect(
            jp_http_port, f"{jp_base_url}graphlive/ws/events", gl_token, rcvbuf=4096
        )
        assert (await slow.read_json())["op"] == "hello"
        return slow

    return open_client


async def subscribe_until_stalled(
    ws: RawWebSocket, service: GraphliveService, graph: str, **extra: Any
) -> ClientSession:
    """Subscribe to ``graph`` (a big snapshot) and wait until its parts wait for the queue."""
    await send(ws, {"op": "subscribe", "graph": graph, "since": None, **extra})
    session = await session_of(service, graph)
    await wait_until(lambda: stalled(session, graph))
    return session


async def send(ws: RawWebSocket, message: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(message))


@pytest.mark.parametrize("gl_config", [SLOW])
async def test_other_graphs_events_go_out_between_parts(
    open_slow: OpenSlow,
    gl_service: GraphliveService,
    redis_client: redis.Redis,
    graph_name: str,
) -> None:
    big = graph_name
    at = write_big_snapshot(redis_client, big)
    other = Publisher(redis_client, graph_name + "-other")
    publish_nodes(other, 0, 1)

    ws = await open_slow()
    await send(ws, {"op": "subscribe", "graph": other.graph, "since": None, "snapshot": False})
    await send(ws, {"op": "subscribe", "graph": big, "since": None})
    session = await session_of(gl_service, big)
    await wait_until(lambda: other.graph in session.subscriptions)
    await wait_until(lambda: session.subscriptions[other.graph].live)
    await wait_until(lambda: stalled(session, big))
    # The big snapshot is in mid-transfer; the other graph's events are queued now, behind at
    # most the parts already queued, not behind the whole snapshot.
    marker = publish_nodes(other, 1, 3)
    sub_other = session.subscriptions[other.graph]
    await wait_until(lambda: sub_other.position.seq == marker.last)

    frames: list[dict[str, Any]] = []
    while not (frames and frames[-1].get("graph") == big and frames[-1].get("more") is False):
        frames.append(await ws.read_json(timeout=60))
    ops = [(f["op"], f.get("graph")) for f in frames]
    parts = [f for f in frames if f.get("graph") == big and f["op"].startswith("snapshot")]
    assert parts[0]["op"] == "snapshot" and len(parts) == parts[0]["parts"] > 10
    assert sum(len(p["nodes"]) for p in parts) == BIG_NODES
    other_at = ops.index(("events", other.graph))
    first_part = ops.index(("snapshot", big))
    later_parts = [i for i, op in enumerate(ops) if op == ("snapshot_part", big) and i > other_at]
    assert first_part < other_at and later_parts, ops[:50]
    assert frames[other_at]["through"] == marker.last
    # The big graph's own events come only after its last part.
    live = publish_nodes(Publisher(redis_client, big), 1, 1)
    after = await ws.read_json()
    assert after["op"] == "events" and after["graph"] == big
    assert after["from"] == at.seq + 1 and after["through"] == live.last
    ws.close()


@pytest.mark.parametrize("gl_config", [SLOW])
async def test_unsubscribe_mid_snapshot_stops_the_parts(
    open_slow: OpenSlow,
    gl_service: GraphliveService,
    redis_client: redis.Redis,
    graph_name: str,
) -> None:
    write_big_snapshot(redis_client, graph_name)
    ws = await open_slow()
    session = await subscribe_until_stalled(ws, gl_service, graph_name)
    sub = session.subscriptions[graph_name]
    await send(ws, {"op": "unsubscribe", "graph": graph_name, "ref": "u"})
    await wait_until(lambda: graph_name not in session.subscriptions)
    assert sub.snapshot_parts is None  # the sending task has stopped
    await send(ws, {"op": "ping", "t": 1})

    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["op"] != "pong":
        frames.append(await ws.read_json(timeout=60))
    ops = [f["op"] for f in frames]
    done = ops.index("unsubscribed")
    parts = [f for f in frames[:done] if f["op"] in ("snapshot", "snapshot_part")]
    assert parts[0]["op"] == "snapshot" and 1 < len(parts) < parts[0]["parts"]
    assert parts[-1]["more"] is True  # cut off mid-snapshot
    assert not any(op.startswith("snapshot") for op in ops[done:])
    ws.close()


@pytest.mark.parametrize("gl_config", [SLOW])
async def test_resubscribe_mid_snapshot_starts_a_whole_new_one(
    open_slow: OpenSlow,
    gl_service: GraphliveService,
    redis_client: redis.Redis,
    graph_name: str,
) -> None:
    write_big_snapshot(redis_client, graph_name)
    ws = await open_slow()
    await subscribe_until_stalled(ws, gl_service, graph_name, ref="old")
    await send(ws, {"op": "subscribe", "graph": graph_name, "since": None, "ref": "new"})

    frames: list[dict[str, Any]] = []
    while not (frames and frames[-1].get("more") is False):
        frames.append(await ws.read_json(timeout=60))
    ops = [f["op"] for f in frames]
    new = next(i for i, f in enumerate(frames) if f.get("ref") == "new")
    old_parts = [f for f in frames[:new] if f["op"].startswith("snapshot")]
    assert old_parts[-1]["more"] is True  # the old transfer was cut off…
    fresh = frames[new + 1 :]  # …and nothing of it follows the new subscription
    assert [f["op"] for f in fresh] == ["snapshot"] + ["snapshot_part"] * (len(fresh) - 1)
    assert len(fresh) == fresh[0]["parts"] and [f.get("part") for f in fresh[1:]] == list(
        range(1, len(fresh))
    )
    assert sum(len(f["nodes"]) for f in fresh) == BIG_NODES
    assert ops.count("subscribed") == 2
    ws.close()


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "unindexed"])
async def test_subscribers_sending_one_snapshot_share_its_parts(
    redis_url: str, redis_client: redis.Redis, graph_name: str, indexed: bool
) -> None:
    """A big snapshot is cut once for the subscribers sending it at the same time, and let go
    once none holds it (the next one cuts it again). Stored with its index, it is cut without
    parsing; without (a writer that predates indexes), it is parsed."""
    write_big_snapshot(redis_client, graph_name)
    if not indexed:
        redis_client.hdel(f"graphlive:{{{graph_name}}}:snapshot", "index")
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        history = History(client)
        snap = await history.snapshot(graph_name)
        assert snap is not None and len(snap.content) > THREAD_THRESHOLD
        assert (snap.index is not None) is indexed
        first, second = await asyncio.gather(
            history.snapshot_parts(snap, 20_000, 4_000_000),
            history.snapshot_parts(snap, 20_000, 4_000_000),
        )
        assert first is not None and first is second and first.count > 1
        assert isinstance(first, SplicedParts if indexed else SnapshotParts)
        assert await history.snapshot_parts(snap, 20_000, 4_000_000) is first
        # Other limits cut other parts.
        other = await history.snapshot_parts(snap, 10_000, 4_000_000)
        assert other is not None and other is not first and other.count > first.count
        frames = [first.frame(i, EventFilter()) for i in range(first.count)]
        gone = weakref.ref(first)
        del first, second
        # The next request (a Redis round trip) finds the parts gone, and cuts them again.
        assert await history.snapshot(graph_name) is snap
        gc.collect()
        assert gone() is None
        again = await history.snapshot_parts(snap, 20_000, 4_000_000)
        assert again is not None and [again.frame(i, EventFilter()) for i in range(again.count)]
        assert [again.frame(i, EventFilter()) for i in range(again.count)] == frames
        nodes = [n["id"] for f in frames for n in json.loads(f)["nodes"]]
        assert nodes == [f"big.n{i}" for i in range(BIG_NODES)]
    finally:
        await client.aclose()


@pytest.mark.parametrize("gl_config", [SLOW])
async def test_stalled_subscribers_of_a_big_snapshot_hold_one_copy_of_it(
    open_slow: OpenSlow,
    gl_service: GraphliveService,
    redis_client: redis.Redis,
    graph_name: str,
) -> None:
    """Ten connections that stop reading in the middle of a big snapshot cost the server about
    one copy of its text plus a few parts each, not a parsed graph or a copy per connection
    (memory traced in the server's process, from before the subscribes to the stall)."""
    write_big_snapshot(redis_client, graph_name)
    stored = redis_client.hget(f"graphlive:{{{graph_name}}}:snapshot", "data")
    assert stored is not None
    size = len(zlib.decompress(stored))
    slow = [await open_slow() for _ in range(10)]
    tracemalloc.start()
    try:
        for ws in slow:
            await send(ws, {"op": "subscribe", "graph": graph_name, "since": None})
        await wait_until(
            lambda: sum(graph_name in s.subscriptions for s in gl_service.sessions) == 10
        )
        sessions = [s for s in gl_service.sessions if graph_name in s.subscriptions]
        await wait_until(lambda: all(stalled(s, graph_name) for s in sessions))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    queue = SLOW["max_queue_bytes"]
    # Parsed, the same snapshot peaks at over 4x its size (and 2x, decompressed into a growing
    # buffer).
    assert peak < 1.5 * size + 10 * 4 * queue + (1 << 20), (peak, size)
    for ws in slow:
        ws.close()


class InstantTransport:
    """A socket that takes every write at once (a client reading as fast as the server
    writes): a write that completes at once does not yield to the event loop by itself."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def send(self, data: bytes) -> None:
        self.log.append(f"send {len(data)}")

    def close(self, code: int, reason: str) -> None:
        self.log.append(f"close {code}")

    def abort(self) -> None:
        self.log.append("abort")

    def ping(self) -> None:
        pass


async def test_a_connection_writing_big_frames_lets_others_run_between_them(
    gl_service: GraphliveService,
) -> None:
    """Other connections' and graphs' work runs between one connection's big frames (such as
    snapshot parts), also when its socket takes each write at once."""
    await gl_service.ensure_started()
    log: list[str] = []
    session = ClientSession(
        InstantTransport(log),
        filtered=False,
        limits=Limits(),
        history=gl_service.history,
        broadcaster=gl_service.broadcaster,
        metrics=gl_service.metrics,
        retention=0,
    )
    big = b"x" * YIELD_AFTER_BYTES
    for _ in range(3):
        session.put(ControlFrame(big, "g"))
    session.open()  # queues hello after the three frames, starts the writer
    loop = asyncio.get_running_loop()
    loop.call_soon(lambda: loop.call_soon(lambda: log.append("other")))
    await wait_until(lambda: len([e for e in log if e.startswith("send")]) == 4)
    sends = [i for i, e in enumerate(log) if e.startswith("send")]
    # Another callback ran after the first big frame and before the last.
    assert sends[0] < log.index("other") < sends[2], log
    session.close(1000, "done")
