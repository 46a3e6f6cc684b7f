"""The broadcaster's Pub/Sub connection: classic channels on one Redis, shard channels on a cluster.

Publishers send each batch with ``PUBLISH`` on a single Redis and with ``SPUBLISH`` on a Redis
Cluster (the graph's ``live`` channel is hash-tagged like its other keys, so a batch goes only to
the shard that owns the graph: fan-out spreads across shards instead of every node relaying every
message). :func:`open_channels` returns the matching reader; both give the broadcaster the same
messages: ``{"type": "subscribe" | "message", "channel": ..., "data": ...}``.

On a cluster, redis-py's :class:`~redis.asyncio.cluster.ClusterPubSub` keeps one connection per
shard it follows and re-routes channels after a failover or a ``MOVED`` reply. A slot migration
makes the old owner end the subscription itself (an ``sunsubscribe`` nobody asked for):
:class:`ShardChannels` subscribes again, which reaches the new owner, and the broadcaster treats
the confirmation like any resubscription (it fills from the Stream what it missed meanwhile).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import redis.asyncio
import redis.asyncio.cluster
from redis.asyncio.client import PubSub

from graphlive.bus.connection import AsyncClient

__all__ = ["LiveChannels", "PlainChannels", "ShardChannels", "open_channels"]


class LiveChannels(Protocol):
    """Subscriptions to graphs' ``live`` channels (one reader task uses it)."""

    #: Whether :meth:`ping` gets a reply among the messages (then a connection silent for long
    #: is taken as broken).
    answers_ping: bool

    async def subscribe(self, *channels: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    async def get_message(self, timeout: float) -> dict[str, Any] | None:
        """The next message or subscription confirmation within ``timeout`` seconds."""
        ...

    async def ping(self) -> None:
        """Ask for a reply, so that a silent connection is noticed (see the audit)."""
        ...

    async def close(self) -> None: ...


async def open_channels(client: AsyncClient) -> LiveChannels:
    """Connected channels of the kind ``client`` needs (raises what connecting raises)."""
    if isinstance(client, redis.asyncio.cluster.RedisCluster):
        await client.initialize()
        return ShardChannels(client.pubsub())
    pubsub = client.pubsub()
    try:
        await pubsub.connect()  # type: ignore[no-untyped-call]
    except BaseException:
        await pubsub.aclose()
        raise
    return PlainChannels(pubsub)


class PlainChannels:
    """Classic Pub/Sub on one connection."""

    answers_ping = True

    def __init__(self, pubsub: PubSub) -> None:
        self.pubsub = pubsub

    async def subscribe(self, *channels: str) -> None:
        await self.pubsub.subscribe(*channels)

    async def unsubscribe(self, channel: str) -> None:
        await self.pubsub.unsubscribe(channel)

    async def get_message(self, timeout: float) -> dict[str, Any] | None:
        message: dict[str, Any] | None = await self.pubsub.get_message(timeout=timeout)
        return message

    async def ping(self) -> None:
        await self.pubsub.ping()

    async def close(self) -> None:
        await self.pubsub.aclose()


class ShardChannels:
    """Sharded Pub/Sub (``SSUBSCRIBE``) on a Redis Cluster: a connection per shard followed."""

    answers_ping = False

    def __init__(self, pubsub: redis.asyncio.cluster.ClusterPubSub) -> None:
        self.pubsub = pubsub
        self._channels: set[str] = set()

    async def subscribe(self, *channels: str) -> None:
        self._channels.update(channels)
        await self.pubsub.ssubscribe(*channels)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        await self.pubsub.sunsubscribe(channel)

    async def get_message(self, timeout: float) -> dict[str, Any] | None:
        if not self._channels:
            # Nothing to read from (no shard connection yet): wait out the poll interval.
            await asyncio.sleep(timeout)
            return None
        message: dict[str, Any] | None = await self.pubsub.get_sharded_message(timeout=timeout)
        if message is None:
            return None
        kind = message.get("type")
        if kind == "smessage":
            return {**message, "type": "message"}
        if kind == "ssubscribe":
            return {**message, "type": "subscribe"}
        if kind == "sunsubscribe":
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            if name in self._channels:
                # Not asked for: the slot moved to another master. Follow it there.
                await self.pubsub.ssubscribe(name)
            return None
        return message

    async def ping(self) -> None:
        # Shard connections answer no PING in subscribed mode through this API; the audit's
        # head check (one command per followed graph) shows whether the shards answer.
        return None

    async def close(self) -> None:
        await self.pubsub.aclose()
