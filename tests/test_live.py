"""LiveGraph publishing against real redis-servers, including one that is killed mid-session."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import redis

import graphlive
from graphlive.bus import Bus, Position, StreamReader, load_graph, read_snapshot
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.live import LiveGraph, graph_name_for
from tests.redis_servers import running_redis


def epoch_events(client: redis.Redis, graph: str) -> list[ChangeEvent]:
    """Every event of the current epoch, starting with its graph_reset."""
    snap = read_snapshot(client, graph)
    assert snap is not None  # a reset stores the empty snapshot at its own seq
    return StreamReader(client, graph).read(Position(seq=snap.position.seq - 1))


def add_module(lg: LiveGraph, i: int) -> None:
    with lg.graph.transaction():
        lg.graph.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py", line=1))
        if i:
            lg.graph.add_edge(Edge(EdgeKind.IMPORTS, f"m{i}", f"m{i - 1}", 1, f"m{i}.py"))


def test_session_starts_new_epoch_and_consumers_converge(redis_url: str, graph_name: str) -> None:
    old = LiveGraph(graph_name, redis_url=redis_url)
    for i in range(5):
        add_module(old, i)
    old.close()
    lg = LiveGraph(graph_name, redis_url=redis_url)
    add_module(lg, 0)
    add_module(lg, 1)
    assert lg.position.epoch != old.position.epoch
    client = redis.Redis.from_url(redis_url)
    loaded, pos = load_graph(client, graph_name)
    # The earlier session's m2..m4 are gone for consumers: they follow exactly this session.
    assert loaded == lg.graph and pos == lg.position
    events = epoch_events(client, graph_name)
    assert events[0].type is EventType.GRAPH_RESET and events[0].epoch == lg.position.epoch
    assert events[0].seq == 1 + 5 + 4 + 1  # seq continues across epochs
    client.close()
    lg.close()


def test_live_mutations_publish_immediately_in_transactions(
    redis_url: str, graph_name: str
) -> None:
    lg = LiveGraph(graph_name, redis_url=redis_url)
    add_module(lg, 0)
    add_module(lg, 1)
    client = redis.Redis.from_url(redis_url)
    events = epoch_events(client, graph_name)
    types = [e.type.value for e in events]
    assert types == ["graph_reset", "node_added", "node_added", "edge_added"]
    assert [e.txn.last for e in events[1:] if e.txn] == [True, False, True]
    assert lg.position.seq == events[-1].seq
    client.close()
    lg.close()


def test_snapshot_lets_late_consumers_start_from_it(redis_url: str, graph_name: str) -> None:
    lg = LiveGraph(graph_name, redis_url=redis_url)
    for i in range(30):
        add_module(lg, i)
    assert lg.snapshot()
    add_module(lg, 30)
    client = redis.Redis.from_url(redis_url)
    loaded, pos = load_graph(client, graph_name)
    assert loaded == lg.graph and pos == lg.position
    client.close()
    lg.close()


def test_redis_down_then_back_with_its_data_loses_nothing(
    graph_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded Redis stops while the graph changes; the next flush restarts it (its AOF
    kept the stream) and publishes the buffered events right after the old ones."""
    from graphlive.bus import embedded

    short = Path(tempfile.mkdtemp(prefix="gl-live-"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(short / "rt"))
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(short / "data"))
    monkeypatch.delenv("GRAPHLIVE_REDIS_URL", raising=False)
    try:
        lg = LiveGraph(graph_name)
        add_module(lg, 0)
        before = lg.position
        assert embedded.stop()
        add_module(lg, 1)
        assert isinstance(lg.publish_error, redis.ConnectionError)
        assert lg.position == before  # nothing published while Redis was down
        # The next flush resolves the location again, which restarts the embedded server from
        # its append-only file.
        add_module(lg, 2)
        assert lg.publish_error is None
        assert lg.position.epoch == before.epoch
        client = redis.Redis.from_url(embedded.ensure_running().url)
        tail = StreamReader(client, graph_name).read(before)
        assert [e.seq for e in tail] == list(range(before.seq + 1, lg.position.seq + 1))
        assert [e.data["node"]["id"] for e in tail if e.type is EventType.NODE_ADDED] == [
            "m1",
            "m2",
        ]
        loaded, _ = load_graph(client, graph_name)
        assert loaded == lg.graph
        client.close()
        lg.close()
    finally:
        embedded.stop()


def test_redis_back_without_history_gets_the_full_graph(graph_name: str) -> None:
    with running_redis() as url:
        client = redis.Redis.from_url(url)
        lg = LiveGraph(graph_name, bus=Bus(client=client))
        add_module(lg, 0)
        old_epoch = lg.position.epoch
        client.shutdown(nosave=True, now=True, force=True)
        add_module(lg, 1)
        assert isinstance(lg.publish_error, redis.ConnectionError)
    with running_redis() as url2:
        # A new, empty Redis: the stream's history is lost, so m1's edge to m0 alone would be
        # unusable. The LiveGraph notices the new epoch and republishes its whole graph.
        lg.bus = Bus(client=redis.Redis.from_url(url2))
        add_module(lg, 2)
        assert lg.publish_error is None
        assert lg.position.epoch != old_epoch
        c2 = redis.Redis.from_url(url2)
        loaded, pos = load_graph(c2, graph_name)
        assert loaded == lg.graph and pos == lg.position
        assert {n.id for n in loaded.nodes()} == {"m0", "m1", "m2"}
        c2.close()
        lg.bus.close()


def test_overflowing_buffer_resyncs_with_full_graph(graph_name: str) -> None:
    with running_redis() as url:
        client = redis.Redis.from_url(url)
        lg = LiveGraph(graph_name, bus=Bus(client=client), max_buffer=10)
        add_module(lg, 0)
        client.shutdown(nosave=True, now=True, force=True)
        for i in range(1, 12):
            add_module(lg, i)
    with running_redis() as url2:
        lg.bus = Bus(client=redis.Redis.from_url(url2))
        assert lg.flush()
        c2 = redis.Redis.from_url(url2)
        loaded, _ = load_graph(c2, graph_name)
        assert loaded == lg.graph and lg.graph.node_count == 12
        c2.close()


def test_offline_graph_needs_no_redis() -> None:
    lg = LiveGraph("offline", publish=False)
    add_module(lg, 0)
    add_module(lg, 1)
    assert lg.flush() and lg.bus is None and lg.position == Position()
    g = lg.to_networkx()
    assert set(g.nodes) == {"m0", "m1"}
    assert g.nodes["m1"]["kind"] == "module" and g.nodes["m1"]["file"] == "m1.py"
    ((u, v, key, data),) = g.edges(keys=True, data=True)
    assert (u, v, data["kind"], data["line"]) == ("m1", "m0", "imports", 1)
    assert key == "imports:m1->m0@1"


def test_offline_analysis_with_reset_is_a_full_analysis(tmp_path: Path) -> None:
    """``reset=True`` without Redis (``publish=False``) analyses from scratch; it used to fail
    on an assertion about the missing bus."""
    (tmp_path / "a.py").write_text("def f():\n    g()\n\ndef g():\n    pass\n")
    lg = graphlive.analyze(tmp_path, publish=False, reset=True)
    assert lg.bus is None and {"a.f", "a.g"} <= {n.id for n in lg.graph.nodes()}
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    lg.analyze(tmp_path, reset=True)
    assert "a.g" not in lg.graph and "a.f" in lg.graph
    lg.close()


def test_graph_name_for_folders(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    (base / "my project!").mkdir()
    assert graph_name_for(base / "my project!") == "my-project"
    assert isinstance(CodeGraph("x"), CodeGraph)
