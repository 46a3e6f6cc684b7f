"""Server frames of docs/protocol.md ("Server → client"): one builder per frame.

Builders return plain dicts (the kernel comm sends those as they are); :func:`encode_frame`
turns one into the compact UTF-8 JSON a WebSocket sends. Two frames are also built as bytes
around already encoded JSON, so the server never decodes what it forwards:
:func:`events_frame_bytes` (events as Redis stored them) and :func:`snapshot_frame_bytes` (a
snapshot as stored). Both test suites check these builders' output against
``tests/fixtures/wire/frames.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from graphlive.bus.reader import Position
from graphlive.wire.codes import PROTOCOL_VERSION, ErrorCode, ResyncReason
from graphlive.wire.filters import EventFilter
from graphlive.wire.limits import Limits

__all__ = [
    "Frame",
    "available_frame",
    "encode_frame",
    "error_frame",
    "events_frame",
    "events_frame_bytes",
    "filtered_frame",
    "hello_frame",
    "pong_frame",
    "resync_frame",
    "snapshot_frame",
    "snapshot_frame_bytes",
    "snapshot_head",
    "status_frame",
    "subscribed_frame",
    "unsubscribed_frame",
]

Frame = dict[str, Any]


def encode_frame(frame: Mapping[str, Any]) -> bytes:
    """One server frame as compact UTF-8 JSON."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _with_ref(frame: Frame, ref: str | None) -> Frame:
    if ref is not None:
        frame["ref"] = ref
    return frame


def hello_frame(server: str, *, endpoint: str, limits: Limits | None = None) -> Frame:
    """The first frame on every connection: protocol version, server, endpoint, limits."""
    frame: Frame = {
        "op": "hello",
        "protocol": PROTOCOL_VERSION,
        "server": server,
        "endpoint": endpoint,
    }
    if limits is not None:
        frame["limits"] = limits.to_json()
    return frame


def subscribed_frame(
    graph: str,
    head: Position,
    mode: str,
    *,
    ref: str | None = None,
    filters: EventFilter | None = None,
) -> Frame:
    """The answer to ``subscribe``: the stream's head and what follows (``mode``); on the
    filtered endpoint also the filters in force (``filters`` given)."""
    frame: Frame = {
        "op": "subscribed",
        "graph": graph,
        "epoch": head.epoch,
        "head": head.seq,
        "mode": mode,
    }
    if filters is not None:
        frame["filters"] = filters.to_json()
    return _with_ref(frame, ref)


def resync_frame(graph: str, reason: ResyncReason) -> Frame:
    """The client's position cannot be continued; a ``snapshot`` follows."""
    return {"op": "resync", "graph": graph, "reason": reason.value}


def unsubscribed_frame(graph: str, *, ref: str | None = None) -> Frame:
    return _with_ref({"op": "unsubscribed", "graph": graph}, ref)


def filtered_frame(graph: str, filters: EventFilter, *, ref: str | None = None) -> Frame:
    """Acknowledges ``filter``: frames after it are filtered with ``filters``."""
    return _with_ref({"op": "filtered", "graph": graph, "filters": filters.to_json()}, ref)


def pong_frame(t: float | None, *, ref: str | None = None) -> Frame:
    return _with_ref({"op": "pong", "t": t}, ref)


def available_frame() -> Frame:
    """Redis answers again after an ``unavailable`` error; subscriptions continue by themselves."""
    return {"op": "available"}


def error_frame(
    code: ErrorCode, message: str, *, ref: str | None = None, graph: str | None = None
) -> Frame:
    """A refused message or a failure; the connection stays open."""
    frame: Frame = {"op": "error", "code": code.value, "message": message}
    if graph is not None:
        frame["graph"] = graph
    return _with_ref(frame, ref)


def status_frame(status: Mapping[str, Any]) -> Frame:
    """A status-socket update (the server's status document, docs/protocol.md)."""
    return {"op": "status", **status}


def snapshot_head(graph: str, position: Position, *, part: int = 0, parts: int = 1) -> Frame:
    """Everything of a ``snapshot`` (``part`` 0) or ``snapshot_part`` frame but its nodes and
    edges. A snapshot in one frame (``parts`` 1) carries neither ``parts`` nor ``more``."""
    frame: Frame = {
        "op": "snapshot" if part == 0 else "snapshot_part",
        "graph": graph,
        "epoch": position.epoch,
        "seq": position.seq,
    }
    if parts > 1:
        if part == 0:
            frame["parts"] = parts
        else:
            frame["part"] = part
        frame["more"] = part < parts - 1
    return frame


def snapshot_frame(
    graph: str,
    position: Position,
    nodes: Sequence[Mapping[str, Any]],
    edges: Sequence[Mapping[str, Any]],
    *,
    part: int = 0,
    parts: int = 1,
) -> Frame:
    """A snapshot (or one part of it) at ``position``: the graph after event ``position.seq``."""
    return {
        **snapshot_head(graph, position, part=part, parts=parts),
        "nodes": nodes,
        "edges": edges,
    }


def snapshot_frame_bytes(graph: str, position: Position, content: bytes) -> bytes | None:
    """A one-frame snapshot around stored content (``{"nodes":[…],"edges":[…]}`` as JSON),
    spliced in without decoding it; None if ``content`` does not start as expected."""
    if not content.startswith(b'{"nodes":['):
        return None
    return encode_frame(snapshot_head(graph, position))[:-1] + b"," + content[1:]


def events_frame(
    graph: str,
    epoch: str,
    first: int,
    last: int,
    events: Iterable[Mapping[str, Any]],
    *,
    recovered: bool = False,
) -> Frame:
    """Events ``first..last`` of ``epoch``: ``from``/``through`` cover the whole range even when
    filters left out some (or all) of the events, so the client's position stays exact."""
    return {
        "op": "events",
        "graph": graph,
        "epoch": epoch,
        "from": first,
        "through": last,
        "recovered": recovered,
        "events": list(events),
    }


def events_frame_bytes(
    graph: str, epoch: str, first: int, last: int, recovered: bool, bodies: Iterable[bytes]
) -> bytes:
    """:func:`events_frame` around already encoded event bodies (empty ones are skipped)."""
    head = (
        b'{"op":"events","graph":'
        + json.dumps(graph, ensure_ascii=False).encode()
        + b',"epoch":'
        + json.dumps(epoch, ensure_ascii=False).encode()
        + b',"from":%d,"through":%d,"recovered":%s,"events":['
        % (first, last, b"true" if recovered else b"false")
    )
    return head + b",".join(b for b in bodies if b) + b"]}"
