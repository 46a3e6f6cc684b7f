"""WebSocket fan-out of the graphlive server beside a bare Tornado broadcaster, in the same run.

    .venv/bin/python benchmarks/bench_fanout.py [--clients 1,10,100] [--history 20000]
        [--rate 1000,10000] [--duration 5] [--only catchup,live,memory,storm]
        [--memory-clients 1000] [--storm-clients 100] [--storm-behind 100000]
        [--client-procs 4] [--graphlive-option NAME=VALUE ...] [--profile-server out.pstats]
        [--json out.json]

Every part runs in its own process: a private ``redis-server`` (the bundled binary,
``tests/redis_servers.py``), the real Jupyter server with the ``graphlive_server`` extension
(``python -m jupyter_server``, token auth, the default ``GraphliveServer`` limits unless
``--graphlive-option`` says otherwise), the bare broadcaster (this file, ``--child bare``), and
the clients (this file, ``--child clients``: one asyncio loop per process holding up to
``ceil(N / client-procs)`` Tornado WebSocket connections; 1 process up to 50 clients, then up to
``--client-procs``). The parent publishes with ``graphlive.bus.publisher.Publisher`` and
orchestrates over the children's stdin/stdout. Both servers are started once and measured one
after the other (never at the same time) on the same Redis. Live runs share one graph; every
catch-up and storm run gets a fresh graph of the same content, because graphlive keeps recently
read pages (shared by the subscriptions replaying them): each run starts cold for its graph.

The bare broadcaster (``--child bare``) is the baseline: a Tornado app with one WebSocket
endpoint, ``/ws``, speaking the part of the protocol the clients use (``hello``, ``subscribe``
with ``since: {"epoch", "seq"}``, ``subscribed``, ``events`` frames with the same header and the
same batching: at most 1000 events per frame). Catch-up: ``XRANGE`` pages of 1000 entries from
the client's position, each page sent as one frame spliced from the stored bytes (field ``e`` of
each entry, one encoded event) without decoding; the next page is read while the previous frame
is being written, then the write is awaited (flow control). Live: one ``XREAD BLOCK`` reader per
graph (running while the graph has subscribers) builds one frame per batch and writes it to
every live client, unawaited. Handover: a client goes live when a page comes back short and the
reader is not ahead of it (no ``await`` between check and flag); a live batch overlapping what
the replay sent is cut at the client's position. It does not handle resets, trimming, filters,
slow consumers, Redis outages or authentication: it is what fan-out costs without them.

Measured (every number from this run; progress on stderr, tables on stdout):

1. catch-up (``catchup``): N clients (``--clients``) connect, get ``hello``, then all subscribe at
   once with ``since: {epoch, seq: 0}`` to a graph of ``--history`` events (published before in
   batches of 1000 node_added events, ~230 bytes each). Delivered events/s = N x history / (last
   client reaching the head - first subscribe sent). 1000 clients is ``--clients 1,10,100,1000``
   (20M events through each server: minutes on 2 cores).
2. live (``live``): N clients subscribe at the head, one warm-up event proves every one is live,
   then the parent publishes ``--rate`` events/s for ``--duration`` s (one ``publish_encoded`` call
   every ``--tick`` s, the events' ``time`` stamped just before the call). Latency = the client's
   receive time - the event's ``time`` (same machine clock), every event counted (histogram at 3
   significant digits); p50/p99 over all clients. Delivered = events received / (published x N)
   after waiting up to ``--drain`` s past the end; "delivered ev/s" = events received / duration.
3. memory (``memory``): server RSS (``/proc/PID/status`` VmRSS) before and after
   ``--memory-clients`` connections subscribe at the head and sit idle; per connection = the
   delta / N. Measured first, on fresh servers (one warm-up connection before), so memory freed
   by earlier measurements does not hide the growth. RSS after they close is shown too.
4. reconnect storm (``storm``, not in the default run: ~10M events through each server):
   ``--storm-clients`` clients subscribe at once ``--storm-behind`` events behind the head of a
   graph nobody publishes to meanwhile; time until every one has received the head (= would be
   live).

Targets (issue): catch-up and live delivered events/s >= 0.7x bare at 100 clients; 100 clients
at 1k events/s p99 <= 50 ms (on a quiet machine); reconnect storm <= 10 s.

Not measured yet: the storm with a publisher running meanwhile (its head is still), live at
10k events/s with 1000 clients unless asked (``--clients``), filtered subscriptions
(``graphlive/ws/events/filtered``), snapshots (catch-up is a replay from seq 0; the graph has no
snapshot), browsers' clients (the clients here only read frame headers, count events and
extract ``time`` values). The client processes share the 2 cores with the server: on a small
machine they cap both servers; read the ratios. CPU seconds of the server process (``/proc``)
and of the client processes are recorded for every run (catch-up table: server microseconds of
CPU per delivered event).
Results go to ``--json`` only when given (nothing is written into the repository by default).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import platform
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKER = "@@bench@@ "
#: Events per XRANGE page and per frame, as graphlive's defaults (History page, max_frame_events).
PAGE = 1000
#: Clients per client process before the parent starts another (up to --client-procs).
CLIENTS_PER_PROC = 50
#: Catch-up and storm graphs get a fresh name per run (graphlive keeps recently read pages:
#: each run starts with nothing of its graph cached, as after a server restart).
CATCHUP_GRAPH = "fanout-history"
LIVE_GRAPH = "fanout-live"
STORM_GRAPH = "fanout-storm"
TARGET_RATIO = 0.7
TARGET_P99_MS = 50.0
TARGET_STORM_S = 10.0
#: The ``time`` of a template event, replaced by the publish time (``repr`` of a float).
TIME_PLACEHOLDER = b'"time":1.0,'

# --------------------------------------------------------------------------- bare broadcaster


def _events_frame(graph: str, epoch: str, first: int, last: int, bodies: list[bytes]) -> bytes:
    """The protocol's ``events`` frame around stored event bodies (same header as graphlive)."""
    head = b'{"op":"events","graph":%s,"epoch":%s,"from":%d,"through":%d,"recovered":false,' % (
        json.dumps(graph).encode(),
        json.dumps(epoch).encode(),
        first,
        last,
    )
    return head + b'"events":[' + b",".join(bodies) + b"]}"


def _entry_seq(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


def child_bare(options: dict[str, Any]) -> int:
    """Run the bare broadcaster until SIGTERM; prints its port."""
    import redis.asyncio
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application
    from tornado.websocket import WebSocketClosedError, WebSocketHandler

    from graphlive.bus.keys import GraphKeys

    def _report_failure(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            print(f"bare: task failed: {task.exception()!r}", file=sys.stderr, flush=True)

    class Feed:
        """One graph followed by one XREAD BLOCK reader while it has subscribers."""

        def __init__(self, hub: Hub, graph: str) -> None:
            self.hub = hub
            self.graph = graph
            self.keys = GraphKeys(graph)
            self.members: set[BareSocket] = set()
            self.live: set[BareSocket] = set()
            self.epoch = ""
            self.position = 0
            self.ready = asyncio.Event()
            self._changed = asyncio.Event()
            self.task = asyncio.get_running_loop().create_task(self._read())

        async def wait_changed(self) -> None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

        async def _read(self) -> None:
            client = self.hub.client
            epoch, seq = await client.hmget(self.keys.meta, ["epoch", "seq"])
            self.epoch = epoch.decode() if epoch else ""
            self.position = int(seq or 0)
            self.ready.set()
            while self.members:
                reply = await client.xread(
                    {self.keys.events: f"{self.position}-0"}, count=PAGE, block=500
                )
                if not reply:
                    continue
                entries = reply[0][1]
                bodies = [fields[b"e"] for _, fields in entries]
                first, last = self.position + 1, _entry_seq(entries[-1][0])
                frame = _events_frame(self.graph, self.epoch, first, last, bodies)  # once
                self.position = last
                for sock in list(self.live):
                    sock.deliver(first, last, bodies, frame)
                self._changed.set()
                self._changed = asyncio.Event()

    class Hub:
        def __init__(self, url: str) -> None:
            # Blocking pool without a timeout: redis-py's default pool raises
            # MaxConnectionsError past 100 commands in flight (100 clients subscribing at
            # once), a blocking one ConnectionError after 20 s; here they wait their turn.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url, max_connections=100, timeout=None
            )
            self.client = redis.asyncio.Redis(connection_pool=pool)
            self.feeds: dict[str, Feed] = {}

        async def attach(self, graph: str, sock: BareSocket) -> Feed:
            feed = self.feeds.get(graph)
            if feed is None:
                feed = self.feeds[graph] = Feed(self, graph)
                feed.task.add_done_callback(_report_failure)
            feed.members.add(sock)
            await feed.ready.wait()
            return feed

        def detach(self, feed: Feed, sock: BareSocket) -> None:
            feed.members.discard(sock)
            feed.live.discard(sock)
            if not feed.members and self.feeds.get(feed.graph) is feed:
                del self.feeds[feed.graph]  # its reader stops after its current XREAD

    class BareSocket(WebSocketHandler):
        hub: Hub

        def initialize(self, hub: Hub) -> None:
            self.hub = hub
            self.feed: Feed | None = None
            self.task: asyncio.Task[None] | None = None
            self.position = 0

        def check_origin(self, origin: str) -> bool:
            return True

        def open(self, *args: str, **kwargs: str) -> None:
            self.set_nodelay(True)  # as graphlive's handler: small live frames go out at once
            self.write_message(b'{"op":"hello","protocol":1,"server":"bare"}')

        def on_message(self, message: str | bytes) -> None:
            msg = json.loads(message)
            if msg.get("op") == "subscribe" and self.task is None:
                coro = self._follow(msg["graph"], msg.get("since"))
                self.task = asyncio.get_running_loop().create_task(coro)
                self.task.add_done_callback(_report_failure)

        def on_close(self) -> None:
            if self.task is not None:
                self.task.cancel()
            if self.feed is not None:
                self.hub.detach(self.feed, self)

        async def _follow(self, graph: str, since: dict[str, Any] | None) -> None:
            self.feed = feed = await self.hub.attach(graph, self)
            client = self.hub.client
            keys = feed.keys
            epoch_raw, head_raw = await client.hmget(keys.meta, ["epoch", "seq"])
            epoch, head = (epoch_raw or b"").decode(), int(head_raw or 0)
            subscribed = {"op": "subscribed", "graph": graph, "epoch": epoch, "head": head}
            subscribed["mode"] = "replay" if since else "live"
            self.write_message(json.dumps(subscribed, separators=(",", ":")))
            pos = int(since["seq"]) if since else head
            pending: Any = None
            try:
                while True:
                    entries = await client.xrange(keys.events, f"{pos + 1}-0", "+", count=PAGE)
                    if pending is not None:
                        await pending  # the previous page is out: flow control
                        pending = None
                    if entries:
                        bodies = [fields[b"e"] for _, fields in entries]
                        last = _entry_seq(entries[-1][0])
                        pending = self.write_message(
                            _events_frame(graph, epoch, pos + 1, last, bodies)
                        )
                        pos = last
                    if len(entries) < PAGE and feed.position <= pos:
                        self.position = pos  # no await since the read: nothing slipped by
                        feed.live.add(self)
                        return
                    if not entries:
                        await feed.wait_changed()
            except WebSocketClosedError:
                return

        def deliver(self, first: int, last: int, bodies: list[bytes], frame: bytes) -> None:
            pos = self.position
            if last <= pos:
                return  # the replay sent it already
            if first <= pos:
                frame = _events_frame(
                    self.graph, self.feed_epoch, pos + 1, last, bodies[pos + 1 - first :]
                )
            try:
                self.write_message(frame)
            except WebSocketClosedError:
                return
            self.position = last

        @property
        def graph(self) -> str:
            assert self.feed is not None
            return self.feed.graph

        @property
        def feed_epoch(self) -> str:
            assert self.feed is not None
            return self.feed.epoch

    async def serve() -> None:
        hub = Hub(options["url"])
        app = Application(
            [(r"/ws", BareSocket, {"hub": hub})], websocket_max_message_size=64 * 1024
        )
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(app)
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        _emit({"port": port, "pid": os.getpid()})
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.stop()

    asyncio.run(serve())
    return 0


# --------------------------------------------------------------------------- client runner

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
        _emit(await runner.connect())
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or json.loads(line)["cmd"] == "quit":
                break
            _emit(await runner.handle(json.loads(line)))
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


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(MARKER + json.dumps(obj) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- parent: processes


class Child:
    """A child process answering one MARKER line per command (its stderr goes to a log file)."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._log = open(log, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=str(REPO),
            env=env,
            start_new_session=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARKER):
                self._lines.put(line[len(MARKER) :])
        self._lines.put(None)

    def reply(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer within {timeout:.0f} s; log {self.log}") from None
        if line is None:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-8:]
            raise RuntimeError(f"child exited ({self.proc.poll()}): " + " | ".join(tail))
        result: dict[str, Any] = json.loads(line)
        return result

    def send(self, cmd: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def stop(self, *, quit: bool = True, timeout: float = 20.0) -> None:
        """``quit`` on stdin (client processes) and a short wait, else (or then) SIGTERM to
        its process group (it has its own session: only this child and what it started)."""
        if self.proc.poll() is None:
            if quit:
                with contextlib.suppress(OSError):
                    self.send({"cmd": "quit"})
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5.0)
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        self._log.close()


class Server:
    """A server under test: where clients connect and which process to measure."""

    def __init__(self, name: str, ws_url: str, token: str, child: Child) -> None:
        self.name = name
        self.ws_url = ws_url
        self.token = token
        self.child = child

    @property
    def pid(self) -> int:
        return self.child.proc.pid

    def cpu(self) -> float:
        """CPU seconds (user + system) of the server process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_graphlive(url: str, work: Path, args: argparse.Namespace) -> Server:
    """``python -m jupyter_server`` with the extension, on a free port, token auth."""
    token = secrets.token_hex(16)
    port = _free_port()
    root = work / "root"
    root.mkdir(exist_ok=True)
    argv = [sys.executable]
    if args.profile_server:
        argv += ["-m", "cProfile", "-o", str(args.profile_server)]
    argv += [
        "-m", "jupyter_server",
        f"--IdentityProvider.token={token}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        f"--GraphliveServer.redis_url={url}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--ServerApp.allow_root=True")
    argv += [f"--GraphliveServer.{opt}" for opt in args.graphlive_option]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    child = Child(argv, work / "graphlive-server.log", env)
    deadline = time.monotonic() + 60
    status = f"http://127.0.0.1:{port}/graphlive/api/status?token={token}"
    while True:
        if child.proc.poll() is not None:
            tail = child.log.read_text(errors="replace").strip().splitlines()[-10:]
            raise RuntimeError("jupyter server exited: " + " | ".join(tail))
        try:
            with urllib.request.urlopen(status, timeout=2) as resp:
                if resp.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"jupyter server did not answer; log {child.log}")
        time.sleep(0.2)
    ws = f"ws://127.0.0.1:{port}/graphlive/ws/events"
    return Server("graphlive", ws, token, child)


def start_bare(url: str, work: Path) -> Server:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "bare",
        json.dumps({"url": url}),
    ]
    child = Child(argv, work / "bare-server.log")
    info = child.reply(60)
    return Server("bare", f"ws://127.0.0.1:{info['port']}/ws", "", child)


class Clients:
    """N client connections to one server, spread over client processes."""

    def __init__(self, server: Server, n: int, work: Path, args: argparse.Namespace) -> None:
        procs = max(1, min(args.client_procs, math.ceil(n / CLIENTS_PER_PROC)))
        sizes = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        self.n = n
        self.children: list[Child] = []
        try:
            for i, size in enumerate(sizes):
                options = {"url": server.ws_url, "token": server.token, "n": size}
                argv = [sys.executable, str(Path(__file__).resolve()), "--child", "clients"]
                log = work / f"clients-{server.name}-{n}-{i}.log"
                self.children.append(Child([*argv, json.dumps(options)], log))
            self.connected = [c.reply(120) for c in self.children]
            if not all(r["hello"] for r in self.connected):
                raise RuntimeError(f"{server.name}: some of {n} connections got no hello")
        except BaseException:
            self.close()
            raise

    def all(self, cmd: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        for c in self.children:
            c.send(cmd)
        return [c.reply(timeout) for c in self.children]

    def close(self) -> None:
        for c in self.children:
            c.stop()


def merged(replies: list[dict[str, Any]]) -> dict[str, Any]:
    """The clients' reports as one."""
    hist: collections.Counter[str] = collections.Counter()
    for r in replies:
        hist.update(r["hist"])
    return {
        "reached": [t for r in replies for t in r["reached"]],
        "positions": [p for r in replies for p in r["positions"]],
        "events": sum(r["events"] for r in replies),
        "frames": sum(r["frames"] for r in replies),
        "gaps": sum(r["gaps"] for r in replies),
        "cpu": sum(r["cpu"] for r in replies),
        "closes": [c for r in replies for c in r["closes"]],
        "errors": [e for r in replies for e in r["errors"]][:5],
        "rec_events": sum(r["rec_events"] for r in replies),
        "hist": hist,
    }


def percentile(hist: collections.Counter[str], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a latency histogram, milliseconds."""
    total = sum(hist.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for key, count in sorted(((float(k), c) for k, c in hist.items())):
        seen += count
        if seen >= rank:
            return key
    return max(float(k) for k in hist)


# --------------------------------------------------------------------------- parent: measures


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
    server: Server, n: int, rate: float, bus: Bus, work: Path, args: Any
) -> dict[str, Any]:
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
    _progress(server, f"live {rate:>6.0f}/s {n:>4} clients", out)
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


# --------------------------------------------------------------------------- tables


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _n(v: float | None, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def print_tables(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"\nPython {m['python']}, {m['cpus']} CPUs, load {m['load_before'][0]:.2f} before, "
        f"{m['load_after'][0]:.2f} after; graphlive {m['graphlive']}"
    )
    if results["graphlive_options"]:
        print(f"GraphliveServer options changed: {' '.join(results['graphlive_options'])}")
    else:
        print("GraphliveServer options: defaults")
    rows = results.get("catchup")
    if rows:
        print(
            f"\nCatch-up: N clients replay {rows[0]['graphlive']['behind']:,} events from seq 0 "
            "at once; delivered events/s (first subscribe to last client at the head);"
            "\ncpu = server CPU microseconds per delivered event."
            f"\nTarget: graphlive >= {TARGET_RATIO}x bare at 100 clients."
        )
        print(f"{'clients':>7} {'graphlive ev/s':>15} {'(s)':>7} {'cpu':>5} {'bare ev/s':>12}"
              f" {'(s)':>7} {'cpu':>5} {'ratio':>7}  {'target':<8} check")  # fmt: skip
        for r in rows:
            g, b = r["graphlive"], r["bare"]
            ratio = _ratio(g["events_per_s"], b["events_per_s"])
            target = f">= {TARGET_RATIO}x" if r["clients"] == 100 else ""
            met = (
                ("met" if ratio is not None and ratio >= TARGET_RATIO else "NOT met")
                if target
                else ""
            )
            bad = [f"{k} incomplete" for k, x in (("graphlive", g), ("bare", b)) if not x["ok"]]
            print(
                f"{r['clients']:>7} {_n(g['events_per_s']):>15} {_n(g['seconds'], '.2f'):>7}"
                f" {_n(g['server_cpu_us_per_event'], '.1f'):>5}"
                f" {_n(b['events_per_s']):>12} {_n(b['seconds'], '.2f'):>7}"
                f" {_n(b['server_cpu_us_per_event'], '.1f'):>5}"
                f" {_n(ratio, '.2f') + 'x':>7}  {target:<8} {met} {'; '.join(bad)}"
            )
    rows = results.get("live")
    if rows:
        print(
            "\nLive: N clients at the head, events published at the rate for "
            f"{results['args']['duration']} s; latency = receive - publish time, ms; delivered ="
            "\nreceived / (published x N) after the drain; ratio = graphlive / bare delivered ev/s."
            f"\nTargets: 100 clients at 1k/s p99 <= {TARGET_P99_MS:.0f} ms; delivered ev/s >= "
            f"{TARGET_RATIO}x bare at 100 clients."
        )
        print(
            f"{'rate':>6} {'clients':>7} | {'gl p50':>7} {'gl p99':>7} {'gl deliv':>8}"
            f" {'gl ev/s':>9} | {'bare p50':>8} {'bare p99':>8} {'deliv':>6} {'ev/s':>9} |"
            f" {'ratio':>6}  targets"
        )
        for r in rows:
            g, b = r["graphlive"], r["bare"]
            ratio = _ratio(g["delivered_per_s"], b["delivered_per_s"])
            checks = []
            if r["clients"] == 100:
                met = ratio is not None and ratio >= TARGET_RATIO
                checks.append(f"ratio {'met' if met else 'NOT met'}")
                if r["rate"] == 1000:
                    met = (
                        g["p99_ms"] is not None
                        and g["p99_ms"] <= TARGET_P99_MS
                        and g["delivered"] == 1
                    )
                    checks.append(f"p99 {'met' if met else 'NOT met'}")
            for name, x in (("graphlive", g), ("bare", b)):
                if x["closes"]:
                    checks.append(f"{name} closes {collections.Counter(x['closes'])}")
                if x["gaps"] or x["errors"]:
                    checks.append(f"{name} gaps {x['gaps']} errors {len(x['errors'])}")
                if x["publish_rate"] < 0.95 * r["rate"]:
                    checks.append(f"{name} run published only {x['publish_rate']:,.0f}/s")
            print(
                f"{r['rate']:>6,.0f} {r['clients']:>7} | {_n(g['p50_ms'], '.1f'):>7}"
                f" {_n(g['p99_ms'], '.1f'):>7} {_n(100 * g['delivered'], '.1f') + '%':>8}"
                f" {_n(g['delivered_per_s']):>9} | {_n(b['p50_ms'], '.1f'):>8}"
                f" {_n(b['p99_ms'], '.1f'):>8} {_n(100 * b['delivered'], '.1f') + '%':>6}"
                f" {_n(b['delivered_per_s']):>9} | {_n(ratio, '.2f') + 'x':>6}  {'; '.join(checks)}"
            )
    mem = results.get("memory")
    if mem:
        g, b = mem["graphlive"], mem["bare"]
        print(
            f"\nMemory per idle connection: {g['clients']} connections subscribed at the head,"
            " server RSS delta / N (KiB)"
        )
        print(f"{'':>10} {'per conn':>9} {'RSS before':>11} {'with N':>9} {'after close':>12}")
        for name, x in (("graphlive", g), ("bare", b)):
            print(
                f"{name:>10} {x['per_connection_kib']:>9.1f} {x['rss_before_kib']:>11,}"
                f" {x['rss_after_kib']:>9,} {x['rss_after_close_kib']:>12,}"
                + (f"  closes {x['closes']}" if x["closes"] else "")
            )
        print(
            f"{'ratio':>10} {_n(_ratio(g['per_connection_kib'], b['per_connection_kib']), '.2f')}x"
        )
    storm = results.get("storm")
    if storm:
        g, b = storm["graphlive"], storm["bare"]
        print(
            f"\nReconnect storm: {g['clients']} clients each {g['behind']:,} events behind"
            " subscribe at once; seconds until all reach the head."
            f" Target <= {TARGET_STORM_S:.0f} s."
        )
        for name, x in (("graphlive", g), ("bare", b)):
            met = (
                "met" if x["seconds"] is not None and x["seconds"] <= TARGET_STORM_S else "NOT met"
            )
            print(
                f"{name:>10} {_n(x['seconds'], '.1f'):>7} s  {_n(x['events_per_s'])} ev/s"
                f"  {x['reached']}/{x['clients']} reached  {met}"
            )
        print(f"{'ratio':>10} {_n(_ratio(g['seconds'], b['seconds']), '.2f')}x (time)")
    missing = results["not_run"]
    if missing:
        print(f"\nNot run in this invocation: {', '.join(missing)} (see --only).")
    print(
        "Not measured yet: the storm with a live publisher; filtered subscriptions; snapshots;"
        "\nbrowser clients. Client processes share the CPUs with the servers (see the load)."
    )


# --------------------------------------------------------------------------- main


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO, check=False)
    return proc.stdout.strip()


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        sys.path[:0] = [str(REPO)]
        kind, options = argv[1], json.loads(argv[2])
        return child_bare(options) if kind == "bare" else child_clients(options)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--clients", default="1,10,100", help="client counts, catch-up and live (default 1,10,100)"
    )
    ap.add_argument(
        "--history", type=int, default=20000, help="events each catch-up client replays"
    )
    ap.add_argument("--rate", default="1000,10000", help="live publish rates, events/s")
    ap.add_argument(
        "--duration", type=float, default=5.0, help="seconds of publishing per live run"
    )
    ap.add_argument("--tick", type=float, default=0.01, help="seconds between two publish calls")
    ap.add_argument(
        "--drain", type=float, default=10.0, help="seconds a live run waits for stragglers"
    )
    ap.add_argument(
        "--only",
        default="catchup,live,memory",
        help="comma-separated: catchup, live, memory, storm (default: all but storm)",
    )
    ap.add_argument("--memory-clients", type=int, default=1000, help="idle connections (memory)")
    ap.add_argument("--storm-clients", type=int, default=100)
    ap.add_argument("--storm-behind", type=int, default=100000)
    ap.add_argument("--client-procs", type=int, default=4, help="most client processes per run")
    ap.add_argument(
        "--timeout", type=float, default=300.0, help="seconds a catch-up/storm may take"
    )
    ap.add_argument(
        "--graphlive-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a GraphliveServer traitlet for the server (repeatable), e.g. max_queue_bytes=...",
    )
    ap.add_argument(
        "--profile-server",
        type=Path,
        default=None,
        help="cProfile the graphlive server into this file",
    )
    ap.add_argument("--json", type=Path, default=None, help="write every result here")
    args = ap.parse_args(argv)
    only = {x for x in args.only.split(",") if x}
    unknown = only - {"catchup", "live", "memory", "storm"}
    if unknown:
        ap.error(f"unknown --only parts: {', '.join(sorted(unknown))}")
    sys.path[:0] = [str(REPO)]
    from tests.redis_servers import running_redis

    counts, rates = _ints(args.clients), [float(r) for r in args.rate.split(",") if r]
    dirty = _git("status", "--porcelain", "--", "src/graphlive", "jupyter_server_extension")
    commit = _git("rev-parse", "--short", "HEAD")
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": len(os.sched_getaffinity(0)),
            "load_before": os.getloadavg(),
            "commit": commit,
            "graphlive": f"work tree at {commit}" + (" + uncommitted changes" if dirty else ""),
            "uncommitted": dirty.splitlines(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        },
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "graphlive_options": args.graphlive_option,
        "not_run": [p for p in ("catchup", "live", "memory", "storm") if p not in only],
    }
    work = Path(tempfile.mkdtemp(prefix="gl-fanout-"))
    print(f"work folder (logs): {work}", file=sys.stderr)
    with running_redis() as url:
        bus = Bus(url)
        bus.fill(LIVE_GRAPH, 1)
        servers: list[Server] = []
        try:
            servers.append(start_graphlive(url, work, args))
            servers.append(start_bare(url, work))
            print(
                f"servers up: graphlive pid {servers[0].pid}, bare pid {servers[1].pid}",
                file=sys.stderr,
            )
            if "memory" in only:
                results["memory"] = {
                    s.name: measure_memory(s, args.memory_clients, bus, work, args) for s in servers
                }
            if "catchup" in only:
                results["catchup"] = [
                    {
                        "clients": n,
                        **{s.name: measure_catchup(s, n, bus, work, args) for s in servers},
                    }
                    for n in counts
                ]
            if "live" in only:
                results["live"] = [
                    {
                        "clients": n,
                        "rate": rate,
                        **{s.name: measure_live(s, n, rate, bus, work, args) for s in servers},
                    }
                    for rate in rates
                    for n in counts
                ]
            if "storm" in only:
                results["storm"] = {s.name: measure_storm(s, bus, work, args) for s in servers}
        finally:
            for s in servers:
                s.child.stop(quit=False, timeout=30)
    results["machine"]["load_after"] = os.getloadavg()
    print_tables(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
