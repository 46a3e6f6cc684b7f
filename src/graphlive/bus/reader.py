"""Reader: a graph's events from a position on, with gap and epoch detection.

A position is ``(epoch, seq)``: the last event the consumer has applied. Readers return events
with ``seq`` = position + 1, + 2, … — contiguous, in order, each exactly once — or raise
:class:`ResyncRequired` when that is impossible (the events were trimmed away, the graph was
reset outside the stream's view, or its history was lost). A consumer that gets ``ResyncRequired``
reloads from the snapshot (:func:`graphlive.bus.snapshot.load_graph`); it never continues past a
gap silently.

The same checks back the blocking :class:`StreamReader` (threads, CLI, kernels) and
:class:`AsyncStreamReader` (the Jupyter server's broadcaster).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from graphlive.bus.connection import AsyncClient, Client
from graphlive.bus.keys import GraphKeys
from graphlive.events import ChangeEvent, EventDecodeError, EventType, decode

__all__ = [
    "AsyncStreamReader",
    "Position",
    "ResyncRequired",
    "StreamReader",
    "check_contiguous",
    "check_contiguous_stored",
    "entry_seq",
]

#: Default page size of replays and blocking reads.
DEFAULT_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Position:
    """The last applied event of a graph: ``epoch`` ("" = none yet) and ``seq`` (0 = none)."""

    epoch: str = ""
    seq: int = 0


class ResyncRequired(Exception):
    """The requested events cannot be delivered contiguously; reload from the snapshot.

    ``reason`` is one of ``"trimmed"``, ``"epoch"``, ``"ahead"``.
    """

    def __init__(self, graph: str, reason: str, detail: str, head: Position) -> None:
        super().__init__(f"graph {graph!r}: resync required ({reason}): {detail}")
        self.graph = graph
        self.reason = reason
        self.head = head


def entry_seq(entry_id: bytes | str) -> int:
    """The seq of a stream entry: its id is ``<seq>-0``."""
    raw = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(raw.split("-", 1)[0])


def _stream_entries(reply: Sequence[Any]) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """XRANGE entries as ``(id, {field: value})``, also from a reply left unparsed: redis-py's
    cluster client returns a transaction's replies raw (``[id, [field, value, ...]]``)."""
    out: list[tuple[bytes, dict[bytes, bytes]]] = []
    for entry_id, fields in reply:
        if not isinstance(fields, dict):
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        out.append((entry_id, fields))
    return out


def _head_from(reply: Sequence[Any]) -> Position:
    epoch, seq = reply
    return Position(epoch.decode() if epoch else "", int(seq) if seq else 0)


def check_contiguous(
    graph: str,
    after: Position,
    entries: Sequence[tuple[bytes, dict[bytes, bytes]]],
    head: Position | None,
) -> list[ChangeEvent]:
    """Decode stream ``entries`` read after ``after`` and verify continuity.

    ``head`` is the graph's meta position read atomically with ``entries`` (or ``None`` when
    unknown, for blocking reads). Raises :class:`ResyncRequired` on a gap or a foreign epoch. A
    ``graph_reset`` event opening a new epoch at exactly ``after.seq + 1`` is a legal transition.
    """
    _check_head(graph, after, bool(entries), head)
    out: list[ChangeEvent] = []
    epoch = after.epoch
    for seq, fields in _in_sequence(graph, after, entries, head):
        event = decode(fields[b"e"])
        _check_epoch(graph, seq, epoch, event, head)
        epoch = event.epoch
        out.append(event)
    return out


def _in_sequence(
    graph: str,
    after: Position,
    entries: Sequence[tuple[bytes, dict[bytes, bytes]]],
    head: Position | None,
) -> Iterator[tuple[int, dict[bytes, bytes]]]:
    """``(seq, fields)`` of each entry; raises :class:`ResyncRequired` at the first that does
    not continue ``after`` without a gap."""
    expected = after.seq + 1
    for entry_id, fields in entries:
        seq = entry_seq(entry_id)
        if seq != expected:
            raise ResyncRequired(
                graph, "trimmed", f"expected seq {expected}, stream has {seq}", head or Position()
            )
        yield seq, fields
        expected += 1


def _check_epoch(
    graph: str, seq: int, epoch: str, event: ChangeEvent, head: Position | None
) -> None:
    """A foreign epoch is legal only where a ``graph_reset`` opens it."""
    if epoch and event.epoch != epoch and event.type is not EventType.GRAPH_RESET:
        raise ResyncRequired(
            graph, "epoch", f"event {seq} has epoch {event.epoch}", head or Position()
        )


def _check_head(graph: str, after: Position, any_entries: bool, head: Position | None) -> None:
    if head is None:
        return
    if after.epoch and head.epoch and head.epoch != after.epoch and not any_entries:
        raise ResyncRequired(graph, "epoch", f"epoch is now {head.epoch}", head)
    if head.seq < after.seq and (not after.epoch or head.epoch == after.epoch):
        raise ResyncRequired(graph, "ahead", f"position {after.seq} > head {head.seq}", head)
    if not any_entries and head.seq > after.seq:
        raise ResyncRequired(graph, "trimmed", f"events after {after.seq} are gone", head)


_SEQ_PREFIX = b'{"seq":'
_EPOCH_PREFIX = b',"epoch":"'


def stored_epoch(raw: bytes) -> str | None:
    """The epoch of a stored event, read from the prefix the publish script writes
    (``{"seq":N,"epoch":"E",…``) without decoding the rest; None for any other prefix."""
    if not raw.startswith(_SEQ_PREFIX):
        return None
    at = raw.find(_EPOCH_PREFIX, len(_SEQ_PREFIX), 40)
    if at < 0:
        return None
    start = at + len(_EPOCH_PREFIX)
    end = raw.find(b'"', start, start + 128)
    if end < 0 or raw[end + 1 : end + 2] != b",":
        return None
    return raw[start:end].decode("ascii", "replace")


def check_contiguous_stored(
    graph: str,
    after: Position,
    entries: Sequence[tuple[bytes, dict[bytes, bytes]]],
    head: Position | None,
) -> tuple[list[bytes], list[str]]:
    """:func:`check_contiguous` without decoding every event: the stored bytes of each event
    and its epoch, read from the stored prefix (:func:`stored_epoch`). Only an event whose
    epoch changes (it must be a ``graph_reset``) or whose prefix is not the publish script's is
    decoded. For forwarding events as stored: a catch-up of thousands of events costs a
    prefix check each instead of a JSON parse."""
    _check_head(graph, after, bool(entries), head)
    stored: list[bytes] = []
    epochs: list[str] = []
    epoch = after.epoch
    for seq, fields in _in_sequence(graph, after, entries, head):
        raw = fields[b"e"]
        found = stored_epoch(raw)
        if found is None or (epoch and found != epoch):
            event = decode(raw)  # unusual: check it for real
            if event.seq != seq:
                raise EventDecodeError(f"stream entry {seq} holds event {event.seq}")
            _check_epoch(graph, seq, epoch, event, head)
            found = event.epoch
        epoch = found
        stored.append(raw)
        epochs.append(found)
    return stored, epochs


class StreamReader:
    """Blocking reader of one graph's stream (one connection; not shared between threads)."""

    def __init__(self, client: Client, graph: str, *, page: int = DEFAULT_PAGE) -> None:
        self.client = client
        self.keys = GraphKeys(graph)
        self.page = page

    @property
    def graph(self) -> str:
        return self.keys.graph

    def head(self) -> Position:
        """The graph's current ``(epoch, last seq)``."""
        return _head_from(self.client.hmget(self.keys.meta, ["epoch", "seq"]))

    def read(self, after: Position, count: int | None = None) -> list[ChangeEvent]:
        """Up to ``count`` events after ``after`` (paged replay; [] when caught up).

        Raises :class:`ResyncRequired` if they cannot be delivered contiguously.
        """
        pipe = self.client.pipeline(transaction=True)
        pipe.xrange(self.keys.events, f"{after.seq + 1}-0", "+", count=count or self.page)
        pipe.hmget(self.keys.meta, ["epoch", "seq"])
        entries, head = pipe.execute()
        return check_contiguous(self.graph, after, _stream_entries(entries), _head_from(head))

    def replay(self, after: Position) -> Iterator[list[ChangeEvent]]:
        """Pages of every event after ``after`` up to the head at the time of each page."""
        while True:
            page = self.read(after)
            if not page:
                return
            yield page
            after = Position(page[-1].epoch, page[-1].seq)

    def wait(self, after: Position, block_ms: int = 5000) -> list[ChangeEvent]:
        """Block up to ``block_ms`` for events after ``after``; [] on timeout.

        On timeout the head is checked, so a lost history or reset that produced no entry after
        ``after`` is reported as :class:`ResyncRequired` rather than waited on forever.
        """
        reply: Any = self.client.xread(
            {self.keys.events: f"{after.seq}-0"}, count=self.page, block=block_ms
        )
        if reply:
            entries = reply[0][1]
            return check_contiguous(self.graph, after, entries, None)
        head = self.head()
        if head.seq != after.seq or (after.epoch and head.epoch != after.epoch):
            # Events arrived just after the block expired, or something changed: re-check.
            return self.read(after)
        return []


class AsyncStreamReader:
    """asyncio twin of :class:`StreamReader` (same contract)."""

    def __init__(self, client: AsyncClient, graph: str, *, page: int = DEFAULT_PAGE) -> None:
        self.client = client
        self.keys = GraphKeys(graph)
        self.page = page

    @property
    def graph(self) -> str:
        return self.keys.graph

    async def head(self) -> Position:
        return _head_from(await self.client.hmget(self.keys.meta, ["epoch", "seq"]))

    async def read(self, after: Position, count: int | None = None) -> list[ChangeEvent]:
        entries, head = await self.read_entries(after, count)
        return check_contiguous(self.graph, after, entries, head)

    async def read_entries(
        self, after: Position, count: int | None = None
    ) -> tuple[list[tuple[bytes, dict[bytes, bytes]]], Position]:
        """The raw stream entries :meth:`read` decodes, with the head read atomically with
        them (for :func:`check_contiguous`); for callers that also want the stored bytes."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xrange(self.keys.events, f"{after.seq + 1}-0", "+", count=count or self.page)
            pipe.hmget(self.keys.meta, ["epoch", "seq"])
            entries, head = await pipe.execute()
        return _stream_entries(entries), _head_from(head)
