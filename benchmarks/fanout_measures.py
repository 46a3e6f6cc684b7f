"""The measurements of ``benchmarks/bench_fanout.py``: the parent's publishing side (``Bus``:
histories and paced live events) and one function per measured part (catch-up, live, memory,
reconnect storm), each run against one server."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fanout_processes import Clients, Server, merged, percentile

#: Catch-up and storm graphs get a fresh name per run (graphlive keeps recently read pages:
#: each run starts with nothing of its graph cached, as after a server restart).
CATCHUP_GRAPH = "fanout-history"
LIVE_GRAPH = "fanout-live"
STORM_GRAPH = "fanout-storm"
#: The ``time`` of a template event, replaced by the publish time (``repr`` of a float).
TIME_PLACEHOLDER = b'"time":1.0,'


class Bus:
    """The parent's publishing side: histories and paced live events."""

    def __init__(self, url: str) -> None:
        import redis

        from graphlive.bus.publisher import Publisher

        self.client = redis.Redis.from_url(url)
        self._make = Publisher
        self._publishers: dict[str, Publisher] = {}
        self._templates: list[bytes] = []

    def pub(self, graph: str) -> Any:
        if graph not in self._publishers:
            self._publishers[graph] = self._make(self.client, graph)
        return self._publishers[graph]

    def head(self, graph: str) -> tuple[str, int]:
        head: tuple[str, int] = self.pub(graph).head()
        return head

    def fill(self, graph: str, upto: int) -> tuple[str, int]:
        """Publish node_added events (batches of 1000) until the graph's head is ``upto``."""
        from tests.server.clients import publish_nodes

        pub = self.pub(graph)
        _, seq = pub.head()
        t0 = time.perf_counter()
        while seq < upto:
            count = min(1000, upto - seq)
            seq = publish_nodes(pub, seq + 1, count).last
        if time.perf_counter() - t0 > 1:
            print(
                f"  published {graph} to {upto} in {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
        return pub.head()

    def templates(self) -> list[bytes]:
        """1000 encoded node_added bodies whose ``time`` is a placeholder (the server does not
        interpret node content, so cycling through them is as good as new nodes)."""
        if not self._templates:
            from dataclasses import replace

            from tests.server.clients import node_events

            from graphlive.events import encode_unpositioned

            for e in node_events(LIVE_GRAPH, 1, 1000):
                body = encode_unpositioned(replace(e, time=1.0))
                assert TIME_PLACEHOLDER in body
                self._templates.append(body)
        return self._templates

    def publish_paced(self, rate: float, duration: float, tick: float) -> dict[str, Any]:
        """``rate`` events/s for ``duration`` s into the live graph, one call per ``tick``."""
        pub = self.pub(LIVE_GRAPH)
        templates = self.templates()
        sent = calls = 0
        t0 = time.perf_counter()
        next_tick = t0
        while True:
            now = time.perf_counter()
            elapsed = now - t0
            if elapsed >= duration:
                break
            due = int(rate * elapsed) + 1 - sent  # the first event goes out at once
            if due > 0:
                stamp = b'"time":%s,' % repr(time.time()).encode()
                bodies = [
                    templates[(sent + i) % len(templates)].replace(TIME_PLACEHOLDER, stamp, 1)
                    for i in range(due)
                ]
                pub.publish_encoded(bodies)
                sent += due
                calls += 1
            next_tick += tick
            pause = next_tick - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        seconds = time.perf_counter() - t0
        return {"published": sent, "calls": calls, "seconds": seconds, "rate": sent / seconds}


def _since(epoch: str, seq: int) -> dict[str, Any]:
    return {"epoch": epoch, "seq": seq}


def measure_replay(
    server: Server, n: int, graph: str, size: int, behind: int, bus: Bus, work: Path, args: Any
) -> dict[str, Any]:
    """N clients subscribe at once ``behind`` events before the head of a fresh graph of
    ``size`` events (nothing published meanwhile); times until every one has the head."""
    epoch, head = bus.fill(graph, size)
    clients = Clients(server, n, work, args)
    try:
        since = _since(epoch, head - behind)
        cpu0 = server.cpu()
        subs = clients.all(
            {"cmd": "subscribe", "graph": graph, "since": since, "through": head}, 30
        )
        res = merged(clients.all({"cmd": "wait", "timeout": args.timeout}, args.timeout + 30))
        server_cpu = server.cpu() - cpu0
    finally:
        clients.close()
    t0 = min(s["t_sent"] for s in subs)
    done = [t for t in res["reached"] if t is not None]
    ok = len(done) == n and res["events"] == n * behind and not res["gaps"]
    seconds = max(done) - t0 if done else None
    events = res["events"]
    return {
        "clients": n,
        "behind": behind,
        "ok": ok,
        "seconds": seconds if len(done) == n else None,
        "events": events,
        "expected_events": n * behind,
        "events_per_s": events / seconds if seconds else None,
        "frames": res["frames"],
        "gaps": res["gaps"],
        "closes": res["closes"],
        "errors": res["errors"],
        "reached": len(done),
        "fastest_client_s": min(done) - t0 if done else None,
        "server_cpu_s": server_cpu,
        "clients_cpu_s": res["cpu"] - sum(s["cpu"] for s in subs),
        "server_cpu_us_per_event": 1e6 * server_cpu / events if events else None,
    }


def measure_catchup(server: Server, n: int, bus: Bus, work: Path, args: Any) -> dict[str, Any]:
    graph = f"{CATCHUP_GRAPH}-{server.name}-{n}"
    out = measure_replay(server, n, graph, args.history, args.history, bus, work, args)
    _progress(server, f"catch-up {n:>4} clients", out)
    return out


def measure_storm(server: Server, bus: Bus, work: Path, args: Any) -> dict[str, Any]:
    graph = f"{STORM_GRAPH}-{server.name}"
    n, behind = args.storm_clients, args.storm_behind
    out = measure_replay(server, n, graph, behind, behind, bus, work, args)
    _progress(server, f"storm {n} clients x {behind} behind", out)
    return out


def measure_live(
    server: Server,
    n: int,
    rate: float,
    bus: Bus,
    work: Path,
    args: Any,
    *,
    label: str = "live",
    before: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``before``: called once the clients record, just before the publishing starts."""
    epoch, head = bus.head(LIVE_GRAPH)
    clients = Clients(server, n, work, args)
    try:
        clients.all(
            {
                "cmd": "subscribe",
                "graph": LIVE_GRAPH,
                "since": _since(epoch, head),
                "through": head,
            },
            30,
        )
        # One warm-up event: every client has it, so every subscription is live (or was handed
        # the event by its replay and is going live on its next, empty, read).
        warm = bus.pub(LIVE_GRAPH).publish_encoded(bus.templates()[:1]).last
        clients.all({"cmd": "target", "through": warm}, 30)
        ready = merged(clients.all({"cmd": "wait", "timeout": 30}, 60))
        warm_ok = all(t is not None for t in ready["reached"])
        time.sleep(0.2)
        cpu0 = merged(clients.all({"cmd": "record", "on": True}, 30))["cpu"], server.cpu()
        if before is not None:
            before()
        pub = bus.publish_paced(rate, args.duration, args.tick)
        _, final = bus.head(LIVE_GRAPH)
        clients.all({"cmd": "target", "through": final}, 30)
        res = merged(clients.all({"cmd": "wait", "timeout": args.drain}, args.drain + 60))
        server_cpu = server.cpu() - cpu0[1]
    finally:
        clients.close()
    expected = pub["published"] * n
    hist = res["hist"]
    out = {
        "clients": n,
        "rate": rate,
        "published": pub["published"],
        "publish_rate": pub["rate"],
        "publish_calls": pub["calls"],
        "warm_ok": warm_ok,
        "received": res["rec_events"],
        "expected": expected,
        "delivered": res["rec_events"] / expected if expected else None,
        "delivered_per_s": res["rec_events"] / pub["seconds"],
        "p50_ms": percentile(hist, 0.50),
        "p90_ms": percentile(hist, 0.90),
        "p99_ms": percentile(hist, 0.99),
        "max_ms": max((float(k) for k in hist), default=None),
        "caught_up": sum(1 for t in res["reached"] if t is not None),
        "gaps": res["gaps"],
        "closes": res["closes"],
        "errors": res["errors"],
        "frames": res["frames"],
        "server_cpu_s": server_cpu,
        "clients_cpu_s": res["cpu"] - cpu0[0],
    }
    _progress(server, f"{label} {rate:>6.0f}/s {n:>4} clients", out)
    return out


def measure_memory(server: Server, n: int, bus: Bus, work: Path, args: Any) -> dict[str, Any]:
    epoch, head = bus.head(LIVE_GRAPH)
    # One connection first: modules and caches the first subscription loads are not per
    # connection.
    warm = Clients(server, 1, work, args)
    warm.all(
        {"cmd": "subscribe", "graph": LIVE_GRAPH, "since": _since(epoch, head), "through": head}, 30
    )
    time.sleep(0.5)
    warm.close()
    time.sleep(1.0)
    before = server.rss_kib()
    t0 = time.perf_counter()
    clients = Clients(server, n, work, args)
    try:
        connect_s = time.perf_counter() - t0
        clients.all(
            {
                "cmd": "subscribe",
                "graph": LIVE_GRAPH,
                "since": _since(epoch, head),
                "through": head,
            },
            60,
        )
        time.sleep(2.0)  # subscriptions settle (head read, attach, go live)
        after = server.rss_kib()
        res = merged(clients.all({"cmd": "wait", "timeout": 5}, 60))
    finally:
        clients.close()
    time.sleep(2.0)
    closed = server.rss_kib()
    out = {
        "clients": n,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_after_close_kib": closed,
        "per_connection_kib": (after - before) / n,
        "connect_s": connect_s,
        "closes": res["closes"],
        "errors": res["errors"],
    }
    _progress(server, f"memory {n} idle clients", out)
    return out


def _progress(server: Server, label: str, out: dict[str, Any]) -> None:
    keys = (
        "seconds", "events_per_s", "p50_ms", "p99_ms", "delivered", "per_connection_kib",
        "closes", "errors", "gaps",
    )  # fmt: skip
    shown = ", ".join(
        f"{k}={_fmt(out[k])}" for k in keys if k in out and out[k] not in ([], None, 0)
    )
    print(f"[{server.name:>9}] {label}: {shown}", file=sys.stderr)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if v < 100 else f"{v:,.0f}"
    return str(v)
