"""One connection's subscription to one graph: the handoff from history to live events.

A subscription starts *catching up*: it sends the client a snapshot and/or replays the Stream
from the client's position, paced by the connection's queue (a replay never overflows it). When a
read finds nothing newer than what the broadcaster has already fanned out, it turns *live* and the
broadcaster hands it every later batch. The switch happens without an ``await`` between the
check and the flag, so no batch can slip between the replay and the live feed; batches that
overlap what the replay already sent are cut at the subscription's position. Result: every event
after the client's position exactly once, in ``seq`` order.

Whatever cannot be delivered contiguously (trimmed history, a new epoch, an unknown position)
becomes an explicit ``resync`` frame followed by a ``snapshot``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

import redis

from graphlive.bus.reader import Position, ResyncRequired
from graphlive.wire import (
    ErrorCode,
    EventFilter,
    Frame,
    Mode,
    Plan,
    ResyncReason,
    Subscribe,
    encode_frame,
    needs_snapshot_position,
    plan_subscribe,
    resync_frame,
    resync_reason,
    subscribed_frame,
)
from graphlive_server.history import THREAD_THRESHOLD, History
from graphlive_server.metrics import Metrics
from graphlive_server.outbox import ControlFrame, EventChunk
from graphlive_server.replay import ReplayPage
from graphlive_server.snapshots import Parts, StoredSnapshot

if TYPE_CHECKING:
    from graphlive_server.broadcaster import Broadcaster
    from graphlive_server.feed import GraphFeed

__all__ = ["REDIS_DOWN", "SessionPort", "Subscription"]

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)

#: Retry delays (seconds) while Redis is unreachable: doubling from the first to the last.
RETRY_FIRST = 0.1
RETRY_MAX = 2.0
#: Errors that mean "Redis is unreachable right now" (retried), as opposed to bugs or bad data.
REDIS_DOWN: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)
#: Attempts at reading a snapshot whose tail was trimmed in between (see ``load_graph``).
SNAPSHOT_ATTEMPTS = 5


class SessionPort(Protocol):
    """What a subscription needs from its connection."""

    filtered: bool

    def put(self, item: ControlFrame | EventChunk) -> None: ...
    def offer(self, chunk: EventChunk) -> bool: ...
    async def wait_writable(self) -> None: ...
    def error(
        self, code: ErrorCode, message: str, *, ref: str | None = None, graph: str | None = None
    ) -> None: ...
    def notify_unavailable(self, message: str) -> None: ...
    def notify_available(self) -> None: ...
    def forget(self, sub: Subscription) -> None: ...


class Subscription:
    """Delivers one graph to one connection. Created and driven by the connection's session."""

    def __init__(
        self,
        session: SessionPort,
        graph: str,
        filters: EventFilter,
        *,
        history: History,
        broadcaster: Broadcaster,
        metrics: Metrics,
        retention: int,
        snapshot_chunk_elements: int = 0,
        snapshot_chunk_bytes: int = 0,
    ) -> None:
        self.session = session
        self.graph = graph
        self.filters = filters
        self.history = history
        self.broadcaster = broadcaster
        self.metrics = metrics
        self.retention = retention
        #: Snapshots above these sizes are sent in parts (0 elements: always one frame).
        self.snapshot_chunk_elements = snapshot_chunk_elements
        self.snapshot_chunk_bytes = snapshot_chunk_bytes
        #: ``(parts sent, parts)`` while a snapshot is being sent in parts, else None.
        self.snapshot_parts: tuple[int, int] | None = None
        #: The last event position handed to the connection (its queue, not yet the socket).
        self.position = Position()
        #: The graph's feed once attached (it decides whether this subscription is live).
        self.feed: GraphFeed | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------ control

    @property
    def live(self) -> bool:
        """True while the feed hands this subscription every batch (it has caught up)."""
        return self.feed is not None and self.feed.is_live(self)

    def set_filters(self, filters: EventFilter) -> None:
        """Filter what is queued from now on with ``filters`` (the ``filter`` op)."""
        self.filters = filters
        if self.feed is not None:
            self.feed.refilter(self, filters)

    def start(self, request: Subscribe) -> None:
        self._spawn(self._subscribe(request))

    def restart(self, reason: ResyncReason) -> None:
        """History the client relies on is gone (called by the feed): resync, then catch up."""
        self._spawn(self._resync_then_follow(reason))

    def resume(self) -> None:
        """Leave the live feed and catch up from the current position (called by the feed)."""
        self._spawn(self._follow())

    def close(self) -> None:
        """Stop for good (unsubscribe or connection closed)."""
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        # Also when `attach` is still waiting for the feed: the feed already counts us.
        self.broadcaster.detach(self)
        self.feed = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._closed:
            coro.close()
            return
        if self.feed is not None:
            self.feed.pause(self)
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(coro)
        self._task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("subscription to %r failed", self.graph, exc_info=exc)
            self.session.error(
                ErrorCode.INTERNAL,
                f"the server failed to serve this subscription ({type(exc).__name__}); "
                "it was dropped: subscribe again",
                graph=self.graph,
            )
            self.close()
            self.session.forget(self)

    # ------------------------------------------------------------------ live path

    def deliver(self, chunk: EventChunk) -> None:
        """A live batch from the broadcaster (only called while :attr:`live`)."""
        pos = self.position
        if chunk.first != pos.seq + 1:
            if chunk.epoch == pos.epoch and chunk.last <= pos.seq:
                return  # the replay already sent it
            if chunk.epoch == pos.epoch and chunk.first <= pos.seq:
                chunk = EventChunk(
                    chunk.graph,
                    chunk.epoch,
                    pos.seq + 1,
                    chunk.last,
                    [e for e in chunk.events if e.seq > pos.seq],
                    recovered=chunk.recovered,
                )
            else:
                self.resume()  # cannot happen while the feed is contiguous; never skip events
                return
        if self.session.offer(chunk):
            self.position = Position(chunk.epoch, chunk.last)

    # ------------------------------------------------------------------ catching up

    async def _subscribe(self, request: Subscribe) -> None:
        head = await self._retrying(self.history.head, self.graph)
        if not head.epoch:
            self.session.error(
                ErrorCode.UNKNOWN_GRAPH,
                f"no graph named {self.graph!r}",
                ref=request.ref,
                graph=self.graph,
            )
            self._closed = True
            self.session.forget(self)
            return
        self.feed = await self.broadcaster.attach(self)
        self._ensure_open()  # closed meanwhile: detach again what attach added
        plan, first_page = await self._retrying(self._plan, request, head)
        filters = self.filters if self.session.filtered else None
        self._control(
            subscribed_frame(self.graph, head, plan.mode.value, ref=request.ref, filters=filters)
        )
        if plan.mode is Mode.RESYNC:
            assert plan.reason is not None
            await self._resync(plan.reason)
        elif plan.start is None:
            await self._send_snapshot()
        else:
            self.position = plan.start
            if first_page is not None:
                self._enqueue(first_page)
        await self._follow()

    async def _plan(self, request: Subscribe, head: Position) -> tuple[Plan, ReplayPage | None]:
        """The wire's plan for a subscribe request, and the first replay page of a replay
        (reading it may find the history gone: then the plan turns into a resync)."""
        since = request.since
        snapshot_at = None
        if needs_snapshot_position(since, head, self.retention):
            snap = await self.history.snapshot(self.graph)
            snapshot_at = snap.position if snap is not None else None
        plan = plan_subscribe(
            since, request.snapshot, head, retention=self.retention, snapshot_at=snapshot_at
        )
        if plan.mode is not Mode.REPLAY:
            return plan, None
        assert plan.start is not None
        try:
            page = await self.history.replay.read(self.graph, plan.start, self.filters)
        except ResyncRequired as exc:
            return Plan.resync(resync_reason(exc.reason)), None
        return plan, page

    async def _resync_then_follow(self, reason: ResyncReason) -> None:
        await self._resync(reason)
        await self._follow()

    async def _resync(self, reason: ResyncReason) -> None:
        self.metrics.resyncs_total += 1
        self._control(resync_frame(self.graph, reason))
        await self._send_snapshot()

    async def _send_snapshot(self) -> None:
        """Queue a snapshot frame and the first page after it (retrying while Redis is down)."""
        await self._retrying(self._snapshot_once)
        await self.session.wait_writable()

    async def _snapshot_once(self) -> None:
        error: ResyncRequired | None = None
        for _ in range(SNAPSHOT_ATTEMPTS):
            snap = await self.history.snapshot(self.graph)
            if snap is None:
                head = await self.history.head(self.graph)
                # Never snapshotted (and never reset): the stream holds everything from seq 1.
                snap = StoredSnapshot.empty(self.graph, Position(head.epoch, 0))
            try:
                page = await self.history.replay.read(self.graph, snap.position, self.filters)
            except ResyncRequired as exc:  # a newer snapshot let the tail go: read it again
                error = exc
                continue
            big = len(snap.content) > THREAD_THRESHOLD
            limits = (self.snapshot_chunk_elements, self.snapshot_chunk_bytes)
            parts = await self.history.snapshot_parts(snap, *limits)
            if parts is not None:
                await self._send_parts(parts, thread=big and parts.parses(self.filters))
            elif big and not self.filters.passes_everything:
                frame = await asyncio.to_thread(snap.frame, self.filters)
                self._put(ControlFrame(frame, self.graph))
            else:
                self._put(ControlFrame(snap.frame(self.filters), self.graph))
            self.position = snap.position
            self._enqueue(page)
            return
        assert error is not None
        raise error

    async def _send_parts(self, parts: Parts, *, thread: bool) -> None:
        """Queue a snapshot's parts, each once the queue is below half its limit (like replay
        pages), so other graphs' frames go out between them. Nothing of this graph is queued
        meanwhile: its events follow the last part. Cancelled (unsubscribe, resubscribe, resync,
        closed connection), it stops between two parts and queues nothing more."""
        try:
            for index in range(parts.count):
                self.snapshot_parts = (index, parts.count)
                if index:
                    await self.session.wait_writable()
                if thread:
                    frame = await asyncio.to_thread(parts.frame, index, self.filters)
                else:
                    frame = parts.frame(index, self.filters)
                self._put(ControlFrame(frame, self.graph))
        finally:
            self.snapshot_parts = None

    async def _follow(self) -> None:
        """Replay the stream from :attr:`position` until caught up with the feed, then go live."""
        self._ensure_open()
        feed = self.feed
        assert feed is not None
        while True:
            try:
                page = await self.history.replay.read(self.graph, self.position, self.filters)
            except ResyncRequired as exc:
                await self._resync(resync_reason(exc.reason))
                continue
            except REDIS_DOWN as exc:
                await self._unavailable(exc)
                continue
            self._ensure_open()
            self._recovered()
            self._enqueue(page)
            # No await since the read: nothing slipped in between.
            if not page.full and feed.go_live(self, self.position):
                return
            if page.last is not None:
                await self.session.wait_writable()
            else:
                await feed.wait_changed()

    def _enqueue(self, page: ReplayPage) -> None:
        """Queue a replayed page's chunks (shared with the other subscriptions reading it)."""
        for chunk in page.chunks:
            self._put(chunk)
            self.position = Position(chunk.epoch, chunk.last)

    def _control(self, frame: Frame) -> None:
        self._put(ControlFrame(encode_frame(frame), self.graph))

    def _put(self, item: ControlFrame | EventChunk) -> None:
        """Queue on the connection, unless this subscription was closed (replaced by a new
        subscribe, unsubscribed): its task may still be running (see :meth:`_ensure_open`)
        and must not interleave stale frames with its successor's."""
        self._ensure_open()
        self.session.put(item)

    def _ensure_open(self) -> None:
        """Stop this subscription's task if it was closed. :meth:`close` cancels the task, but
        a library awaited in between may swallow the cancellation (redis-py's asyncio client
        does when it arrives while a connection goes back to its pool), so the task checks
        for itself after each await that precedes a side effect. Also undoes a feed
        attachment made after the close."""
        if self._closed:
            self.broadcaster.detach(self)
            self.feed = None
            raise asyncio.CancelledError()

    # ------------------------------------------------------------------ Redis outages

    async def _retrying(
        self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``await fn(...)``, retrying with backoff while Redis is unreachable."""
        while True:
            self._ensure_open()
            try:
                result = await fn(*args, **kwargs)
            except REDIS_DOWN as exc:
                await self._unavailable(exc)
                continue
            self._ensure_open()
            self._recovered()
            return result

    async def _unavailable(self, exc: BaseException) -> None:
        self.session.notify_unavailable(f"Redis is unreachable ({type(exc).__name__}); retrying")
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, RETRY_MAX)

    def _recovered(self) -> None:
        self._delay = RETRY_FIRST
        if self.broadcaster.available:
            self.session.notify_available()

    _delay = RETRY_FIRST
