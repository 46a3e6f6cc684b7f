"""Failover on a real Redis Cluster: a master killed with -9 while its graph is published.

Replication is asynchronous: what the killed master had not sent to its replica is gone after
the promotion. Either nothing was lost and the graph goes on in its epoch, with no gap, or the
loss is explicit (a new epoch; readers behind it resync) — never a silent hole."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
import redis
import redis.exceptions

from graphlive.bus.connection import Client, connect
from graphlive.bus.keys import GraphKeys
from graphlive.bus.publisher import Publisher, PublishResult
from graphlive.bus.reader import Position, ResyncRequired, StreamReader
from graphlive.events import ChangeEvent, EventType
from tests.cluster_graphs import graphs_on_each_master
from tests.redis_cluster import Cluster, NodeInfo

T = TypeVar("T")


def diag(graph: str, i: int) -> ChangeEvent:
    return ChangeEvent(EventType.DIAGNOSTIC, graph, {"i": i})


def until_redis_answers(call: Callable[[], T], timeout: float = 30.0) -> T:
    """``call()``, again while the cluster client still reaches for the dead master (a client
    retries with backoff and refreshes its slot map; so does LiveGraph, which keeps its events
    buffered while Redis is unreachable)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterDownError):
            if time.monotonic() > deadline:
                raise


def graph_on_a_master_with_a_replica(cluster: Cluster, prefix: str) -> tuple[str, NodeInfo]:
    for name in graphs_on_each_master(cluster, prefix):
        master = cluster.master_for_key(GraphKeys(name).meta)
        if cluster.replicas(of_port=master.port):
            return name, master
    raise AssertionError("no master with a replica left")


def publish(pub: Publisher, graph: str, start: int, count: int) -> PublishResult:
    return until_redis_answers(lambda: pub.publish([diag(graph, start + i) for i in range(count)]))


def test_replicated_events_survive_a_failover_and_the_graph_goes_on_in_its_epoch(
    cluster: Cluster,
) -> None:
    name, master = graph_on_a_master_with_a_replica(cluster, "kept")
    client: Client = connect(cluster.url)
    try:
        pub = Publisher(client, name)
        before = publish(pub, name, 0, 50)
        with cluster.node_client(master.port) as node:
            assert int(node.execute_command("WAIT", 1, 5000)) == 1  # on the replica
        cluster.kill(master.port)
        promoted = cluster.wait_for_failover(master.port)
        assert cluster.master_for_key(GraphKeys(name).meta).port == promoted.port
        after = publish(pub, name, 50, 10)
        assert after.epoch == before.epoch and (after.first, after.last) == (51, 60)
        events = until_redis_answers(lambda: StreamReader(client, name).read(Position()))
        assert [e.seq for e in events] == list(range(1, 61))
        assert [e.data["i"] for e in events] == list(range(60))
    finally:
        client.close()


def test_events_the_replica_never_got_make_a_new_epoch_not_a_silent_hole(
    cluster: Cluster,
) -> None:
    name, master = graph_on_a_master_with_a_replica(cluster, "lost")
    client: Client = connect(cluster.url)
    try:
        pub = Publisher(client, name)
        kept = publish(pub, name, 0, 20)
        (replica,) = cluster.replicas(of_port=master.port)
        with cluster.node_client(master.port) as node:
            assert int(node.execute_command("WAIT", 1, 5000)) == 1
        # Cut the replication link and keep it cut (the replica's reconnections now fail their
        # AUTH: the master has no password), write, and kill the master: the replica never
        # gets what was written meanwhile.
        with cluster.node_client(replica.port) as node:
            node.config_set("masterauth", "not-the-password")
            node.execute_command("CLIENT", "KILL", "TYPE", "master")
            assert node.info("replication")["master_link_status"] == "down"
        lost = pub.publish([diag(name, 100 + i) for i in range(5)])
        assert (lost.first, lost.last) == (21, 25)
        cluster.kill(master.port)
        cluster.wait_for_failover(master.port)
        head = until_redis_answers(lambda: StreamReader(client, name).head())
        assert head == Position(kept.epoch, 20), "the test needs the last writes to be lost"
        # A reader that saw seq 25 is told: the head is behind it.
        with pytest.raises(ResyncRequired):
            StreamReader(client, name).read(Position(kept.epoch, 25))
        # The publisher saw 25 assigned: it does not append at 21 in the same epoch (readers
        # holding 21..25 would take other events for them) but starts a new epoch.
        again = publish(pub, name, 200, 3)
        assert again.epoch != kept.epoch and (again.first, again.last) == (1, 3)
        with pytest.raises(ResyncRequired) as told:
            StreamReader(client, name).read(Position(kept.epoch, 20))
        assert told.value.reason == "epoch"
    finally:
        client.close()
