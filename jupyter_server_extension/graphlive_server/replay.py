"""Catch-up pages read once from Redis and encoded once, for every subscription that replays them.

Subscriptions catching up (a new viewer, a reconnect storm after a server restart) read the same
stretches of a graph's stream. :class:`ReplayPages` makes them share the work:

* **Aligned pages.** A read after ``seq`` asks for the events up to the next multiple of the
  page size (``page - seq % page`` events), so subscriptions that started at different positions
  meet on the same page boundaries after their first read.
* **One read per page.** Concurrent reads of the same page wait for one ``XRANGE``; a *full*
  page (it reached its boundary, so its content can never change: the stream only appends) is
  kept for later readers, in a small LRU of :data:`MAX_PAGES` pages. A short page (the head was
  reached) is never kept: later events would be missing from it.
* **No encoding, no decoding.** The stream holds each event exactly as frames carry it: a
  page's chunks (per :class:`EventFilter`, one per epoch run) join the stored bytes of the
  events that pass, and cache their ``events`` frame, so every connection with that filter
  sends the same bytes. Events are decoded only for a filter that must look at them; otherwise
  a page is checked by the stored prefix of each event (seq and epoch).

Memory: at most :data:`MAX_PAGES` pages of ``page`` events each (decoded events plus their
encodings per filter in use), whatever the number of subscribers.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

from graphlive.bus.reader import Position
from graphlive.events import ChangeEvent, decode
from graphlive.wire.filters import EventFilter
from graphlive_server.outbox import EventChunk

if TYPE_CHECKING:
    from graphlive_server.history import History

__all__ = ["MAX_PAGES", "ReplayPage", "ReplayPages", "split_by_epoch"]

#: Full pages kept for later readers (least recently used dropped first).
MAX_PAGES = 16

_Key = tuple[str, str, int, int]


def split_by_epoch(events: list[ChangeEvent]) -> list[list[ChangeEvent]]:
    """Runs of consecutive events sharing an epoch (a ``graph_reset`` starts a new run)."""
    runs: list[list[ChangeEvent]] = []
    for event in events:
        if runs and runs[-1][-1].epoch == event.epoch:
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


@dataclass(frozen=True, slots=True)
class ReplayPage:
    """What one read returned for one filter.

    ``chunks`` cover every event read (filtered: a chunk may hold none and still advance the
    position); ``last`` is the position after them (``None`` when nothing was read); ``full``
    says the read reached its page boundary, so more may follow at once.
    """

    chunks: tuple[EventChunk, ...]
    last: Position | None
    full: bool


class _Entry:
    """One page as read: each event as stored (its wire encoding) and its epoch, from seq
    ``first`` on; events are decoded only when looked at (a filter, or the outbox's one
    latency sample per frame)."""

    __slots__ = ("_decoded", "chunks", "epochs", "first", "full", "stored")

    def __init__(self, stored: list[bytes], epochs: list[str], first: int, full: bool) -> None:
        self.stored = stored
        self.epochs = epochs
        self.first = first
        self.full = full
        self.chunks: dict[EventFilter, tuple[EventChunk, ...]] = {}
        self._decoded: list[ChangeEvent | None] = [None] * len(stored)

    def event(self, i: int) -> ChangeEvent:
        event = self._decoded[i]
        if event is None:
            event = self._decoded[i] = decode(self.stored[i])
        return event

    def page(self, graph: str, filters: EventFilter) -> ReplayPage:
        chunks = self.chunks.get(filters)
        if chunks is None:
            chunks = self.chunks[filters] = tuple(self._chunks(graph, filters))
        n = len(self.stored)
        last = Position(self.epochs[-1], self.first + n - 1) if n else None
        return ReplayPage(chunks, last, self.full)

    def _runs(self) -> list[range]:
        """Index ranges of consecutive events sharing an epoch (a ``graph_reset`` starts one)."""
        runs: list[range] = []
        start = 0
        for i in range(1, len(self.epochs) + 1):
            if i == len(self.epochs) or self.epochs[i] != self.epochs[start]:
                runs.append(range(start, i))
                start = i
        return runs

    def _chunks(self, graph: str, filters: EventFilter) -> list[EventChunk]:
        """One chunk per epoch run, its body the stored bytes of the events that pass."""
        out: list[EventChunk] = []
        for run in self._runs():
            events: Sequence[ChangeEvent]
            if filters.passes_everything:
                picked: Sequence[int] = run
                events = _StoredEvents(self, run)
            else:
                picked = [i for i in run if filters.matches(self.event(i))]
                events = [self.event(i) for i in picked]
            out.append(
                EventChunk(
                    graph,
                    self.epochs[run.start],
                    self.first + run.start,
                    self.first + run.stop - 1,
                    events,
                    body=b",".join(self.stored[i] for i in picked),
                )
            )
        return out


class _StoredEvents(Sequence[ChangeEvent]):
    """A run of a page's events, decoded as they are looked at."""

    __slots__ = ("_entry", "_run")

    def __init__(self, entry: _Entry, run: range) -> None:
        self._entry = entry
        self._run = run

    def __len__(self) -> int:
        return len(self._run)

    @overload
    def __getitem__(self, i: int) -> ChangeEvent: ...
    @overload
    def __getitem__(self, i: slice) -> list[ChangeEvent]: ...
    def __getitem__(self, i: int | slice) -> ChangeEvent | list[ChangeEvent]:
        if isinstance(i, slice):
            return [self._entry.event(j) for j in self._run[i]]
        return self._entry.event(self._run[i])


class ReplayPages:
    """Shared catch-up reads over one :class:`~graphlive_server.history.History`."""

    def __init__(self, history: History, *, max_pages: int = MAX_PAGES) -> None:
        self.history = history
        self.max_pages = max_pages
        self._kept: OrderedDict[_Key, _Entry] = OrderedDict()
        self._reading: dict[_Key, asyncio.Future[_Entry]] = {}
        #: Pages read from Redis, and reads answered by a page kept or being read (metrics).
        self.reads_total = 0
        self.shared_total = 0

    async def read(self, graph: str, after: Position, filters: EventFilter) -> ReplayPage:
        """The events after ``after`` up to the next page boundary (or the head), as chunks for
        ``filters``. Raises what :meth:`History.read` raises (``ResyncRequired``, Redis errors)."""
        page = self.history.page
        count = page - after.seq % page
        key = (graph, after.epoch, after.seq, count)
        entry = self._kept.get(key)
        if entry is not None:
            self._kept.move_to_end(key)
            self.shared_total += 1
            return entry.page(graph, filters)
        pending = self._reading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read(key, after, count))
            self._reading[key] = pending
            pending.add_done_callback(lambda done: self._done(key, done))
        else:
            self.shared_total += 1
        # Shielded: a reader cancelled meanwhile must not cancel the others' read.
        entry = await asyncio.shield(pending)
        return entry.page(graph, filters)

    async def _read(self, key: _Key, after: Position, count: int) -> _Entry:
        self.reads_total += 1
        stored, epochs = await self.history.read_stored(key[0], after, count)
        return _Entry(stored, epochs, after.seq + 1, full=len(stored) == count)

    def _done(self, key: _Key, done: asyncio.Future[_Entry]) -> None:
        self._reading.pop(key, None)
        if done.cancelled() or done.exception() is not None:
            return  # the readers get the error; nothing is kept
        entry = done.result()
        if entry.full:
            self._kept[key] = entry
            while len(self._kept) > self.max_pages:
                self._kept.popitem(last=False)
