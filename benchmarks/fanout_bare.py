"""The bare Tornado broadcaster of ``benchmarks/bench_fanout.py``: the baseline graphlive is
measured against (what it is and does: that file's docstring). It runs in its own process, started
as ``bench_fanout.py --child bare '{"url": ...}'``, prints its port (one MARKER line) and serves
until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from typing import Any

from fanout_processes import emit

#: Events per XRANGE page and per frame, as graphlive's defaults (History page, max_frame_events).
PAGE = 1000


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
            # Catch-up pages shared by the sockets replaying them (read and framed once), the
            # least a fan-out server does: pages aligned on multiples of PAGE, concurrent reads
            # of one page wait for one XRANGE, full pages kept (16, least recently used out).
            self.pages: dict[tuple[str, int], asyncio.Future[tuple[int, int, bytes]]] = {}

        async def page(self, graph: str, epoch: str, after: int) -> tuple[int, int, bytes]:
            """``(events, last seq, frame)`` of the events after ``after`` up to the next
            multiple of PAGE (or the head); (0, after, b"") when there are none."""
            key = (graph, after)
            pending = self.pages.get(key)
            if pending is None:
                pending = asyncio.ensure_future(self._read_page(graph, epoch, after))
                self.pages[key] = pending
            else:
                self.pages[key] = self.pages.pop(key)  # most recently used last
            result = await asyncio.shield(pending)
            if result[0] < PAGE - after % PAGE and self.pages.get(key) is pending:
                del self.pages[key]  # short: the head moves on, never kept
            while len(self.pages) > 16:
                self.pages.pop(next(iter(self.pages)))
            return result

        async def _read_page(self, graph: str, epoch: str, after: int) -> tuple[int, int, bytes]:
            count = PAGE - after % PAGE
            key = GraphKeys(graph).events
            entries = await self.client.xrange(key, f"{after + 1}-0", "+", count=count)
            if not entries:
                return 0, after, b""
            bodies = [fields[b"e"] for _, fields in entries]
            last = _entry_seq(entries[-1][0])
            return len(entries), last, _events_frame(graph, epoch, after + 1, last, bodies)

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
            epoch_raw, head_raw = await self.hub.client.hmget(feed.keys.meta, ["epoch", "seq"])
            epoch, head = (epoch_raw or b"").decode(), int(head_raw or 0)
            subscribed = {"op": "subscribed", "graph": graph, "epoch": epoch, "head": head}
            subscribed["mode"] = "replay" if since else "live"
            self.write_message(json.dumps(subscribed, separators=(",", ":")))
            pos = int(since["seq"]) if since else head
            pending: Any = None
            try:
                while True:
                    count, last, frame = await self.hub.page(graph, epoch, pos)
                    if pending is not None:
                        await pending  # the previous page is out: flow control
                        pending = None
                    if count:
                        pending = self.write_message(frame)
                        full = count == PAGE - pos % PAGE
                        pos = last
                    else:
                        full = False
                    if not full and feed.position <= pos:
                        self.position = pos  # no await since the read: nothing slipped by
                        feed.live.add(self)
                        return
                    if not count:
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
        emit({"port": port, "pid": os.getpid()})
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.stop()

    asyncio.run(serve())
    return 0
