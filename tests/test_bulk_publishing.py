"""A full analysis that publishes: parsing workers despite the lease's thread, sends that overlap
the analysis, one snapshot at the end, and a Redis killed while sends are in flight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import redis

import graphlive.live
from graphlive.analysis.progress import Progress
from graphlive.bus import Bus, load_graph
from graphlive.bus.inflight import InFlightSend
from graphlive.bus.keys import GraphKeys
from graphlive.bus.writer_lease import WriterLease
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph
from graphlive.live import LiveGraph
from tests.redis_servers import running_redis


def _tree(root: Path, modules: int, functions: int, padding: int = 0) -> Path:
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for i in range(modules):
        prev = f"from pkg.m{i - 1} import f{i - 1}\n" if i else ""
        body = "".join(
            f"def g{i}_{j}(x):\n    '''{'p' * padding}'''\n    return f{i}(x) + {j}\n\n"
            for j in range(functions)
        )
        call = f"    return f{i - 1}(x)\n" if i else "    return x\n"
        (pkg / f"m{i}.py").write_text(f"{prev}\ndef f{i}(x):\n{call}\n{body}")
    return root


def _fresh(root: Path) -> graphlive.live.LiveGraph:
    return graphlive.analyze(root, graph="fresh", publish=False, workers=1)


_CHILD = textwrap.dedent(
    """
    import json, sys
    from graphlive.live import LiveGraph
    root, graph, url = sys.argv[1:4]
    lg = LiveGraph(graph, root=root, redis_url=url)
    lg.analyze(root, workers=2)
    print(json.dumps({"processes": lg.analyzer.parse_processes, "seq": lg.position.seq}))
    lg.close()
    """
)


def test_an_analysis_holding_the_writer_lease_still_parses_in_worker_processes(
    tmp_path: Path, redis_url: str, graph_name: str
) -> None:
    """The lease's heartbeat is a thread, and forking a threaded process is unsafe, so this
    used to parse in one process whenever it published (the CLI, scripts): the heartbeat now
    pauses while the workers are forked."""
    # Over the thresholds for parsing in parallel (16 files, 1.5 MB).
    root = _tree(tmp_path / "big", modules=40, functions=40, padding=1000)
    env = dict(os.environ, GRAPHLIVE_DATA_DIR=str(tmp_path / "data"))
    # A script, as the CLI is: a threaded process started from one cannot use forkserver
    # workers (they would re-run the script), so only fork was left, and fork needs no thread.
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    proc = subprocess.run(
        [sys.executable, str(script), str(root), graph_name, redis_url],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["processes"] == 2
    client = redis.Redis.from_url(redis_url)
    stored, pos = load_graph(client, graph_name)
    assert stored == _fresh(root).graph and pos.seq == result["seq"]
    client.close()


def test_a_paused_heartbeat_leaves_the_lease_held_and_beats_again(
    redis_client: redis.Redis, graph_name: str
) -> None:
    lease = WriterLease(redis_client, graph_name, "analyze", ttl_ms=3000)
    assert lease.try_take()
    lease.start_heartbeat()
    assert lease.beating
    with lease.paused():
        assert not lease.beating  # its thread has ended
        assert lease.holder() is not None and lease.holder().token == lease.token  # type: ignore[union-attr]
    assert lease.held and lease.beating
    lease.release()
    assert lease.holder() is None


def test_a_heartbeat_renews_the_lease_and_never_takes_it_back_after_release(
    redis_client: redis.Redis, graph_name: str
) -> None:
    lease = WriterLease(redis_client, graph_name, "analyze", ttl_ms=300)  # renews every 0.1 s
    assert lease.try_take()
    lease.start_heartbeat()
    key = GraphKeys(graph_name).writer
    # Three times its time to live, with no renewal but the heartbeat's: still held.
    deadline = time.monotonic() + 0.9
    while time.monotonic() < deadline:
        assert redis_client.get(key) == lease.token.encode()
        time.sleep(0.05)
    beat = lease._beat
    assert beat is not None
    lease.release()
    assert redis_client.get(key) is None
    assert beat.exited.wait(5)  # the heartbeat ended without taking the lease back
    assert redis_client.get(key) is None


def test_a_bulk_run_sends_while_it_goes_on_and_the_stream_rebuilds_the_graph(
    tmp_path: Path, redis_url: str, graph_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sends: list[int] = []

    class Counted(InFlightSend):
        def __init__(self, publisher, bodies, events, known_epoch):  # type: ignore[no-untyped-def]
            sends.append(len(bodies))
            super().__init__(publisher, bodies, events, known_epoch)

    monkeypatch.setattr(graphlive.live, "InFlightSend", Counted)
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    root = _tree(tmp_path / "t", modules=12, functions=6)
    lg = LiveGraph(graph_name, root=root, redis_url=redis_url, flush_events=25)
    lg.analyze(root, workers=1)
    assert len(sends) > 5 and max(sends) >= 25  # sent in the background, in batches
    assert lg._inflight is None  # settled before analyze() returned
    client = redis.Redis.from_url(redis_url)
    stored, pos = load_graph(client, graph_name)
    assert stored == lg.graph == _fresh(root).graph
    assert pos == lg.position
    client.close()
    lg.close()


def test_one_snapshot_after_a_large_analysis(
    tmp_path: Path, redis_url: str, graph_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``snapshot_every`` events, the flush ending the run and the run itself both asked
    for a snapshot at the same position; it is written once."""
    written: list[int] = []
    real = graphlive.live.write_snapshot

    def counting(client, graph, at):  # type: ignore[no-untyped-def]
        written.append(at.seq)
        real(client, graph, at)

    monkeypatch.setattr(graphlive.live, "write_snapshot", counting)
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    root = _tree(tmp_path / "t", modules=6, functions=4)
    lg = LiveGraph(graph_name, root=root, redis_url=redis_url, snapshot_every=20)
    lg.analyze(root, workers=1)
    assert written == [lg.position.seq]
    lg.close()


def test_redis_killed_while_sends_are_in_flight_loses_nothing(
    tmp_path: Path, graph_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    root = _tree(tmp_path / "t", modules=12, functions=6)
    with running_redis() as url:
        client = redis.Redis.from_url(url)
        lg = LiveGraph(graph_name, root=root, bus=Bus(client=client), flush_events=25)

        killed: list[int] = []

        def kill_halfway(p: Progress) -> None:
            if p.phase == "write" and p.done * 2 >= p.total and not killed:
                killed.append(p.done)
                client.shutdown(nosave=True, now=True, force=True)

        lg.analyze(root, workers=1, progress=kill_halfway)
        assert killed
        assert isinstance(lg.publish_error, redis.ConnectionError)
        assert lg._buffer  # what could not be sent is kept
    with running_redis() as url2:
        # A new, empty Redis: the LiveGraph starts a new epoch with its whole graph.
        lg.bus = Bus(client=redis.Redis.from_url(url2))
        assert lg.flush()
        c2 = redis.Redis.from_url(url2)
        stored, pos = load_graph(c2, graph_name)
        assert stored == lg.graph == _fresh(root).graph and pos == lg.position
        c2.close()
        lg.bus.close()


def test_a_send_that_fails_in_flight_is_sent_again_in_order(
    tmp_path: Path, redis_url: str, graph_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same Redis, same epoch: a lost send must be re-sent, before what followed it, once."""
    import threading

    from graphlive.bus.keys import GraphKeys
    from graphlive.bus.publisher import Publisher
    from graphlive.events import EventType, decode

    real = Publisher.publish_encoded
    failed_in: list[str] = []

    def cut_once(self: Publisher, bodies: list[bytes], **options: Any) -> object:
        if not failed_in and len(bodies) >= 25:
            failed_in.append(threading.current_thread().name)
            raise redis.ConnectionError("connection cut (test)")
        return real(self, bodies, **options)

    monkeypatch.setattr(Publisher, "publish_encoded", cut_once)
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    root = _tree(tmp_path / "t", modules=12, functions=6)
    lg = LiveGraph(graph_name, root=root, redis_url=redis_url, flush_events=25)
    lg.analyze(root, workers=1)
    assert failed_in == ["graphlive-publish"]  # the send that failed was one in flight
    assert lg.publish_error is None
    client = redis.Redis.from_url(redis_url)
    entries = client.xrange(GraphKeys(graph_name).events)
    events = [decode(fields[b"e"]) for _, fields in entries]
    assert [e.seq for e in events] == list(range(events[0].seq, lg.position.seq + 1))
    assert [e.type for e in events].count(EventType.GRAPH_RESET) == 1
    added = [e.data["node"]["id"] for e in events if e.type is EventType.NODE_ADDED]
    assert len(added) == len(set(added))  # nothing sent twice
    # The stream alone (not the snapshot written from memory at the end) rebuilds the graph.
    replayed = CodeGraph(graph_name)
    replayed.apply_all(events)
    assert replayed == lg.graph == _fresh(root).graph
    client.close()
    lg.close()


def test_a_paused_heartbeat_never_takes_back_a_lost_lease(
    redis_client: redis.Redis, graph_name: str
) -> None:
    from graphlive.bus.keys import GraphKeys

    key = GraphKeys(graph_name).writer
    lease = WriterLease(redis_client, graph_name, "analyze", ttl_ms=3000)
    assert lease.try_take()
    lease.start_heartbeat()
    redis_client.set(key, "analyze|elsewhere|1|0|taken-over")  # a successor, after an expiry
    with lease.paused():
        pass
    assert lease.lost and not lease.held
    redis_client.delete(key)  # the successor finished
    with lease.paused():
        pass
    assert redis_client.get(key) is None  # this session did not take it back
    lease.release()


@pytest.mark.parametrize("prompt_after", [60.0, 0.0])
def test_lifecycle_events_are_sent_as_they_pass_once_the_run_is_old_enough(
    tmp_path: Path,
    redis_url: str,
    graph_name: str,
    monkeypatch: pytest.MonkeyPatch,
    prompt_after: float,
) -> None:
    """Before ``prompt_after`` a run's lifecycle events wait for its changes (one send for a
    short update); after it, each is sent as it passes (a view shows progress)."""
    from graphlive.bus.publisher import Publisher
    from graphlive.events import EventType, decode

    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    root = _tree(tmp_path / "t", modules=4, functions=2)
    lg = LiveGraph(graph_name, root=root, redis_url=redis_url)
    lg.analyze(root, workers=1)
    sends: list[int] = []
    real = Publisher.publish_encoded

    def counting(self: Publisher, bodies: list[bytes], **options: Any) -> object:
        sends.append(len(bodies))
        return real(self, bodies, **options)

    monkeypatch.setattr(Publisher, "publish_encoded", counting)
    lg.prompt_after = prompt_after
    before = lg.position.seq
    edited = root / "pkg" / "m2.py"
    edited.write_text(edited.read_text() + "\ndef added(x):\n    return f2(x)\n")
    lg.update([edited])
    client = redis.Redis.from_url(redis_url)
    stream = GraphKeys(graph_name).events
    types = [decode(f[b"e"]).type for _, f in client.xrange(stream, f"{before + 1}-0", "+")]
    client.close()
    lg.close()
    assert types[0] is EventType.ANALYSIS_STARTED and types[-1] is EventType.ANALYSIS_COMPLETED
    assert EventType.NODE_ADDED in types
    lifecycle = sum(t.value.startswith("analysis_") for t in types)
    assert lifecycle >= 3  # started, progress of each phase, completed
    if prompt_after:
        assert sends == [len(types)]
    else:
        assert len(sends) >= lifecycle - 1 and sends[0] == 1  # analysis_started on its own


def test_taking_the_lease_reads_the_graph_in_the_same_round_trip(graph_name: str) -> None:
    """On a server that never saw the lease script (NOSCRIPT, loaded, sent again), and while
    another process holds the lease (refused, the reads answered all the same)."""
    with running_redis() as url:
        client = redis.Redis.from_url(url)
        client.hset(GraphKeys(graph_name).meta, mapping={"epoch": "e1", "seq": 3})

        def read(pipe: object) -> None:
            pipe.hget(GraphKeys(graph_name).meta, "seq")  # type: ignore[attr-defined]

        lease = WriterLease(client, graph_name, "analyze")
        assert lease.try_take_and_read(read) == (True, [b"3"])
        other = WriterLease(client, graph_name, "analyze")
        assert other.try_take_and_read(read) == (False, [b"3"])
        lease.release()
        assert other.try_take_and_read(read) == (True, [b"3"])
        client.close()


def test_the_last_send_of_an_analysis_gives_the_lease_back(
    tmp_path: Path, redis_url: str, graph_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An analysis continuing a graph sends its changes and gives the writer lease back in one
    round trip (the publish script deletes the lease it holds), having saved its header at the
    position that send reached: the lease script and the publish script, no third. Another
    writer's lease is never deleted by it (the fence refuses the send first)."""
    from graphlive.analysis_cache import CacheEntry, root_id
    from graphlive.bus.publisher import NotWriter

    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    root = _tree(tmp_path / "t", modules=4, functions=3)
    graphlive.analyze(root, graph=graph_name, redis_url=redis_url, workers=1).close()
    client = redis.Redis.from_url(redis_url)
    key = GraphKeys(graph_name).writer

    def scripts_run() -> int:
        stats: Any = client.info("commandstats")
        return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))

    edited = root / "pkg" / "m1.py"
    edited.write_text(edited.read_text() + "\ndef added(x):\n    return f0(x)\n")
    before = scripts_run()
    lg = graphlive.analyze(root, graph=graph_name, redis_url=redis_url, workers=1)
    try:
        assert lg.resumed == "continued"
        assert scripts_run() - before == 2  # take the lease (and read), publish (and release)
        assert client.get(key) is None
        header = CacheEntry(graph_name, root_id(root)).header()
        assert header is not None and header.seq == lg.position.seq
        assert int(client.hget(GraphKeys(graph_name).meta, "seq") or 0) == lg.position.seq
    finally:
        lg.close()
    # The script's release: only the holder's token, only once appended.
    publisher = Bus(redis_url).publisher(graph_name)
    client.set(key, "analyze|host|1|0|other", px=60_000)
    publisher.writer_token = "analyze|host|2|0|mine"
    started = publisher.encode([ChangeEvent(EventType.ANALYSIS_STARTED, graph_name, {})])
    with pytest.raises(NotWriter):
        publisher.publish_encoded(started, release=True)
    assert client.get(key) == b"analyze|host|1|0|other"
    client.set(key, "analyze|host|2|0|mine", px=60_000)
    publisher.batch_size = 1  # three scripts in one pipeline: the last one releases
    head = lg.position.seq
    result = publisher.publish_encoded(started * 3, release=True)
    assert (result.first, result.last) == (head + 1, head + 3)
    assert client.get(key) is None
    client.close()


def test_a_last_send_that_fails_leaves_a_header_the_next_process_does_not_trust(
    tmp_path: Path, redis_url: str, graph_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header is saved before the send that would give the lease back; should that send
    fail, the lease is released after it as before, the header names a position the graph
    never reached, and the next process continues by comparing (the graph it publishes equals
    a fresh analysis), not by trusting the header."""
    from graphlive.analysis_cache import CacheEntry, root_id
    from graphlive.bus.publisher import Publisher

    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    root = _tree(tmp_path / "t", modules=4, functions=3)
    graphlive.analyze(root, graph=graph_name, redis_url=redis_url, workers=1).close()
    real = Publisher.publish_encoded

    def cut_last(self: Publisher, bodies: list[bytes], **options: Any) -> object:
        if options.get("release"):
            raise redis.ConnectionError("connection cut (test)")
        return real(self, bodies, **options)

    monkeypatch.setattr(Publisher, "publish_encoded", cut_last)
    edited = root / "pkg" / "m1.py"
    edited.write_text(edited.read_text() + "\ndef added(x):\n    return f0(x)\n")
    lg = graphlive.analyze(root, graph=graph_name, redis_url=redis_url, workers=1)
    client = redis.Redis.from_url(redis_url)
    try:
        assert lg.publish_error is not None and lg._buffer  # kept for the next flush
        assert client.get(GraphKeys(graph_name).writer) is None  # released after all
        header = CacheEntry(graph_name, root_id(root)).header()
        stored = int(client.hget(GraphKeys(graph_name).meta, "seq") or 0)
        assert header is not None and header.seq == stored + len(lg._buffer)
        epoch = lg.position.epoch
    finally:
        lg._buffer.clear()  # this session's events are lost with it (as if it had died)
        lg.close()
    monkeypatch.setattr(Publisher, "publish_encoded", real)
    again = graphlive.analyze(root, graph=graph_name, redis_url=redis_url, workers=1)
    try:
        # Not in sync with the graph: the kept facts spare the parsing (the edited file
        # alone), the program is resolved again and every file compared (the same epoch).
        summary = again.last_summary
        assert summary is not None and summary.fallback == "resync"
        assert summary.files_parsed == 1 and again.epoch_note is None
        assert again.position.epoch == epoch
        loaded, _ = load_graph(client, graph_name)
        assert loaded == _fresh(root).graph
    finally:
        again.close()
        client.close()
