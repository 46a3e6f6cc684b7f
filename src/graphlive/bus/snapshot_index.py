"""Where a stored snapshot's elements start, so a server can cut it into parts without parsing.

A snapshot's content is the JSON text ``{"nodes":[…],"edges":[…]}`` (format 1). Written by
:func:`encode_indexed`, the same bytes come with a :class:`SnapshotIndex`: the byte offset of
every ``step``-th element of the sequence "nodes, then edges", plus where each array ends. A
server sending a big snapshot in parts then slices the stored text at those offsets and splices
the slices into frames: no ``json.loads`` of tens of megabytes holding the interpreter lock,
no parsed copy hundreds of megabytes large, no re-encoding (docs/events.md, "Snapshots").

The index is advisory: readers that ignore it still parse the content, and one that does not
describe the content it is read with (another writer's snapshot, a truncated value) is caught by
:meth:`SnapshotIndex.check` (length, CRC-32 and the bytes at every offset) and ignored.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_OFFSETS", "SnapshotIndex", "encode_indexed"]

#: Most offsets an index holds: ``step`` grows with the snapshot so the index stays a few KB.
MAX_OFFSETS = 1024
_NODES_OPEN = b'{"nodes":['
_EDGES_OPEN = b'],"edges":['
_CLOSE = b"]}"
_OPEN_BRACE = ord("{")
_BEFORE_ELEMENT = (ord("["), ord(","))


@dataclass(frozen=True, slots=True)
class SnapshotIndex:
    """Offsets into a snapshot's JSON text.

    ``offsets[k]`` is where element ``k * step`` starts (the ``{`` of a node or an edge; element
    ``i`` is node ``i`` for ``i < nodes``, else edge ``i - nodes``). ``nodes_end`` is the offset
    of the ``]`` closing the nodes, ``edges_begin`` where the edges' text starts.
    """

    step: int
    nodes: int
    edges: int
    length: int
    crc: int
    nodes_end: int
    edges_begin: int
    offsets: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.nodes + self.edges

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "step": self.step,
                "nodes": self.nodes,
                "edges": self.edges,
                "length": self.length,
                "crc": self.crc,
                "nodes_end": self.nodes_end,
                "edges_begin": self.edges_begin,
                "offsets": list(self.offsets),
            },
            separators=(",", ":"),
        ).encode()

    @staticmethod
    def from_json(raw: bytes | str) -> SnapshotIndex:
        """Parse a stored index; raises ``ValueError`` if it is not one."""
        try:
            d = json.loads(raw)
            index = SnapshotIndex(
                step=int(d["step"]),
                nodes=int(d["nodes"]),
                edges=int(d["edges"]),
                length=int(d["length"]),
                crc=int(d["crc"]),
                nodes_end=int(d["nodes_end"]),
                edges_begin=int(d["edges_begin"]),
                offsets=tuple(int(o) for o in d["offsets"]),
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"not a snapshot index: {exc}") from exc
        if index.step < 1 or index.nodes < 0 or index.edges < 0:
            raise ValueError("not a snapshot index: negative counts or step")
        if len(index.offsets) != -(-index.total // index.step):
            raise ValueError("not a snapshot index: wrong number of offsets")
        return index

    def check(self, content: bytes) -> bool:
        """True if this index describes ``content``: same length and CRC-32, the frame of the
        two arrays where it says, and an element starting at every offset, in order. Runs a
        CRC over the whole content (zlib releases the interpreter lock for it)."""
        n = len(content)
        if n != self.length or zlib.crc32(content) != self.crc:
            return False
        if not content.startswith(_NODES_OPEN) or not content.endswith(_CLOSE):
            return False
        if content[self.nodes_end : self.edges_begin] != _EDGES_OPEN:
            return False
        previous = 0
        for o in self.offsets:
            if not previous < o < n or content[o] != _OPEN_BRACE:
                return False
            if content[o - 1] not in _BEFORE_ELEMENT:
                return False
            previous = o
        return True

    def spans(self, start: int, stop: int) -> tuple[slice, slice]:
        """The text of elements ``start .. stop - 1`` as two slices of the content: the nodes'
        part and the edges' part (each a comma-separated list without brackets, maybe empty).
        ``start`` must be a multiple of :attr:`step`, ``stop`` too or the total."""
        total, nodes = self.total, self.nodes
        if not 0 <= start <= stop <= total:
            raise ValueError(f"elements {start}..{stop} are not within 0..{total}")
        if start == stop:
            return slice(0, 0), slice(0, 0)
        if start % self.step:
            raise ValueError(f"elements {start}..{stop} do not start at an indexed element")
        if stop % self.step and stop != total:
            raise ValueError(f"elements {start}..{stop} do not end at an indexed element")

        def end_before(i: int, array_end: int) -> int:
            # Where the element before ``i`` ends: the comma before ``i``, or the array's end.
            return self.offsets[i // self.step] - 1 if i < total else array_end

        if start < nodes:
            n_from = self.offsets[start // self.step]
            n_to = end_before(stop, self.nodes_end) if stop < nodes else self.nodes_end
        else:
            n_from = n_to = 0
        if stop > nodes:
            e_from = self.offsets[start // self.step] if start >= nodes else self.edges_begin
            e_to = end_before(stop, self.length - len(_CLOSE))
        else:
            e_from = e_to = 0
        return slice(n_from, n_to), slice(e_from, e_to)


def encode_indexed(
    content: Mapping[str, Sequence[Any]], *, max_offsets: int = MAX_OFFSETS
) -> tuple[bytes, SnapshotIndex]:
    """``content`` (``{"nodes": [...], "edges": [...]}``) as compact JSON, with its index.

    The bytes equal ``json.dumps(content, ensure_ascii=False, separators=(",", ":"))`` for a
    mapping of exactly those two keys: each run of ``step`` elements is encoded as a list and
    spliced without its brackets, so the index costs one ``dumps`` call per offset."""
    nodes, edges = list(content.get("nodes", ())), list(content.get("edges", ()))
    total = len(nodes) + len(edges)
    step = max(1, -(-total // max(1, max_offsets)))
    out = bytearray(_NODES_OPEN)
    offsets: list[int] = []

    def add(items: list[Any], first: int) -> None:
        # ``first``: the sequence index of items[0]. Runs end at multiples of ``step``.
        i = 0
        while i < len(items):
            stop = min(len(items), ((first + i) // step + 1) * step - first)
            if i:
                out.extend(b",")
            if (first + i) % step == 0:
                offsets.append(len(out))
            text = json.dumps(items[i:stop], ensure_ascii=False, separators=(",", ":"))
            out.extend(text[1:-1].encode())
            i = stop

    add(nodes, 0)
    nodes_end = len(out)
    out.extend(_EDGES_OPEN)
    edges_begin = len(out)
    add(edges, len(nodes))
    out.extend(_CLOSE)
    data = bytes(out)
    index = SnapshotIndex(
        step=step,
        nodes=len(nodes),
        edges=len(edges),
        length=len(data),
        crc=zlib.crc32(data),
        nodes_end=nodes_end,
        edges_begin=edges_begin,
        offsets=tuple(offsets),
    )
    return data, index
