"""The filtered endpoint: server-side filters on subscribe and changed on a live connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import redis

from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position
from graphlive.bus.snapshot import write_snapshot
from graphlive.events import ChangeEvent
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from tests.server.clients import GLClient

Connect = Callable[..., Awaitable[GLClient]]


def build(graph: CodeGraph, tag: str) -> None:
    """Classes and functions in pkg/core and pkg/util, with calls between them."""
    with graph.transaction():
        for folder in ("core", "util"):
            file = f"pkg/{folder}/{tag}.py"
            cls = Node.make(f"pkg.{folder}.{tag}.C", NodeKind.CLASS, file=file, line=1)
            fn = Node.make(f"pkg.{folder}.{tag}.f", NodeKind.FUNCTION, file=file, line=9)
            graph.add_node(cls)
            graph.add_node(fn)
            graph.add_edge(Edge(EdgeKind.CALLS, fn.id, cls.id, 10, file))


@pytest.fixture
def producer(redis_client: redis.Redis, graph_name: str) -> tuple[CodeGraph, list[ChangeEvent]]:
    pub = Publisher(redis_client, graph_name)
    graph = CodeGraph(graph_name)
    published: list[ChangeEvent] = []
    graph.listen(lambda batch: published.extend(pub.publish(batch).positioned(batch)))
    return graph, published


async def test_filters_apply_to_snapshot_and_events_and_change_live(
    gl_connect: Connect,
    redis_client: redis.Redis,
    graph_name: str,
    producer: tuple[CodeGraph, list[ChangeEvent]],
) -> None:
    graph, published = producer
    build(graph, "a")
    write_snapshot(redis_client, graph, Position(published[-1].epoch, published[-1].seq))
    build(graph, "b")

    client = await gl_connect("filtered")
    await client.hello()
    filters = {"types": ["node_*"], "kinds": ["class"], "paths": ["pkg/core/"]}
    subscribed = await client.subscribe(graph_name, filters=filters)
    assert subscribed["filters"] == {
        "types": ["node_*"],
        "kinds": ["class"],
        "paths": ["pkg/core/"],
    }
    snapshot = await client.expect("snapshot")
    assert [n["id"] for n in snapshot["nodes"]] == ["pkg.core.a.C"]
    assert snapshot["edges"] == []  # a snapshot is filtered like the events that rebuild it…
    events = await client.events_through(graph_name, published[-1].seq)
    # … of the "b" batch only the core class passes; frames still cover every seq (checked by
    # GLClient: each frame starts right after the previous one).
    assert [e["data"]["node"]["id"] for e in events] == ["pkg.core.b.C"]

    # Change the filters on the live connection: calls edges anywhere.
    await client.send(
        {"op": "filter", "graph": graph_name, "filters": {"kinds": ["calls"]}, "ref": "f1"}
    )
    ack = await client.until("filtered")
    assert ack["ref"] == "f1" and ack["filters"]["kinds"] == ["calls"]
    build(graph, "c")
    events = await client.events_through(graph_name, published[-1].seq)
    assert sorted(e["type"] for e in events) == ["edge_added"] * 2 + ["node_added"] * 4
    assert {e["data"]["edge"]["kind"] for e in events if e["type"] == "edge_added"} == {"calls"}

    await client.send({"op": "filter", "graph": graph_name, "filters": {"types": ["edge_*"]}})
    await client.until("filtered")
    build(graph, "d")
    graph.remove_node("pkg.util.d.f")
    events = await client.events_through(graph_name, published[-1].seq)
    assert [e["type"] for e in events] == ["edge_added", "edge_added", "edge_removed"]


async def test_filter_errors(gl_connect: Connect, graph_name: str) -> None:
    filtered = await gl_connect("filtered")
    await filtered.hello()
    bad = [
        ({"types": ["no_such_*"]}, "matches no event type"),
        ({"kinds": ["widget"]}, "unknown node or edge kind"),
        ({"paths": "pkg/"}, "must be a list"),
        ({"colour": ["red"]}, "unknown filter field"),
        ({"paths": ["x"] * 65}, "more than 64"),
    ]
    for filters, message in bad:
        await filtered.send({"op": "subscribe", "graph": graph_name, "filters": filters})
        error = await filtered.expect("error")
        assert error["code"] == "invalid_filter" and message in error["message"], error
    await filtered.send({"op": "filter", "graph": graph_name, "filters": {}})
    error = await filtered.expect("error")
    assert error["code"] == "bad_request" and "not subscribed" in error["message"]

    plain = await gl_connect("events")
    await plain.hello()
    await plain.send({"op": "subscribe", "graph": graph_name, "filters": {"types": ["node_*"]}})
    error = await plain.expect("error")
    assert error["code"] == "bad_request" and "filtered" in error["message"]
    await plain.send({"op": "filter", "graph": graph_name, "filters": {}})
    assert (await plain.expect("error"))["code"] == "bad_request"
