"""Token bucket: ``rate`` tokens per second, at most ``burst`` saved up."""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]


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
