"""Sink progress as seen from Redis: the lag metric for status endpoints.

The authoritative position of a sink is the cursor inside its target database. After each
applied batch the sink also records it in the graph's ``graphlive:{g}:sinks`` hash (field =
consumer group, value = JSON), so anything with access to Redis — the Jupyter server's status
endpoint — can report lag without connecting to the database. The record may trail the cursor by
one batch after a crash; it never runs ahead of it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis
import redis.asyncio

from graphlive.bus.connection import AsyncClient, Client
from graphlive.bus.keys import GraphKeys
from graphlive.bus.reader import Position

__all__ = ["record_applied", "sink_lag", "sink_status", "sink_status_async", "sinks_key"]


def sinks_key(graph: str) -> str:
    """Hash of the sinks of ``graph``: consumer group → JSON progress record."""
    return f"graphlive:{{{GraphKeys(graph).graph}}}:sinks"


def record_applied(
    client: Client, graph: str, group: str, position: Position, *, consumer: str, target: str
) -> None:
    """Store that ``group`` has applied ``graph`` up to ``position`` (called by the sink)."""
    record = {
        "epoch": position.epoch,
        "seq": position.seq,
        "consumer": consumer,
        "target": target,
        "time": time.time(),
    }
    client.hset(sinks_key(graph), group, json.dumps(record, separators=(",", ":")))


def _lag(head: Position, applied: Position) -> int:
    # seq continues across resets (new epoch, same counter), so a difference is meaningful across
    # epochs too; only a history lost in Redis restarts seq, and then everything is to be redone.
    if head.seq >= applied.seq:
        return head.seq - applied.seq
    return head.seq


def _head(client: Client, graph: str) -> Position:
    raw: Any = client.hmget(GraphKeys(graph).meta, ["epoch", "seq"])
    return _position(raw)


def _position(raw: Any) -> Position:
    epoch, seq = raw
    return Position(epoch.decode() if epoch else "", int(seq) if seq else 0)


def sink_lag(client: Client, graph: str, group: str) -> int:
    """Events of ``graph`` the sink ``group`` has not applied yet: stream head seq - last applied
    seq (the whole head seq when the group has applied nothing). 0 means caught up."""
    raw: Any = client.hget(sinks_key(graph), group)
    applied = Position()
    if raw is not None:
        record = json.loads(raw)
        applied = Position(str(record["epoch"]), int(record["seq"]))
    return _lag(_head(client, graph), applied)


def sink_status(client: Client, graph: str) -> list[dict[str, Any]]:
    """One dict per sink group of ``graph``: ``group``, ``epoch``, ``seq``, ``lag``, ``consumer``,
    ``target``, ``time`` (unix time of the last applied batch), ``pending`` (entries delivered
    but not yet acknowledged, from ``XINFO GROUPS``; None if the group does not exist)."""
    head = _head(client, graph)
    records: Any = client.hgetall(sinks_key(graph))
    try:
        groups: Any = client.xinfo_groups(GraphKeys(graph).events)
    except redis.ResponseError:  # no stream
        groups = []
    return _status_rows(head, records, groups)


async def sink_status_async(client: AsyncClient, graph: str) -> list[dict[str, Any]]:
    """:func:`sink_status` for asyncio callers (the Jupyter server's status endpoints)."""
    raw: Any = await client.hmget(GraphKeys(graph).meta, ["epoch", "seq"])
    head = _position(raw)
    records: Any = await client.hgetall(sinks_key(graph))
    try:
        groups: Any = await client.xinfo_groups(GraphKeys(graph).events)
    except redis.ResponseError:
        groups = []
    return _status_rows(head, records, groups)


def _status_rows(head: Position, records: Any, groups: Any) -> list[dict[str, Any]]:
    pending: dict[str, int] = {}
    for info in groups:
        name = info["name"]
        pending[name.decode() if isinstance(name, bytes) else str(name)] = int(info["pending"])
    out = []
    for field, raw in sorted(records.items()):
        group = field.decode() if isinstance(field, bytes) else str(field)
        record = json.loads(raw)
        applied = Position(str(record["epoch"]), int(record["seq"]))
        out.append(
            {
                "group": group,
                "epoch": applied.epoch,
                "seq": applied.seq,
                "lag": _lag(head, applied),
                "consumer": record.get("consumer"),
                "target": record.get("target"),
                "time": record.get("time"),
                "pending": pending.get(group),
            }
        )
    return out
