"""The server extension on a real Redis Cluster (3 masters + 3 replicas on loopback), given an
ordinary ``redis://`` URL of one node: snapshot, replay and live events of graphs whose slots live
on different masters, over one connection."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from graphlive.bus.connection import Client
from graphlive.bus.keys import GraphKeys
from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position
from graphlive.bus.snapshot import load_graph
from graphlive.graph import CodeGraph
from graphlive_server.service import GraphliveService
from tests.cluster_graphs import as_documented_user, graphs_on_each_master
from tests.redis_cluster import Cluster
from tests.server.clients import GLClient, modules_with_snapshot, publish_nodes, wait_until
from tests.server.test_stream import apply_frames
from tests.test_cluster_failover import graph_on_a_master_with_a_replica, until_redis_answers

Connect = Callable[..., Awaitable[GLClient]]
#: What a viewer may get while its graph's master fails over.
VIEWER_OPS = {"events", "resync", "snapshot", "snapshot_part", "error", "available"}


@pytest.fixture
def gl_redis_url(cluster: Cluster) -> str:
    """The server runs as the least-privilege user of docs/deploy.md."""
    return as_documented_user(cluster.url)


async def test_graphs_on_every_master_catch_up_and_go_live_over_one_connection(
    gl_connect: Connect, gl_service: GraphliveService, cluster: Cluster, cluster_client: Client
) -> None:
    names = graphs_on_each_master(cluster, "srv")
    heads: dict[str, Position] = {}
    for name in names:
        pub = Publisher(cluster_client, name)
        at = modules_with_snapshot(pub, 30)
        tail = publish_nodes(pub, 100, 5)  # replayed after the snapshot
        heads[name] = Position(at.epoch, tail.last)

    client = await gl_connect()
    await client.hello()
    for name in names:
        subscribed = await client.subscribe(name)
        assert subscribed["mode"] == "snapshot" and subscribed["head"] == heads[name].seq
        snapshot = await client.until("snapshot")
        assert snapshot["graph"] == name and len(snapshot["nodes"]) == 30
        client.positions[name] = (snapshot["epoch"], snapshot["seq"])
        replayed = await client.events_through(name, heads[name].seq)
        assert [e["seq"] for e in replayed] == list(range(31, 36))
    # Live: each graph's events reach the client from the master that owns its slot.
    for n, name in enumerate(names):
        live = publish_nodes(Publisher(cluster_client, name), 200 + n * 10, 3)
        events = await client.events_through(name, live.last)
        assert [e["seq"] for e in events] == list(range(live.first, live.last + 1))
    status = gl_service.status()
    assert {g for g in names if status["graphs"][g]["subscribers"] == 1} == set(names)


async def test_a_failover_that_lost_events_resyncs_the_viewers(
    gl_connect: Connect, cluster: Cluster, cluster_client: Client
) -> None:
    """Kill -9 the master of a graph after writes its replica never got: the viewers that saw
    them are told (a resync, then the new master's history), never handed other events under
    the same numbers."""
    name, master = graph_on_a_master_with_a_replica(cluster, "lossy")
    pub = Publisher(cluster_client, name)
    kept = publish_nodes(pub, 0, 20)
    client = await gl_connect()
    await client.follow(name, kept.last)
    (replica,) = cluster.replicas(of_port=master.port)
    with cluster.node_client(master.port) as node:
        assert int(node.execute_command("WAIT", 1, 5000)) == 1
    with cluster.node_client(replica.port) as node:
        node.config_set("masterauth", "not-the-password")  # replication stays cut
        node.execute_command("CLIENT", "KILL", "TYPE", "master")
    lost = publish_nodes(pub, 20, 5)
    assert [e["seq"] for e in await client.events_through(name, lost.last)] == [21, 22, 23, 24, 25]
    cluster.kill(master.port)
    cluster.wait_for_failover(master.port)
    # The server follows the graph on the promoted replica and finds its head behind the
    # viewers' position: they resync and get what the cluster holds now.
    resync = await client.until("resync", timeout=30)
    assert resync["graph"] == name
    snapshot = await client.until("snapshot")
    assert snapshot["epoch"] == kept.epoch
    client.positions[name] = (snapshot["epoch"], snapshot["seq"])
    await client.events_through(name, kept.last)
    # The publisher, which saw seq 25, goes on in a new epoch: one more resync, no reused seq.
    again = until_redis_answers(lambda: publish_nodes(pub, 100, 3))
    assert again.epoch != kept.epoch
    assert (await client.until("resync", timeout=30))["graph"] == name
    fresh = await client.until("snapshot")
    assert fresh["epoch"] == again.epoch
    client.positions[name] = (fresh["epoch"], fresh["seq"])
    await client.events_through(name, again.last)


async def test_a_failover_that_lost_nothing_goes_on_without_a_gap(
    gl_connect: Connect, cluster: Cluster, cluster_client: Client
) -> None:
    name, master = graph_on_a_master_with_a_replica(cluster, "kept")
    pub = Publisher(cluster_client, name)
    before = publish_nodes(pub, 0, 30)
    client = await gl_connect()
    await client.follow(name, before.last)
    with cluster.node_client(master.port) as node:
        assert int(node.execute_command("WAIT", 1, 5000)) == 1
    cluster.kill(master.port)
    cluster.wait_for_failover(master.port)
    after = until_redis_answers(lambda: publish_nodes(pub, 30, 10))
    assert after.epoch == before.epoch and after.first == before.last + 1
    # Every event once, in order, in the same epoch (GLClient checks continuity), no resync.
    # While the master is down the server may say so (``unavailable``, then ``available``).
    events: list[dict[str, Any]] = []
    while client.positions[name][1] < after.last:
        frame = await client.recv(timeout=30)
        if frame["op"] == "events":
            events.extend(frame["events"])
        elif frame["op"] == "error":
            assert frame["code"] == "unavailable", frame
        else:
            assert frame["op"] == "available", frame
    assert [e["seq"] for e in events] == list(range(after.first, after.last + 1))


async def test_viewers_follow_a_graph_whose_slot_migrates_to_another_master(
    gl_connect: Connect, cluster: Cluster, cluster_client: Client
) -> None:
    """Resharding moves a graph's slot (keys and all) to another master while a viewer follows
    it live: the server follows the channel to the new owner and misses nothing."""
    (name,) = graphs_on_each_master(cluster, "moved")[:1]
    pub = Publisher(cluster_client, name)
    before = publish_nodes(pub, 0, 10)
    client = await gl_connect()
    await client.follow(name, before.last)
    slot = cluster.key_slot(GraphKeys(name).meta)
    owner = cluster.slot_owner(slot)
    target = next(m for m in cluster.masters() if m.port != owner.port)
    cluster.migrate_slot(slot, target.port)
    assert cluster.master_for_key(GraphKeys(name).meta).port == target.port
    after = until_redis_answers(lambda: publish_nodes(pub, 10, 5))
    assert after.epoch == before.epoch and after.first == before.last + 1
    events = await client.events_through(name, after.last, timeout=30)
    assert [e["seq"] for e in events] == list(range(after.first, after.last + 1))
    # Still live on the new owner: the next batch too, without waiting for an audit.
    later = publish_nodes(pub, 20, 2)
    assert [e["seq"] for e in await client.events_through(name, later.last)] == [16, 17]
    (last_frame,) = [f for f in client.frames if f["op"] == "events" and f["through"] == 17]
    assert not last_frame.get("recovered"), "came from the Stream, not from the new owner"


async def test_a_master_killed_while_its_graph_is_published_and_read(
    gl_connect: Connect, cluster: Cluster, cluster_client: Client
) -> None:
    """kill -9 of the master in the middle of a stream of publishes, a viewer following live:
    the publisher goes on after the promotion (retrying, as LiveGraph does), and what the viewer
    ends up holding is exactly what the cluster holds — whatever replication lost, never a
    silent hole or a duplicate (GLClient checks each frame continues the last)."""
    name, master = graph_on_a_master_with_a_replica(cluster, "busy")
    pub = Publisher(cluster_client, name)
    first = publish_nodes(pub, 0, 5)
    client = await gl_connect()
    await client.follow(name, first.last)
    stop = threading.Event()
    published = [0]

    def keep_publishing() -> None:
        i = 5
        while not stop.is_set():
            until_redis_answers(lambda start=i: publish_nodes(pub, start, 5))
            i += 5
            published[0] = i

    thread = threading.Thread(target=keep_publishing, daemon=True)
    thread.start()
    try:
        await wait_until(lambda: published[0] >= 100)
        cluster.kill(master.port)
        cluster.wait_for_failover(master.port)
        after = published[0]
        await wait_until(lambda: published[0] >= after + 100, timeout=60)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    stored, head = load_graph(cluster_client, name)
    mirror = CodeGraph(name)
    while client.positions.get(name) != (head.epoch, head.seq):
        frame = await client.recv(timeout=30)
        assert frame["op"] in VIEWER_OPS, frame
        assert frame["op"] != "error" or frame["code"] == "unavailable", frame
    apply_frames(mirror, client.frames)
    assert mirror == stored and stored.node_count >= 100
