"""Client messages of docs/protocol.md ("Client → server"): strict, total parsing.

:func:`parse_client_message` (a text frame) and :func:`parse_client_object` (an already decoded
message, as the kernel comm delivers them) return one of the message dataclasses or raise
:class:`ProtocolError` carrying the error code and a message meant for the client. They never
raise anything else, whatever the input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from graphlive.bus.keys import validate_graph_name
from graphlive.bus.reader import Position
from graphlive.wire.codes import MAX_REF_CHARS, ErrorCode
from graphlive.wire.filters import EventFilter

__all__ = [
    "ClientMessage",
    "MessageHandler",
    "Ping",
    "ProtocolError",
    "SetFilter",
    "Subscribe",
    "Unsubscribe",
    "dispatch",
    "parse_client_message",
    "parse_client_object",
]


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


class MessageHandler(Protocol):
    """What an adapter does with each kind of client message (see :func:`dispatch`)."""

    def on_ping(self, message: Ping) -> None: ...
    def on_subscribe(self, message: Subscribe) -> None: ...
    def on_unsubscribe(self, message: Unsubscribe) -> None: ...
    def on_filter(self, message: SetFilter) -> None: ...


def dispatch(message: ClientMessage, handler: MessageHandler) -> None:
    """Hand a parsed client message to the handler's method for its kind."""
    if isinstance(message, Ping):
        handler.on_ping(message)
    elif isinstance(message, Subscribe):
        handler.on_subscribe(message)
    elif isinstance(message, Unsubscribe):
        handler.on_unsubscribe(message)
    else:
        handler.on_filter(message)


def parse_client_message(raw: str | bytes, *, max_bytes: int, filtered: bool) -> ClientMessage:
    """Parse one client text frame; raise :class:`ProtocolError` for anything unacceptable.

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
    return parse_client_object(obj, filtered=filtered)


def parse_client_object(obj: object, *, filtered: bool) -> ClientMessage:
    """Parse one decoded client message (see :func:`parse_client_message`)."""
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
