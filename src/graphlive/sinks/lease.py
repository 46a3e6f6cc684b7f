"""A per-graph, per-group lease in Redis: which sink process of a consumer group applies events.

Applying must follow ``seq`` order, so of the processes sharing a consumer group exactly one —
the lease holder — reads and applies; the others stand by and take over when the lease expires
(the holder died or hung). The lease is a plain key set with ``NX PX``; only the holder's token
renews or releases it (checked inside Redis by a script).

A lease alone cannot stop a holder that stalls past its expiry and then writes; the target's
cursor compare-and-set (:mod:`graphlive.sinks.cypher`) is the fence that makes such a late write
change nothing.
"""

from __future__ import annotations

import os
from typing import Any

import redis

__all__ = ["Lease", "lease_key"]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lease_key(graph: str, group: str) -> str:
    """Key of the lease of ``group`` on ``graph`` (in the graph's hash slot)."""
    return f"graphlive:{{{graph}}}:sink:{group}:lease"


class Lease:
    """The lease of one process. ``ttl_ms`` bounds how long a dead holder blocks a takeover."""

    def __init__(self, client: redis.Redis, key: str, owner: str, ttl_ms: int) -> None:
        if ttl_ms < 100:
            raise ValueError("lease ttl must be at least 100 ms")
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        # Owner name plus a random part: a restarted process with the same consumer name must
        # not mistake its predecessor's lease for its own.
        self.token = f"{owner}:{os.urandom(6).hex()}"
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def hold(self) -> bool:
        """Renew the lease if held, else try to take it. True if this process holds it now."""
        if int(self._renew(keys=[self.key], args=[self.token, self.ttl_ms])):
            return True
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        """Give the lease up (if held) so a standby can take over at once."""
        self._release(keys=[self.key], args=[self.token])

    def holder(self) -> str | None:
        """The token of the current holder, if any."""
        value: Any = self.client.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)
