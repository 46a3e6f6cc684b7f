"""A graph's stored snapshot as the server sends it: one frame, or parts.

A large snapshot is sent in parts: the first a ``snapshot`` frame with ``"more": true``, then
``snapshot_part`` frames, so no single WebSocket message holds the whole graph and other graphs'
frames interleave between parts (docs/protocol.md).

Two ways to cut parts, both giving the same frames:

- :class:`SplicedParts` when the snapshot was stored with its
  :class:`~graphlive.bus.snapshot_index.SnapshotIndex`: each part's text is sliced out of the
  stored JSON and spliced into its frame. Nothing is parsed unless a filter must look at the
  elements (and then only one part at a time), so the event loop and the interpreter lock stay
  free for other graphs while a 250k-element snapshot goes out.
- :class:`SnapshotParts` otherwise (a snapshot written without an index, or parts smaller than
  the index's step): the content is parsed once and each part encoded from the parsed lists.

Memory per snapshot being sent: its decompressed text (shared by every subscription sending it)
plus the frames built so far, at most one copy of the snapshot per filter in use, kept while a
subscription holds the parts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from graphlive.bus.reader import Position
from graphlive.bus.snapshot_index import SnapshotIndex
from graphlive.wire import (
    EventFilter,
    encode_frame,
    snapshot_frame,
    snapshot_frame_bytes,
    snapshot_head,
)

__all__ = ["Parts", "SnapshotParts", "SplicedParts", "StoredSnapshot"]

#: Fewest bytes a snapshot element takes in the stored JSON (``{}`` and a comma): a snapshot
#: shorter than 3 bytes per element of a part cannot need more than one part.
MIN_ELEMENT_BYTES = 3
_EMPTY_CONTENT = b'{"nodes":[],"edges":[]}'


@dataclass(frozen=True)  # no slots: held in a WeakValueDictionary (weakref_slot needs 3.11)
class StoredSnapshot:
    """A graph's snapshot as stored: ``content`` is the JSON text of ``{"nodes", "edges"}``,
    ``index`` its checked index if it was stored with one.

    One object per stored snapshot is shared by the subscriptions sending it
    (:meth:`~graphlive_server.history.History.snapshot`), and so are its frames
    (:meth:`frame` caches one per filter)."""

    graph: str
    position: Position
    content: bytes
    index: SnapshotIndex | None = None
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
        if self.index is not None:
            return self.index.total > max_elements or len(self.content) > max_bytes
        size = len(self.content) - len(_EMPTY_CONTENT)
        return size > MIN_ELEMENT_BYTES * max_elements or len(self.content) > max_bytes

    def part_size(self, total: int, max_elements: int, max_bytes: int) -> int:
        """Elements per part: ``max_elements``, fewer if elements are big enough for a part to
        exceed about ``max_bytes`` (judged from the average element size)."""
        size = max_elements
        if max_bytes > 0 and total:
            size = min(size, max(1, max_bytes * total // max(1, len(self.content))))
        return size

    def splices(self, max_elements: int, max_bytes: int) -> bool:
        """Whether :meth:`parts` cuts by the index, without parsing: there is one, and parts
        of these limits hold at least its step of elements."""
        index = self.index
        if index is None:
            return False
        return self.part_size(index.total, max_elements, max_bytes) >= index.step

    def parts(self, max_elements: int, max_bytes: int) -> Parts | None:
        """The snapshot cut into parts of at most ``max_elements`` nodes and edges, and about
        ``max_bytes`` each; None if it fits one frame. Without a usable index this parses the
        content: run it in a worker thread for big snapshots."""
        if not self.may_need_parts(max_elements, max_bytes):
            return None
        index = self.index
        if index is not None and self.splices(max_elements, max_bytes):
            size = self.part_size(index.total, max_elements, max_bytes)
            if index.total <= size:
                return None
            return SplicedParts(self, index, size - size % index.step)
        content = self.parsed()
        nodes = list(content.get("nodes", ()))
        edges = list(content.get("edges", ()))
        total = len(nodes) + len(edges)
        size = self.part_size(total, max_elements, max_bytes)
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
        if filters.passes_everything:
            # Splice the stored JSON in: no parse, no re-encode.
            spliced = snapshot_frame_bytes(self.graph, self.position, self.content)
            if spliced is not None:
                return spliced
        content = self.parsed()
        nodes = [n for n in content.get("nodes", ()) if filters.keeps_node(n)]
        edges = [e for e in content.get("edges", ()) if filters.keeps_edge(e)]
        return encode_frame(snapshot_frame(self.graph, self.position, nodes, edges))


class Parts:
    """A snapshot cut into :attr:`count` frames of at most :attr:`size` elements each.

    Elements are the nodes followed by the edges, cut in order: part ``i`` holds elements
    ``i*size .. (i+1)*size - 1``. Filters apply to each part; a part left empty by them is
    still sent (the client counts parts). Part 0 is the ``snapshot`` frame (with ``parts``, the
    count), the others ``snapshot_part`` frames (with ``part``, the index); all but the last
    carry ``"more": true``. Each frame is built once per filter (every subscription sending
    these parts sends the same bytes). Subclasses say how a part is built."""

    __slots__ = ("__weakref__", "_frames", "count", "graph", "position", "size")

    def __init__(self, graph: str, position: Position, total: int, size: int) -> None:
        self.graph = graph
        self.position = position
        self.size = max(1, size)
        self.count = max(1, -(-total // self.size))
        self._frames: dict[tuple[int, EventFilter], bytes] = {}

    def frame(self, index: int, filters: EventFilter) -> bytes:
        """Part ``index`` (0-based) as a frame, keeping what passes ``filters`` (cached)."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        frame = self._frames.get((index, filters))
        if frame is None:
            frame = self._frames[index, filters] = self._build_frame(index, filters)
        return frame

    def parses(self, filters: EventFilter) -> bool:
        """Whether building a frame for ``filters`` parses JSON (then, for a big snapshot, the
        caller builds it in a worker thread)."""
        raise NotImplementedError

    def _build_frame(self, index: int, filters: EventFilter) -> bytes:
        raise NotImplementedError

    def _head(self, index: int) -> dict[str, Any]:
        return snapshot_head(self.graph, self.position, part=index, parts=self.count)


class SnapshotParts(Parts):
    """:class:`Parts` of a parsed snapshot: while some subscription holds them, they take the
    parsed form plus at most one encoded snapshot per filter in use."""

    __slots__ = ("edges", "nodes")

    def __init__(
        self,
        graph: str,
        position: Position,
        nodes: list[dict[str, Any]],
        edges: list[dict[str, Any]],
        size: int,
    ) -> None:
        super().__init__(graph, position, len(nodes) + len(edges), size)
        self.nodes = nodes
        self.edges = edges

    def parses(self, filters: EventFilter) -> bool:
        return True  # encodes from parsed lists, which costs about as much as parsing

    def _build_frame(self, index: int, filters: EventFilter) -> bytes:
        start, stop = index * self.size, (index + 1) * self.size
        n = len(self.nodes)
        nodes = self.nodes[min(start, n) : min(stop, n)]
        edges = self.edges[max(start - n, 0) : max(stop - n, 0)]
        if not filters.passes_everything:
            nodes = [x for x in nodes if filters.keeps_node(x)]
            edges = [x for x in edges if filters.keeps_edge(x)]
        return encode_frame({**self._head(index), "nodes": nodes, "edges": edges})


class SplicedParts(Parts):
    """:class:`Parts` sliced out of a snapshot's stored text at its index's offsets (``size``
    is a multiple of the index's step). Unfiltered frames are the stored bytes between a frame
    head and tail; a filter parses only the part it builds."""

    __slots__ = ("index", "snap")

    def __init__(self, snap: StoredSnapshot, index: SnapshotIndex, size: int) -> None:
        if size < index.step or size % index.step:
            raise ValueError(f"part size {size} is not a multiple of the index step {index.step}")
        super().__init__(snap.graph, snap.position, index.total, size)
        self.snap = snap
        self.index = index

    def parses(self, filters: EventFilter) -> bool:
        return not filters.passes_everything

    def _build_frame(self, index: int, filters: EventFilter) -> bytes:
        stop = min((index + 1) * self.size, self.index.total)
        nodes, edges = self.index.spans(index * self.size, stop)
        content = memoryview(self.snap.content)
        head = self._head(index)
        if filters.passes_everything:
            return b"".join(
                (
                    encode_frame(head)[:-1],
                    b',"nodes":[',
                    content[nodes],
                    b'],"edges":[',
                    content[edges],
                    b"]}",
                )
            )
        kept_nodes = [n for n in _elements(content[nodes]) if filters.keeps_node(n)]
        kept_edges = [e for e in _elements(content[edges]) if filters.keeps_edge(e)]
        return encode_frame({**head, "nodes": kept_nodes, "edges": kept_edges})


def _elements(text: memoryview) -> list[dict[str, Any]]:
    """The elements of a comma-separated run of JSON objects (an index span)."""
    if not len(text):
        return []
    value = json.loads(b"".join((b"[", text, b"]")))
    assert isinstance(value, list)
    return value
