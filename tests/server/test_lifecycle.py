"""The extension starts its one Redis reader with the server and stops it cleanly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis

from graphlive.bus.publisher import Publisher
from graphlive_server.service import READER_CLIENT_NAME, GraphliveService
from tests.server.clients import GLClient, publish_nodes, wait_until

Connect = Callable[..., Awaitable[GLClient]]


def pubsub_clients(client: redis.Redis) -> list[dict[str, Any]]:
    """The connections of graphlive server readers."""
    return [c for c in client.client_list() if c.get("name") == READER_CLIENT_NAME]


async def test_one_reader_starts_with_the_server_and_shutdown_closes_everything(
    gl_connect: Connect,
    gl_service: GraphliveService,
    jp_serverapp: Any,
    redis_client: redis.Redis,
    graph_name: str,
) -> None:
    # The server's start hook (which pytest-jupyter does not run by itself) starts the reader,
    # before any request.
    await jp_serverapp._post_start()
    assert await gl_service.broadcaster.wait_connected(timeout=10)
    assert len(pubsub_clients(redis_client)) == 1

    pub = Publisher(redis_client, graph_name)
    first = publish_nodes(pub, 0, 2)
    clients = [await gl_connect(), await gl_connect("filtered"), await gl_connect()]
    for client in clients:
        await client.follow(graph_name, first.last)
    other = Publisher(redis_client, graph_name + "-2")
    publish_nodes(other, 0, 1)
    await clients[0].subscribe(other.graph)
    status = await gl_connect("status")
    await status.expect("status")
    # Many connections and graphs, still one Pub/Sub connection for the whole process.
    assert len(pubsub_clients(redis_client)) == 1
    reader = gl_service.broadcaster._task
    assert reader is not None

    await jp_serverapp.cleanup_extensions()  # what the server does when it shuts down

    for client in clients:
        assert await client.closed() == 1001
    assert await status.closed() == 1001
    assert reader.done()
    # Closed on our side; Redis drops it from CLIENT LIST once it has read the EOF.
    await wait_until(lambda: pubsub_clients(redis_client) == [])
    assert gl_service.status()["connections"]["total"] == 0


@pytest.mark.parametrize("gl_config", [{"freeze_gc": True}, {"freeze_gc": False}])
async def test_the_servers_objects_are_frozen_for_the_collector_until_it_stops(
    gl_connect: Callable[..., Awaitable[GLClient]],
    gl_service: GraphliveService,
    gl_config: dict[str, Any],
) -> None:
    """With ``freeze_gc`` (the default) the service moves the server's objects out of the
    collector's reach once it starts (full collections stalled live delivery), and gives them
    back when it stops; without, nothing is frozen."""
    import gc

    before = gc.get_freeze_count()
    await gl_connect()
    await gl_service.ensure_started()
    frozen = gc.get_freeze_count()
    if gl_config["freeze_gc"]:
        assert frozen > before + 10_000
    else:
        assert frozen == before
    await gl_service.stop()
    assert gc.get_freeze_count() == (0 if gl_config["freeze_gc"] else before)
