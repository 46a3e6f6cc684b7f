"""Async access to what Redis keeps of a graph: head, snapshot and stream pages.

The asyncio counterpart of :func:`graphlive.bus.snapshot.load_graph` for the server: a snapshot
is read without parsing (frames splice the stored JSON, :mod:`graphlive_server.snapshots`), and
decompression and checks of large snapshots run in a worker thread (zlib releases the
interpreter lock) so the event loop keeps serving other clients.
"""

from __future__ import annotations

import asyncio
import weakref
import zlib

from graphlive.bus.connection import AsyncClient
from graphlive.bus.keys import GRAPHS_SET, GraphKeys, validate_graph_name
from graphlive.bus.reader import AsyncStreamReader, Position, check_contiguous_stored
from graphlive.bus.snapshot import SNAPSHOT_FORMAT
from graphlive.bus.snapshot_index import SnapshotIndex
from graphlive.events import ChangeEvent
from graphlive_server.replay import ReplayPages
from graphlive_server.snapshots import Parts, StoredSnapshot

__all__ = ["History"]

#: Which parts of which snapshot: graph, epoch, seq, max elements and bytes per part.
_PartsKey = tuple[str, str, int, int, int]

#: Compressed snapshots larger than this are decompressed in a worker thread.
THREAD_THRESHOLD = 256 * 1024
#: Deflate expands at most about 1032-fold.
MAX_DEFLATE_RATIO = 1032


class History:
    """Reads of graphs' keys over one shared asyncio client (a connection pool)."""

    def __init__(self, client: AsyncClient, *, page: int = 1000) -> None:
        self.client = client
        self.page = page
        # Parsed snapshots being sent, shared by the subscribers that send the same one (a big
        # graph parses into hundreds of MB): kept only while some subscription holds them.
        self._parts: weakref.WeakValueDictionary[_PartsKey, Parts] = weakref.WeakValueDictionary()
        self._parsing: dict[_PartsKey, asyncio.Future[Parts | None]] = {}
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
    ) -> Parts | None:
        """``snap.parts(max_elements, max_bytes)``, cut once for every subscriber that asks
        while one still holds the result (a big snapshot without a usable index is parsed in a
        worker thread)."""
        if not snap.may_need_parts(max_elements, max_bytes):
            return None
        key = (snap.graph, snap.position.epoch, snap.position.seq, max_elements, max_bytes)
        parts = self._parts.get(key)
        if parts is not None:
            return parts
        pending = self._parsing.get(key)
        slow = not snap.splices(max_elements, max_bytes)
        if pending is None and not (slow and len(snap.content) > THREAD_THRESHOLD):
            parts = snap.parts(max_elements, max_bytes)  # cheap: no parse, or a small one
        else:
            if pending is None:
                pending = asyncio.ensure_future(
                    asyncio.to_thread(snap.parts, max_elements, max_bytes)
                )
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
    ) -> tuple[list[bytes], list[str]]:
        """Up to ``count`` events after ``after`` as stored, with their epochs, checked like
        :meth:`read` but not decoded (:func:`~graphlive.bus.reader.check_contiguous_stored`):
        the stream holds exactly the encoding frames carry (the publish script splices ``seq``
        and ``epoch`` into it), so a replay forwards those bytes."""
        reader = AsyncStreamReader(self.client, graph, page=self.page)
        entries, head = await reader.read_entries(after, count)
        return check_contiguous_stored(graph, after, entries, head)

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
        fields = ["seq", "epoch", "format", "data", "index"]
        reply = await self.client.hmget(keys.snapshot, fields)
        seq, epoch, fmt, data, raw_index = (v.encode() if isinstance(v, str) else v for v in reply)
        if seq is None or data is None or epoch is None:
            return None
        if int(fmt or 0) != SNAPSHOT_FORMAT:
            raise ValueError(f"snapshot of {graph!r} has unsupported format {fmt!r}")
        if len(data) > THREAD_THRESHOLD:
            content, index = await asyncio.to_thread(_unpack, data, raw_index)
        else:
            content, index = _unpack(data, raw_index)
        snap = StoredSnapshot(graph, Position(epoch.decode(), int(seq)), content, index)
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


def _unpack(data: bytes, raw_index: bytes | None) -> tuple[bytes, SnapshotIndex | None]:
    """Decompress a stored snapshot; its index, if it has one that describes the content (one
    that does not, say left by a writer that predates indexes, is ignored: parts then parse)."""
    try:
        index = None if raw_index is None else SnapshotIndex.from_json(raw_index)
    except ValueError:
        index = None
    # Sized by the index, the output buffer is allocated once instead of grown by copies (the
    # peak was twice the text). No more than deflate's best ratio allows: the index is not
    # checked yet.
    bufsize = min(index.length, MAX_DEFLATE_RATIO * len(data)) if index else zlib.DEF_BUF_SIZE
    content = zlib.decompress(data, bufsize=max(bufsize, 1))
    return content, (index if index is not None and index.check(content) else None)
