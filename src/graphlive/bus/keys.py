"""Redis key names of a graph.

All keys of graph ``g`` share the hash tag ``{g}`` so they live on one Redis Cluster slot and one
Lua script may touch them all.
"""

from __future__ import annotations

import re

__all__ = ["GRAPHS_SET", "GraphKeys", "validate_graph_name"]

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")

#: Set of graph names that have been published to (for listing; not slot-bound to any graph).
GRAPHS_SET = "graphlive:graphs"


def validate_graph_name(name: str) -> str:
    """Return ``name`` if it is a valid graph name, else raise ``ValueError``.

    Valid names are 1-128 characters of ``A-Z a-z 0-9 _ . -``: safe inside a hash tag, a URL
    path segment and a file name.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid graph name {name!r}: use 1-128 characters of letters, digits, '_', '.', '-'"
        )
    return name


class GraphKeys:
    """The key names of one graph."""

    __slots__ = ("events", "graph", "live", "meta", "requests", "snapshot", "writer")

    def __init__(self, graph: str) -> None:
        self.graph = validate_graph_name(graph)
        base = f"graphlive:{{{graph}}}"
        #: Stream of events; entry id ``<seq>-0``, one field ``e`` holding the encoded event.
        self.events = f"{base}:events"
        #: Hash: ``epoch``, ``seq`` (last assigned), ``snapshot_seq``; the analysing writer adds
        #: ``root`` (a digest of the analysed folder's real path), ``root_name`` and
        #: ``analysis_format`` (docs/events.md, "Writers").
        self.meta = f"{base}:meta"
        #: Hash: ``seq``, ``epoch``, ``format``, ``data`` (zlib-compressed JSON).
        self.snapshot = f"{base}:snapshot"
        #: Pub/Sub channel; each message is a JSON array of the events of one publish batch.
        self.live = f"{base}:live"
        #: String: the token of the process that may publish (the writer lease).
        self.writer = f"{base}:writer"
        #: List: rescan requests handed to a writer that serves them (JSON, oldest first).
        self.requests = f"{base}:writer:requests"

    def reply(self, request_id: str) -> str:
        """List that receives the answer to hand-off request ``request_id``."""
        return f"graphlive:{{{self.graph}}}:writer:reply:{request_id}"
