"""The WebSocket protocol (docs/protocol.md): client message parsing and server frame encoding.

Parsing is strict and total: :func:`parse_client_message` returns one of the message dataclasses
or raises :class:`ProtocolError` carrying the error code and a message meant for the client. It
never raises anything else, whatever the input.

Server frames are compact UTF-8 JSON objects encoded once (:func:`encode_frame`); the
``events`` frame is assembled from pre-encoded events in :mod:`graphlive_server.outbox`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

from graphlive.bus.keys import validate_graph_name
from graphlive.bus.reader import Position
from graphlive_server.filters import EventFilter
from graphlive_server.ratelimit import MessageGate, TokenBucket

__all__ = [
    "MAX_REF_CHARS",
    "PROTOCOL_VERSION",
    "ClientMessage",
    "CloseCode",
    "ErrorCode",
    "Limits",
    "Ping",
    "ProtocolError",
    "SetFilter",
    "Subscribe",
    "Unsubscribe",
    "encode_frame",
    "error_frame",
    "parse_client_message",
]

#: Version announced in the ``hello`` frame; bumped on incompatible changes only.
PROTOCOL_VERSION = 1
#: Longest accepted ``ref`` (echoed back verbatim, so it is bounded).
MAX_REF_CHARS = 64


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (4xxx are graphlive's own)."""

    NORMAL = 1000
    #: Server shutting down: reconnect with backoff and resume.
    GOING_AWAY = 1001
    #: The client's queue went over ``max_queue_bytes``: reconnect now and resume.
    SLOW_CONSUMER = 4001
    #: No pong/message within ``ping_timeout``: reconnect with backoff and resume.
    PING_TIMEOUT = 4002
    #: Repeated malformed or oversize messages: do not retry automatically.
    PROTOCOL_ABUSE = 4400
    #: Kept sending over the rate limit: back off at least 5 s, then resume.
    RATE_LIMITED = 4429


class ErrorCode(str, Enum):
    """``code`` of an ``error`` frame."""

    BAD_REQUEST = "bad_request"
    TOO_LARGE = "too_large"
    UNKNOWN_GRAPH = "unknown_graph"
    INVALID_FILTER = "invalid_filter"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


#: Most bytes of one snapshot part (see :attr:`Limits.snapshot_chunk_bytes`).
SNAPSHOT_PART_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection limits, announced to the client in the ``hello`` frame."""

    max_queue_bytes: int = 8 * 1024 * 1024
    max_message_bytes: int = 64 * 1024
    max_frame_events: int = 1000
    max_subscriptions: int = 64
    ping_interval: float = 20.0
    ping_timeout: float = 60.0
    rate_limit: float = 50.0
    #: Subscribes per second per connection (each may cost a snapshot or a long replay).
    subscribe_rate: float = 2.0
    #: Snapshots with more nodes + edges than this are sent in parts (0: always one frame).
    snapshot_chunk_elements: int = 20_000

    @property
    def rate_burst(self) -> float:
        """Token bucket size: a client may send this many messages at once."""
        return max(2.0 * self.rate_limit, 1.0)

    @property
    def subscribe_burst(self) -> float:
        """Subscribes a client may send at once: a page opening (or reconnecting) all the
        subscriptions a connection may hold."""
        return max(5.0 * self.subscribe_rate, float(self.max_subscriptions))

    def subscribe_bucket(self) -> TokenBucket:
        """A connection's budget of subscribes (``subscribe_rate`` 0 disables it)."""
        return TokenBucket(self.subscribe_rate, self.subscribe_burst)

    @property
    def snapshot_chunk_bytes(self) -> int:
        """About the most bytes of one snapshot part: a quarter of the queue, so a part queued
        at half the limit (see replay pacing) leaves room for other graphs' live events, and at
        most :data:`SNAPSHOT_PART_BYTES`, so that writing one part is a short turn of the event
        loop (other graphs' events go out between parts, also while clients read fast)."""
        return max(1, min(self.max_queue_bytes // 4, SNAPSHOT_PART_BYTES))

    @property
    def abuse_limit(self) -> int:
        """Rejected (rate-limited) messages within :data:`ABUSE_WINDOW` before a 4429 close."""
        return max(int(self.rate_burst), 10)

    def message_gate(self) -> MessageGate:
        """A connection's rate limit and abuse counts (same for the events and status sockets)."""
        return MessageGate(
            self.rate_limit,
            self.rate_burst,
            abuse_limit=self.abuse_limit,
            bad_limit=BAD_MESSAGE_LIMIT,
            window=ABUSE_WINDOW,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "max_queue_bytes": self.max_queue_bytes,
            "max_message_bytes": self.max_message_bytes,
            "max_frame_events": self.max_frame_events,
            "max_subscriptions": self.max_subscriptions,
            "ping_interval": self.ping_interval,
            "ping_timeout": self.ping_timeout,
            "rate_limit": self.rate_limit,
            "rate_burst": self.rate_burst,
            "subscribe_rate": self.subscribe_rate,
            "subscribe_burst": self.subscribe_burst,
            "snapshot_chunk_elements": self.snapshot_chunk_elements,
        }


#: Seconds over which rejected or malformed messages are counted towards a close.
ABUSE_WINDOW = 60.0
#: Malformed/oversize/invalid messages within :data:`ABUSE_WINDOW` tolerated before 4400.
BAD_MESSAGE_LIMIT = 20


class ProtocolError(Exception):
    """A client message was refused; becomes an ``error`` frame (the connection stays open)."""

    def __init__(
        self, code: ErrorCode, message: str, *, ref: str | None = None, graph: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        self.graph = graph


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Follow ``graph`` from ``since`` (``None``: from a snapshot, or from the head)."""

    graph: str
    since: Position | None
    snapshot: bool = True
    filters: EventFilter | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    graph: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class SetFilter:
    """Replace the filters of a subscription on the filtered endpoint."""

    graph: str
    filters: EventFilter
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    t: float | None = None
    ref: str | None = None


ClientMessage = Subscribe | Unsubscribe | SetFilter | Ping


def parse_client_message(raw: str | bytes, *, max_bytes: int, filtered: bool) -> ClientMessage:
    """Parse one client frame; raise :class:`ProtocolError` for anything unacceptable.

    ``filtered`` says whether the connection is on the filtered endpoint (where ``filters`` and
    the ``filter`` op are accepted).
    """
    if isinstance(raw, bytes):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "binary frames are not accepted: send JSON text")
    # len(str) counts characters; UTF-8 needs at least as many bytes, so check the cheap bound
    # first and only encode when it could matter.
    size = len(raw)
    if size > max_bytes or (size * 4 > max_bytes and len(raw.encode()) > max_bytes):
        raise ProtocolError(ErrorCode.TOO_LARGE, f"message is over the limit of {max_bytes} bytes")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "message is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "message must be a JSON object")
    ref = _ref(obj)
    op = obj.get("op")
    if not isinstance(op, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "message needs a string 'op'", ref=ref)
    if op == "ping":
        t = obj.get("t")
        if t is not None and (
            isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)
        ):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "'t' must be a number", ref=ref)
        return Ping(t=None if t is None else float(t), ref=ref)
    if op == "subscribe":
        graph = _graph(obj, ref)
        since = _since(obj.get("since"), ref, graph)
        snapshot = obj.get("snapshot", True)
        if not isinstance(snapshot, bool):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "'snapshot' must be true or false", ref=ref, graph=graph
            )
        filters = None
        if obj.get("filters") is not None:
            if not filtered:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    "filters are only accepted on graphlive/ws/events/filtered",
                    ref=ref,
                    graph=graph,
                )
            filters = _filters(obj["filters"], ref, graph)
        return Subscribe(graph=graph, since=since, snapshot=snapshot, filters=filters, ref=ref)
    if op == "unsubscribe":
        return Unsubscribe(graph=_graph(obj, ref), ref=ref)
    if op == "filter":
        graph = _graph(obj, ref)
        if not filtered:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                "the 'filter' op is only accepted on graphlive/ws/events/filtered",
                ref=ref,
                graph=graph,
            )
        if "filters" not in obj:
            raise ProtocolError(
                ErrorCode.INVALID_FILTER, "'filter' needs 'filters'", ref=ref, graph=graph
            )
        return SetFilter(graph=graph, filters=_filters(obj["filters"], ref, graph), ref=ref)
    shown = op if len(op) <= 32 else op[:32] + "…"
    raise ProtocolError(ErrorCode.BAD_REQUEST, f"unknown op {shown!r}", ref=ref)


def _ref(obj: Mapping[str, Any]) -> str | None:
    ref = obj.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF_CHARS:
        # Not echoed: it is the invalid part.
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"'ref' must be a string of at most {MAX_REF_CHARS} characters"
        )
    return ref


def _graph(obj: Mapping[str, Any], ref: str | None) -> str:
    graph = obj.get("graph")
    if not isinstance(graph, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "message needs a string 'graph'", ref=ref)
    try:
        return validate_graph_name(graph)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)[:200], ref=ref) from None


def _since(value: object, ref: str | None, graph: str) -> Position | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            '\'since\' must be null or {"epoch": string, "seq": integer}',
            ref=ref,
            graph=graph,
        )
    epoch, seq = value.get("epoch"), value.get("seq")
    if (
        not isinstance(epoch, str)
        or len(epoch) > 64
        or not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 0
        or seq >= 1 << 63
    ):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            "'since' needs a string 'epoch' and an integer 'seq' >= 0",
            ref=ref,
            graph=graph,
        )
    return Position(epoch, seq)


def _filters(value: object, ref: str | None, graph: str) -> EventFilter:
    try:
        return EventFilter.parse(value)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.INVALID_FILTER, str(exc), ref=ref, graph=graph) from None


def encode_frame(frame: Mapping[str, Any]) -> bytes:
    """One server frame as compact UTF-8 JSON."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def error_frame(
    code: ErrorCode, message: str, *, ref: str | None = None, graph: str | None = None
) -> bytes:
    frame: dict[str, Any] = {"op": "error", "code": code.value, "message": message}
    if graph is not None:
        frame["graph"] = graph
    if ref is not None:
        frame["ref"] = ref
    return encode_frame(frame)
