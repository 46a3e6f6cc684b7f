"""The event bus: graph events on Redis Streams (persistent) and Pub/Sub (fast path).

See :mod:`graphlive.bus.publisher`, :mod:`graphlive.bus.reader`, :mod:`graphlive.bus.snapshot`
for the guarantees, and :class:`graphlive.bus.bus.Bus` for the facade most code uses.
"""

from graphlive.bus.bus import RESYNC_SOURCE, Bus
from graphlive.bus.handlers import HandlerRegistry
from graphlive.bus.keys import GraphKeys, validate_graph_name
from graphlive.bus.publisher import Publisher, PublishResult
from graphlive.bus.reader import AsyncStreamReader, Position, ResyncRequired, StreamReader
from graphlive.bus.snapshot import Snapshot, load_graph, read_snapshot, write_snapshot

__all__ = [
    "RESYNC_SOURCE",
    "AsyncStreamReader",
    "Bus",
    "GraphKeys",
    "HandlerRegistry",
    "Position",
    "PublishResult",
    "Publisher",
    "ResyncRequired",
    "Snapshot",
    "StreamReader",
    "load_graph",
    "read_snapshot",
    "validate_graph_name",
    "write_snapshot",
]
