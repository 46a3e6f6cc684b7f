"""Tornado handlers: thin adapters from HTTP/WebSocket to :class:`GraphliveService`.

WebSockets follow jupyter_server's own (``KernelWebsocketHandler``): ``WebSocketMixin`` for the
origin check (kept as is), ``@ws_authenticated`` so a request without a token or cookie gets 403
before the upgrade, and ``@authorized`` on the ``graphlive`` resource. REST handlers are
``APIHandler``\\ s with ``@web.authenticated`` + ``@authorized`` (JSON errors, XSRF rules of the
server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import redis
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from graphlive.wire import (
    CloseCode,
    ErrorCode,
    Frame,
    Verdict,
    encode_frame,
    error_frame,
    pong_frame,
    status_frame,
)
from graphlive_server.analysis_service import AnalysisBusy, PathRefused
from graphlive_server.catalog import UnknownGraph
from graphlive_server.service import GraphliveService, ServiceUnavailable
from graphlive_server.session import ClientSession

__all__ = ["AUTH_RESOURCE", "handlers"]

#: Resource name checked by ``@authorized`` (actions: ``read`` to follow, ``execute`` to analyse).
AUTH_RESOURCE = "graphlive"
_GRAPH = r"(?P<name>[A-Za-z0-9_.\-]{1,128})"

_F = TypeVar("_F", bound=Callable[..., Any])


def _authorized(action: str) -> Callable[[_F], _F]:
    """``@authorized(action, resource="graphlive")`` with a type mypy can follow."""
    return cast("Callable[[_F], _F]", authorized(action, resource=AUTH_RESOURCE))


#: Redis failures a REST request answers with 503.
_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class _HandlerTransport:
    """The :class:`~graphlive_server.session.Transport` of one WebSocket handler."""

    def __init__(self, handler: WebSocketHandler) -> None:
        self._handler = handler

    def send(self, data: bytes) -> asyncio.Future[None]:
        # bytes + binary=False: a text frame (the data is UTF-8 JSON).
        return self._handler.write_message(data)

    def close(self, code: int, reason: str) -> None:
        self._handler.close(code, reason)

    def abort(self) -> None:
        conn = self._handler.ws_connection
        stream = getattr(conn, "stream", None)
        if stream is not None:
            stream.close()

    def ping(self) -> None:
        self._handler.ping(b"")


class _GraphliveWebSocket(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Shared set-up of the graphlive WebSockets."""

    auth_resource = AUTH_RESOURCE
    service: GraphliveService

    def initialize(self, service: GraphliveService) -> None:
        self.service = service

    def set_default_headers(self) -> None:
        """Undo JupyterHandler's headers, which make no sense for WebSockets (as jupyter does)."""

    def get_compression_options(self) -> dict[str, Any] | None:
        # permessage-deflate costs ~8x memory per connection: off (docs/architecture.md,
        # "Serving many connections").
        return None

    # Keep-alive is the session's own (seconds, 4002 close); disable Tornado's and the mixin's.
    @property
    def ping_interval(self) -> float | None:
        return None

    @property
    def ping_timeout(self) -> float | None:
        return None

    @property
    def max_message_size(self) -> int:
        # Frames up to this size are read and answered with `too_large`; beyond it Tornado
        # closes the connection (1009) without reading them.
        return 4 * self.service.limits.max_message_bytes

    async def _ensure_service(self) -> None:
        try:
            await self.service.ensure_started()
        except ServiceUnavailable as exc:
            raise web.HTTPError(503, str(exc)) from None

    def on_pong(self, data: bytes) -> None:
        """Handled by the session (overrides the mixin's bookkeeping)."""


class EventsWebSocketHandler(_GraphliveWebSocket):
    """``graphlive/ws/events`` and ``graphlive/ws/events/filtered``."""

    session: ClientSession | None = None

    def initialize(self, service: GraphliveService, filtered: bool = False) -> None:
        super().initialize(service)
        self.filtered = filtered

    @ws_authenticated
    @_authorized("read")
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self._ensure_service()
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        self.session = self.service.open_session(
            _HandlerTransport(self), filtered=self.filtered, peer=self.request.remote_ip or ""
        )

    def on_message(self, message: str | bytes) -> None:
        if self.session is not None:
            self.session.on_message(message)

    def on_pong(self, data: bytes) -> None:
        if self.session is not None:
            self.session.on_pong()

    def on_close(self) -> None:
        if self.session is not None:
            self.session.transport_closed()


class StatusWebSocketHandler(_GraphliveWebSocket):
    """``graphlive/ws/status``: a ``status`` frame now and every ``status_interval`` seconds."""

    _task: asyncio.Task[None] | None = None

    @ws_authenticated
    @_authorized("read")
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self._ensure_service()
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.service.status_sockets[self] = self.close
        self._gate = self.service.limits.message_gate()
        self._task = asyncio.get_running_loop().create_task(self._push())

    async def _push(self) -> None:
        interval = self.service.settings.status_interval
        try:
            while True:
                await self.write_message(encode_frame(status_frame(self.service.status())))
                await asyncio.sleep(interval)
        except (WebSocketClosedError, StreamClosedError):
            pass

    def on_message(self, message: str | bytes) -> None:
        """Pings only, under the events socket's limits (rate, size, abuse closes). Replies
        are written in order, so the error frames before a close reach the client."""
        if self._closing:
            return
        now = time.monotonic()
        verdict = self._gate.admit(now)
        if verdict is not Verdict.OK:
            self.service.metrics.rate_limited_total += 1
        if verdict is Verdict.CLOSE:
            self._close(CloseCode.RATE_LIMITED, "rate limit exceeded repeatedly")
            return
        if verdict is Verdict.REFUSE:
            self._reply(error_frame(ErrorCode.RATE_LIMITED, "too many messages: dropped"))
            return
        limit = self.service.limits.max_message_bytes
        if len(message) > limit:
            obj: object = None
            error = error_frame(ErrorCode.TOO_LARGE, f"message larger than {limit} bytes")
        else:
            try:
                obj = json.loads(message) if isinstance(message, str) else None
            except ValueError:
                obj = None
            error = error_frame(
                ErrorCode.BAD_REQUEST, 'the status socket accepts only {"op": "ping"}'
            )
        if isinstance(obj, dict) and obj.get("op") == "ping":
            t = obj.get("t")
            self._reply(pong_frame(t if isinstance(t, (int, float)) else None))
        else:
            self.service.metrics.bad_messages_total += 1
            if self._gate.bad(now) is Verdict.CLOSE:
                self._close(CloseCode.PROTOCOL_ABUSE, "too many malformed messages")
            else:
                self._reply(error)

    _closing = False

    def _close(self, code: int, reason: str) -> None:
        self._closing = True
        self.close(code, reason)

    def _reply(self, frame: Frame) -> None:
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(encode_frame(frame))

    def on_close(self) -> None:
        self.service.status_sockets.pop(self, None)
        if self._task is not None:
            self._task.cancel()


class _ApiHandler(APIHandler):
    auth_resource = AUTH_RESOURCE
    service: GraphliveService

    def initialize(self, service: GraphliveService) -> None:
        self.service = service

    async def _ensure_service(self) -> None:
        try:
            await self.service.ensure_started()
        except ServiceUnavailable as exc:
            raise web.HTTPError(503, str(exc)) from None

    def _json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(obj))


class GraphsHandler(_ApiHandler):
    """``GET graphlive/api/graphs``: every graph with node/edge counts and head seq."""

    @web.authenticated
    @_authorized("read")
    async def get(self) -> None:
        await self._ensure_service()
        try:
            graphs = await self.service.catalog.list()
        except _REDIS_ERRORS as exc:
            raise web.HTTPError(503, f"Redis is unreachable: {type(exc).__name__}") from None
        self._json({"graphs": graphs})


class GraphHandler(_ApiHandler):
    """``GET graphlive/api/graphs/<name>``: one graph's summary (404 if unknown)."""

    @web.authenticated
    @_authorized("read")
    async def get(self, name: str) -> None:
        await self._ensure_service()
        try:
            summary = await self.service.catalog.summary(name)
        except UnknownGraph:
            raise web.HTTPError(404, f"no graph named {name!r}") from None
        except _REDIS_ERRORS as exc:
            raise web.HTTPError(503, f"Redis is unreachable: {type(exc).__name__}") from None
        feed = self.service.broadcaster.feeds.get(name)
        summary["subscribers"] = len(feed) if feed is not None else 0
        job = self.service.analysis.jobs.get(name)
        summary["analysis"] = job.to_json() if job is not None else None
        self._json(summary)


class AnalyzeHandler(_ApiHandler):
    """``POST graphlive/api/graphs/<name>/analyze`` with ``{"path": ...}`` inside the root dir."""

    @web.authenticated
    @_authorized("execute")
    async def post(self, name: str) -> None:
        await self._ensure_service()
        try:
            body = self.get_json_body()
        except web.HTTPError:
            raise
        except Exception:
            raise web.HTTPError(400, "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body must be a JSON object with a 'path'")
        try:
            job = self.service.analysis.start(name, body.get("path"))
        except PathRefused as exc:
            raise web.HTTPError(exc.status, exc.message) from None
        except AnalysisBusy as exc:
            raise web.HTTPError(409, str(exc)) from None
        self._json(job.to_json(), status=202)


class StatusHandler(_ApiHandler):
    """``GET graphlive/api/status``: the same numbers as the status WebSocket."""

    @web.authenticated
    @_authorized("read")
    async def get(self) -> None:
        await self._ensure_service()
        self._json(self.service.status())


def handlers(service: GraphliveService) -> list[tuple[str, type[JupyterHandler], dict[str, Any]]]:
    """URL patterns relative to the server's base_url (the ExtensionApp prefixes it)."""
    kw: dict[str, Any] = {"service": service}
    return [
        ("/graphlive/ws/events", EventsWebSocketHandler, {**kw, "filtered": False}),
        ("/graphlive/ws/events/filtered", EventsWebSocketHandler, {**kw, "filtered": True}),
        ("/graphlive/ws/status", StatusWebSocketHandler, kw),
        ("/graphlive/api/graphs", GraphsHandler, kw),
        (f"/graphlive/api/graphs/{_GRAPH}", GraphHandler, kw),
        (f"/graphlive/api/graphs/{_GRAPH}/analyze", AnalyzeHandler, kw),
        ("/graphlive/api/status", StatusHandler, kw),
    ]
