"""Subscribe, replay, live order, resume and resync against a real server and Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
import redis.asyncio

from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position, StreamReader
from graphlive.bus.snapshot import write_snapshot
from graphlive.events import ChangeEvent
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.wire.filters import EventFilter
from graphlive_server.history import History
from graphlive_server.outbox import Outbox
from graphlive_server.service import GraphliveService
from tests.server.clients import GLClient, modules_with_snapshot, publish_nodes

Connect = Callable[..., Awaitable[GLClient]]


@pytest.fixture
def pub(redis_client: redis.Redis, graph_name: str) -> Publisher:
    return Publisher(redis_client, graph_name)


def apply_frames(graph: CodeGraph, frames: list[dict[str, Any]]) -> None:
    """What a client does: a snapshot replaces the graph, events are applied in order."""
    from graphlive.events import from_dict

    for frame in frames:
        if frame["op"] == "snapshot":
            graph.load_dict({"nodes": frame["nodes"], "edges": frame["edges"]})
        elif frame["op"] == "events":
            graph.apply_all(from_dict(e) for e in frame["events"])


async def test_snapshot_then_replay_then_live_in_order(
    gl_connect: Connect, redis_client: redis.Redis, pub: Publisher, graph_name: str
) -> None:
    producer = CodeGraph(graph_name)
    published: list[ChangeEvent] = []
    producer.listen(lambda batch: published.extend(pub.publish(batch).positioned(batch)))
    for i in range(5):
        producer.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py"))
    at = Position(published[-1].epoch, published[-1].seq)
    write_snapshot(redis_client, producer, at)
    with producer.transaction():
        for i in range(5, 10):
            producer.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py"))
            producer.add_edge(Edge(EdgeKind.IMPORTS, f"m{i}", f"m{i - 5}", 1, f"m{i}.py"))

    client = await gl_connect()
    hello = await client.hello()
    assert hello["protocol"] == 1 and hello["limits"]["max_frame_events"] == 1000
    subscribed = await client.subscribe(graph_name)
    assert subscribed["mode"] == "snapshot"
    assert subscribed["epoch"] == at.epoch and subscribed["head"] == published[-1].seq
    snapshot = await client.expect("snapshot")
    assert snapshot["seq"] == at.seq and len(snapshot["nodes"]) == 5
    replayed = await client.events_through(graph_name, published[-1].seq)
    assert [e["seq"] for e in replayed] == list(range(at.seq + 1, published[-1].seq + 1))

    # Live: every later event, in order, nothing twice (GLClient checks from == position + 1).
    with producer.transaction():
        for i in range(10, 40):
            producer.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py"))
    producer.remove_node("m3")
    live = await client.events_through(graph_name, published[-1].seq)
    assert [e["seq"] for e in live] == [e.seq for e in published if e.seq > replayed[-1]["seq"]]
    assert [e["id"] for e in live] == [e.id for e in published if e.seq > replayed[-1]["seq"]]

    mirror = CodeGraph(graph_name)
    apply_frames(mirror, client.frames)
    assert mirror == producer


async def test_replay_from_a_position_then_live(
    gl_connect: Connect, pub: Publisher, graph_name: str
) -> None:
    first = publish_nodes(pub, 0, 50)
    client = await gl_connect()
    await client.hello()
    since = {"epoch": first.epoch, "seq": 20}
    subscribed = await client.subscribe(graph_name, since=since, ref="r1")
    assert subscribed["mode"] == "replay" and subscribed["ref"] == "r1"
    client.positions[graph_name] = (first.epoch, 20)
    events = await client.events_through(graph_name, 50)
    assert [e["seq"] for e in events] == list(range(21, 51))
    more = publish_nodes(pub, 50, 7)
    events = await client.events_through(graph_name, more.last)
    assert [e["seq"] for e in events] == list(range(51, 58))
    assert not any(f["op"] == "snapshot" for f in client.frames)


async def test_live_only_subscription_starts_at_the_head(
    gl_connect: Connect, pub: Publisher, graph_name: str
) -> None:
    first = publish_nodes(pub, 0, 10)
    client = await gl_connect()
    await client.hello()
    subscribed = await client.subscribe(graph_name, snapshot=False)
    assert subscribed["mode"] == "live" and subscribed["head"] == first.last
    client.positions[graph_name] = (first.epoch, first.last)
    later = publish_nodes(pub, 10, 3)
    events = await client.events_through(graph_name, later.last)
    assert [e["seq"] for e in events] == [11, 12, 13]


@pytest.mark.parametrize("gl_config", [{"max_frame_events": 100}])
async def test_frames_respect_max_frame_events(
    gl_connect: Connect, pub: Publisher, graph_name: str
) -> None:
    publish_nodes(pub, 0, 1)
    client = await gl_connect()
    await client.follow(graph_name, 1)
    result = publish_nodes(pub, 1, 2000)
    events = await client.events_through(graph_name, result.last)
    assert len(events) == 2000
    frames = [f for f in client.frames if f["op"] == "events"]
    assert all(len(f["events"]) <= 100 for f in frames)
    # Batched: far fewer frames than events (Pub/Sub batches of 500 arrive as 5 full frames).
    assert len(frames) < 100


async def test_resume_after_a_dropped_connection_is_exact(
    gl_connect: Connect, pub: Publisher, graph_name: str
) -> None:
    publish_nodes(pub, 0, 100)
    client = await gl_connect()
    await client.follow(graph_name, 100)
    epoch, position = client.positions[graph_name]
    client.close()  # drop the connection

    publish_nodes(pub, 100, 250)  # missed while away

    # Keep publishing while the client resumes, so the replay → live handoff happens under load.
    stop = asyncio.Event()

    async def produce() -> int:
        i = 350
        while not stop.is_set():
            await asyncio.to_thread(publish_nodes, pub, i, 7)
            i += 7
        return i

    producer = asyncio.create_task(produce())
    again = await gl_connect()
    await again.hello()
    subscribed = await again.subscribe(graph_name, since={"epoch": epoch, "seq": position})
    assert subscribed["mode"] == "replay"
    again.positions[graph_name] = (epoch, position)
    await again.events_through(graph_name, 600)
    stop.set()
    end = await producer  # node i went out with seq i + 1: the last seq is `end`
    await again.events_through(graph_name, end)
    seqs = [e["seq"] for f in again.frames if f["op"] == "events" for e in f["events"]]
    assert seqs == list(range(position + 1, end + 1))


async def test_resync_when_the_position_was_trimmed(
    gl_connect: Connect, redis_client: redis.Redis, graph_name: str
) -> None:
    pub = Publisher(redis_client, graph_name, retention=10)
    producer = CodeGraph(graph_name)
    last: list[Position] = []

    def publish(batch: Any) -> None:
        result = pub.publish(batch)
        last.append(Position(result.epoch, result.last))

    producer.listen(publish)
    for i in range(600):
        producer.add_node(Node.make(f"m{i}", NodeKind.MODULE))
    write_snapshot(redis_client, producer, last[-1])
    producer.add_node(Node.make("after", NodeKind.MODULE))  # this publish trims the stream
    assert redis_client.xlen(f"graphlive:{{{graph_name}}}:events") < 300

    client = await gl_connect()
    await client.hello()
    subscribed = await client.subscribe(graph_name, since={"epoch": last[0].epoch, "seq": 5})
    assert subscribed["mode"] == "resync"
    resync = await client.expect("resync")
    assert resync["reason"] == "trimmed"
    snapshot = await client.expect("snapshot")
    assert snapshot["seq"] == 600 and len(snapshot["nodes"]) == 600
    events = await client.events_through(graph_name, 601)
    assert [e["data"]["node"]["id"] for e in events] == ["after"]


async def test_resync_on_a_new_epoch(gl_connect: Connect, pub: Publisher, graph_name: str) -> None:
    old = publish_nodes(pub, 0, 5)
    pub.reset()
    new = publish_nodes(pub, 0, 2)
    assert new.epoch != old.epoch
    client = await gl_connect()
    await client.hello()
    subscribed = await client.subscribe(graph_name, since={"epoch": old.epoch, "seq": 5})
    assert subscribed["mode"] == "resync" and subscribed["epoch"] == new.epoch
    assert (await client.expect("resync"))["reason"] == "epoch"
    snapshot = await client.expect("snapshot")
    assert snapshot["epoch"] == new.epoch and snapshot["seq"] == 6 and snapshot["nodes"] == []
    events = await client.events_through(graph_name, new.last)
    assert [e["seq"] for e in events] == [7, 8]


async def test_a_reset_while_live_arrives_in_order(
    gl_connect: Connect, pub: Publisher, graph_name: str
) -> None:
    old = publish_nodes(pub, 0, 3)
    client = await gl_connect()
    await client.follow(graph_name, 3)
    reset = pub.reset()
    after = publish_nodes(pub, 0, 2)
    events = await client.events_through(graph_name, after.last)
    assert [e["type"] for e in events] == ["graph_reset", "node_added", "node_added"]
    assert events[0]["seq"] == reset.first == old.last + 1
    assert client.positions[graph_name] == (after.epoch, after.last)


async def test_unknown_graph_and_unsubscribe(
    gl_connect: Connect, redis_client: redis.Redis, pub: Publisher, graph_name: str
) -> None:
    publish_nodes(pub, 0, 1)
    client = await gl_connect()
    await client.hello()
    await client.send({"op": "subscribe", "graph": "no-such-graph", "since": None, "ref": "x"})
    error = await client.expect("error")
    assert error["code"] == "unknown_graph" and error["ref"] == "x"
    assert error["graph"] == "no-such-graph"
    await client.subscribe(graph_name, snapshot=False)
    await client.send({"op": "unsubscribe", "graph": graph_name, "ref": "u"})
    assert (await client.until("unsubscribed"))["ref"] == "u"
    other = Publisher(redis_client, graph_name + "-b")
    first = publish_nodes(other, 0, 1)
    await client.subscribe(other.graph, snapshot=False)
    client.positions[other.graph] = (first.epoch, first.last)
    publish_nodes(pub, 1, 1)  # unsubscribed: must not arrive …
    publish_nodes(other, 1, 1)  # … before this one (one reader, one queue: order is kept)
    frame = await client.expect("events")
    assert frame["graph"] == other.graph and frame["through"] == 2
    await client.send({"op": "ping", "t": 1.5})
    assert (await client.expect("pong"))["t"] == 1.5
    assert all(f.get("graph") != graph_name for f in client.frames if f["op"] == "events")


@pytest.mark.parametrize("gl_config", [{"retention": 10}])
async def test_a_client_far_behind_gets_the_snapshot_instead_of_a_long_replay(
    gl_connect: Connect, redis_client: redis.Redis, graph_name: str
) -> None:
    pub = Publisher(redis_client, graph_name)
    producer = CodeGraph(graph_name)
    last: list[Position] = []
    producer.listen(lambda batch: last.append(_position(pub.publish(batch))))
    for i in range(90):
        producer.add_node(Node.make(f"m{i}", NodeKind.MODULE))
    write_snapshot(redis_client, producer, last[-1])
    for i in range(90, 100):
        producer.add_node(Node.make(f"m{i}", NodeKind.MODULE))
    epoch = last[-1].epoch

    far = await gl_connect()
    await far.hello()
    subscribed = await far.subscribe(graph_name, since={"epoch": epoch, "seq": 5})
    assert subscribed["mode"] == "resync"  # 95 behind, and the snapshot at 90 is newer than 5
    assert (await far.expect("resync"))["reason"] == "retention"
    assert (await far.expect("snapshot"))["seq"] == 90
    assert [e["seq"] for e in await far.events_through(graph_name, 100)] == list(range(91, 101))

    near = await gl_connect()
    await near.hello()
    subscribed = await near.subscribe(graph_name, since={"epoch": epoch, "seq": 92})
    assert subscribed["mode"] == "replay"  # within retention: replayed
    near.positions[graph_name] = (epoch, 92)
    assert [e["seq"] for e in await near.events_through(graph_name, 100)] == list(range(93, 101))


def _position(result: Any) -> Position:
    return Position(result.epoch, result.last)


async def test_clients_catching_up_together_share_the_pages_read(
    gl_connect: Connect, gl_service: GraphliveService, pub: Publisher, graph_name: str
) -> None:
    """Eight viewers replaying the same 5,500 events: each full page of the stream is read from
    Redis once for all of them (the old path read every page once per client: 8 x 7 reads),
    and every client still gets every event once, in order (GLClient checks)."""
    last = 0
    for start in range(0, 5500, 1000):
        last = publish_nodes(pub, start, min(1000, 5500 - start)).last
    clients = [await gl_connect() for _ in range(8)]  # the first one starts the service
    replay = gl_service.history.replay
    before = replay.reads_total
    await asyncio.gather(*(c.follow(graph_name, last) for c in clients))
    full_pages = 5500 // gl_service.history.page
    # Per client at most its own reads at the head (the short last page, then an empty one).
    assert replay.reads_total - before <= full_pages + 2 * len(clients)
    assert replay.shared_total > 0
    for client in clients:
        assert client.positions[graph_name][1] == last


async def test_subscribers_of_a_snapshot_share_one_read_and_one_frame(
    gl_connect: Connect, gl_service: GraphliveService, pub: Publisher, graph_name: str
) -> None:
    """Six viewers opening a graph with a snapshot, one after the other: the snapshot is read
    from Redis and decompressed once, and its frame is built once (the same bytes)."""
    at = modules_with_snapshot(pub, 300)
    first = await gl_connect()
    await first.follow(graph_name, at.seq)
    history = gl_service.history
    reads, shared = history.snapshot_reads_total, history.snapshot_shared_total
    frames = []
    for _ in range(5):
        client = await gl_connect()
        await client.follow(graph_name, at.seq)
        frames.append(next(f for f in client.frames if f["op"] == "snapshot"))
    assert history.snapshot_reads_total == reads  # all five got the one in hand
    assert history.snapshot_shared_total == shared + 5
    assert all(len(f["nodes"]) == 300 for f in frames)
    snap = await history.snapshot(graph_name)
    assert snap is not None
    assert snap.frame(EventFilter()) is snap.frame(EventFilter())


async def test_hundreds_of_concurrent_reads_wait_for_a_connection_instead_of_failing(
    gl_connect: Connect, gl_service: GraphliveService, pub: Publisher, graph_name: str
) -> None:
    """A burst of catch-up work (a reconnect storm) runs more Redis commands at once than the
    command pool holds connections: they queue for one rather than fail as if Redis were down."""
    published = publish_nodes(pub, 0, 10)
    await gl_connect()  # starts the service
    history = gl_service.history
    heads = await asyncio.gather(*(history.head(graph_name) for _ in range(300)))
    assert {h.seq for h in heads} == {published.last}
    pages = await asyncio.gather(
        *(history.read(graph_name, Position(heads[0].epoch, i % 10)) for i in range(300))
    )
    assert [len(p) for p in pages[:10]] == [10 - i for i in range(10)]


async def test_a_replayed_page_is_forwarded_as_stored_without_decoding_it(
    redis_url: str, pub: Publisher, graph_name: str
) -> None:
    """Catch-up frames carry the stream's bytes; of a 1,000-event page only the one event the
    outbox samples for latency is decoded (a filter decodes what it must look at)."""
    first = publish_nodes(pub, 0, 1000)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        pages = History(client).replay
        page = await pages.read(graph_name, Position(first.epoch, 0), EventFilter())
        assert page.full and page.last == Position(first.epoch, 1000)
        outbox = Outbox(1 << 30, 1000)
        for chunk in page.chunks:
            outbox.put(chunk)
        (frame,) = outbox.take_frames()
        (entry,) = pages._kept.values()
        assert sum(e is not None for e in entry._decoded) == 1
        sent = json.loads(frame.data)
        expected = StreamReader(pub.client, graph_name).read(Position(first.epoch, 0), 1000)
        assert [e["seq"] for e in sent["events"]] == [e.seq for e in expected]
        assert sent["events"][5]["data"] == expected[5].data
        modules = EventFilter.parse({"kinds": ["module"]})
        await pages.read(graph_name, Position(first.epoch, 0), modules)
        assert all(e is not None for e in entry._decoded)
    finally:
        await client.aclose()
