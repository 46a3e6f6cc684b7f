"""Graph listing and summaries for the REST API.

Counts need the graph itself, so the catalog keeps a materialised :class:`CodeGraph` per graph it
was asked about and brings it up to date on each request by applying the Stream's events after
its position (snapshot + tail on first use, after a resync, or when the epoch changed). A request
therefore costs one round trip plus whatever changed since the last one.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphlive.bus.keys import GraphKeys
from graphlive.bus.reader import Position, ResyncRequired
from graphlive.graph import CodeGraph
from graphlive.sinks.lag import sink_status_async
from graphlive_server.history import History

__all__ = ["GraphCatalog", "UnknownGraph"]

#: Graphs kept materialised at most (least recently used ones are dropped).
MAX_CACHED_GRAPHS = 32


class UnknownGraph(LookupError):
    """No graph of that name exists in Redis."""


@dataclass
class _Cached:
    graph: CodeGraph
    position: Position
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class GraphCatalog:
    """Answers "which graphs exist" and "what is in this one"."""

    def __init__(self, history: History, *, attempts: int = 5) -> None:
        self.history = history
        self.attempts = attempts
        self._cache: dict[str, _Cached] = {}

    async def list(self) -> list[dict[str, Any]]:
        """Every graph with its head and node/edge counts, by name."""
        out = []
        for name in await self.history.graph_names():
            try:
                graph, pos = await self.materialise(name)
            except UnknownGraph:
                continue  # deleted between the listing and now
            out.append(
                {
                    "name": name,
                    "epoch": pos.epoch,
                    "head": pos.seq,
                    "nodes": graph.node_count,
                    "edges": graph.edge_count,
                }
            )
        return out

    async def summary(self, name: str) -> dict[str, Any]:
        """Counts by kind, files, positions and stream size of one graph; raises UnknownGraph."""
        graph, pos = await self.materialise(name)
        keys = GraphKeys(name)
        async with self.history.client.pipeline(transaction=False) as pipe:
            pipe.hget(keys.meta, "snapshot_seq")
            pipe.xlen(keys.events)
            pipe.xrevrange(keys.events, count=1)
            snapshot_seq, length, last = await pipe.execute()
        last_time = None
        if last:
            try:
                last_time = json.loads(last[0][1][b"e"]).get("time")
            except (ValueError, KeyError, AttributeError):
                last_time = None
        return {
            "name": name,
            "epoch": pos.epoch,
            "head": pos.seq,
            "snapshot_seq": int(snapshot_seq or 0),
            "stream_length": int(length),
            "last_event_time": last_time,
            "nodes": graph.node_count,
            "edges": graph.edge_count,
            "files": len(graph.files()),
            "node_kinds": dict(sorted(Counter(n.kind.value for n in graph.nodes()).items())),
            "edge_kinds": dict(sorted(Counter(e.kind.value for e in graph.edges()).items())),
            # Graph-database sinks following this graph, each with its lag behind the head.
            "sinks": await sink_status_async(self.history.client, name),
        }

    async def materialise(self, name: str) -> tuple[CodeGraph, Position]:
        """The graph as of its current head. Raises :class:`UnknownGraph`."""
        cached = self._cache.pop(name, None)
        if cached is None:
            cached = _Cached(CodeGraph(name), Position())
        self._cache[name] = cached  # most recently used last
        while len(self._cache) > MAX_CACHED_GRAPHS:
            del self._cache[next(iter(self._cache))]
        async with cached.lock:
            for _ in range(self.attempts):
                if not cached.position.epoch:
                    head = await self.history.head(name)
                    if not head.epoch:
                        self._cache.pop(name, None)
                        raise UnknownGraph(name)
                    if not await self._load_snapshot(name, cached):
                        continue
                try:
                    await self._catch_up(name, cached)
                except ResyncRequired:
                    cached.position = Position()  # reload from the snapshot
                    continue
                except (KeyError, ValueError):
                    cached.position = Position()  # inconsistent tail: start over
                    continue
                return cached.graph, cached.position
        raise ResyncRequired(name, "trimmed", "history kept moving while loading", Position())

    async def _load_snapshot(self, name: str, cached: _Cached) -> bool:
        snap = await self.history.snapshot(name)
        graph = CodeGraph(name)
        if snap is None:
            head = await self.history.head(name)
            cached.graph, cached.position = graph, Position(head.epoch, 0)
            return True
        content = await asyncio.to_thread(snap.parsed)
        await asyncio.to_thread(graph.load_dict, content)
        cached.graph, cached.position = graph, snap.position
        return True

    async def _catch_up(self, name: str, cached: _Cached) -> None:
        while True:
            page = await self.history.read(name, cached.position)
            if not page:
                head = await self.history.head(name)
                if not head.epoch:  # the graph's keys are gone (deleted, or Redis lost them)
                    self._cache.pop(name, None)
                    raise UnknownGraph(name)
                return
            cached.graph.apply_all(page)
            cached.position = Position(page[-1].epoch, page[-1].seq)
