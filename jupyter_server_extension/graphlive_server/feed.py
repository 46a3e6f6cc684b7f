"""One followed graph: its position in the stream and who receives its live batches.

A :class:`GraphFeed` is the single owner of a graph's subscribers on this server: the
broadcaster moves its position and hands it batches, subscriptions join and leave it, and ask it
to go live; nothing else keeps a list of subscribers or a live flag.

A member subscription is either *catching up* (its own task reads history and queues it) or
*live* (the feed hands it every batch). Live members are grouped by their filters, so a batch is
filtered and encoded once per distinct filter, not once per connection. The switch to live is
:meth:`go_live`: it checks, without an ``await``, that the subscription's position has reached
the feed's, so no batch can slip between the catch-up and the live feed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphlive.bus.keys import GraphKeys
from graphlive.bus.reader import Position
from graphlive.events import ChangeEvent
from graphlive.wire import EventFilter, ResyncReason
from graphlive_server.outbox import EventChunk

if TYPE_CHECKING:
    from graphlive_server.subscriptions import Subscription

__all__ = ["GraphFeed"]


class GraphFeed:
    """The broadcaster's state for one followed graph, and its subscribers."""

    def __init__(self, graph: str) -> None:
        self.graph = graph
        self.channel = GraphKeys(graph).live
        #: Last position fanned out to live subscribers; None until the head is known.
        self.position: Position | None = None
        self.ready = asyncio.Event()
        self.lag = 0
        self.head: Position | None = None
        #: Every attached subscription, catching up or live.
        self._members: set[Subscription] = set()
        #: Live subscriptions by filter, and the filter each live one is filed under.
        self._groups: dict[EventFilter, set[Subscription]] = {}
        self._live: dict[Subscription, EventFilter] = {}
        self._audited: Position | None = None
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ membership

    def join(self, sub: Subscription) -> None:
        """Attach ``sub``, catching up."""
        self._members.add(sub)

    def leave(self, sub: Subscription) -> bool:
        """Detach ``sub`` (live or not). True if it was a member."""
        if sub not in self._members:
            return False
        self._members.discard(sub)
        self.pause(sub)
        return True

    @property
    def empty(self) -> bool:
        return not self._members

    def __len__(self) -> int:
        return len(self._members)

    def is_live(self, sub: Subscription) -> bool:
        return sub in self._live

    def go_live(self, sub: Subscription, position: Position) -> bool:
        """Make ``sub`` live if ``position`` (what it has queued) has reached the feed; False
        (and nothing changes) if batches it has not seen were fanned out meanwhile."""
        at = self.position
        if at is None or sub not in self._members:
            return False
        if at.epoch != position.epoch and at.epoch and position.epoch:
            return False
        if at.seq > position.seq:
            return False
        self._live[sub] = sub.filters
        self._groups.setdefault(sub.filters, set()).add(sub)
        return True

    def pause(self, sub: Subscription) -> None:
        """Stop handing ``sub`` batches (it catches up by itself again, or leaves)."""
        filters = self._live.pop(sub, None)
        if filters is None:
            return
        group = self._groups[filters]
        group.discard(sub)
        if not group:
            del self._groups[filters]

    def refilter(self, sub: Subscription, filters: EventFilter) -> None:
        """``sub`` changed its filters: file it under the new ones if it is live."""
        if sub in self._live:
            self.pause(sub)
            self._live[sub] = filters
            self._groups.setdefault(filters, set()).add(sub)

    # ------------------------------------------------------------------ fan-out

    def fan_out(
        self, run: Sequence[ChangeEvent], *, recovered: bool, body: bytes | None = None
    ) -> None:
        """Hand one contiguous run of one epoch to every live subscription, as one chunk per
        distinct filter. ``body``: the run's events as the publisher encoded them (comma-joined),
        reused for subscriptions without filters."""
        first, last = run[0], run[-1]
        for filters, subs in list(self._groups.items()):
            everything = filters.passes_everything
            chunk = EventChunk(
                self.graph,
                last.epoch,
                first.seq,
                last.seq,
                list(run) if everything else filters.select(run),
                recovered=recovered,
                body=body if everything else None,
            )
            # A delivery may close a slow connection or send a subscription back to catching
            # up: both change the groups, so iterate over a copy.
            for sub in list(subs):
                sub.deliver(chunk)

    def restart_live(self, reason: ResyncReason) -> None:
        """History the live subscriptions rely on is gone: each resyncs and catches up."""
        for sub in list(self._live):
            sub.restart(reason)

    # ------------------------------------------------------------------ position

    def changed(self) -> None:
        """Wake everyone in :meth:`wait_changed` (the position moved or was reset)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, timeout: float = 1.0) -> None:
        """Wait for the next change of :attr:`position` (at most ``timeout`` seconds)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def audit(self, head: Position) -> bool:
        """Note the graph's ``head`` (read by the broadcaster's audit) and the lag behind it.
        True when the feed is behind and has not moved since the last audit: Pub/Sub missed
        something, and the Stream must fill it."""
        pos = self.position
        if pos is None:
            return False
        self.head = head
        same_epoch = head.epoch == pos.epoch or not pos.epoch
        self.lag = max(0, head.seq - pos.seq) if same_epoch else head.seq
        stalled = self._audited == pos
        self._audited = pos
        return (self.lag > 0 or not same_epoch) and bool(head.epoch) and stalled

    def status(self) -> dict[str, Any]:
        return {
            "subscribers": len(self._members),
            "live": len(self._live),
            "epoch": self.position.epoch if self.position else None,
            "position": self.position.seq if self.position else None,
            "head": self.head.seq if self.head else None,
            "lag": self.lag,
        }
