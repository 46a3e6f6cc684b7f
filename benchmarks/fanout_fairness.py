"""Fairness of ``benchmarks/bench_fanout.py`` (``--only fairness``, graphlive only): live
latency of one graph while other clients pull big snapshots of another.

1. A big graph (``--snapshot-elements`` nodes + edges, half each) is published through a
   :class:`~graphlive.graph.CodeGraph` producer and a ``Publisher`` (transactions of 5000
   elements), then its snapshot is written with ``write_snapshot`` at the head.
2. Baseline: the live measurement (``fanout_measures.measure_live``) on the live graph,
   ``--fairness-clients`` clients, ``--fairness-rate`` events/s for ``--duration`` s.
3. Under load: the same, with ``--pullers`` raw WebSocket connections (one ``--child pullers``
   process, apart from the live clients' processes), connected and past ``hello`` beforehand,
   subscribing to the big graph with ``"since": null`` just before the publishing starts. With
   ``--puller-mode stalled`` (default) they never read their sockets during the window (the
   worst case for the server's memory: each connection's queue fills up to its limit); with
   ``reading`` they drain their sockets as fast as they can (the worst case for its CPU).
   After the window (and the drain) the stalled ones read what was sent to them, for at most
   ``--drain`` s, to show how far the snapshot got.
4. Baseline again (noise check; also shows whether the server recovers).

The server's RSS is read before the pullers subscribe, every 0.1 s while they are there (peak
and last) and 2 s after they close.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from tests.server.clients import RawWebSocket

from fanout_processes import ENTRY, Child, Server, emit

BIG_GRAPH = "fanout-big-snapshot"
TARGET_FACTOR = 2.0
_MORE = re.compile(rb'"more":(true|false)')


# --------------------------------------------------------------------------- the big graph


def build_big_graph(url: str, graph: str, elements: int) -> dict[str, Any]:
    """Publish ``elements`` node/edge events through a CodeGraph producer, write the snapshot
    at the head; returns the timings."""
    import redis

    from graphlive.bus.publisher import Publisher
    from graphlive.bus.reader import Position
    from graphlive.bus.snapshot import write_snapshot
    from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind

    client = redis.Redis.from_url(url)
    pub = Publisher(client, graph)
    producer = CodeGraph(graph)
    results: list[Any] = []
    producer.listen(lambda batch: results.append(pub.publish(batch)))
    nodes, step = (elements + 1) // 2, 5000
    t0 = time.perf_counter()
    for start in range(0, nodes, step):
        with producer.transaction():
            for i in range(start, min(nodes, start + step)):
                producer.add_node(
                    Node.make(f"pkg.m{i}", NodeKind.MODULE, file=f"pkg/m{i}.py", line=1)
                )
    for start in range(0, elements - nodes, step):
        with producer.transaction():
            for i in range(start, min(elements - nodes, start + step)):
                target = f"pkg.m{(7 * i + 1) % nodes}"
                producer.add_edge(Edge(EdgeKind.IMPORTS, f"pkg.m{i}", target, 1, f"pkg/m{i}.py"))
    t1 = time.perf_counter()
    last = results[-1]
    write_snapshot(client, producer, Position(last.epoch, last.last))
    t2 = time.perf_counter()
    stored = client.hget(f"graphlive:{{{graph}}}:snapshot", "data") or b""
    return {
        "elements": elements,
        "nodes": nodes,
        "edges": elements - nodes,
        "seq": last.last,
        "publish_s": t1 - t0,
        "snapshot_s": t2 - t1,
        "snapshot_compressed_bytes": len(stored),
    }


# --------------------------------------------------------------------------- puller child


class _Puller:
    """One raw WebSocket connection (the tests' :class:`RawWebSocket`): it reads only when told
    to, and skims frames (keeps their first bytes) so that it never holds a snapshot whole."""

    def __init__(self, ws: RawWebSocket) -> None:
        self.ws = ws
        self.bytes = 0
        self.ops: dict[str, int] = {}
        self.complete = False  # the last part ("more": false) came in
        self.closed: int | None = None
        self.done_at: float | None = None

    @classmethod
    async def connect(cls, port: int, path: str, token: str) -> _Puller:
        self = cls(await RawWebSocket.connect(port, path, token))
        await asyncio.wait_for(self.read_frame(), 60)  # hello
        return self

    async def read_frame(self) -> None:
        opcode, head, n = await self.ws.skim_frame(400)
        self.bytes += 2 + n
        if opcode == 0x8:
            self.closed = struct.unpack("!H", head[:2])[0] if len(head) >= 2 else 1005
            return
        if opcode != 0x1:
            return
        op = head[7 : head.find(b'"', 7)].decode() if head.startswith(b'{"op":"') else "?"
        self.ops[op] = self.ops.get(op, 0) + 1
        if op in ("snapshot", "snapshot_part"):
            m = _MORE.search(head)
            if m is None or m.group(1) == b"false":
                self.complete = True
                self.done_at = time.time()

    async def drain(self, until: float) -> None:
        """Read frames until the snapshot is complete, the connection closes or ``until``."""
        while not self.complete and self.closed is None:
            left = until - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.read_frame(), left)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                if self.ws.reader.at_eof():
                    self.closed = self.closed or -1
                return

    def report(self) -> dict[str, Any]:
        return {
            "bytes": self.bytes,
            "ops": self.ops,
            "complete": self.complete,
            "closed": self.closed,
            "done_at": self.done_at,
        }


def child_pullers(options: dict[str, Any]) -> int:
    """``--child pullers '{"url", "token", "n", "read"}'``: commands ``subscribe`` (graph),
    ``drain`` (timeout), ``quit``."""

    async def main() -> None:
        u = urllib.parse.urlsplit(options["url"])  # the servers listen on 127.0.0.1
        pullers = [
            await _Puller.connect(u.port or 80, u.path, options["token"])
            for _ in range(int(options["n"]))
        ]
        emit({"connected": len(pullers)})
        readers: list[asyncio.Task[None]] = []
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            cmd = json.loads(line)
            if cmd["cmd"] == "quit":
                break
            if cmd["cmd"] == "subscribe":
                message = json.dumps({"op": "subscribe", "graph": cmd["graph"], "since": None})
                t_sent = time.time()
                await asyncio.gather(*(p.ws.send_text(message) for p in pullers))
                if options.get("read"):
                    forever = time.monotonic() + 1e9
                    readers = [asyncio.create_task(p.drain(forever)) for p in pullers]
                emit({"t_sent": t_sent})
            elif cmd["cmd"] == "drain":
                until = time.monotonic() + float(cmd["timeout"])
                if readers:
                    await asyncio.wait(readers, timeout=float(cmd["timeout"]))
                else:
                    await asyncio.gather(*(p.drain(until) for p in pullers))
                emit({"pullers": [p.report() for p in pullers]})
        for t in readers:
            t.cancel()
        for p in pullers:
            p.ws.close()
        await asyncio.sleep(0.1)

    asyncio.run(main())
    return 0


# --------------------------------------------------------------------------- the measurement


class _RssSampler:
    """The server's RSS every ``period`` s in a thread: peak and last."""

    def __init__(self, server: Server, period: float = 0.1) -> None:
        self.server = server
        self.period = period
        self.peak = self.last = server.rss_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.last = self.server.rss_kib()
            self.peak = max(self.peak, self.last)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure_fairness(server: Server, url: str, bus: Any, work: Path, args: Any) -> dict[str, Any]:
    from fanout_measures import measure_live

    n, rate = args.fairness_clients, args.fairness_rate
    print(f"  building {args.snapshot_elements:,} elements of {BIG_GRAPH} ...", file=sys.stderr)
    big = build_big_graph(url, BIG_GRAPH, args.snapshot_elements)
    print(
        f"  {BIG_GRAPH}: published {big['elements']:,} events in {big['publish_s']:.1f} s,"
        f" snapshot written in {big['snapshot_s']:.1f} s"
        f" ({big['snapshot_compressed_bytes'] / 1e6:.1f} MB compressed)",
        file=sys.stderr,
    )
    baseline = measure_live(server, n, rate, bus, work, args, label="fairness baseline")
    options = {
        "url": server.ws_url,
        "token": server.token,
        "n": args.pullers,
        "read": args.puller_mode == "reading",
    }
    argv = [sys.executable, str(ENTRY), "--child", "pullers", json.dumps(options)]
    pullers = Child(argv, work / "pullers.log")
    state: dict[str, Any] = {}
    try:
        pullers.reply(120)
        time.sleep(0.5)
        state["rss_before"] = server.rss_kib()

        def start_pulling() -> None:
            # Just before the publishing starts (the live clients are recording).
            state["sampler"] = _RssSampler(server)
            pullers.send({"cmd": "subscribe", "graph": BIG_GRAPH})
            state["t_sent"] = pullers.reply(30)["t_sent"]

        loaded = measure_live(
            server, n, rate, bus, work, args, label="fairness under load", before=start_pulling
        )
        sampler: _RssSampler = state["sampler"]
        sampler.stop()
        t_drain = time.time()
        pullers.send({"cmd": "drain", "timeout": args.drain})
        report = pullers.reply(args.drain + 60)["pullers"]
    finally:
        pullers.stop()
    time.sleep(2.0)
    rss_after = server.rss_kib()
    after = measure_live(server, n, rate, bus, work, args, label="fairness baseline again")
    done = [p["done_at"] for p in report if p["done_at"] is not None]
    out = {
        "big": big,
        "clients": n,
        "rate": rate,
        "pullers": args.pullers,
        "puller_mode": args.puller_mode,
        "baseline": baseline,
        "loaded": loaded,
        "baseline_again": after,
        "p99_ratio": (
            loaded["p99_ms"] / baseline["p99_ms"]
            if loaded["p99_ms"] is not None and baseline["p99_ms"]
            else None
        ),
        "rss_before_kib": state["rss_before"],
        "rss_peak_kib": sampler.peak,
        "rss_end_kib": sampler.last,
        "rss_after_close_kib": rss_after,
        "pullers_report": report,
        "pullers_complete": len(done),
        "pullers_closed": [p["closed"] for p in report if p["closed"] is not None],
        "pullers_mb_read": sum(p["bytes"] for p in report) / 1e6,
        "pullers_done_s_after_subscribe": (max(done) - state["t_sent"]) if done else None,
        "pullers_drain_started_s": t_drain - state["t_sent"],
    }
    ok = out["p99_ratio"] is not None and out["p99_ratio"] <= TARGET_FACTOR
    print(
        f"[graphlive] fairness: p99 {_n(baseline['p99_ms'])} -> {_n(loaded['p99_ms'])} ms"
        f" (x{_n(out['p99_ratio'], '.2f')}, {'met' if ok else 'NOT met'}),"
        f" RSS {state['rss_before']:,} -> peak {sampler.peak:,} -> {rss_after:,} KiB",
        file=sys.stderr,
    )
    return out


def _n(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def print_fairness(r: dict[str, Any], duration: float) -> None:
    big, mb = r["big"], 1 / 1024
    print(
        f"\nFairness (graphlive only): {r['clients']} live clients of one graph at"
        f" {r['rate']:,.0f} events/s for {duration} s; under load, {r['pullers']} other"
        f"\nconnections ({r['puller_mode']}) subscribe with since=null to a graph of"
        f" {big['elements']:,} elements (snapshot"
        f" {big['snapshot_compressed_bytes'] / 1e6:.1f} MB compressed;\nbuilt in"
        f" {big['publish_s']:.1f} s + {big['snapshot_s']:.1f} s) just before the window."
        f" Latency ms. Target: under-load p99 <= {TARGET_FACTOR:.0f}x baseline p99."
    )
    print(f"{'':>20} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'deliv':>7}  notes")
    for name, key in (("baseline", "baseline"), ("under load", "loaded"), ("baseline again",
                      "baseline_again")):  # fmt: skip
        x = r[key]
        notes = []
        if x["closes"]:
            notes.append(f"closes {x['closes'][:5]}")
        if x["gaps"] or x["errors"]:
            notes.append(f"gaps {x['gaps']} errors {x['errors'][:2]}")
        if x["publish_rate"] < 0.95 * r["rate"]:
            notes.append(f"published only {x['publish_rate']:,.0f}/s")
        print(
            f"{name:>20} {_n(x['p50_ms']):>7} {_n(x['p90_ms']):>7} {_n(x['p99_ms']):>7}"
            f" {_n(x['max_ms']):>7} {_n(100 * x['delivered']) + '%':>7}  {'; '.join(notes)}"
        )
    ratio = r["p99_ratio"]
    met = "met" if ratio is not None and ratio <= TARGET_FACTOR else "NOT met"
    print(
        f"{'p99 ratio':>20} {_n(ratio, '.2f')}x  (under load / baseline; target <="
        f" {TARGET_FACTOR:.0f}x) {met}"
    )
    print(
        f"{'server RSS MiB':>20} before {r['rss_before_kib'] * mb:,.0f}, during: peak"
        f" {r['rss_peak_kib'] * mb:,.0f}, at the end {r['rss_end_kib'] * mb:,.0f};"
        f" 2 s after the pullers closed {r['rss_after_close_kib'] * mb:,.0f}"
    )
    done = r["pullers_done_s_after_subscribe"]
    print(
        f"{'pullers':>20} {r['pullers_complete']}/{r['pullers']} got the whole snapshot"
        f" ({r['pullers_mb_read']:,.0f} MB read"
        + (f"; the last {done:.1f} s after subscribing" if done is not None else "")
        + (
            f"; they started reading {r['pullers_drain_started_s']:.1f} s after subscribing"
            if r["puller_mode"] == "stalled"
            else ""
        )
        + ")"
        + (f"; closed {r['pullers_closed']}" if r["pullers_closed"] else "")
    )
