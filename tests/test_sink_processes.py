"""Sink processes (``python -m graphlive.sinks``) killed with SIGKILL at random points, and two
processes sharing one consumer group, against a real redis-server with FalkorDB."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from graphlive.bus import GraphKeys
from graphlive.bus.lease import lease_key
from graphlive.live import LiveGraph
from graphlive.sinks import sink_lag
from graphlive.sinks.falkordb import FalkorDBTarget
from graphlive.sinks.target import Cursor
from tests.test_sink_support import (
    assert_mirrors,
    falkordb_url,
    mutate,
    open_falkordb,
    target_url,
    wait_for,
)

__all__ = ["falkordb_url"]  # the fixture, re-exported for pytest

LEASE_MS = 1000


class SinkProcess:
    """One ``python -m graphlive.sinks`` child; its stderr goes to a file shown on failure."""

    def __init__(self, redis_url: str, graph: str, *args: str) -> None:
        self.log = Path(tempfile.mkstemp(prefix="sink-", suffix=".log")[1])
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "graphlive.sinks",
                    graph,
                    "--redis-url",
                    redis_url,
                    "--lease-ms",
                    str(LEASE_MS),
                    *args,
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.log.unlink(missing_ok=True)
        return code


@pytest.fixture
def client(falkordb_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(falkordb_url)
    yield c
    c.close()


def _cursor(target: FalkorDBTarget, graph: str) -> Cursor | None:
    return target.cursor(graph)


def _applied_seq(target: FalkorDBTarget, graph: str) -> int:
    cur = target.cursor(graph)
    return 0 if cur is None or cur.rebuilding else cur.position.seq


def test_kill_9_at_random_points_then_restart_converges(
    falkordb_url: str, client: redis.Redis, graph_name: str
) -> None:
    seed = int(os.environ.get("GRAPHLIVE_TEST_SEED", "20240611"))
    rng = random.Random(seed)
    lg = LiveGraph(graph_name, redis_url=falkordb_url)
    mutate(lg.graph, rng, 400, files=40)
    assert lg.snapshot()  # a fresh target loads this snapshot in many small chunks
    mutate(lg.graph, rng, 200, files=40)
    lg.flush()
    url = target_url(falkordb_url, graph_name)
    target = open_falkordb(falkordb_url, graph_name)
    args = ("--to", url, "--group", "g", "--batch", "7", "--snapshot-chunk", "1")
    killed_mid_rebuild = False
    for round_ in range(5):
        proc = SinkProcess(falkordb_url, graph_name, *args, "--consumer", f"c{round_}")
        try:
            if round_ == 0:
                # First kill: while the snapshot is being loaded (chunk statements under way).
                def mid_rebuild() -> Cursor | None:
                    cur = _cursor(target, graph_name)
                    return (
                        cur
                        if cur is not None and cur.rebuilding and cur.position.seq >= 3
                        else None
                    )

                wait_for(mid_rebuild, "the snapshot load to be under way", interval=0.001)
                killed_mid_rebuild = True
            else:
                start = _applied_seq(target, graph_name)
                mutate(lg.graph, rng, rng.randrange(50, 150), files=40)  # more work meanwhile
                lg.flush()
                threshold = rng.randrange(start + 1, lg.position.seq + 1)

                def progressed(threshold: int = threshold, proc: SinkProcess = proc) -> bool:
                    cur = _cursor(target, graph_name)
                    assert proc.alive(), proc.stderr()
                    return cur is not None and not cur.rebuilding and cur.position.seq >= threshold

                wait_for(progressed, f"seq {threshold} (seed {seed})", interval=0.001)
            proc.kill9()
        finally:
            if proc.alive():
                proc.kill9()
    assert killed_mid_rebuild
    final = SinkProcess(falkordb_url, graph_name, *args, "--consumer", "final", "--until-caught-up")
    code = final.proc.wait(timeout=120)
    assert code == 0, final.stderr()
    final.stop()
    assert_mirrors(target, graph_name, lg.graph)
    cursor = target.cursor(graph_name)
    assert cursor is not None and cursor.position == lg.position
    assert sink_lag(client, graph_name, "g") == 0
    lg.close()
    target.close()


def test_two_processes_in_one_group_converge_and_take_over(
    falkordb_url: str, client: redis.Redis, graph_name: str
) -> None:
    rng = random.Random(99)
    lg = LiveGraph(graph_name, redis_url=falkordb_url)
    mutate(lg.graph, rng, 30)
    lg.flush()
    # A member of the group that read entries and died before acknowledging them: whoever
    # leads must claim (XAUTOCLAIM) and acknowledge them once applied.
    events_key = GraphKeys(graph_name).events
    client.xgroup_create(events_key, "shared", id="0", mkstream=True)
    ghost = client.xreadgroup("shared", "ghost", {events_key: ">"}, count=20)
    assert len(ghost[0][1] if isinstance(ghost, list) else ghost[events_key.encode()][0]) == 20
    assert client.xpending(events_key, "shared")["pending"] == 20
    url = target_url(falkordb_url, graph_name)
    target = open_falkordb(falkordb_url, graph_name)
    args = ("--to", url, "--group", "shared", "--batch", "25")
    procs = {
        name: SinkProcess(falkordb_url, graph_name, *args, "--consumer", name)
        for name in ("a", "b")
    }

    def caught_up() -> bool:
        for p in procs.values():
            assert p.alive(), p.stderr()
        cur = target.cursor(graph_name)
        return cur is not None and cur.position == lg.position

    try:
        for _ in range(5):
            mutate(lg.graph, rng, 60)
            lg.flush()
        wait_for(caught_up, "both sinks to apply everything")
        assert_mirrors(target, graph_name, lg.graph)
        wait_for(lambda: client.xpending(events_key, "shared")["pending"] == 0, "claimed acks")
        holder = client.get(lease_key(graph_name, "shared"))
        assert holder is not None
        leader = holder.decode().split(":", 1)[0]
        standby = "b" if leader == "a" else "a"
        cursor = target.cursor(graph_name)
        assert cursor is not None and cursor.consumer == leader  # only the lease holder applies
        procs.pop(leader).kill9()
        for _ in range(5):
            mutate(lg.graph, rng, 60)
            lg.flush()
        wait_for(caught_up, "the standby to take over and apply everything")
        assert_mirrors(target, graph_name, lg.graph)
        cursor = target.cursor(graph_name)
        assert cursor is not None and cursor.consumer == standby
        # The dead leader's delivered-but-unacknowledged entries were claimed and acknowledged.
        wait_for(
            lambda: client.xpending(events_key, "shared")["pending"] == 0,
            "no pending entries",
        )
        assert sink_lag(client, graph_name, "shared") == 0
    finally:
        codes = {name: p.stop() for name, p in procs.items()}
    assert codes == {standby: 0}  # SIGTERM ends a sink cleanly
    lg.close()
    target.close()
