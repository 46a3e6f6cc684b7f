"""Per-connection limits of docs/protocol.md ("Limits"), announced in the ``hello`` frame.

Pure data: the server's traitlets fill a :class:`Limits`, the session applies it (queue bound,
rate limits, snapshot parts) and the client reads it from ``hello``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphlive.wire.ratelimit import MessageGate, TokenBucket

__all__ = ["ABUSE_WINDOW", "BAD_MESSAGE_LIMIT", "SNAPSHOT_PART_BYTES", "Limits"]

#: Seconds over which rejected or malformed messages are counted towards a close.
ABUSE_WINDOW = 60.0
#: Malformed/oversize/invalid messages within :data:`ABUSE_WINDOW` tolerated before 4400.
BAD_MESSAGE_LIMIT = 20
#: Most bytes of one snapshot part (see :attr:`Limits.snapshot_chunk_bytes`).
SNAPSHOT_PART_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection limits, announced to the client in the ``hello`` frame."""

    max_queue_bytes: int = 8 * 1024 * 1024
    max_message_bytes: int = 64 * 1024
    max_frame_events: int = 1000
    max_subscriptions: int = 64
    ping_interval: float = 20.0
    ping_timeout: float = 60.0
    rate_limit: float = 50.0
    #: Subscribes per second per connection (each may cost a snapshot or a long replay).
    subscribe_rate: float = 2.0
    #: Snapshots with more nodes + edges than this are sent in parts (0: always one frame).
    snapshot_chunk_elements: int = 20_000

    @property
    def rate_burst(self) -> float:
        """Token bucket size: a client may send this many messages at once."""
        return max(2.0 * self.rate_limit, 1.0)

    @property
    def subscribe_burst(self) -> float:
        """Subscribes a client may send at once: a page opening (or reconnecting) all the
        subscriptions a connection may hold."""
        return max(5.0 * self.subscribe_rate, float(self.max_subscriptions))

    def subscribe_bucket(self) -> TokenBucket:
        """A connection's budget of subscribes (``subscribe_rate`` 0 disables it)."""
        return TokenBucket(self.subscribe_rate, self.subscribe_burst)

    @property
    def snapshot_chunk_bytes(self) -> int:
        """About the most bytes of one snapshot part: a quarter of the queue, so a part queued
        at half the limit (see replay pacing) leaves room for other graphs' live events, and at
        most :data:`SNAPSHOT_PART_BYTES`, so that writing one part is a short turn of the event
        loop (other graphs' events go out between parts, also while clients read fast)."""
        return max(1, min(self.max_queue_bytes // 4, SNAPSHOT_PART_BYTES))

    @property
    def abuse_limit(self) -> int:
        """Rejected (rate-limited) messages within :data:`ABUSE_WINDOW` before a 4429 close."""
        return max(int(self.rate_burst), 10)

    def message_gate(self) -> MessageGate:
        """A connection's rate limit and abuse counts (same for the events and status sockets)."""
        return MessageGate(
            self.rate_limit,
            self.rate_burst,
            abuse_limit=self.abuse_limit,
            bad_limit=BAD_MESSAGE_LIMIT,
            window=ABUSE_WINDOW,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``limits`` object of the ``hello`` frame."""
        return {
            "max_queue_bytes": self.max_queue_bytes,
            "max_message_bytes": self.max_message_bytes,
            "max_frame_events": self.max_frame_events,
            "max_subscriptions": self.max_subscriptions,
            "ping_interval": self.ping_interval,
            "ping_timeout": self.ping_timeout,
            "rate_limit": self.rate_limit,
            "rate_burst": self.rate_burst,
            "subscribe_rate": self.subscribe_rate,
            "subscribe_burst": self.subscribe_burst,
            "snapshot_chunk_elements": self.snapshot_chunk_elements,
        }
