"""The client-runner processes of ``benchmarks/bench_fanout.py``: one asyncio loop holding N
Tornado WebSocket connections to the server under test, started as
``bench_fanout.py --child clients '{"url": ..., "token": ..., "n": N}'`` and driven by JSON
commands on stdin (``subscribe``, ``target``, ``record``, ``wait``, ``quit``), one MARKER line
answered per command. The connections only read frame headers, count events and extract
``time`` values (latency histogram)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import sys
import time
from typing import Any

from fanout_processes import emit

_RANGE = re.compile(r'"from":(\d+),"through":(\d+)')
_TIME = re.compile(r'"time":([0-9.eE+-]+)')


def _bucket(seconds: float) -> str:
    """Histogram key of a latency: milliseconds at 3 significant digits."""
    return f"{seconds * 1000.0:.3g}"


class _Conn:
    """One client connection's view: its position and when it reached the runner's target."""

    __slots__ = (
        "close_code",
        "conn",
        "errors",
        "events",
        "frames",
        "gaps",
        "hello",
        "position",
        "reached_at",
        "runner",
    )

    def __init__(self, runner: _Runner) -> None:
        self.runner = runner
        self.conn: Any = None
        self.position = -1
        self.reached_at: float | None = None
        self.events = 0
        self.frames = 0
        self.gaps = 0
        self.hello = False
        self.close_code: int | None = None
        self.errors: list[str] = []

    def on_message(self, msg: str | bytes | None) -> None:
        runner = self.runner
        if msg is None:
            self.close_code = self.conn.close_code if self.conn is not None else -1
            runner.poke()
            return
        if isinstance(msg, bytes):
            msg = msg.decode()
        if msg.startswith('{"op":"events"'):
            m = _RANGE.search(msg, 0, 400)
            assert m is not None, msg[:400]
            first, last = int(m.group(1)), int(m.group(2))
            if self.position >= 0 and first != self.position + 1:
                self.gaps += 1
            self.position = last
            n = msg.count('{"seq":')
            if n != last - first + 1:
                self.gaps += 1  # an unfiltered frame carries every event of its range
            self.events += n
            self.frames += 1
            if runner.recording:
                now = time.time()
                runner.rec_events += n
                hist = runner.hist
                for stamp, count in collections.Counter(_TIME.findall(msg)).items():
                    hist[_bucket(now - float(stamp))] += count
            if self.reached_at is None and last >= runner.target:
                self.reached_at = time.time()
                runner.poke()
        elif msg.startswith('{"op":"hello"'):
            self.hello = True
            runner.poke()
        elif msg.startswith('{"op":"subscribed"'):
            frame = json.loads(msg)
            if frame.get("mode") not in ("replay", "live"):
                self.errors.append(msg[:300])
        elif not msg.startswith('{"op":"pong"'):
            self.errors.append(msg[:300])


class _Runner:
    """A client process: N connections in one asyncio loop, driven by commands on stdin."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.conns = [_Conn(self) for _ in range(int(options["n"]))]
        self.target = 1 << 62
        self.recording = False
        self.rec_events = 0
        self.hist: collections.Counter[str] = collections.Counter()
        self._changed = asyncio.Event()

    def poke(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
        return True

    async def connect(self) -> dict[str, Any]:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = self.options["url"]
        headers = (
            {"Authorization": f"token {self.options['token']}"} if self.options.get("token") else {}
        )
        gate = asyncio.Semaphore(32)  # a burst of 1000 handshakes would only queue in the server

        async def one(c: _Conn) -> None:
            async with gate:
                request = HTTPRequest(url, headers=headers, connect_timeout=60, request_timeout=60)
                c.conn = await websocket_connect(
                    request,
                    on_message_callback=c.on_message,
                    ping_interval=None,
                    max_message_size=256 * 1024 * 1024,
                )

        t0 = time.time()
        await asyncio.gather(*(one(c) for c in self.conns))
        ok = await self.wait_for(lambda: all(c.hello for c in self.conns), 60)
        return {"connected": len(self.conns), "hello": ok, "seconds": time.time() - t0}

    def set_target(self, through: int) -> None:
        self.target = through
        now = time.time()
        for c in self.conns:
            c.reached_at = now if c.position >= through else None

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["cmd"]
        if op == "subscribe":
            since = cmd["since"]
            self.set_target(int(cmd["through"]))
            message = json.dumps({"op": "subscribe", "graph": cmd["graph"], "since": since})
            t_sent = time.time()
            for c in self.conns:
                c.position = int(since["seq"]) if since else -1
                if c.position >= self.target:
                    c.reached_at = t_sent
                c.conn.write_message(message)
            return {"t_sent": t_sent, "cpu": _cpu()}
        if op == "target":
            self.set_target(int(cmd["through"]))
            return {}
        if op == "record":
            self.recording = bool(cmd["on"])
            if self.recording:
                self.rec_events = 0
                self.hist.clear()
            return self.report()
        if op == "wait":
            await self.wait_for(
                lambda: all(c.reached_at is not None or c.close_code is not None
                            for c in self.conns),
                float(cmd["timeout"]),
            )  # fmt: skip
            return self.report()
        raise ValueError(f"unknown command {op!r}")

    def report(self) -> dict[str, Any]:
        conns = self.conns
        return {
            "cpu": _cpu(),
            "reached": [c.reached_at for c in conns],
            "positions": [c.position for c in conns],
            "events": sum(c.events for c in conns),
            "frames": sum(c.frames for c in conns),
            "gaps": sum(c.gaps for c in conns),
            "closes": [c.close_code for c in conns if c.close_code is not None],
            "errors": [e for c in conns for e in c.errors][:5],
            "rec_events": self.rec_events,
            "hist": dict(self.hist),
        }


def child_clients(options: dict[str, Any]) -> int:
    async def main() -> None:
        runner = _Runner(options)
        emit(await runner.connect())
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or json.loads(line)["cmd"] == "quit":
                break
            emit(await runner.handle(json.loads(line)))
        for c in runner.conns:
            if c.conn is not None:
                c.conn.close()
        await asyncio.sleep(0.2)  # let the close frames go out

    asyncio.run(main())
    return 0


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far."""
    t = os.times()
    return t.user + t.system
