"""The bus against a real redis-server: contiguity, replay, snapshots, resync, handlers."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Sequence

import pytest
import redis

from graphlive.bus import (
    RESYNC_SOURCE,
    Bus,
    GraphKeys,
    Position,
    Publisher,
    ResyncRequired,
    StreamReader,
    load_graph,
    read_snapshot,
    write_snapshot,
)
from graphlive.bus.reader import (
    check_contiguous,
    check_contiguous_stored,
    entry_seq,
    stored_epoch,
)
from graphlive.bus.snapshot import SnapshotRejected
from graphlive.events import ChangeEvent, EventDecodeError, EventType
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind


def diag(graph: str, i: int) -> ChangeEvent:
    return ChangeEvent(EventType.DIAGNOSTIC, graph, {"i": i})


def snapshotted(
    client: redis.Redis, graph: str, nodes: int, kind: NodeKind, *, retention: int, batch_size: int
) -> tuple[Publisher, CodeGraph, Position]:
    """``nodes`` nodes published, and the snapshot written at the head: what a publish after it
    may trim (at least ``retention`` recent events are kept)."""
    pub = Publisher(client, graph, retention=retention, batch_size=batch_size)
    g = CodeGraph(graph)
    g.listen(pub.publish)
    for i in range(nodes):
        g.add_node(Node.make(f"n{i}", kind))
    head = Position(*pub.head())
    write_snapshot(client, g, head)
    return pub, g, head


def read_all(client: redis.Redis, graph: str, after: Position | None = None) -> list[ChangeEvent]:
    out: list[ChangeEvent] = []
    for page in StreamReader(client, graph, page=777).replay(after or Position()):
        out.extend(page)
    return out


def test_publish_assigns_contiguous_seq_and_stamps_events(
    redis_client: redis.Redis, graph_name: str
) -> None:
    pub = Publisher(redis_client, graph_name, batch_size=7)
    events = [diag(graph_name, i) for i in range(50)]
    result = pub.publish(events)
    assert (result.first, result.last, result.count) == (1, 50, 50)
    assert len(result.ranges) == 8  # 50 events in batches of 7
    stored = read_all(redis_client, graph_name)
    assert [e.seq for e in stored] == list(range(1, 51))
    assert [e.data["i"] for e in stored] == list(range(50))
    assert stored == result.positioned(events)
    assert {e.epoch for e in stored} == {result.epoch}
    assert pub.head() == (result.epoch, 50)
    assert redis_client.sismember("graphlive:graphs", graph_name)


def test_pubsub_fast_path_carries_each_batch(redis_client: redis.Redis, graph_name: str) -> None:
    pubsub = redis_client.pubsub()
    pubsub.subscribe(GraphKeys(graph_name).live)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    Publisher(redis_client, graph_name, batch_size=3).publish(
        [diag(graph_name, i) for i in range(5)]
    )
    from graphlive.events import decode_many

    got = []
    for _ in range(2):
        msg = pubsub.get_message(timeout=5)
        assert msg is not None and msg["type"] == "message"
        got.append(decode_many(msg["data"]))
    assert [[e.seq for e in batch] for batch in got] == [[1, 2, 3], [4, 5]]
    pubsub.close()


def _publish_many(
    url: str, graph: str, n: int, tag: str, barrier: multiprocessing.synchronize.Barrier
) -> None:
    client = redis.Redis.from_url(url)
    pub = Publisher(client, graph, batch_size=100)
    events = [ChangeEvent(EventType.DIAGNOSTIC, graph, {"p": tag, "i": i}) for i in range(n)]
    barrier.wait()
    for start in range(0, n, 250):  # several calls so the two producers interleave
        pub.publish(events[start : start + 250])
    client.close()


def test_two_processes_publishing_share_one_gapless_sequence(
    redis_url: str, redis_client: redis.Redis, graph_name: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_publish_many, args=(redis_url, graph_name, 10_000, t, barrier))
        for t in "AB"
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    events = read_all(redis_client, graph_name)
    assert [e.seq for e in events] == list(range(1, 20_001))
    for tag in "AB":
        # Each producer's events appear once each, in the order it published them.
        assert [e.data["i"] for e in events if e.data["p"] == tag] == list(range(10_000))
    # They really interleaved (otherwise the test would not prove anything about concurrency).
    tags = [e.data["p"] for e in events]
    switches = sum(1 for a, b in itertools.pairwise(tags) if a != b)
    assert switches >= 1


def test_reader_pages_and_resumes_exactly(redis_client: redis.Redis, graph_name: str) -> None:
    pub = Publisher(redis_client, graph_name)
    res = pub.publish([diag(graph_name, i) for i in range(30)])
    reader = StreamReader(redis_client, graph_name, page=10)
    first = reader.read(Position())
    assert [e.seq for e in first] == list(range(1, 11))
    rest = reader.read(Position(res.epoch, 10), count=100)
    assert [e.seq for e in rest] == list(range(11, 31))
    assert reader.read(Position(res.epoch, 30)) == []


def test_blocking_wait_returns_new_events(
    redis_url: str, redis_client: redis.Redis, graph_name: str
) -> None:
    pub = Publisher(redis_client, graph_name)
    res = pub.publish([diag(graph_name, 0)])
    reader = StreamReader(redis.Redis.from_url(redis_url), graph_name)
    assert reader.wait(Position(res.epoch, 1), block_ms=50) == []
    started = threading.Event()
    result: list[list[ChangeEvent]] = []

    def waiter() -> None:
        started.set()
        result.append(reader.wait(Position(res.epoch, 1), block_ms=10_000))

    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    pub.publish([diag(graph_name, 1), diag(graph_name, 2)])
    t.join(15)
    got = result[0]
    # XREAD may wake on the first or both events; a later wait delivers the rest without a gap.
    got += reader.wait(Position(res.epoch, got[-1].seq), block_ms=50) if got[-1].seq < 3 else []
    assert [e.seq for e in got] == [2, 3]
    reader.client.close()


def test_trimmed_position_requires_resync(redis_client: redis.Redis, graph_name: str) -> None:
    pub = Publisher(redis_client, graph_name, retention=100, batch_size=100)
    g = CodeGraph(graph_name)
    g.listen(pub.publish)
    for i in range(1500):
        g.add_node(Node.make(f"m{i}", NodeKind.MODULE))
    epoch, head = pub.head()
    # Without a snapshot nothing may be trimmed: the stream is the only copy of the history.
    assert redis_client.xlen(GraphKeys(graph_name).events) == 1500
    write_snapshot(redis_client, g, Position(epoch, head))
    pub.publish([diag(graph_name, 0)] * 300)
    assert redis_client.xlen(GraphKeys(graph_name).events) < 1800
    reader = StreamReader(redis_client, graph_name)
    with pytest.raises(ResyncRequired) as exc:
        reader.read(Position(epoch, 5))
    assert exc.value.reason == "trimmed"
    # At least `retention` recent events and everything after the snapshot are kept.
    assert [e.seq for e in reader.read(Position(epoch, 1700))] == list(range(1701, 1801))
    assert reader.read(Position(epoch, head))[0].seq == head + 1
    loaded, pos = load_graph(redis_client, graph_name)
    assert loaded == g and pos == Position(epoch, 1800)


def test_snapshot_rules(redis_client: redis.Redis, graph_name: str) -> None:
    pub = Publisher(redis_client, graph_name)
    g = CodeGraph(graph_name)
    g.listen(pub.publish)
    g.add_node(Node.make("a", NodeKind.MODULE))
    epoch, head = pub.head()
    with pytest.raises(SnapshotRejected, match="beyond stream head"):
        write_snapshot(redis_client, g, Position(epoch, head + 1))
    with pytest.raises(SnapshotRejected, match="epoch mismatch"):
        write_snapshot(redis_client, g, Position("other", head))
    write_snapshot(redis_client, g, Position(epoch, head))
    snap = read_snapshot(redis_client, graph_name)
    assert snap is not None and snap.position == Position(epoch, 1) and snap.to_graph() == g
    g.add_node(Node.make("b", NodeKind.MODULE))
    write_snapshot(redis_client, g, Position(epoch, 2))
    with pytest.raises(SnapshotRejected, match="older than the current snapshot"):
        write_snapshot(redis_client, g, Position(epoch, 1))
    assert read_snapshot(redis_client, "no-such-graph") is None


def test_snapshot_plus_tail_equals_live_graph_under_concurrent_publishing(
    redis_url: str, redis_client: redis.Redis, graph_name: str
) -> None:
    producer_client = redis.Redis.from_url(redis_url)
    pub = Publisher(producer_client, graph_name, retention=50, batch_size=64)
    live = CodeGraph(graph_name)
    positions: list[Position] = []

    def publish(batch: Sequence[ChangeEvent]) -> None:
        res = pub.publish(batch)
        positions.append(Position(res.epoch, res.last))

    live.listen(publish)
    done = threading.Event()

    def produce() -> None:
        for i in range(400):
            with live.transaction():
                live.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py", line=1))
                if i:
                    live.add_edge(Edge(EdgeKind.IMPORTS, f"m{i}", f"m{i - 1}", 1, f"m{i}.py"))
                if i % 3 == 0 and i > 10:
                    live.remove_node(f"m{i - 7}")
            if i % 25 == 0:
                write_snapshot(producer_client, live, positions[-1])
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    loads = 0
    while not done.is_set() or loads < 3:
        loaded, pos = load_graph(redis_client, graph_name)
        loads += 1
        # Follow the tail from the loaded position until the producer has finished. A follower
        # that falls further behind than the retention past the newest snapshot is told to
        # resync (never a silent gap): it then reloads, as every consumer must.
        reader = StreamReader(redis_client, graph_name)
        while True:
            try:
                if not done.is_set():
                    for event in reader.wait(pos, block_ms=100):
                        loaded.apply(event)
                        pos = Position(event.epoch, event.seq)
                    continue
                for page in reader.replay(pos):
                    loaded.apply_all(page)
                    pos = Position(page[-1].epoch, page[-1].seq)
                break
            except ResyncRequired:
                loaded, pos = load_graph(redis_client, graph_name)
        assert loaded == live
        assert pos == positions[-1]
    thread.join()
    assert read_snapshot(redis_client, graph_name) is not None
    producer_client.close()


def test_reset_starts_new_epoch_and_is_a_legal_transition(
    redis_client: redis.Redis, graph_name: str
) -> None:
    pub = Publisher(redis_client, graph_name)
    first = pub.publish([diag(graph_name, i) for i in range(5)])
    reset = pub.reset()
    assert reset.epoch != first.epoch and reset.first == 6
    after = pub.publish([diag(graph_name, 9)])
    events = StreamReader(redis_client, graph_name).read(Position(first.epoch, 5))
    assert [(e.seq, e.type, e.epoch) for e in events] == [
        (6, EventType.GRAPH_RESET, reset.epoch),
        (7, EventType.DIAGNOSTIC, reset.epoch),
    ]
    assert after.epoch == reset.epoch
    # A consumer that was behind the reset cannot replay the old epoch any more.
    with pytest.raises(ResyncRequired, match="resync required"):
        StreamReader(redis_client, graph_name).read(Position(first.epoch, 2))


def test_lost_history_is_detected_by_epoch(redis_client: redis.Redis, graph_name: str) -> None:
    pub = Publisher(redis_client, graph_name)
    old = pub.publish([diag(graph_name, i) for i in range(10)])
    keys = GraphKeys(graph_name)
    redis_client.delete(keys.meta)  # e.g. Redis restarted without persistence
    new = pub.publish([diag(graph_name, 0)])
    assert new.epoch != old.epoch and new.first == 1
    reader = StreamReader(redis_client, graph_name)
    with pytest.raises(ResyncRequired) as exc:
        reader.read(Position(old.epoch, 10))
    assert exc.value.reason == "epoch"
    with pytest.raises(ResyncRequired):
        reader.wait(Position(old.epoch, 10), block_ms=10)
    assert [e.seq for e in reader.read(Position())] == [1]


def test_handlers_receive_matching_events_in_order(redis_url: str, graph_name: str) -> None:
    bus = Bus(client=redis.Redis.from_url(redis_url))
    seen: list[tuple[str, int]] = []
    all_done = threading.Event()

    @bus.on("node_*")
    def nodes(event: ChangeEvent) -> None:
        seen.append((event.type.value, event.seq))

    @bus.on("edge_added")
    def edges(event: ChangeEvent) -> None:
        seen.append(("edge", event.seq))

    @bus.on("diagnostic")
    def finish(event: ChangeEvent) -> None:
        all_done.set()

    @bus.on("*")
    def broken(event: ChangeEvent) -> None:
        raise RuntimeError("a broken handler must not stop the others")

    with pytest.raises(ValueError, match="matches no event type"):
        bus.on("nodes_*")
    stop = bus.start(graph_name, since=Position())
    g = CodeGraph(graph_name)
    g.listen(bus.publish)
    g.add_node(Node.make("a", NodeKind.MODULE))
    g.add_node(Node.make("b", NodeKind.MODULE))
    g.add_edge(Edge(EdgeKind.IMPORTS, "a", "b", 1))
    g.remove_node("a")
    g.emit(EventType.DIAGNOSTIC, {"message": "done"})
    assert all_done.wait(10)
    assert seen == [("node_added", 1), ("node_added", 2), ("edge", 3), ("node_removed", 5)]
    stop.set()
    bus.close()


def test_follower_gets_resync_sequence_after_a_gap(
    redis_url: str, redis_client: redis.Redis, graph_name: str
) -> None:
    pub, g, at = snapshotted(
        redis_client, graph_name, 600, NodeKind.FUNCTION, retention=0, batch_size=200
    )
    pub.publish([diag(graph_name, 0)] * 400)  # trims events 1.. away
    bus = Bus(client=redis.Redis.from_url(redis_url))
    rebuilt = CodeGraph("copy")
    sources: set[str] = set()

    @bus.on("*")
    def apply(event: ChangeEvent) -> None:
        sources.add(event.source)
        rebuilt.apply(event)

    pos = bus.follow_once(graph_name, Position(at.epoch, 3), block_ms=10)
    assert pos == Position(at.epoch, 1000)
    assert rebuilt == g and RESYNC_SOURCE in sources
    bus.close()


def test_graph_names_are_validated(redis_client: redis.Redis) -> None:
    for bad in ["", "a b", "x{y}", "a:b", "é", "x" * 129]:
        with pytest.raises(ValueError, match="invalid graph name"):
            Publisher(redis_client, bad)


def test_cli_events_prints_json_lines(
    redis_url: str, redis_client: redis.Redis, graph_name: str
) -> None:
    Publisher(redis_client, graph_name).publish([diag(graph_name, i) for i in range(5)])
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": redis_url}
    cmd = [sys.executable, "-m", "graphlive.cli", "events", graph_name, "--since", "2"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=True)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(d["seq"], d["type"], d["data"]["i"]) for d in lines] == [
        (3, "diagnostic", 2),
        (4, "diagnostic", 3),
        (5, "diagnostic", 4),
    ]
    missing = subprocess.run(
        [sys.executable, "-m", "graphlive.cli", "events", "no-such-graph"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "no graph named 'no-such-graph'" in missing.stderr


def test_cli_events_on_a_trimmed_stream(
    redis_url: str, redis_client: redis.Redis, graph_name: str
) -> None:
    """Without --since: the kept events and a note naming the snapshot; an explicit --since
    that is no longer kept exits with the documented code 3."""
    pub, _, at = snapshotted(
        redis_client, graph_name, 500, NodeKind.MODULE, retention=100, batch_size=100
    )
    pub.publish([diag(graph_name, i) for i in range(300)])
    first = entry_seq(redis_client.xrange(GraphKeys(graph_name).events, "-", "+", count=1)[0][0])
    assert first > 1  # the premise: the stream was trimmed behind the snapshot
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": redis_url}
    base = [sys.executable, "-m", "graphlive.cli", "events", graph_name]
    out = subprocess.run(base, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    seqs = [json.loads(line)["seq"] for line in out.stdout.splitlines()]
    assert seqs == list(range(first, 801))
    assert f"events 1..{first - 1} were trimmed" in out.stderr
    assert f"snapshot at seq {at.seq}" in out.stderr
    gone = subprocess.run([*base, "--since", "3"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert gone.returncode == 3 and "resync required (trimmed)" in gone.stderr
    assert gone.stdout == ""
    kept = subprocess.run([*base, "--since", "790"], env=env, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert [json.loads(line)["seq"] for line in kept.stdout.splitlines()] == list(range(791, 801))
    assert kept.stderr == ""


def test_stored_check_agrees_with_decoding_without_decoding(
    redis_client: redis.Redis, graph_name: str
) -> None:
    """``check_contiguous_stored`` (the server's replay) reads each event's epoch from the
    prefix the publish script writes, and accepts and refuses what ``check_contiguous`` does."""
    pub = Publisher(redis_client, graph_name)
    first = pub.publish([diag(graph_name, i) for i in range(5)])
    reset = pub.reset()
    pub.publish([diag(graph_name, 9)])
    keys = GraphKeys(graph_name)

    def entries(after: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        return list(redis_client.xrange(keys.events, f"{after + 1}-0", "+"))

    head = Position(reset.epoch, 7)
    before = entries(0)  # the reset deleted the old epoch's events: the stream starts at 6
    assert [entry_seq(i) for i, _ in before] == [6, 7]
    stored, epochs = check_contiguous_stored(graph_name, Position(first.epoch, 5), before, head)
    decoded = check_contiguous(graph_name, Position(first.epoch, 5), before, head)
    assert stored == [f[b"e"] for _, f in before]
    assert epochs == [e.epoch for e in decoded] == [reset.epoch] * 2
    assert [stored_epoch(raw) for raw in stored] == epochs
    assert decoded[0].type is EventType.GRAPH_RESET
    # A foreign epoch that does not start with a graph_reset is refused, as when decoding.
    with pytest.raises(ResyncRequired) as refused:
        check_contiguous_stored(graph_name, Position(first.epoch, 6), entries(6), head)
    assert refused.value.reason == "epoch"
    # A gap is refused.
    with pytest.raises(ResyncRequired, match="expected seq 6"):
        check_contiguous_stored(graph_name, Position(first.epoch, 5), before[1:], head)
    # An entry not written by the publish script is decoded, and refused if it is not an event.
    odd = [(b"1-0", {b"e": b'{"v":1,"seq":1}'})]
    with pytest.raises(EventDecodeError):
        check_contiguous_stored(graph_name, Position(first.epoch, 0), odd, None)


OTHER_PREFIXES = [b'{"seq":1,"epoch":"e1"}', b'{"epoch":"e1","seq":1,', b'{"seq":1,"epoch":e1,',
                  b"", b'{"seq":1,"epoch":"e1']  # fmt: skip


@pytest.mark.parametrize("raw", OTHER_PREFIXES)
def test_stored_epoch_is_none_for_any_other_prefix(raw: bytes) -> None:
    assert stored_epoch(raw) is None
