"""What waits to be sent on one connection: a queue bounded in bytes, drained as whole frames.

Events travel as :class:`EventChunk` objects: a contiguous range ``first..last`` of one graph's
sequence (one epoch) plus the events of that range that passed one filter, each encoded at most
once. A chunk is shared by every connection with the same filter, so a live batch is encoded
once however many clients follow the graph.

The writer of a connection calls :meth:`Outbox.take_frames` at each wake-up and gets everything
queued as frames: consecutive chunks of one graph merge into one ``events`` frame (up to
``max_frame_events``), control frames keep their place relative to the events of their graph.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from graphlive.events import ChangeEvent, encode
from graphlive.wire import events_frame_bytes

__all__ = ["ControlFrame", "EventChunk", "OutFrame", "Outbox"]

#: Bytes counted for a queued item on top of its payload (frame header, bookkeeping).
ITEM_OVERHEAD = 64
#: Events of each chunk that feed the latency histogram (evenly spaced, weighted to stand for
#: all). One: the chunk's oldest event, whose latency bounds the others'; the histogram is then
#: fed once per chunk and connection, not once per event (it was a sixth of the live path's
#: time at 100 clients, bench_fanout).
LATENCY_SAMPLES = 1


class EventChunk:
    """A contiguous, single-epoch range of a graph's events after filtering. Immutable.

    ``body`` may be supplied when the caller already holds the events encoded and joined by
    commas (the Pub/Sub payload without its brackets); otherwise it is encoded on first use.
    """

    __slots__ = (
        "_body",
        "_encoded",
        "_frame",
        "epoch",
        "events",
        "first",
        "graph",
        "last",
        "recovered",
    )

    def __init__(
        self,
        graph: str,
        epoch: str,
        first: int,
        last: int,
        events: Sequence[ChangeEvent],
        *,
        recovered: bool = False,
        body: bytes | None = None,
    ) -> None:
        if last < first:
            raise ValueError(f"empty range {first}..{last}")
        self.graph = graph
        self.epoch = epoch
        self.first = first
        self.last = last
        self.events = events
        self.recovered = recovered
        self._body = body
        self._encoded: list[bytes] | None = None
        self._frame: bytes | None = None

    def encoded(self) -> list[bytes]:
        """Each event encoded (cached)."""
        if self._encoded is None:
            self._encoded = [encode(e) for e in self.events]
        return self._encoded

    @property
    def body(self) -> bytes:
        """The encoded events joined by commas (cached)."""
        if self._body is None:
            self._body = b",".join(self.encoded())
        return self._body

    @property
    def size(self) -> int:
        return len(self.body) + ITEM_OVERHEAD

    def frame(self) -> bytes:
        """The ``events`` frame of exactly this chunk (cached: connections that send this chunk
        alone — the common case when they keep up — share the same bytes)."""
        if self._frame is None:
            self._frame = events_frame_bytes(
                self.graph, self.epoch, self.first, self.last, self.recovered, [self.body]
            )
        return self._frame

    def __repr__(self) -> str:
        return f"<EventChunk {self.graph} {self.first}..{self.last} n={len(self.events)}>"


@dataclass(frozen=True, slots=True)
class ControlFrame:
    """A non-event frame; ``graph`` orders it relative to that graph's events (None: global)."""

    data: bytes
    graph: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) + ITEM_OVERHEAD


@dataclass(slots=True)
class OutFrame:
    """One WebSocket message ready to send, and what it accounts for."""

    data: bytes
    cost: int
    events: int = 0
    times: list[tuple[float, float]] = field(default_factory=list)


class _EventsFrameBuilder:
    __slots__ = (
        "cost",
        "count",
        "epoch",
        "first",
        "graph",
        "last",
        "parts",
        "recovered",
        "samples",
        "whole",
    )

    def __init__(self, chunk: EventChunk) -> None:
        self.graph = chunk.graph
        self.epoch = chunk.epoch
        self.first = chunk.first
        self.last = chunk.first - 1
        self.parts: list[bytes] = []
        self.count = 0
        self.cost = 0
        self.recovered = False
        self.samples: list[tuple[float, float]] = []
        #: The chunk this frame consists of, while it is exactly one whole chunk.
        self.whole: EventChunk | None = None

    def accepts(self, chunk: EventChunk, room: int) -> bool:
        return chunk.epoch == self.epoch and chunk.first == self.last + 1 and room > 0

    def add(
        self,
        chunk: EventChunk,
        events: Sequence[ChangeEvent],
        body: bytes,
        last: int,
        *,
        whole: bool = True,
    ) -> None:
        self.whole = chunk if whole and self.count == 0 and not self.parts else None
        if body:
            self.parts.append(body)
        self.count += len(events)
        self.last = last
        self.recovered = self.recovered or chunk.recovered
        n = len(events)
        if n:
            step = max(1, n // LATENCY_SAMPLES)
            weight = n / len(range(0, n, step))
            self.samples.extend((events[i].time, weight) for i in range(0, n, step))

    def build(self) -> tuple[bytes, int, list[tuple[float, float]]]:
        if self.whole is not None:
            return self.whole.frame(), self.count, self.samples
        data = events_frame_bytes(
            self.graph, self.epoch, self.first, self.last, self.recovered, self.parts
        )
        return data, self.count, self.samples


class Outbox:
    """FIFO of control frames and event chunks for one connection, bounded in bytes.

    ``queued_bytes`` counts everything not yet written to the socket, including the frames the
    writer has taken but not finished sending (call :meth:`sent` when a frame is out).
    """

    def __init__(self, max_bytes: int, max_frame_events: int) -> None:
        self.max_bytes = max_bytes
        self.max_frame_events = max(1, max_frame_events)
        self.queued_bytes = 0
        self._items: deque[ControlFrame | EventChunk] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: ControlFrame | EventChunk) -> None:
        """Queue ``item`` whatever the size (for control frames and paced replays)."""
        self._items.append(item)
        self.queued_bytes += item.size

    def offer(self, chunk: EventChunk) -> bool:
        """Queue a live chunk unless that would exceed ``max_bytes``; False if it would.

        A connection with nothing pending always takes the chunk, whatever its size: being
        slow means having a backlog, and refusing an oversize batch would close every client.
        """
        size = chunk.size
        if self.queued_bytes > 0 and self.queued_bytes + size > self.max_bytes:
            return False
        self._items.append(chunk)
        self.queued_bytes += size
        return True

    def sent(self, frame: OutFrame) -> None:
        self.queued_bytes -= frame.cost

    def clear(self) -> None:
        self._items.clear()
        self.queued_bytes = 0

    def take_frames(self) -> list[OutFrame]:
        """Remove everything queued and return it as frames, in order per graph."""
        out: list[OutFrame | _EventsFrameBuilder] = []
        open_builders: dict[str, _EventsFrameBuilder] = {}
        items, self._items = self._items, deque()
        for item in items:
            if isinstance(item, ControlFrame):
                if item.graph is None:
                    open_builders.clear()
                else:
                    open_builders.pop(item.graph, None)
                out.append(OutFrame(item.data, item.size))
                continue
            self._add_chunk(item, out, open_builders)
        frames: list[OutFrame] = []
        for entry in out:
            if isinstance(entry, OutFrame):
                frames.append(entry)
            else:
                data, count, samples = entry.build()
                frames.append(OutFrame(data, entry.cost, count, samples))
        return frames

    def _add_chunk(
        self,
        chunk: EventChunk,
        out: list[OutFrame | _EventsFrameBuilder],
        open_builders: dict[str, _EventsFrameBuilder],
    ) -> None:
        limit = self.max_frame_events
        builder = open_builders.get(chunk.graph)
        n = len(chunk.events)
        room = limit - builder.count if builder is not None else 0
        if builder is not None and builder.accepts(chunk, room) and n <= room:
            builder.add(chunk, chunk.events, chunk.body, chunk.last)
            builder.cost += chunk.size
            return
        if n <= limit:
            builder = _EventsFrameBuilder(chunk)
            builder.add(chunk, chunk.events, chunk.body, chunk.last)
            builder.cost = chunk.size
            out.append(builder)
            open_builders[chunk.graph] = builder
            return
        # Larger than a frame: split it; each piece covers up to its last event's seq, the final
        # one up to the chunk's end, so the ranges stay contiguous.
        encoded = chunk.encoded()
        pieces = range(0, n, limit)
        start = chunk.first
        for index, i in enumerate(pieces):
            events = chunk.events[i : i + limit]
            final = index == len(pieces) - 1
            last = chunk.last if final else events[-1].seq
            piece = EventChunk(chunk.graph, chunk.epoch, start, last, events)
            builder = _EventsFrameBuilder(piece)
            builder.add(chunk, events, b",".join(encoded[i : i + limit]), last, whole=False)
            builder.cost = chunk.size if final else 0
            out.append(builder)
            start = last + 1
        open_builders.pop(chunk.graph, None)
