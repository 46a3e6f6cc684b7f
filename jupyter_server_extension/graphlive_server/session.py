"""One WebSocket connection's state: its subscriptions, its outbox and its writer.

The Tornado handler is a thin :class:`Transport`; everything else lives here so it reads (and is
tested) as plain asyncio code:

* client messages are rate-limited, size-checked and parsed before anything else happens;
  refused ones get an ``error`` frame, persistent abuse closes the connection (4400 / 4429);
* the broadcaster *offers* live batches; a connection whose queue would exceed
  ``max_queue_bytes`` is closed with 4001 at once — it never slows the reader or other clients;
* one writer task per connection sends everything queued at each wake-up as one frame per graph
  and awaits Tornado's flow control before taking more;
* a keep-alive task pings and closes connections that stay silent past ``ping_timeout`` (4002).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from graphlive import __version__
from graphlive.wire import (
    CloseCode,
    ErrorCode,
    EventFilter,
    Frame,
    Limits,
    Ping,
    ProtocolError,
    SetFilter,
    Subscribe,
    Unsubscribe,
    Verdict,
    available_frame,
    dispatch,
    encode_frame,
    error_frame,
    filtered_frame,
    hello_frame,
    parse_client_message,
    pong_frame,
    unsubscribed_frame,
)
from graphlive_server.broadcaster import Broadcaster
from graphlive_server.history import History
from graphlive_server.metrics import Metrics
from graphlive_server.outbox import ControlFrame, EventChunk, Outbox
from graphlive_server.subscriptions import Subscription

__all__ = ["ClientSession", "Transport"]

log = logging.getLogger(__name__)

#: How long an abuse close waits for the frames queued before it to be sent.
CLOSE_FLUSH_SECONDS = 5.0
#: After writing a frame this big, the writer yields to the event loop before the next one.
YIELD_AFTER_BYTES = 64 * 1024

_ids = itertools.count(1)


class Transport(Protocol):
    """The WebSocket under a session (implemented by the Tornado handler)."""

    def send(self, data: bytes) -> Awaitable[None]:
        """Send one text frame; the awaitable resolves when it is handed to the socket."""
        ...

    def close(self, code: int, reason: str) -> None: ...

    def abort(self) -> None:
        """Drop the TCP connection without waiting for the close handshake."""
        ...

    def ping(self) -> None: ...


class ClientSession:
    """The server side of one ``graphlive/ws/events[/filtered]`` connection."""

    def __init__(
        self,
        transport: Transport,
        *,
        filtered: bool,
        limits: Limits,
        history: History,
        broadcaster: Broadcaster,
        metrics: Metrics,
        retention: int,
        on_closed: Callable[[ClientSession], None] | None = None,
        peer: str = "",
    ) -> None:
        self.id = next(_ids)
        self.transport = transport
        self.filtered = filtered
        self.limits = limits
        self.history = history
        self.broadcaster = broadcaster
        self.metrics = metrics
        self.retention = retention
        self.peer = peer
        self.subscriptions: dict[str, Subscription] = {}
        self.outbox = Outbox(limits.max_queue_bytes, limits.max_frame_events)
        self.closed = False
        self.close_code: int | None = None
        self._on_closed = on_closed
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._gate = limits.message_gate()
        self._subscribes = limits.subscribe_bucket()
        #: ``(code, reason)`` of a close waiting for the queued frames to go out.
        self._closing: tuple[int, str] | None = None
        self._unavailable = False
        loop = asyncio.get_running_loop()
        self._last_seen = loop.time()
        self._writer: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> str:
        return "filtered" if self.filtered else "events"

    def __repr__(self) -> str:
        return f"<ClientSession {self.id} {self.endpoint} {self.peer}>"

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Send ``hello`` and start the writer and keep-alive tasks."""
        hello = hello_frame(f"graphlive {__version__}", endpoint=self.endpoint, limits=self.limits)
        self._send(hello)
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_loop())
        self._keepalive = loop.create_task(self._keepalive_loop())

    def close(self, code: int, reason: str, *, flush: bool = False) -> None:
        """Close from the server side with ``code`` (idempotent).

        ``flush``: first send what is queued (the error frames that explain an abuse close),
        for at most :data:`CLOSE_FLUSH_SECONDS`; nothing more is queued or read meanwhile."""
        if self.closed:
            return
        if flush and len(self.outbox):
            if self._closing is None:
                self._closing = (code, reason)
                self._wake.set()
                loop = asyncio.get_running_loop()
                loop.call_later(CLOSE_FLUSH_SECONDS, self._close_now)
            return
        self.close_code = code
        self._shutdown()
        with contextlib.suppress(WebSocketClosedError, StreamClosedError):
            self.transport.close(code, reason)

    def _close_now(self) -> None:
        if self._closing is not None:
            code, reason = self._closing
            self.close(code, reason)

    def transport_closed(self) -> None:
        """The socket is gone (client closed, network failure, or after :meth:`close`)."""
        if not self.closed:
            self._shutdown()

    def _shutdown(self) -> None:
        self.closed = True
        for sub in list(self.subscriptions.values()):
            sub.close()
        self.subscriptions.clear()
        self.outbox.clear()
        for task in (self._writer, self._keepalive):
            if task is not None and task is not _current_task():
                task.cancel()
        self._wake.set()
        self._drained.set()
        if self._on_closed is not None:
            self._on_closed(self)

    # ------------------------------------------------------------------ client messages

    def on_message(self, raw: str | bytes) -> None:
        if self.closed or self._closing is not None:
            return
        now = time.monotonic()
        self._last_seen = asyncio.get_running_loop().time()
        verdict = self._gate.admit(now)
        if verdict is not Verdict.OK:
            self.metrics.rate_limited_total += 1
            if verdict is Verdict.CLOSE:
                self.close(CloseCode.RATE_LIMITED, "rate limit exceeded repeatedly", flush=True)
                return
            self.error(
                ErrorCode.RATE_LIMITED,
                f"more than {self.limits.rate_limit:g} messages per second: message dropped",
            )
            return
        try:
            message = parse_client_message(
                raw, max_bytes=self.limits.max_message_bytes, filtered=self.filtered
            )
        except ProtocolError as exc:
            self.metrics.bad_messages_total += 1
            if self._gate.bad(now) is Verdict.CLOSE:
                self.close(CloseCode.PROTOCOL_ABUSE, "too many malformed messages", flush=True)
                return
            self.error(exc.code, exc.message, ref=exc.ref, graph=exc.graph)
            return
        dispatch(message, self)

    def on_pong(self) -> None:
        self._last_seen = asyncio.get_running_loop().time()

    def on_ping(self, msg: Ping) -> None:
        self._send(pong_frame(msg.t, ref=msg.ref))

    def on_subscribe(self, msg: Subscribe) -> None:
        # Subscribes have their own, smaller budget: each may cost a snapshot or a long replay
        # (a re-subscribe loop under the message rate would otherwise keep the server busy).
        now = time.monotonic()
        if not self._subscribes.take(now):
            self.metrics.rate_limited_total += 1
            if self._gate.refuse(now) is Verdict.CLOSE:
                self.close(CloseCode.RATE_LIMITED, "rate limit exceeded repeatedly", flush=True)
                return
            self.error(
                ErrorCode.RATE_LIMITED,
                f"more than {self.limits.subscribe_rate:g} subscribes per second: refused",
                ref=msg.ref,
                graph=msg.graph,
            )
            return
        old = self.subscriptions.pop(msg.graph, None)
        if old is not None:
            old.close()  # a new subscribe replaces the old one (new position or filters)
        elif len(self.subscriptions) >= self.limits.max_subscriptions:
            self.error(
                ErrorCode.BAD_REQUEST,
                f"at most {self.limits.max_subscriptions} subscriptions per connection",
                ref=msg.ref,
                graph=msg.graph,
            )
            return
        sub = Subscription(
            self,
            msg.graph,
            msg.filters or EventFilter(),
            history=self.history,
            broadcaster=self.broadcaster,
            metrics=self.metrics,
            retention=self.retention,
            snapshot_chunk_elements=self.limits.snapshot_chunk_elements,
            snapshot_chunk_bytes=self.limits.snapshot_chunk_bytes,
        )
        self.subscriptions[msg.graph] = sub
        sub.start(msg)

    def on_unsubscribe(self, msg: Unsubscribe) -> None:
        sub = self.subscriptions.pop(msg.graph, None)
        if sub is None:
            self.error(
                ErrorCode.BAD_REQUEST, "not subscribed to this graph", ref=msg.ref, graph=msg.graph
            )
            return
        sub.close()
        self._send(unsubscribed_frame(msg.graph, ref=msg.ref), msg.graph)

    def on_filter(self, msg: SetFilter) -> None:
        sub = self.subscriptions.get(msg.graph)
        if sub is None:
            self.error(
                ErrorCode.BAD_REQUEST, "not subscribed to this graph", ref=msg.ref, graph=msg.graph
            )
            return
        # Batches queued so far were filtered with the old filters; the acknowledgement goes
        # between them and the first batch filtered with the new ones.
        sub.set_filters(msg.filters)
        self._send(filtered_frame(msg.graph, msg.filters, ref=msg.ref), msg.graph)

    # ------------------------------------------------------------------ SessionPort

    def put(self, item: ControlFrame | EventChunk) -> None:
        """Queue a frame or a replayed chunk (paced by :meth:`wait_writable`, never refused)."""
        if self.closed or self._closing is not None:
            return
        self.outbox.put(item)
        self._wake.set()

    def _send(self, frame: Frame, graph: str | None = None) -> None:
        """Queue a control frame (``graph``: the graph it belongs to, ordered with its events)."""
        self.put(ControlFrame(encode_frame(frame), graph))

    def offer(self, chunk: EventChunk) -> bool:
        """Queue a live chunk, or close the connection with 4001 if the queue is full."""
        if self.closed or self._closing is not None:
            return False
        if not self.outbox.offer(chunk):
            self.metrics.slow_client_closes_total += 1
            log.info(
                "closing slow graphlive client %s: %d bytes queued (limit %d)",
                self.peer or self.id,
                self.outbox.queued_bytes,
                self.outbox.max_bytes,
            )
            self.close(CloseCode.SLOW_CONSUMER, "slow consumer: resume from your position")
            return False
        self._wake.set()
        return True

    async def wait_writable(self) -> None:
        """Wait until at most half of ``max_queue_bytes`` is queued (or the session closed)."""
        while not self.closed and self.outbox.queued_bytes > self.outbox.max_bytes // 2:
            self._drained.clear()
            await self._drained.wait()

    def error(
        self, code: ErrorCode, message: str, *, ref: str | None = None, graph: str | None = None
    ) -> None:
        self._send(error_frame(code, message, ref=ref, graph=graph), graph)

    def notify_unavailable(self, message: str) -> None:
        """Tell the client once per outage that Redis is unreachable."""
        if not self._unavailable and not self.closed:
            self._unavailable = True
            self.error(ErrorCode.UNAVAILABLE, message)

    def notify_available(self) -> None:
        """After :meth:`notify_unavailable`: Redis is back, subscriptions continue."""
        if self._unavailable and not self.closed:
            self._unavailable = False
            self._send(available_frame())

    def forget(self, sub: Subscription) -> None:
        if self.subscriptions.get(sub.graph) is sub:
            del self.subscriptions[sub.graph]

    # ------------------------------------------------------------------ tasks

    async def _write_loop(self) -> None:
        outbox = self.outbox
        try:
            while not self.closed:
                if not len(outbox):
                    if self._closing is not None:
                        self._close_now()  # everything queued before the close went out
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                for frame in outbox.take_frames():
                    await self.transport.send(frame.data)
                    outbox.sent(frame)
                    self.metrics.sent(len(frame.data), frame.events, frame.times)
                    if outbox.queued_bytes <= outbox.max_bytes // 2:
                        self._drained.set()
                    if len(frame.data) >= YIELD_AFTER_BYTES:
                        # A write the socket took at once does not yield: after a big one, let
                        # other connections and graphs have their turn (a fast reader of a big
                        # snapshot would otherwise take all of it in one turn of the loop).
                        await asyncio.sleep(0)
                if outbox.queued_bytes <= outbox.max_bytes // 2:
                    self._drained.set()
        except (WebSocketClosedError, StreamClosedError):
            self.transport_closed()

    async def _keepalive_loop(self) -> None:
        interval, timeout = self.limits.ping_interval, self.limits.ping_timeout
        if interval <= 0 or timeout <= 0:
            return
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + interval
        try:
            while not self.closed:
                deadline = self._last_seen + timeout
                await asyncio.sleep(max(0.0, min(next_ping, deadline) - loop.time()))
                now = loop.time()
                if now >= self._last_seen + timeout:
                    self.metrics.ping_timeout_closes_total += 1
                    self.close(CloseCode.PING_TIMEOUT, "ping timeout")
                    self.transport.abort()  # the peer is presumed gone: do not wait for it
                    return
                if now >= next_ping:
                    self.transport.ping()
                    next_ping = now + interval
        except (WebSocketClosedError, StreamClosedError):
            self.transport_closed()


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
