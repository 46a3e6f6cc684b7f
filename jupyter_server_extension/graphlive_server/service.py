"""The extension's services wired together: Redis clients, broadcaster, sessions, catalog.

One :class:`GraphliveService` exists per server process (created by the ExtensionApp). It starts
lazily and idempotently — on the server's start-up hook or on the first request, whichever comes
first — because resolving the default Redis may start the embedded server (blocking, so it runs
in a thread).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from graphlive.bus.connection import (
    AsyncClient,
    connect_async,
    is_cluster,
    redact,
    resolve_url,
    uses_embedded,
)
from graphlive.wire import CloseCode, Limits
from graphlive_server.analysis_service import AnalysisService
from graphlive_server.broadcaster import Broadcaster
from graphlive_server.catalog import GraphCatalog
from graphlive_server.history import History
from graphlive_server.metrics import Metrics, install_collector, uninstall_collector
from graphlive_server.session import ClientSession, Transport

__all__ = [
    "COMMAND_CLIENT_NAME",
    "READER_CLIENT_NAME",
    "GraphliveService",
    "ServiceSettings",
    "ServiceUnavailable",
]

log = logging.getLogger(__name__)

#: Redis client names (``CLIENT LIST``) of the reader's Pub/Sub connection and of the pool used
#: for Stream reads, snapshots and heads.
READER_CLIENT_NAME = "graphlive-server-reader"
COMMAND_CLIENT_NAME = "graphlive-server"


class ServiceUnavailable(RuntimeError):
    """The service could not start (no Redis location); the message says what to do."""


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    redis_url: str | None
    limits: Limits
    retention: int
    status_interval: float
    root_dir: str
    #: Freeze the server's objects for the cyclic collector once the service has started.
    freeze_gc: bool = True


#: Connections of the command pool (stream pages, snapshots, heads) shared by all subscriptions.
COMMAND_CONNECTIONS = 32
#: Delays (seconds) between attempts at restarting a dead embedded Redis: doubling to the max.
REVIVE_FIRST = 0.2
REVIVE_MAX = 10.0


class GraphliveService:
    """Everything behind the handlers. Not thread-safe: used from the server's event loop."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.metrics = Metrics()
        self.sessions: set[ClientSession] = set()
        #: Open ``graphlive/ws/status`` sockets, as callables closing them (for shutdown).
        self.status_sockets: dict[object, Callable[[int, str], None]] = {}
        self.url: str | None = None
        self.analysis = AnalysisService(settings.root_dir, lambda: self.url)
        self._client: AsyncClient | None = None
        self._pubsub_client: AsyncClient | None = None
        self._history: History | None = None
        self._broadcaster: Broadcaster | None = None
        self._catalog: GraphCatalog | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._stopped = False
        #: Following the embedded default Redis (no URL configured): restarted when it dies.
        self.embedded = False
        self._revive_task: asyncio.Task[None] | None = None
        self._froze_gc = False

    # ------------------------------------------------------------------ lifecycle

    async def ensure_started(self) -> None:
        """Start once; later calls wait for that start. Raises :class:`ServiceUnavailable`."""
        if self._stopped:
            raise ServiceUnavailable("the graphlive extension is shutting down")
        if self._start_task is None:
            self._start_task = asyncio.get_running_loop().create_task(self._start())
        task = self._start_task
        try:
            await asyncio.shield(task)
        except ServiceUnavailable:
            if self._start_task is task:
                self._start_task = None  # let the next request try again
            raise

    async def _start(self) -> None:
        try:
            url = await asyncio.to_thread(resolve_url, self.settings.redis_url)
        except Exception as exc:
            raise ServiceUnavailable(
                f"graphlive has no Redis: {exc}. Set GraphliveServer.redis_url or "
                "GRAPHLIVE_REDIS_URL to a redis://, rediss:// or unix:// URL."
            ) from exc
        self.url = url
        self.embedded = uses_embedded(self.settings.redis_url)
        # A Redis Cluster node gets cluster clients: asked here, off the event loop, so that
        # connect_async below finds the answer cached. Without an answer the clients could be
        # the wrong kind for good (single-server clients on a cluster answer MOVED): no start;
        # the next request tries again (unix:// URLs, the embedded server's, are never asked).
        try:
            await asyncio.to_thread(is_cluster, url)
        except (redis.RedisError, OSError) as exc:
            raise ServiceUnavailable(
                f"graphlive's Redis at {redact(url)} does not answer ({exc}); retrying on the "
                "next request"
            ) from exc
        log.info("graphlive: following graph events on %s", redact(url))
        # Named, so `CLIENT LIST` shows what is graphlive's. Bounded and blocking: a burst of
        # catch-up work queues for a connection instead of failing (see connect_async).
        self._client = connect_async(
            url, client_name=COMMAND_CLIENT_NAME, max_connections=COMMAND_CONNECTIONS
        )
        # The reader handles reconnection itself (and must notice every drop): no retries, and
        # no background health check racing its reads.
        self._pubsub_client = connect_async(
            url,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            client_name=READER_CLIENT_NAME,
        )
        self._history = History(self._client)
        self._catalog = GraphCatalog(self._history)
        self._broadcaster = Broadcaster(
            self._pubsub_client,
            self._history,
            self.metrics,
            on_availability=self._availability_changed,
        )
        self._broadcaster.start()
        install_collector(self.status, self.metrics)
        if self.settings.freeze_gc:
            self._freeze_gc()

    def _freeze_gc(self) -> None:
        """Move every object the server holds now (its modules, Jupyter's state: ~200k
        objects) to the collector's permanent generation. Each full collection otherwise
        traverses them all: 85-100 ms stalls every few seconds under live load on 2 cores,
        which set the p99 of live delivery (bench_fanout: 100 clients at 1k events/s, p99
        68-126 ms; frozen, 26-28 ms, full collections 4-8 ms). Frozen objects are not
        collected until :meth:`stop` unfreezes them; what is garbage now is collected first."""
        gc.collect()
        gc.freeze()
        self._froze_gc = True
        log.info("graphlive: %d objects moved to the permanent generation", gc.get_freeze_count())

    async def stop(self) -> None:
        """Close every connection (1001), stop the reader, release Redis."""
        self._stopped = True
        for session in list(self.sessions):
            session.close(CloseCode.GOING_AWAY, "server shutting down")
        self.sessions.clear()
        for close in list(self.status_sockets.values()):
            close(CloseCode.GOING_AWAY, "server shutting down")
        self.status_sockets.clear()
        for task in (self._start_task, self._revive_task):
            if task is not None and not task.done():
                task.cancel()
        if self._broadcaster is not None:
            await self._broadcaster.stop()
        await self.analysis.stop()
        for client in (self._pubsub_client, self._client):
            if client is not None:
                await client.aclose()
        uninstall_collector(self.metrics)
        if self._froze_gc:
            gc.unfreeze()
            self._froze_gc = False

    # ------------------------------------------------------------------ parts

    @property
    def history(self) -> History:
        assert self._history is not None, "GraphliveService used before ensure_started()"
        return self._history

    @property
    def broadcaster(self) -> Broadcaster:
        assert self._broadcaster is not None, "GraphliveService used before ensure_started()"
        return self._broadcaster

    @property
    def catalog(self) -> GraphCatalog:
        assert self._catalog is not None, "GraphliveService used before ensure_started()"
        return self._catalog

    # ------------------------------------------------------------------ sessions

    def open_session(self, transport: Transport, *, filtered: bool, peer: str) -> ClientSession:
        session = ClientSession(
            transport,
            filtered=filtered,
            limits=self.limits,
            history=self.history,
            broadcaster=self.broadcaster,
            metrics=self.metrics,
            retention=self.settings.retention,
            on_closed=self.sessions.discard,
            peer=peer,
        )
        self.sessions.add(session)
        session.open()
        return session

    def _availability_changed(self, available: bool) -> None:
        reviving = self._revive_task is not None and not self._revive_task.done()
        if not available and self.embedded and not self._stopped and not reviving:
            self._revive_task = asyncio.get_running_loop().create_task(self._revive())
        for session in list(self.sessions):
            if not session.subscriptions:
                continue
            if available:
                session.notify_available()
            else:
                session.notify_unavailable("Redis is unreachable; the server keeps retrying")

    async def _revive(self) -> None:
        """The embedded Redis stopped answering: start it again (as any graphlive process
        would on its next use), retrying with backoff while the reader finds it down. Its data
        is reloaded from the append-only file; the reader reconnects on its own and the
        subscriptions resume or resync. Nothing is started for a configured URL."""
        from graphlive.bus import embedded

        delay = REVIVE_FIRST
        while not self._stopped and self._broadcaster is not None:
            await asyncio.sleep(delay)  # a restart in progress elsewhere gets its moment
            if self._broadcaster.available:
                return
            try:
                info = await asyncio.to_thread(embedded.ensure_running)
            except Exception as exc:
                log.warning("graphlive: cannot restart the embedded Redis: %s", exc)
            else:
                if info.url != self.url:
                    log.warning(
                        "graphlive: the embedded Redis came back at %s, not %s; restart the "
                        "Jupyter server to follow it",
                        redact(info.url),
                        redact(self.url or ""),
                    )
                else:
                    log.info("graphlive: embedded Redis running again (pid %d)", info.pid)
                return
            delay = min(delay * 2, REVIVE_MAX)

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """The numbers of ``/graphlive/api/status`` and ``/graphlive/ws/status``."""
        m = self.metrics
        by_endpoint = {"events": 0, "filtered": 0}
        subscriptions = live = 0
        queued = [s.outbox.queued_bytes for s in self.sessions]
        for s in self.sessions:
            by_endpoint[s.endpoint] += 1
            subscriptions += len(s.subscriptions)
            live += sum(1 for sub in s.subscriptions.values() if sub.live)
        reader: dict[str, Any] = {"available": False, "graphs": {}, "lag_events": 0}
        if self._broadcaster is not None:
            reader = self._broadcaster.status()
        p50, p99 = m.latency.quantile(0.5), m.latency.quantile(0.99)
        return {
            "time": time.time(),
            "uptime": time.time() - m.started,
            "connections": {
                **by_endpoint,
                "status": len(self.status_sockets),
                "total": sum(by_endpoint.values()) + len(self.status_sockets),
            },
            "subscriptions": subscriptions,
            "subscriptions_live": live,
            "graphs": reader["graphs"],
            "events_in_per_s": round(m.events_in.rate(), 3),
            "events_out_per_s": round(m.events_out.rate(), 3),
            "events_in_total": m.events_in_total,
            "events_out_total": m.events_out_total,
            "frames_out_total": m.frames_out_total,
            "bytes_out_total": m.bytes_out_total,
            "recovered_events_total": m.recovered_events_total,
            "resyncs_total": m.resyncs_total,
            "latency_ms": {
                "p50": None if p50 is None else round(p50 * 1000, 3),
                "p99": None if p99 is None else round(p99 * 1000, 3),
            },
            "queues": {
                "bytes_total": sum(queued),
                "bytes_max": max(queued, default=0),
                "limit_bytes": self.limits.max_queue_bytes,
            },
            "slow_client_closes": m.slow_client_closes_total,
            "ping_timeout_closes": m.ping_timeout_closes_total,
            "rate_limited_messages": m.rate_limited_total,
            "bad_messages": m.bad_messages_total,
            "reader": {
                "available": reader["available"],
                "lag_events": reader["lag_events"],
                "reconnects": m.reader_reconnects_total,
            },
        }
