"""The ``graphlive`` Jupyter server extension: configuration and lifecycle.

Enable it with ``jupyter server extension enable graphlive_server`` (the wheel ships the enable
file). Configure it like any traitlets application, e.g. in ``jupyter_server_config.py``::

    c.GraphliveServer.redis_url = "unix:///run/redis/redis.sock"
    c.GraphliveServer.max_queue_bytes = 16 * 1024 * 1024

See docs/server.md for every option and docs/protocol.md for the WebSocket protocol.
"""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode

from graphlive.bus.publisher import DEFAULT_RETENTION
from graphlive.wire import Limits
from graphlive_server.handlers import handlers
from graphlive_server.service import GraphliveService, ServiceSettings

__all__ = ["GraphliveServer"]

_DEFAULTS = Limits()


class GraphliveServer(ExtensionApp):
    """Streams graphlive's graph events to browsers over authenticated WebSockets."""

    name = "graphlive"
    description = "graphlive: live code graph events over WebSockets, plus a small REST API"
    load_other_extensions = True

    redis_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help=(
            "URL of the Redis holding the graph events (redis://, rediss:// or unix://). "
            "Default: GRAPHLIVE_REDIS_URL if set, else graphlive's embedded Redis (started on "
            "demand on a private unix socket). Credentials in the URL are never logged or sent "
            "to browsers."
        ),
    )
    max_queue_bytes = Int(
        _DEFAULTS.max_queue_bytes,
        config=True,
        help=(
            "Bytes that may wait for one WebSocket client. A client that falls further behind "
            "is closed with code 4001 and resumes from its position; it never slows the "
            "reader or other clients."
        ),
    )
    max_message_bytes = Int(
        _DEFAULTS.max_message_bytes,
        config=True,
        help=(
            "Largest client message accepted; larger ones get a 'too_large' error frame "
            "(above 4x this size Tornado closes the connection with 1009)."
        ),
    )
    max_frame_events = Int(
        _DEFAULTS.max_frame_events,
        config=True,
        help="Most events in one 'events' frame (a writer wake-up may send several frames).",
    )
    max_subscriptions = Int(
        _DEFAULTS.max_subscriptions,
        config=True,
        help="Most graphs one WebSocket connection may follow at once.",
    )
    ping_interval = Float(
        _DEFAULTS.ping_interval,
        config=True,
        help="Seconds between WebSocket pings to each client (0 disables keep-alive).",
    )
    ping_timeout = Float(
        _DEFAULTS.ping_timeout,
        config=True,
        help=(
            "Seconds without a pong or message after which a connection is closed (4002) and "
            "dropped, so dead clients are cleaned up."
        ),
    )
    rate_limit = Float(
        _DEFAULTS.rate_limit,
        config=True,
        help=(
            "Client messages per second per connection (token bucket, burst twice this). "
            "Messages over it get a 'rate_limited' error; persistent abuse closes with 4429. "
            "0 disables the limit."
        ),
    )
    subscribe_rate = Float(
        _DEFAULTS.subscribe_rate,
        config=True,
        help=(
            "Subscribes per second per connection (burst 5x, at least max_subscriptions), "
            "within rate_limit: "
            "each may cost a snapshot or a long replay. Refused ones get a 'rate_limited' "
            "error and count towards the 4429 close. 0 disables the limit."
        ),
    )
    retention = Int(
        DEFAULT_RETENTION,
        config=True,
        help=(
            "Most events replayed to a resuming client: one further behind gets a resync and a "
            "snapshot instead, when a snapshot newer than its position exists (a snapshot is "
            "cheaper than a long replay). 0: replay whatever the stream still holds."
        ),
    )
    snapshot_chunk_elements = Int(
        _DEFAULTS.snapshot_chunk_elements,
        config=True,
        help=(
            "Snapshots with more nodes + edges than this (or bigger than 256 KiB or a "
            "quarter of max_queue_bytes) are sent as several frames ('snapshot' with "
            "\"more\": true, then 'snapshot_part' frames), paced by the connection's queue, so "
            "one big graph does not hold up other graphs' events. 0: always one frame."
        ),
    )
    freeze_gc = Bool(
        True,
        config=True,
        help=(
            "Once graphlive's service starts, move the objects the server holds to the "
            "collector's permanent generation (gc.freeze()), so full garbage collections stop "
            "traversing the whole server: they stalled live delivery for 85-100 ms every few "
            "seconds under load. Frozen objects are kept until the extension stops."
        ),
    )
    status_interval = Float(
        2.0,
        config=True,
        help="Seconds between two frames on graphlive/ws/status.",
    )

    service: GraphliveService | None = None

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        # Route the package's module loggers through the server's handlers, as jupyter_server
        # does for Tornado's loggers.
        logger = logging.getLogger("graphlive_server")
        logger.propagate = True
        logger.parent = self.log
        logger.setLevel(self.log.level)
        limits = Limits(
            max_queue_bytes=max(1024, self.max_queue_bytes),
            max_message_bytes=max(256, self.max_message_bytes),
            max_frame_events=max(1, self.max_frame_events),
            max_subscriptions=max(1, self.max_subscriptions),
            ping_interval=max(0.0, self.ping_interval),
            ping_timeout=max(0.0, self.ping_timeout),
            rate_limit=max(0.0, self.rate_limit),
            subscribe_rate=max(0.0, self.subscribe_rate),
            snapshot_chunk_elements=max(0, self.snapshot_chunk_elements),
        )
        self.service = GraphliveService(
            ServiceSettings(
                redis_url=self.redis_url or None,
                limits=limits,
                retention=max(0, self.retention),
                status_interval=max(0.05, self.status_interval),
                root_dir=str(self.serverapp.root_dir),
                freeze_gc=self.freeze_gc,
            )
        )
        self.settings["graphlive_service"] = self.service

    def initialize_handlers(self) -> None:
        assert self.service is not None
        self.handlers.extend(handlers(self.service))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the Redis reader with the server (requests would start it too)."""
        if self.service is None:
            return
        try:
            await self.service.ensure_started()
        except Exception as exc:  # the server must come up; requests report the problem
            self.log.error("graphlive: %s", exc)

    async def stop_extension(self) -> None:
        """Close every graphlive connection (1001), stop the reader and release Redis."""
        if self.service is not None:
            await self.service.stop()
