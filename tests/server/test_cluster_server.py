"""The server extension on a real Redis Cluster (3 masters + 3 replicas on loopback), given an
ordinary ``redis://`` URL of one node: snapshot, replay and live events of graphs whose slots live
on different masters, over one connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest

from graphlive.bus.connection import Client, connect
from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position
from graphlive_server.service import GraphliveService
from tests.redis_cluster import Cluster, running_cluster
from tests.server.clients import GLClient, modules_with_snapshot, publish_nodes
from tests.test_cluster_bus import graphs_on_each_master

Connect = Callable[..., Awaitable[GLClient]]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with running_cluster() as started:
        yield started


@pytest.fixture
def gl_redis_url(cluster: Cluster) -> str:
    return cluster.url


@pytest.fixture
def cluster_client(cluster: Cluster) -> Iterator[Client]:
    client = connect(cluster.url)
    yield client
    client.close()


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
