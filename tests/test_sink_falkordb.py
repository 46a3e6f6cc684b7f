"""The sink against a real redis-server with the FalkorDB module: the database graph equals the
producer's graph after every kind of mutation, replays change nothing, resyncs rebuild."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from graphlive.bus import GraphKeys, Position, Publisher, write_snapshot
from graphlive.events import ChangeEvent, EventType, Txn
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.live import LiveGraph
from graphlive.sinks import Sink, SinkError, SinkStats, sink_lag, sink_status
from graphlive.sinks.changes import fold
from graphlive.sinks.cypher import FALKORDB, Statement, apply_statement, start_rebuild_statement
from graphlive.sinks.falkordb import FalkorDBTarget, cypher, parse_falkordb_url
from tests.redis_servers import running_redis
from tests.test_sink_support import (
    assert_mirrors,
    falkordb_url,
    mutate,
    open_falkordb,
    target_url,
)

__all__ = ["falkordb_url"]  # the fixture, re-exported for pytest


@pytest.fixture
def client(falkordb_url: str) -> redis.Redis:
    c = redis.Redis.from_url(falkordb_url)
    yield c  # type: ignore[misc]
    c.close()


@pytest.fixture
def to_url(falkordb_url: str, graph_name: str) -> str:
    """The sink's ``--to`` URL: a FalkorDB graph named like the graph, on the test server."""
    return target_url(falkordb_url, graph_name)


@pytest.fixture
def target(falkordb_url: str, graph_name: str) -> Iterator[FalkorDBTarget]:
    """The FalkorDB graph a sink to ``to_url`` writes, opened for checking what it holds."""
    t = open_falkordb(falkordb_url, graph_name)
    yield t
    t.close()


def changed_live_graph(graph: str, redis_url: str, seed: int, changes: int) -> LiveGraph:
    """A live graph after ``changes`` random mutations (:func:`mutate`), all published."""
    lg = LiveGraph(graph, redis_url=redis_url)
    mutate(lg.graph, random.Random(seed), changes)
    lg.flush()
    return lg


def catch_up(graph: str, to: str, redis_url: str, **options: Any) -> SinkStats:
    """Run a sink until it has applied everything up to the stream head, then close it."""
    with Sink(graph, to, redis_url=redis_url, **options) as sink:
        return sink.run(until_caught_up=True)


def test_database_equals_graph_after_adds_updates_removals_and_resets(
    falkordb_url: str, graph_name: str, to_url: str, target: FalkorDBTarget
) -> None:
    lg = LiveGraph(graph_name, redis_url=falkordb_url)
    g = lg.graph
    with g.transaction():
        g.add_node(Node.make("pkg", NodeKind.PACKAGE, file="pkg/__init__.py", line=1))
        g.add_node(Node.make("pkg.mod", NodeKind.MODULE, file="pkg/mod.py", line=1, loc=30))
        g.add_node(
            Node.make(
                "pkg.mod.C",
                NodeKind.CLASS,
                file="pkg/mod.py",
                line=3,
                doc='A "quoted"\ndoc \\ with ünïcode',
                extra={"bases": ["B"]},
            )
        )
        g.add_node(
            Node.make("pkg.mod.C.m", NodeKind.METHOD, file="pkg/mod.py", line=5, complexity=3)
        )
        g.add_node(Node.make("<builtin>.len", NodeKind.EXTERNAL))
        g.add_edge(Edge(EdgeKind.CONTAINS, "pkg", "pkg.mod"))
        g.add_edge(Edge(EdgeKind.CONTAINS, "pkg.mod", "pkg.mod.C"))
        g.add_edge(Edge(EdgeKind.CALLS, "pkg.mod.C.m", "<builtin>.len", 6, "pkg/mod.py"))
        g.add_edge(Edge(EdgeKind.CALLS, "pkg.mod.C.m", "<builtin>.len", 7, "pkg/mod.py"))
    with Sink(graph_name, to_url, redis_url=falkordb_url) as sink:
        sink.run(until_caught_up=True)
        assert_mirrors(target, graph_name, g)
        # Updates: attributes, kind (label change), language, extra removed; edge owner change.
        g.add_node(
            Node.make("pkg.mod.C.m", NodeKind.FUNCTION, file="pkg/mod.py", line=9, language="ts")
        )
        g.add_node(Node.make("pkg.mod.C", NodeKind.CLASS, file="pkg/mod.py", line=3))
        g.add_edge(Edge(EdgeKind.CALLS, "pkg.mod.C.m", "<builtin>.len", 6, "other.py"))
        # A node removal takes its incident edges with it.
        g.remove_node("<builtin>.len")
        sink.run(until_caught_up=True)
        assert_mirrors(target, graph_name, g)
        labels = target.read(
            Statement(
                "MATCH (n:CodeNode {graph: $graph, id: 'pkg.mod.C.m'}) RETURN labels(n)",
                {"graph": graph_name},
            )
        )
        assert sorted(labels[0][0]) == ["CodeNode", "Function"]
        # A reset inside the epoch, then a new session (new epoch) of the same graph.
        g.clear()
        g.add_node(Node.make("after.reset", NodeKind.MODULE))
        sink.run(until_caught_up=True)
        assert_mirrors(target, graph_name, g)
        lg.close()
        lg2 = LiveGraph(graph_name, redis_url=falkordb_url)
        lg2.graph.add_node(Node.make("second.session", NodeKind.MODULE, file="s.py"))
        lg2.flush()
        sink.run(until_caught_up=True)
        assert_mirrors(target, graph_name, lg2.graph)
        cursor = target.cursor(graph_name)
        assert cursor is not None and cursor.position == lg2.position
        lg2.close()


def test_random_workload_in_random_batches_matches_codegraph(
    graph_name: str, target: FalkorDBTarget
) -> None:
    """The batch fold + statements against the producer's own replay semantics, on many random
    event sequences cut into random batches (the sink's batching, without the runner)."""
    target.ensure_schema()
    for seed in range(12):
        rng = random.Random(seed)
        g = CodeGraph(graph_name)
        events: list[ChangeEvent] = []
        g.listen(events.extend)
        mutate(g, rng, 40)
        events = [e.positioned(i + 1, "e") for i, e in enumerate(events)]
        target.delete_graph()
        target.ensure_schema()
        target.write(start_rebuild_statement(graph_name, "e0", "t"))
        pos = Position("e0", 0)
        i = 0
        while i < len(events):
            n = rng.randrange(1, 60)
            batch = events[i : i + n]
            new = Position("e", batch[-1].seq)
            st = apply_statement(
                graph_name, fold(batch), guard=pos, advance=new, consumer="t", flavor=FALKORDB
            )
            assert target.write(st) == [[new.seq]]
            # The same statement again is refused by the cursor guard: no effect.
            assert target.write(st) == []
            pos = new
            i += n
        assert_mirrors(target, graph_name, g)


def test_redelivery_and_second_consumer_change_nothing(
    falkordb_url: str, client: redis.Redis, graph_name: str, to_url: str, target: FalkorDBTarget
) -> None:
    lg = changed_live_graph(graph_name, falkordb_url, 7, 60)
    first = catch_up(graph_name, to_url, falkordb_url, group="g1", consumer="a")
    # A fresh target starts from the snapshot the session's reset stored (seq 1), then applies
    # every later event once.
    assert first.rebuilds == 1 and first.events == lg.position.seq - 1
    before = target.counts(graph_name)
    # Rewind the group: every entry is delivered again, to another consumer.
    client.xgroup_setid(GraphKeys(graph_name).events, "g1", id="0-0")
    stats = catch_up(graph_name, to_url, falkordb_url, group="g1", consumer="b")
    assert stats.events == 0 and stats.batches == 0 and stats.rebuilds == 0
    assert target.counts(graph_name) == before
    assert_mirrors(target, graph_name, lg.graph)
    info = client.xinfo_groups(GraphKeys(graph_name).events)
    assert [int(g["pending"]) for g in info if g["name"] in (b"g1", "g1")] == [0]
    lg.close()


def test_trimmed_position_rebuilds_from_snapshot(
    falkordb_url: str, client: redis.Redis, graph_name: str, to_url: str, target: FalkorDBTarget
) -> None:
    pub = Publisher(client, graph_name, retention=50, batch_size=50)
    g = CodeGraph(graph_name)
    g.listen(pub.publish)
    pub.reset()
    mutate(g, random.Random(3), 30)
    with Sink(graph_name, to_url, redis_url=falkordb_url) as sink:
        assert sink.run(until_caught_up=True).rebuilds == 1  # fresh target: empty snapshot
        behind = sink.applied
    # The sink is away while the graph changes a lot, a snapshot is taken and the stream trimmed.
    mutate(g, random.Random(4), 200)
    epoch, head = pub.head()
    write_snapshot(client, g, Position(epoch, head))
    mutate(g, random.Random(5), 60)
    first_kept = int(client.xrange(GraphKeys(graph_name).events, count=1)[0][0].split(b"-")[0])
    assert first_kept > behind.seq + 1, "the test must trim past the sink's position"
    assert catch_up(graph_name, to_url, falkordb_url).rebuilds == 1
    assert_mirrors(target, graph_name, g)


def test_history_lost_in_redis_rebuilds(
    falkordb_url: str, client: redis.Redis, graph_name: str, to_url: str, target: FalkorDBTarget
) -> None:
    changed_live_graph(graph_name, falkordb_url, 11, 80).close()
    catch_up(graph_name, to_url, falkordb_url)
    keys = GraphKeys(graph_name)
    client.delete(keys.events, keys.meta, keys.snapshot)  # as if Redis restarted empty
    lg2 = changed_live_graph(graph_name, falkordb_url, 12, 10)
    assert lg2.position.seq < target.cursor(graph_name).position.seq  # type: ignore[union-attr]
    assert catch_up(graph_name, to_url, falkordb_url).rebuilds == 1
    assert_mirrors(target, graph_name, lg2.graph)
    lg2.close()


def test_transaction_is_one_batch_and_an_open_one_is_not_waited_for_forever(
    falkordb_url: str, client: redis.Redis, graph_name: str, to_url: str, target: FalkorDBTarget
) -> None:
    pub = Publisher(client, graph_name, batch_size=500)
    pub.reset()
    g = CodeGraph(graph_name)
    g.listen(pub.publish)
    with g.transaction():  # 3000 events in one transaction, published in 6 script calls
        for i in range(3000):
            g.add_node(Node.make(f"n{i}", NodeKind.FUNCTION))
    with Sink(graph_name, to_url, redis_url=falkordb_url, batch_events=1000) as sink:
        stats = sink.run(until_caught_up=True)
        # reset + rebuild from the reset's snapshot, then the transaction as a single batch
        assert stats.batches == 1 and stats.events == 3000
        # A transaction whose last event never comes (a producer died mid-way).
        events = [
            ChangeEvent(
                EventType.NODE_ADDED,
                graph_name,
                {"node": Node.make(f"o{i}", NodeKind.MODULE).to_dict()},
                txn=Txn("t", last=False),
            )
            for i in range(5)
        ]
        pub.publish(events)
        sink.txn_wait = 0.2
        sink.run(until_caught_up=True)
    assert target.counts(graph_name) == (3005, 0)


def test_until_caught_up_cli_exits_0_and_lag_is_zero(
    falkordb_url: str, client: redis.Redis, graph_name: str, to_url: str, target: FalkorDBTarget
) -> None:
    lg = changed_live_graph(graph_name, falkordb_url, 21, 50)
    assert sink_lag(client, graph_name, "cli") == lg.position.seq  # nothing applied yet
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphlive.sinks",
            graph_name,
            "--to",
            to_url,
            "--redis-url",
            falkordb_url,
            "--group",
            "cli",
            "--until-caught-up",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sink_lag(client, graph_name, "cli") == 0
    [status] = sink_status(client, graph_name)
    assert status["group"] == "cli" and status["lag"] == 0 and status["pending"] == 0
    assert status["seq"] == lg.position.seq and status["epoch"] == lg.position.epoch
    assert_mirrors(target, graph_name, lg.graph)
    lg.graph.add_node(Node.make("one.more", NodeKind.MODULE))
    lg.flush()
    assert sink_lag(client, graph_name, "cli") == 1
    lg.close()


def test_falkordb_url_without_host_means_graphlives_redis(
    falkordb_url: str, graph_name: str
) -> None:
    lg = LiveGraph(graph_name, redis_url=falkordb_url)
    lg.graph.add_node(Node.make("m", NodeKind.MODULE))
    lg.flush()
    with Sink(graph_name, "falkordb://", redis_url=falkordb_url) as sink:
        sink.run(until_caught_up=True)
        assert sink.group == "sink:falkordb:graphlive-redis/" + graph_name
    df = cypher(
        "MATCH (n:CodeNode {graph: $g}) RETURN n.id AS id, n.kind AS kind, n",
        {"g": graph_name},
        graph=graph_name,
        redis_url=falkordb_url,
    )
    assert list(df.columns) == ["id", "kind", "n"]
    assert df.iloc[0]["id"] == "m" and df.iloc[0]["kind"] == "module"
    assert df.iloc[0]["n"]["_labels"] == ["CodeNode", "Module"]
    with pytest.raises(redis.ResponseError):  # read-only by default
        cypher("CREATE (:X)", graph=graph_name, redis_url=falkordb_url)
    lg.close()


def test_notebook_flow_sync_then_query_on_the_producers_connection(
    falkordb_url: str, graph_name: str
) -> None:
    """What ``LiveGraph.cypher`` does: bring the FalkorDB copy up to date with a sink in the
    producer's process and connection, then query it."""
    lg = LiveGraph(graph_name, redis_url=falkordb_url)
    assert lg.bus is not None
    client = lg.bus.client
    with pytest.raises(SinkError, match="does not exist"):
        cypher("MATCH (n) RETURN n", graph=graph_name, client=client)
    for round_ in range(2):
        mutate(lg.graph, random.Random(round_), 20)
        lg.flush()
        with Sink(
            graph_name, FalkorDBTarget(client, graph_name, where="graphlive-redis"), client=client
        ) as sink:
            sink.run(until_caught_up=True)
        df = cypher(
            "MATCH (n:CodeNode {graph: $g}) RETURN n.id AS id ORDER BY id",
            {"g": graph_name},
            graph=graph_name,
            client=client,
        )
        assert list(df["id"]) == sorted(n.id for n in lg.graph.nodes())
    client.ping()  # still open: the caller's connection is not closed
    lg.close()


def test_target_without_falkordb_module_fails_clearly(graph_name: str) -> None:
    with running_redis() as plain:
        url = target_url(plain, graph_name)
        with pytest.raises(SinkError, match="no FalkorDB module"):
            Sink(graph_name, url, redis_url=plain).run(until_caught_up=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("falkordb://", (None, "g")),
        ("falkordb:///", (None, "g")),
        ("falkordb:///other", (None, "other")),
        ("falkordb://localhost:6380/x", ("redis://localhost:6380", "x")),
        ("falkordb://u:p%40ss@h:1/x", ("redis://u:p%40ss@h:1", "x")),
        ("falkordbs://h/x", ("rediss://h", "x")),
        ("falkordb:///tmp/d/redis.sock/x", ("unix:///tmp/d/redis.sock", "x")),
        ("falkordb:///tmp/d/redis.sock/x?password=s", ("unix:///tmp/d/redis.sock?password=s", "x")),
    ],
)
def test_parse_falkordb_url(url: str, expected: tuple[str | None, str]) -> None:
    assert parse_falkordb_url(url, "g") == expected


def test_cursor_of_fresh_target_is_none(to_url: str, graph_name: str) -> None:
    target = FalkorDBTarget.from_url(to_url, default_graph="x")
    assert target.cursor(graph_name) is None
    target.close()
