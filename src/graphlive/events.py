"""Change-data-capture events: the envelope every part of graphlive exchanges.

A :class:`ChangeEvent` is immutable. Producers create events with ``seq=0`` and ``epoch=""``;
the bus assigns both atomically when it appends the event to the graph's Redis Stream
(:mod:`graphlive.bus.publisher`), so every stored or delivered event has a position.

Wire format (version :data:`ENVELOPE_VERSION`): one compact UTF-8 JSON object whose attribute
names follow CloudEvents where a counterpart exists::

    {"seq": 12, "epoch": "5f0c...", "v": 1, "id": "…", "graph": "demo", "type": "node_added",
     "time": 1732700000.123, "txn": {"id": "…", "last": true}, "source": "graphlive/analysis",
     "data": {...}}

``time`` is seconds since the Unix epoch as a float (cheap to produce and to subtract for
latency metrics). ``seq`` and ``epoch`` come first so the publisher's Lua script can stamp them
by string concatenation without parsing JSON (see :func:`encode_unpositioned`).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

__all__ = [
    "ENVELOPE_VERSION",
    "MAX_EVENT_BYTES",
    "ChangeEvent",
    "EventDecodeError",
    "EventType",
    "Txn",
    "decode",
    "decode_many",
    "encode",
    "encode_unpositioned",
    "new_event_id",
]

#: Version of the envelope written by :func:`encode`; :func:`decode` rejects any other.
ENVELOPE_VERSION = 1

#: Default upper bound for one encoded event. Larger input is rejected before parsing.
MAX_EVENT_BYTES = 1 << 20


class EventType(str, Enum):
    """What happened. Graph mutations are the ``node_*``/``edge_*`` types and ``graph_reset``."""

    NODE_ADDED = "node_added"
    NODE_UPDATED = "node_updated"
    NODE_REMOVED = "node_removed"
    EDGE_ADDED = "edge_added"
    EDGE_REMOVED = "edge_removed"
    GRAPH_RESET = "graph_reset"
    ANALYSIS_STARTED = "analysis_started"
    ANALYSIS_PROGRESS = "analysis_progress"
    ANALYSIS_COMPLETED = "analysis_completed"
    ANALYSIS_FAILED = "analysis_failed"
    DIAGNOSTIC = "diagnostic"

    @property
    def is_mutation(self) -> bool:
        """True for events that change the graph's nodes or edges."""
        return self in _MUTATIONS

    def __str__(self) -> str:
        return self.value


_MUTATIONS = frozenset(
    {
        EventType.NODE_ADDED,
        EventType.NODE_UPDATED,
        EventType.NODE_REMOVED,
        EventType.EDGE_ADDED,
        EventType.EDGE_REMOVED,
        EventType.GRAPH_RESET,
    }
)
_TYPES_BY_VALUE = {t.value: t for t in EventType}


@dataclass(frozen=True, slots=True)
class Txn:
    """Transaction membership: events of one file's (re-)analysis share ``id``; the final one has
    ``last=True`` so a consumer can apply the group atomically."""

    id: str
    last: bool


class _EventIds:
    """Unique ids without a system call per event: a random 64-bit prefix per process (renewed
    in a forked child, so parent and child never share one) and a counter."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_ids = _EventIds()


def new_event_id() -> str:
    """A 32-hex-character id, unique per event across processes (used for idempotency)."""
    return _ids.next()


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change of one graph. Instances are immutable; ``data`` must be JSON-compatible and is
    treated as read-only by every consumer.

    ``seq`` is 0 and ``epoch`` empty until the bus has appended the event to the stream.
    """

    type: EventType
    graph: str
    data: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0
    epoch: str = ""
    id: str = field(default_factory=new_event_id)
    time: float = field(default_factory=time.time)
    txn: Txn | None = None
    source: str = "graphlive"
    v: int = ENVELOPE_VERSION

    def positioned(self, seq: int, epoch: str) -> ChangeEvent:
        """Return a copy stamped with its stream position."""
        return replace(self, seq=seq, epoch=epoch)

    def to_dict(self) -> dict[str, Any]:
        """The wire envelope as a plain dict (``type`` as its string value)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "epoch": self.epoch,
            "v": self.v,
            "id": self.id,
            "graph": self.graph,
            "type": self.type.value,
            "time": self.time,
        }
        if self.txn is not None:
            out["txn"] = {"id": self.txn.id, "last": self.txn.last}
        out["source"] = self.source
        out["data"] = self.data
        return out


class EventDecodeError(ValueError):
    """Raised for input that is not a valid event envelope; the message names the problem."""


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode(event: ChangeEvent) -> bytes:
    """Encode one event as compact UTF-8 JSON. Raises ``ValueError`` for non-JSON data."""
    return _dumps(event.to_dict()).encode()


def encode_unpositioned(event: ChangeEvent) -> bytes:
    """Encode an event *without* ``seq`` and ``epoch``; the result starts with ``{"v":``.

    The publisher's script prepends ``{"seq":N,"epoch":"E",`` to the body after the opening
    brace, which yields exactly :func:`encode` of the positioned event.
    """
    d = event.to_dict()
    del d["seq"], d["epoch"]
    return _dumps(d).encode()


def _require(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in obj:
        raise EventDecodeError(f"event is missing required field {name!r}")
    value = obj[name]
    # bool is an int subclass; a boolean seq would be a bug upstream, not a position.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise EventDecodeError(
            f"event field {name!r} must be {expected}, got {type(value).__name__}"
        )
    return value


def from_dict(obj: object) -> ChangeEvent:
    """Validate a decoded JSON object and build the event. Raises :class:`EventDecodeError`."""
    if not isinstance(obj, dict):
        raise EventDecodeError(f"event must be a JSON object, got {type(obj).__name__}")
    v = _require(obj, "v", int)
    if v != ENVELOPE_VERSION:
        raise EventDecodeError(
            f"unsupported envelope version {v} (this graphlive reads version {ENVELOPE_VERSION})"
        )
    type_name = _require(obj, "type", str)
    etype = _TYPES_BY_VALUE.get(type_name)
    if etype is None:
        raise EventDecodeError(f"unknown event type {type_name!r}")
    seq = _require(obj, "seq", int)
    if seq < 0:
        raise EventDecodeError(f"event field 'seq' must be >= 0, got {seq}")
    txn_obj = obj.get("txn")
    txn: Txn | None = None
    if txn_obj is not None:
        if not isinstance(txn_obj, dict):
            raise EventDecodeError("event field 'txn' must be an object or null")
        txn = Txn(id=_require(txn_obj, "id", str), last=_require(txn_obj, "last", bool))
    time_value = _require(obj, "time", (int, float))
    if isinstance(time_value, bool):
        raise EventDecodeError("event field 'time' must be a number, got bool")
    known = {"v", "type", "seq", "epoch", "id", "graph", "time", "txn", "source", "data"}
    unknown = set(obj) - known
    if unknown:
        raise EventDecodeError(f"event has unknown field(s): {', '.join(sorted(unknown))}")
    return ChangeEvent(
        type=etype,
        graph=_require(obj, "graph", str),
        data=_require(obj, "data", dict),
        seq=seq,
        epoch=_require(obj, "epoch", str),
        id=_require(obj, "id", str),
        time=float(time_value),
        txn=txn,
        source=_require(obj, "source", str),
        v=v,
    )


def _loads(raw: bytes | str, max_bytes: int) -> object:
    size = len(raw)  # for str this counts characters; encoded bytes are >= that many
    if size > max_bytes:
        raise EventDecodeError(f"event input is {size} bytes, over the limit of {max_bytes}")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise EventDecodeError(f"event input is not valid UTF-8: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise EventDecodeError(
            f"event input is not valid JSON: {exc.msg} at position {exc.pos}"
        ) from exc
    except RecursionError as exc:
        raise EventDecodeError("event input is nested too deeply") from exc


def decode(raw: bytes | str, *, max_bytes: int = MAX_EVENT_BYTES) -> ChangeEvent:
    """Decode one event produced by :func:`encode`.

    Raises :class:`EventDecodeError` (a ``ValueError``) naming the problem for oversize input,
    invalid UTF-8 or JSON, a wrong envelope version, unknown types or fields, and fields of the
    wrong type. ``decode(encode(e)) == e`` for every event with JSON-compatible data.
    """
    return from_dict(_loads(raw, max_bytes))


def decode_many(raw: bytes | str, *, max_bytes: int = 64 * MAX_EVENT_BYTES) -> list[ChangeEvent]:
    """Decode a JSON array of events (the Pub/Sub batch format)."""
    obj = _loads(raw, max_bytes)
    if not isinstance(obj, list):
        raise EventDecodeError(f"event batch must be a JSON array, got {type(obj).__name__}")
    return [from_dict(item) for item in obj]
