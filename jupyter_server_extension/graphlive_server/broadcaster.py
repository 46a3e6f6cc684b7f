"""The broadcaster: one Redis reader per server process, fanning graph events out to connections.

Guarantees:

* One Pub/Sub connection follows the ``graphlive:{g}:live`` channel of every graph with at least
  one subscriber (SUBSCRIBE/UNSUBSCRIBE as subscriptions come and go; on a Redis Cluster shard
  channels, one connection per shard: :mod:`graphlive_server.live_channels`). Each message is a
  JSON array of positioned events.
* Pub/Sub is the fast path, the Stream is the guarantee: every batch is checked against the
  graph's ``seq``/``epoch``; on a gap, a duplicate-free overlap, an undecodable message, a
  reconnection or an audit that finds the head ahead, the missing events are read from the
  Stream (``XRANGE``) and delivered flagged ``recovered``. What the Stream cannot provide any more
  (trimmed, lost history, foreign epoch) makes every live subscriber of the graph resync.
* Per graph, the feed's position only moves forward by contiguous ranges, so a subscriber that is
  live sees ``seq`` + 1, + 2, … and nothing twice.
* All feed position changes happen in the reader task (one at a time); fan-out only queues
  pre-encoded chunks — a slow client is closed by its session, never waited for. Who receives
  a graph's batches is its :class:`~graphlive_server.feed.GraphFeed`'s business alone.
* Redis outages are survived: the reader reconnects with backoff, resubscribes, fills every
  feed's gap from the Stream, and reports availability changes through ``on_availability``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio

from graphlive.bus.connection import AsyncClient
from graphlive.bus.reader import Position, ResyncRequired
from graphlive.events import ChangeEvent, EventDecodeError, EventType, decode_many
from graphlive.wire import resync_reason
from graphlive_server.feed import GraphFeed
from graphlive_server.history import History
from graphlive_server.live_channels import LiveChannels, open_channels
from graphlive_server.metrics import Metrics
from graphlive_server.replay import split_by_epoch

if TYPE_CHECKING:
    from graphlive_server.subscriptions import Subscription

__all__ = ["Broadcaster"]

log = logging.getLogger(__name__)

#: Seconds between audits (head check per graph + Pub/Sub liveness ping).
AUDIT_INTERVAL = 5.0
#: Reconnection delays (seconds): doubling from the first to the last.
RECONNECT_FIRST = 0.1
RECONNECT_MAX = 2.0
_CHANNEL_PREFIX = b"graphlive:{"
_CHANNEL_SUFFIX = b"}:live"


def graph_of_channel(channel: bytes | str) -> str | None:
    raw = channel.encode() if isinstance(channel, str) else channel
    if raw.startswith(_CHANNEL_PREFIX) and raw.endswith(_CHANNEL_SUFFIX):
        return raw[len(_CHANNEL_PREFIX) : -len(_CHANNEL_SUFFIX)].decode()
    return None


class Broadcaster:
    """Follows the subscribed graphs on Redis and hands contiguous batches to subscriptions."""

    def __init__(
        self,
        pubsub_client: AsyncClient,
        history: History,
        metrics: Metrics,
        *,
        on_availability: Callable[[bool], None] | None = None,
        audit_interval: float = AUDIT_INTERVAL,
    ) -> None:
        self.pubsub_client = pubsub_client
        self.history = history
        self.metrics = metrics
        self.on_availability = on_availability
        self.audit_interval = audit_interval
        self.available = False
        self.feeds: dict[str, GraphFeed] = {}
        self._pubsub: LiveChannels | None = None
        self._task: asyncio.Task[None] | None = None
        self._command_lock = asyncio.Lock()
        self._last_audit = 0.0
        self._last_received = 0.0
        self._connected = asyncio.Event()
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        # Cancel until it sticks: on Python < 3.12 asyncio.wait_for (used inside redis-py) can
        # swallow a cancellation that races with the completion of what it waits for.
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.5)
        await self._drop_pubsub()
        self.feeds.clear()

    async def wait_connected(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ subscriptions

    async def attach(self, sub: Subscription) -> GraphFeed:
        """Add ``sub`` (not live yet) to its graph's feed; returns once the feed has a position."""
        feed = self.feeds.get(sub.graph)
        if feed is None:
            feed = self.feeds[sub.graph] = GraphFeed(sub.graph)
            self._pubsub_command("subscribe", feed.channel)
        feed.join(sub)
        await feed.ready.wait()
        return feed

    def detach(self, sub: Subscription) -> None:
        """Remove ``sub`` (a no-op if it is not attached); the last one unsubscribes the graph."""
        feed = self.feeds.get(sub.graph)
        if feed is None or not feed.leave(sub):
            return
        if feed.empty:
            del self.feeds[sub.graph]
            feed.changed()
            self._pubsub_command("unsubscribe", feed.channel)

    def _pubsub_command(self, command: str, channel: str) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE in call order (the reader picks up the confirmations)."""
        pubsub = self._pubsub
        if pubsub is None:
            return  # not connected: the reconnection subscribes every feed

        async def send() -> None:
            async with self._command_lock:
                if pubsub is not self._pubsub:
                    return
                try:
                    if command == "subscribe":
                        await pubsub.subscribe(channel)
                    else:
                        await pubsub.unsubscribe(channel)
                except (redis.RedisError, OSError) as exc:
                    # The reader notices the broken connection and resubscribes everything.
                    log.debug("graphlive: %s %s failed: %s", command, channel, exc)

        asyncio.get_running_loop().create_task(send())

    # ------------------------------------------------------------------ reader

    async def _run(self) -> None:
        delay = 0.0  # a dropped connection is retried at once; failing retries back off
        first = True
        while not self._stopping:
            connected = False
            since = time.monotonic()
            try:
                await self._connect()
                connected = True
                if not first:
                    self.metrics.reader_reconnects_total += 1
                first = False
                self._set_available(True)
                await self._read_loop()
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as exc:
                log.warning("graphlive: Redis reader lost its connection (%s); retrying", exc)
            except Exception:
                log.exception("graphlive: Redis reader failed; restarting it")
            if not connected:
                # Only a failed (re)connection means Redis is unreachable: a dropped connection
                # that comes straight back is not worth alarming clients about.
                self._set_available(False)
            await self._drop_pubsub()
            if connected and time.monotonic() - since > RECONNECT_MAX:
                delay = 0.0  # it worked for a while: retry at once
            else:
                delay = min(max(delay * 2, RECONNECT_FIRST), RECONNECT_MAX)
                await asyncio.sleep(delay)

    def _set_available(self, available: bool) -> None:
        if available == self.available:
            return
        self.available = available
        if available:
            self._connected.set()
        else:
            self._connected.clear()
        if self.on_availability is not None:
            self.on_availability(available)

    async def _connect(self) -> None:
        pubsub = await open_channels(self.pubsub_client)
        try:
            async with self._command_lock:
                self._pubsub = pubsub
                channels = [feed.channel for feed in self.feeds.values()]
                if channels:
                    await pubsub.subscribe(*channels)
        except BaseException:
            self._pubsub = None
            await _close_quietly(pubsub)
            raise
        now = time.monotonic()
        self._last_received = now
        self._last_audit = now

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await _close_quietly(pubsub)

    async def _read_loop(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        while not self._stopping:
            message = await pubsub.get_message(timeout=min(1.0, self.audit_interval))
            now = time.monotonic()
            if message is not None:
                self._last_received = now
                await self._handle(message)
            if now - self._last_audit >= self.audit_interval:
                self._last_audit = now
                silent = now - self._last_received > 3 * self.audit_interval
                if silent and pubsub.answers_ping:
                    raise redis.ConnectionError("Pub/Sub connection silent: no reply to PING")
                await self._audit()
                await pubsub.ping()

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind not in ("message", "subscribe"):
            return
        graph = graph_of_channel(message["channel"])
        feed = self.feeds.get(graph) if graph is not None else None
        if feed is None:
            return
        if kind == "subscribe":
            await self._refresh(feed)
        elif feed.position is not None:
            await self._on_batch(feed, message["data"])

    async def _refresh(self, feed: GraphFeed) -> None:
        """The channel is (re)subscribed: learn the head, or fill what was missed meanwhile."""
        if feed.position is None:
            feed.position = await self.history.head(feed.graph)
            feed.head = feed.position
            feed.ready.set()
            feed.changed()
        else:
            await self._fill(feed)

    async def _on_batch(self, feed: GraphFeed, raw: bytes) -> None:
        try:
            events = decode_many(raw)
        except EventDecodeError as exc:
            log.warning(
                "graphlive: undecodable batch on %s (%s); reading the Stream", feed.channel, exc
            )
            await self._fill(feed)
            return
        if not events:
            return
        pos = feed.position
        assert pos is not None
        first, last = events[0], events[-1]
        contiguous_batch = last.seq - first.seq + 1 == len(events) and all(
            e.epoch == first.epoch for e in events
        )
        if contiguous_batch and _continues(pos, first):
            self._deliver(feed, events, recovered=False, body=raw[1:-1])
            return
        if last.seq <= pos.seq and last.epoch == pos.epoch:
            return  # already delivered by a fill from the Stream
        await self._fill(feed, until=last.seq)

    async def _fill(self, feed: GraphFeed, until: int | None = None) -> None:
        """Deliver what the Stream holds after the feed's position (through ``until``)."""
        while feed.position is not None:
            try:
                page = await self.history.read(feed.graph, feed.position)
            except ResyncRequired as exc:
                await self._resync(feed, exc)
                return
            if not page:
                return
            self._deliver(feed, page, recovered=True)
            if until is not None and page[-1].seq >= until:
                return

    async def _resync(self, feed: GraphFeed, exc: ResyncRequired) -> None:
        """The feed cannot continue contiguously: restart from the head; subscribers resync."""
        log.info("graphlive: %s", exc)
        head = await self.history.head(feed.graph)
        feed.position = head
        feed.head = head
        feed.changed()
        feed.restart_live(resync_reason(exc.reason))

    def _deliver(
        self,
        feed: GraphFeed,
        events: list[ChangeEvent],
        *,
        recovered: bool,
        body: bytes | None = None,
    ) -> None:
        runs = split_by_epoch(events)
        for run in runs:
            last = run[-1]
            self.metrics.received(len(run), recovered=recovered)
            feed.position = Position(last.epoch, last.seq)
            feed.fan_out(run, recovered=recovered, body=body if len(runs) == 1 else None)
        feed.changed()

    async def _audit(self) -> None:
        """Compare each feed with its graph's head; fill a gap Pub/Sub did not report."""
        feeds = [f for f in self.feeds.values() if f.position is not None]
        heads = await self.history.heads([f.graph for f in feeds])
        for feed in feeds:
            if self.feeds.get(feed.graph) is not feed:
                continue  # unsubscribed while the heads were read
            if feed.audit(heads[feed.graph]):
                await self._fill(feed)

    def status(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "graphs": {g: f.status() for g, f in sorted(self.feeds.items())},
            "lag_events": max((f.lag for f in self.feeds.values()), default=0),
        }


def _continues(pos: Position, first: ChangeEvent) -> bool:
    """Does a batch starting with ``first`` follow ``pos`` directly?"""
    if first.seq != pos.seq + 1:
        return False
    return not pos.epoch or first.epoch == pos.epoch or first.type is EventType.GRAPH_RESET


async def _close_quietly(pubsub: LiveChannels) -> None:
    with contextlib.suppress(Exception):  # already broken: nothing more to release
        await pubsub.close()
