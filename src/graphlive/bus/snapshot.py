"""Snapshots: a compact copy of a graph tagged with the ``seq`` it covers.

A snapshot plus every stream event after its ``seq`` rebuilds the graph exactly. The publisher
never trims events newer than the snapshot, so :func:`load_graph` always finds the tail it needs
(if a newer snapshot lets older events go between the two reads, it simply starts over).

Format 1: zlib-compressed UTF-8 JSON ``{"nodes": [...], "edges": [...]}`` as produced by
:meth:`graphlive.graph.CodeGraph.to_dict`, stored with its
:class:`~graphlive.bus.snapshot_index.SnapshotIndex` (field ``index``) so that a server cuts it
into parts without parsing it.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from graphlive.bus.connection import Client
from graphlive.bus.keys import GraphKeys
from graphlive.bus.reader import Position, ResyncRequired, StreamReader
from graphlive.bus.scripts import WRITE_SNAPSHOT
from graphlive.bus.snapshot_index import SnapshotIndex, encode_indexed
from graphlive.graph import CodeGraph

__all__ = [
    "SNAPSHOT_FORMAT",
    "Snapshot",
    "SnapshotRejected",
    "load_graph",
    "read_snapshot",
    "write_snapshot",
]

SNAPSHOT_FORMAT = 1


class SnapshotRejected(RuntimeError):
    """The snapshot does not belong to the graph's current history (see message)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    graph: str
    position: Position
    content: dict[str, Any]

    def to_graph(self) -> CodeGraph:
        g = CodeGraph(self.graph)
        g.load_dict(self.content)
        return g


def encode_content(graph: CodeGraph) -> tuple[bytes, SnapshotIndex]:
    """The compressed content of ``graph``'s snapshot and the index of the uncompressed text."""
    text, index = encode_indexed(graph.to_dict())
    return zlib.compress(text, 6), index


def write_snapshot(client: Client, graph: CodeGraph, at: Position) -> None:
    """Store ``graph`` as the snapshot of its stream at position ``at``.

    ``graph`` must hold exactly the effect of the events up to ``at.seq``. Raises
    :class:`SnapshotRejected` if ``at`` is not in the current epoch, is beyond the stream head, or
    is older than the stored snapshot.
    """
    keys = GraphKeys(graph.name)
    script = client.register_script(WRITE_SNAPSHOT)
    data, index = encode_content(graph)
    ok, reason = script(
        keys=[keys.meta, keys.snapshot],
        args=[at.seq, at.epoch, SNAPSHOT_FORMAT, data, index.to_json()],
    )
    if not int(ok):
        text = reason.decode() if isinstance(reason, bytes) else str(reason)
        raise SnapshotRejected(f"snapshot of {graph.name!r} at seq {at.seq} rejected: {text}")


def read_snapshot(client: Client, graph: str) -> Snapshot | None:
    """The stored snapshot, or ``None`` if the graph has none."""
    keys = GraphKeys(graph)
    raw: Any = client.hmget(keys.snapshot, ["seq", "epoch", "format", "data"])
    seq, epoch, fmt, data = raw
    if seq is None or data is None:
        return None
    if int(fmt or 0) != SNAPSHOT_FORMAT:
        raise ValueError(f"snapshot of {graph!r} has unsupported format {fmt!r}")
    content = json.loads(zlib.decompress(data))
    return Snapshot(graph=graph, position=Position(epoch.decode(), int(seq)), content=content)


def load_graph(client: Client, graph: str, *, attempts: int = 5) -> tuple[CodeGraph, Position]:
    """Rebuild ``graph`` from its snapshot (if any) plus every later event in the stream.

    Returns the graph and the position it reflects. Retries when the snapshot moves on between
    reading it and reading the tail; raises :class:`ResyncRequired` after ``attempts`` failures.
    """
    reader = StreamReader(client, graph)
    last_error: ResyncRequired | None = None
    for _ in range(attempts):
        snap = read_snapshot(client, graph)
        if snap is not None:
            g, pos = snap.to_graph(), snap.position
        else:
            g, pos = CodeGraph(graph), Position()
        try:
            for page in reader.replay(pos):
                g.apply_all(page)
                pos = Position(page[-1].epoch, page[-1].seq)
        except ResyncRequired as exc:
            last_error = exc
            continue
        if not pos.epoch:
            pos = Position(reader.head().epoch, pos.seq)
        return g, pos
    assert last_error is not None
    raise last_error
