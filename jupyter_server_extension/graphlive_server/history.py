"""Async access to what Redis keeps of a graph: head, snapshot and stream pages.

The asyncio counterpart of :func:`graphlive.bus.snapshot.load_graph` for the server: a snapshot
is read without parsing when it can be forwarded as is (the ``snapshot`` frame splices the stored
JSON), and decompression of large snapshots runs in a worker thread so the event loop keeps
serving other clients.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import dataclass
from typing import Any

import redis.asyncio

from graphlive.bus.keys import GRAPHS_SET, GraphKeys, validate_graph_name
from graphlive.bus.reader import AsyncStreamReader, Position
from graphlive.bus.snapshot import SNAPSHOT_FORMAT
from graphlive.events import ChangeEvent
from graphlive_server.filters import EventFilter
from graphlive_server.protocol import encode_frame

__all__ = ["History", "StoredSnapshot"]

#: Compressed snapshots larger than this are decompressed in a worker thread.
THREAD_THRESHOLD = 256 * 1024


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A graph's snapshot as stored: ``content`` is the JSON text of ``{"nodes", "edges"}``."""

    graph: str
    position: Position
    content: bytes

    @staticmethod
    def empty(graph: str, position: Position) -> StoredSnapshot:
        return StoredSnapshot(graph, position, b'{"nodes":[],"edges":[]}')

    def parsed(self) -> dict[str, Any]:
        value = json.loads(self.content)
        if not isinstance(value, dict):
            raise ValueError(f"snapshot of {self.graph!r} is not a JSON object")
        return value

    def frame(self, filters: EventFilter) -> bytes:
        """The ``snapshot`` frame, keeping only the nodes and edges that pass ``filters``."""
        head = {
            "op": "snapshot",
            "graph": self.graph,
            "epoch": self.position.epoch,
            "seq": self.position.seq,
        }
        if filters.passes_everything and self.content.startswith(b'{"nodes":['):
            # Splice the stored JSON in: no parse, no re-encode.
            return encode_frame(head)[:-1] + b"," + self.content[1:]
        content = self.parsed()
        nodes = [n for n in content.get("nodes", ()) if filters.keeps_node(n)]
        edges = [e for e in content.get("edges", ()) if filters.keeps_edge(e)]
        return encode_frame({**head, "nodes": nodes, "edges": edges})


class History:
    """Reads of graphs' keys over one shared asyncio client (a connection pool)."""

    def __init__(self, client: redis.asyncio.Redis, *, page: int = 1000) -> None:
        self.client = client
        self.page = page

    async def head(self, graph: str) -> Position:
        """``(epoch, last seq)``; epoch ``""`` when the graph does not exist."""
        return await AsyncStreamReader(self.client, graph).head()

    async def heads(self, graphs: list[str]) -> dict[str, Position]:
        """Heads of several graphs in one round trip."""
        if not graphs:
            return {}
        async with self.client.pipeline(transaction=False) as pipe:
            for g in graphs:
                pipe.hmget(GraphKeys(g).meta, ["epoch", "seq"])
            replies = await pipe.execute()
        out: dict[str, Position] = {}
        for g, (epoch, seq) in zip(graphs, replies, strict=True):
            out[g] = Position(epoch.decode() if epoch else "", int(seq) if seq else 0)
        return out

    async def read(
        self, graph: str, after: Position, count: int | None = None
    ) -> list[ChangeEvent]:
        """Up to ``count`` (default: a page) events after ``after``; raises ``ResyncRequired``."""
        return await AsyncStreamReader(self.client, graph, page=self.page).read(after, count)

    async def snapshot(self, graph: str) -> StoredSnapshot | None:
        """The stored snapshot, or None. Raises ``ValueError`` for an unknown format."""
        keys = GraphKeys(graph)
        reply = await self.client.hmget(keys.snapshot, ["seq", "epoch", "format", "data"])
        seq, epoch, fmt, data = (v.encode() if isinstance(v, str) else v for v in reply)
        if seq is None or data is None or epoch is None:
            return None
        if int(fmt or 0) != SNAPSHOT_FORMAT:
            raise ValueError(f"snapshot of {graph!r} has unsupported format {fmt!r}")
        if len(data) > THREAD_THRESHOLD:
            content = await asyncio.to_thread(zlib.decompress, data)
        else:
            content = zlib.decompress(data)
        return StoredSnapshot(graph, Position(epoch.decode(), int(seq)), content)

    async def graph_names(self) -> list[str]:
        """Names of the graphs that exist (registered and with a sequence), sorted."""
        names: list[str] = []
        for raw in await self.client.smembers(GRAPHS_SET):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            try:
                names.append(validate_graph_name(name))
            except ValueError:
                continue  # not written by graphlive's publisher: not a graph we can serve
        names.sort()
        heads = await self.heads(names)
        return [n for n in names if heads[n].epoch]
