"""Async access to what Redis keeps of a graph: head, snapshot and stream pages.

The asyncio counterpart of :func:`graphlive.bus.snapshot.load_graph` for the server: a snapshot
is read without parsing when it can be forwarded as is (the ``snapshot`` frame splices the stored
JSON), and decompression of large snapshots runs in a worker thread so the event loop keeps
serving other clients.

A large snapshot is sent in parts (:class:`SnapshotParts`): the first a ``snapshot`` frame with
``"more": true``, then ``snapshot_part`` frames, so no single WebSocket message holds the whole
graph and other graphs' frames interleave between parts (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import json
import weakref
import zlib
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio

from graphlive.bus.keys import GRAPHS_SET, GraphKeys, validate_graph_name
from graphlive.bus.reader import AsyncStreamReader, Position, check_contiguous
from graphlive.bus.snapshot import SNAPSHOT_FORMAT
from graphlive.events import ChangeEvent
from graphlive_server.filters import EventFilter
from graphlive_server.protocol import encode_frame
from graphlive_server.replay import ReplayPages

__all__ = ["History", "SnapshotParts", "StoredSnapshot"]

#: Which parts of which snapshot: graph, epoch, seq, max elements and bytes per part.
_PartsKey = tuple[str, str, int, int, int]

#: Compressed snapshots larger than this are decompressed in a worker thread.
THREAD_THRESHOLD = 256 * 1024
#: Fewest bytes a snapshot element takes in the stored JSON (``{}`` and a comma): a snapshot
#: shorter than 3 bytes per element of a part cannot need more than one part.
MIN_ELEMENT_BYTES = 3
_EMPTY_CONTENT = b'{"nodes":[],"edges":[]}'


@dataclass(frozen=True)  # no slots: held in a WeakValueDictionary (weakref_slot needs 3.11)
class StoredSnapshot:
    """A graph's snapshot as stored: ``content`` is the JSON text of ``{"nodes", "edges"}``.

    One object per stored snapshot is shared by the subscriptions sending it
    (:meth:`History.snapshot`), and so are its frames (:meth:`frame` caches one per filter)."""

    graph: str
    position: Position
    content: bytes
    _frames: dict[EventFilter, bytes] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @staticmethod
    def empty(graph: str, position: Position) -> StoredSnapshot:
        return StoredSnapshot(graph, position, _EMPTY_CONTENT)

    def may_need_parts(self, max_elements: int, max_bytes: int) -> bool:
        """False when the snapshot surely fits one frame (told from its size, without parsing):
        at most ``max_bytes`` and too short to hold more than ``max_elements`` elements.
        ``max_elements`` 0 disables parts."""
        if max_elements <= 0:
            return False
        size = len(self.content) - len(_EMPTY_CONTENT)
        return size > MIN_ELEMENT_BYTES * max_elements or len(self.content) > max_bytes

    def parts(self, max_elements: int, max_bytes: int) -> SnapshotParts | None:
        """The snapshot cut into parts of at most ``max_elements`` nodes and edges, and about
        ``max_bytes`` each (judged from the average element size); None if it fits one frame.
        Parses the content: run it in a worker thread for big snapshots."""
        if not self.may_need_parts(max_elements, max_bytes):
            return None
        content = self.parsed()
        nodes = list(content.get("nodes", ()))
        edges = list(content.get("edges", ()))
        total = len(nodes) + len(edges)
        size = max_elements
        if max_bytes > 0 and total:
            size = min(size, max(1, max_bytes * total // max(1, len(self.content))))
        if total <= size:
            return None
        return SnapshotParts(self.graph, self.position, nodes, edges, size)

    def parsed(self) -> dict[str, Any]:
        value = json.loads(self.content)
        if not isinstance(value, dict):
            raise ValueError(f"snapshot of {self.graph!r} is not a JSON object")
        return value

    def frame(self, filters: EventFilter) -> bytes:
        """The ``snapshot`` frame, keeping only the nodes and edges that pass ``filters``
        (built once per filter: every subscription sends the same bytes)."""
        frame = self._frames.get(filters)
        if frame is None:
            frame = self._frames[filters] = self._build_frame(filters)
        return frame

    def _build_frame(self, filters: EventFilter) -> bytes:
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


class SnapshotParts:
    """A parsed snapshot sent as :attr:`count` frames of at most :attr:`size` elements each.

    Elements are the nodes followed by the edges, cut in order: part ``i`` holds elements
    ``i*size .. (i+1)*size - 1``. Filters apply to each part; a part left empty by them is
    still sent (the client counts parts). Part 0 is the ``snapshot`` frame (with ``parts``, the
    count), the others ``snapshot_part`` frames (with ``part``, the index); all but the last
    carry ``"more": true``.

    Each part's frame is encoded once per filter and kept with the parts (every subscription
    sending this snapshot sends the same bytes): while some subscription holds the parts, they
    take their parsed form plus at most one encoded snapshot per filter in use.
    """

    __slots__ = ("__weakref__", "_frames", "count", "edges", "graph", "nodes", "position", "size")

    def __init__(
        self,
        graph: str,
        position: Position,
        nodes: list[dict[str, Any]],
        edges: list[dict[str, Any]],
        size: int,
    ) -> None:
        self.graph = graph
        self.position = position
        self.nodes = nodes
        self.edges = edges
        self.size = max(1, size)
        self.count = max(1, -(-(len(nodes) + len(edges)) // self.size))
        self._frames: dict[tuple[int, EventFilter], bytes] = {}

    def frame(self, index: int, filters: EventFilter) -> bytes:
        """Part ``index`` (0-based) as a frame, keeping what passes ``filters`` (cached)."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        frame = self._frames.get((index, filters))
        if frame is None:
            frame = self._frames[index, filters] = self._build_frame(index, filters)
        return frame

    def _build_frame(self, index: int, filters: EventFilter) -> bytes:
        start, stop = index * self.size, (index + 1) * self.size
        n = len(self.nodes)
        nodes = self.nodes[min(start, n) : min(stop, n)]
        edges = self.edges[max(start - n, 0) : max(stop - n, 0)]
        if not filters.passes_everything:
            nodes = [x for x in nodes if filters.keeps_node(x)]
            edges = [x for x in edges if filters.keeps_edge(x)]
        frame: dict[str, Any] = {
            "op": "snapshot" if index == 0 else "snapshot_part",
            "graph": self.graph,
            "epoch": self.position.epoch,
            "seq": self.position.seq,
        }
        if index == 0:
            frame["parts"] = self.count
        else:
            frame["part"] = index
        frame["more"] = index < self.count - 1
        frame["nodes"] = nodes
        frame["edges"] = edges
        return encode_frame(frame)


class History:
    """Reads of graphs' keys over one shared asyncio client (a connection pool)."""

    def __init__(self, client: redis.asyncio.Redis, *, page: int = 1000) -> None:
        self.client = client
        self.page = page
        # Parsed snapshots being sent, shared by the subscribers that send the same one (a big
        # graph parses into hundreds of MB): kept only while some subscription holds them.
        self._parts: weakref.WeakValueDictionary[_PartsKey, SnapshotParts] = (
            weakref.WeakValueDictionary()
        )
        self._parsing: dict[_PartsKey, asyncio.Future[SnapshotParts | None]] = {}
        #: Catch-up pages shared by the subscriptions replaying them.
        self.replay = ReplayPages(self)
        # The snapshot of each graph while some subscription holds it (and the last one read,
        # held: memory for snapshots is at most that one plus those being sent), reads under way.
        self._last_snapshot: StoredSnapshot | None = None
        self._snapshots: weakref.WeakValueDictionary[str, StoredSnapshot] = (
            weakref.WeakValueDictionary()
        )
        self._snapshot_reads: dict[str, asyncio.Future[StoredSnapshot | None]] = {}
        #: Snapshots read from Redis, and requests answered by one in hand (metrics).
        self.snapshot_reads_total = 0
        self.snapshot_shared_total = 0

    async def snapshot_parts(
        self, snap: StoredSnapshot, max_elements: int, max_bytes: int
    ) -> SnapshotParts | None:
        """``snap.parts(max_elements, max_bytes)``, parsed once for every subscriber that asks
        while one still holds the result (big snapshots parse in a worker thread)."""
        if not snap.may_need_parts(max_elements, max_bytes):
            return None
        key = (snap.graph, snap.position.epoch, snap.position.seq, max_elements, max_bytes)
        parts = self._parts.get(key)
        if parts is not None:
            return parts
        pending = self._parsing.get(key)
        if pending is None:
            if len(snap.content) > THREAD_THRESHOLD:
                pending = asyncio.ensure_future(
                    asyncio.to_thread(snap.parts, max_elements, max_bytes)
                )
            else:
                pending = asyncio.get_running_loop().create_future()
                pending.set_result(snap.parts(max_elements, max_bytes))
            self._parsing[key] = pending
            pending.add_done_callback(lambda _: self._parsing.pop(key, None))
        # Shielded: a subscriber cancelled meanwhile must not cancel the others' parse.
        parts = await asyncio.shield(pending)
        if parts is not None:
            self._parts[key] = parts
        return parts

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

    async def read_stored(
        self, graph: str, after: Position, count: int
    ) -> tuple[list[ChangeEvent], list[bytes]]:
        """:meth:`read`, plus each event as stored: the stream holds exactly the encoding
        frames carry (the publish script splices ``seq`` and ``epoch`` into it), so a replay
        forwards those bytes instead of encoding the events again."""
        reader = AsyncStreamReader(self.client, graph, page=self.page)
        entries, head = await reader.read_entries(after, count)
        events = check_contiguous(graph, after, entries, head)
        return events, [fields[b"e"] for _, fields in entries]

    async def snapshot(self, graph: str) -> StoredSnapshot | None:
        """The stored snapshot, or None. Raises ``ValueError`` for an unknown format.

        Read and decompressed once for all the subscriptions that ask while one still holds
        it: a small ``HMGET`` of its position tells whether the one in hand is current."""
        keys = GraphKeys(graph)
        reply = await self.client.hmget(keys.snapshot, ["seq", "epoch"])
        seq, epoch = (v.encode() if isinstance(v, str) else v for v in reply)
        if seq is None or epoch is None:
            return None
        held = self._snapshots.get(graph)
        if held is not None and held.position == Position(epoch.decode(), int(seq)):
            self.snapshot_shared_total += 1
            return held
        pending = self._snapshot_reads.get(graph)
        if pending is None:
            pending = asyncio.ensure_future(self._read_snapshot(graph))
            self._snapshot_reads[graph] = pending
            pending.add_done_callback(lambda _: self._snapshot_reads.pop(graph, None))
        else:
            self.snapshot_shared_total += 1
        return await asyncio.shield(pending)

    async def _read_snapshot(self, graph: str) -> StoredSnapshot | None:
        self.snapshot_reads_total += 1
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
        snap = StoredSnapshot(graph, Position(epoch.decode(), int(seq)), content)
        self._snapshots[graph] = snap
        self._last_snapshot = snap  # also for the next subscriber that comes a moment later
        return snap

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
