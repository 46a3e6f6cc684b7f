"""Limits on what one connection may send: a token bucket, and the abuse counts that close.

:class:`TokenBucket`: ``rate`` tokens per second, at most ``burst`` saved up.
:class:`MessageGate`: the bucket plus the counts every graphlive WebSocket (events and status)
applies to client messages: a refused message gets an ``error`` frame, persistent abuse closes
the connection (4429 for too many refused ones, 4400 for too many malformed ones, both counted
over :data:`~graphlive.wire.limits.ABUSE_WINDOW`).
"""

from __future__ import annotations

import enum
import math
from collections import deque

__all__ = ["MessageGate", "TokenBucket", "Verdict"]


class TokenBucket:
    """Allows bursts of ``burst`` messages and ``rate`` messages per second on average.

    ``rate <= 0`` or infinite disables the limit. Time is passed in by the caller (monotonic
    seconds), which keeps the bucket deterministic to test.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._tokens = self.burst
        self._at: float | None = None

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0 or math.isinf(self.rate)

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False when the caller is over the limit."""
        if self.unlimited:
            return True
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class Verdict(enum.Enum):
    """What to do with a client message (:meth:`MessageGate.admit`, :meth:`MessageGate.bad`)."""

    #: Handle it (admit) / answer with an error frame (bad).
    OK = "ok"
    #: Over the rate: answer with a ``rate_limited`` error frame and drop it.
    REFUSE = "refuse"
    #: Persistent abuse: close the connection (after the frames already queued).
    CLOSE = "close"


class MessageGate:
    """Rate limit and abuse counts of one connection's client messages (times in monotonic
    seconds, passed in, as for :class:`TokenBucket`)."""

    def __init__(
        self, rate: float, burst: float, *, abuse_limit: int, bad_limit: int, window: float
    ) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.abuse_limit = abuse_limit
        self.bad_limit = bad_limit
        self.window = window
        self._refused: deque[float] = deque()
        self._bad: deque[float] = deque()

    def admit(self, now: float) -> Verdict:
        """A message arrived: OK, REFUSE (over the rate), or CLOSE (refused too often)."""
        if self.bucket.take(now):
            return Verdict.OK
        if self._count(self._refused, now) > self.abuse_limit:
            return Verdict.CLOSE
        return Verdict.REFUSE

    def refuse(self, now: float) -> Verdict:
        """An admitted message was refused for costing too much (e.g. a subscribe over its own
        budget): counted with the rate refusals. REFUSE, or CLOSE when refused too often."""
        too_often = self._count(self._refused, now) > self.abuse_limit
        return Verdict.CLOSE if too_often else Verdict.REFUSE

    def bad(self, now: float) -> Verdict:
        """An admitted message was malformed: OK (answer it with an error) or CLOSE."""
        return Verdict.CLOSE if self._count(self._bad, now) > self.bad_limit else Verdict.OK

    def _count(self, events: deque[float], now: float) -> int:
        events.append(now)
        while events and events[0] <= now - self.window:
            events.popleft()
        return len(events)
