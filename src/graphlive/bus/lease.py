"""Leases in Redis: which one process of several may do something for a graph.

Two users: the graph's writer (:mod:`graphlive.bus.writer_lease`: one process analyses and
publishes a graph at a time) and each sink consumer group (one process applies events to a
database). A lease is a plain key set with ``NX PX``; only the holder's token renews or releases
it (checked inside Redis by a script), so a holder that died blocks the others for at most its
time to live.

A lease alone cannot stop a holder that stalls past its expiry and then writes: each user adds a
fence of its own (the publish script checks the writer's token; a sink target's cursor
compare-and-set makes a late write change nothing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from typing import Any

from graphlive.bus.connection import Client, pipeline_with_script, script_sha

__all__ = ["Lease", "lease_key"]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_HOLD_SHA = script_sha(_HOLD)


def lease_key(graph: str, group: str) -> str:
    """Key of the lease of ``group`` on ``graph`` (in the graph's hash slot)."""
    return f"graphlive:{{{graph}}}:sink:{group}:lease"


class Lease:
    """The lease of one process. ``ttl_ms`` bounds how long a dead holder blocks a takeover."""

    def __init__(
        self, client: Client, key: str, owner: str, ttl_ms: int, *, token: str | None = None
    ) -> None:
        if ttl_ms < 100:
            raise ValueError("lease ttl must be at least 100 ms")
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        # Owner name plus a random part: a restarted process with the same consumer name must
        # not mistake its predecessor's lease for its own.
        self.token = token if token is not None else f"{owner}:{os.urandom(6).hex()}"

    # The scripts are registered when first used: a one-shot analysis takes the lease by
    # hold_and_read (no Script object) and releases it; registering all three cost 0.1 ms.
    @cached_property
    def _renew(self) -> Any:
        return self.client.register_script(_RENEW)

    @cached_property
    def _hold(self) -> Any:
        return self.client.register_script(_HOLD)

    @cached_property
    def _release(self) -> Any:
        return self.client.register_script(_RELEASE)

    def hold(self) -> bool:
        """Renew the lease if held, else try to take it. True if this process holds it now.
        One round trip (a script), as taking it is part of every short analysis."""
        return bool(int(self._hold(keys=[self.key], args=[self.token, self.ttl_ms])))

    def hold_and_read(self, read: Callable[[Any], None]) -> tuple[bool, list[Any]]:
        """:meth:`hold`, and the commands ``read`` queues on a pipeline, in one round trip.
        Returns whether this process holds the lease now and the replies of ``read``'s
        commands (read after the lease was taken or refused; keys of ``read`` must share the
        lease's slot on a cluster)."""

        def queue(pipe: Any) -> None:
            pipe.evalsha(_HOLD_SHA, 1, self.key, self.token, self.ttl_ms)
            read(pipe)

        replies = pipeline_with_script(self.client, queue, _HOLD)
        return bool(int(replies[0])), replies[1:]

    def renew(self) -> bool:
        """Renew the lease if this process holds it (never takes it). True if it still does."""
        return bool(int(self._renew(keys=[self.key], args=[self.token, self.ttl_ms])))

    def release(self) -> None:
        """Give the lease up (if held) so a standby can take over at once."""
        self._release(keys=[self.key], args=[self.token])

    def remaining_ms(self) -> int:
        """Milliseconds until the current holder's lease expires (0 when nobody holds it)."""
        left: Any = self.client.pttl(self.key)
        return max(0, int(left))

    def holder(self) -> str | None:
        """The token of the current holder, if any."""
        value: Any = self.client.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)
