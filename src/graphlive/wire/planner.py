"""What a ``subscribe`` is answered with: the pure decision of docs/protocol.md ("subscribed").

Given the client's request and the stream's head, :func:`plan_subscribe` says which ``mode``
the ``subscribed`` frame announces and where the client's stream continues:

=============  ==========================================================================
``snapshot``   no position, ``snapshot`` true: a snapshot, then the events after it
``live``       no position, ``snapshot`` false: only events after the head
``replay``     a position in the current epoch within reach: the events after it
``resync``     a position that cannot be continued: ``resync`` (with the reason), a
               snapshot, then the events after it
=============  ==========================================================================

A position more than ``retention`` events behind the head is answered with a snapshot when a
stored snapshot newer than the position exists (it spares the long replay); without one,
replaying is the only way. The caller learns whether it needs to look the snapshot up from
:func:`needs_snapshot_position`, so nothing is read that the decision does not use.

A ``replay`` plan can still turn into a resync when the history turns out to be gone (trimmed
meanwhile); :meth:`Plan.resync` with :func:`~graphlive.wire.codes.resync_reason` says so.
No I/O here: the server extension and the kernel comm transport both follow these plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from graphlive.bus.reader import Position
from graphlive.wire.codes import ResyncReason

__all__ = ["Mode", "Plan", "needs_snapshot_position", "plan_subscribe"]


class Mode(str, Enum):
    """``mode`` of the ``subscribed`` frame."""

    SNAPSHOT = "snapshot"
    LIVE = "live"
    REPLAY = "replay"
    RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class Plan:
    """The answer to one subscribe.

    ``start``: the position the client's stream continues from (the head for ``live``, the
    client's position for ``replay``); None when a snapshot sets it. ``reason``: why, for
    ``resync``.
    """

    mode: Mode
    start: Position | None = None
    reason: ResyncReason | None = None

    @property
    def sends_snapshot(self) -> bool:
        return self.start is None

    @staticmethod
    def resync(reason: ResyncReason) -> Plan:
        return Plan(Mode.RESYNC, None, reason)


def needs_snapshot_position(since: Position | None, head: Position, retention: int) -> bool:
    """Whether :func:`plan_subscribe` needs the stored snapshot's position to decide: only
    for a position in the current epoch more than ``retention`` (> 0) events behind."""
    return (
        since is not None
        and retention > 0
        and since.epoch == head.epoch
        and since.seq <= head.seq
        and head.seq - since.seq > retention
    )


def plan_subscribe(
    since: Position | None,
    snapshot: bool,
    head: Position,
    *,
    retention: int = 0,
    snapshot_at: Position | None = None,
) -> Plan:
    """Decide how to answer a subscribe from ``since`` (the client's last applied event, or
    None) with ``snapshot`` (the request's flag) while the stream's head is ``head``.

    ``snapshot_at`` is the stored snapshot's position, looked up only when
    :func:`needs_snapshot_position` says so (None: no snapshot, or not looked up)."""
    if since is None:
        return Plan(Mode.SNAPSHOT) if snapshot else Plan(Mode.LIVE, head)
    if since.epoch != head.epoch:
        return Plan.resync(ResyncReason.EPOCH)
    if since.seq > head.seq:
        return Plan.resync(ResyncReason.UNKNOWN_POSITION)
    if (
        needs_snapshot_position(since, head, retention)
        and snapshot_at is not None
        and snapshot_at.epoch == since.epoch
        and snapshot_at.seq > since.seq
    ):
        return Plan.resync(ResyncReason.RETENTION)
    return Plan(Mode.REPLAY, since)
