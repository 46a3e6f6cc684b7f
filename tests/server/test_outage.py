"""Redis failures: killed and restarted (with and without its data), lost Pub/Sub messages, a
killed Pub/Sub connection. The Stream is the guarantee: clients see every event once, in order,
or an explicit resync."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
from tornado.httpclient import HTTPClientError

from graphlive.bus.publisher import Publisher, PublishResult
from graphlive_server.service import GraphliveService
from tests.redis_servers import RestartableRedis, running_redis
from tests.server.clients import (
    GLClient,
    node_events,
    publish_nodes,
    publish_without_pubsub,
    wait_until,
)

Connect = Callable[..., Awaitable[GLClient]]


@pytest.fixture
def restartable() -> Iterator[RestartableRedis]:
    server = RestartableRedis()
    server.start()
    yield server
    server.close()


@pytest.fixture
def gl_redis_url(restartable: RestartableRedis) -> str:
    return restartable.url


@pytest.fixture
def rclient(restartable: RestartableRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(restartable.url)
    yield client
    client.close()


async def publish_and_follow(
    connect: Connect, pub: Publisher, count: int
) -> tuple[PublishResult, GLClient]:
    """Publish ``count`` nodes, then connect a client that follows the graph through them."""
    first = publish_nodes(pub, 0, count)
    client = await connect()
    await client.follow(pub.graph, first.last)
    return first, client


async def test_redis_killed_and_restarted_with_its_data(
    gl_connect: Connect,
    jp_fetch: Any,
    gl_service: GraphliveService,
    restartable: RestartableRedis,
    rclient: redis.Redis,
    graph_name: str,
) -> None:
    pub = Publisher(rclient, graph_name)
    first, client = await publish_and_follow(gl_connect, pub, 10)

    restartable.kill()
    error = await client.until("error")
    assert error["code"] == "unavailable"
    await wait_until(lambda: gl_service.status()["reader"]["available"] is False)
    # Requests meanwhile are answered, not hung: the REST API says 503.
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("graphlive", "api", "graphs")
    assert info.value.code == 503
    restartable.start()
    await client.until("available", timeout=30)
    more = publish_nodes(pub, 10, 25)
    events = await client.events_through(graph_name, more.last)
    assert [e["seq"] for e in events] == list(range(first.last + 1, more.last + 1))
    assert not any(f["op"] in ("resync", "snapshot") for f in client.frames[3:])
    assert gl_service.metrics.reader_reconnects_total >= 1


async def test_redis_restarted_without_its_data_makes_subscribers_resync(
    gl_connect: Connect,
    restartable: RestartableRedis,
    rclient: redis.Redis,
    graph_name: str,
) -> None:
    first, client = await publish_and_follow(gl_connect, Publisher(rclient, graph_name), 10)

    restartable.kill(lose_data=True)
    assert (await client.until("error"))["code"] == "unavailable"
    restartable.start()
    await client.until("available", timeout=30)
    # The history is gone: the next publish starts a new epoch from seq 1.
    new = Publisher(rclient, graph_name).publish(node_events(graph_name, 100, 3))
    assert new.epoch != first.epoch and new.first == 1
    resync = await client.until("resync", timeout=30)
    assert resync["reason"] == "epoch"
    snapshot = await client.expect("snapshot")
    assert snapshot["epoch"] == new.epoch and snapshot["nodes"] == []
    events = await client.events_through(graph_name, new.last)
    assert [e["data"]["node"]["id"] for e in events] == ["m100", "m101", "m102"]


async def test_a_lost_pubsub_message_is_filled_from_the_stream(
    gl_connect: Connect,
    gl_service: GraphliveService,
    rclient: redis.Redis,
    graph_name: str,
) -> None:
    pub = Publisher(rclient, graph_name)
    _, client = await publish_and_follow(gl_connect, pub, 3)

    publish_without_pubsub(rclient, node_events(graph_name, 3, 4))  # seqs 4..7, never announced
    after = publish_nodes(pub, 7, 2)  # 8..9: the broadcaster sees the gap
    events = await client.events_through(graph_name, after.last)
    assert [e["seq"] for e in events] == list(range(4, 10))
    recovered = [f for f in client.frames if f["op"] == "events" and f["recovered"]]
    assert recovered and recovered[0]["from"] == 4
    assert gl_service.metrics.recovered_events_total >= 4


async def test_a_killed_pubsub_connection_reconnects_and_fills_the_gap(
    gl_connect: Connect,
    gl_service: GraphliveService,
    rclient: redis.Redis,
    graph_name: str,
) -> None:
    pub = Publisher(rclient, graph_name)
    _, client = await publish_and_follow(gl_connect, pub, 3)

    # No await in between: the broadcaster cannot reconnect before these are published.
    assert rclient.client_kill_filter(_type="pubsub") == 1
    missed = publish_nodes(pub, 3, 5)
    # Filled right after reconnecting (well before the 5 s audit could notice).
    events = await client.events_through(graph_name, missed.last, timeout=3)
    assert [e["seq"] for e in events] == list(range(4, 9))
    assert all(f["recovered"] for f in client.frames if f["op"] == "events" and f["from"] >= 4)
    assert gl_service.metrics.reader_reconnects_total == 1
    later = publish_nodes(pub, 8, 2)  # and the fast path works again
    events = await client.events_through(graph_name, later.last)
    assert [e["seq"] for e in events] == [9, 10]


async def test_a_lost_message_at_the_tail_is_found_by_the_audit(
    gl_connect: Connect,
    gl_service: GraphliveService,
    rclient: redis.Redis,
    graph_name: str,
) -> None:
    first, client = await publish_and_follow(gl_connect, Publisher(rclient, graph_name), 3)
    gl_service.broadcaster.audit_interval = 0.1  # instead of every 5 s

    # Nothing is published after it, so only comparing with the head reveals the loss.
    publish_without_pubsub(rclient, node_events(graph_name, 3, 2))
    events = await client.events_through(graph_name, first.last + 2)
    assert [e["seq"] for e in events] == [4, 5]
    assert client.frames[-1]["recovered"] is True
    assert gl_service.status()["graphs"][graph_name]["lag"] == 0


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


DEAD_PORT = _free_tcp_port()


@pytest.mark.parametrize("gl_redis_url", [f"redis://127.0.0.1:{DEAD_PORT}"])
async def test_a_redis_down_when_the_server_starts_is_asked_again_on_the_next_request(
    jp_fetch: Any,
) -> None:
    """Until its Redis answers, the extension does not start (it cannot tell a cluster node from
    a single server, and clients of the wrong kind would stay wrong): requests get 503 naming
    the cause; once Redis is up, the next request starts it."""
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("graphlive", "api", "graphs")
    assert info.value.code == 503
    assert info.value.response is not None and b"does not answer" in info.value.response.body
    with running_redis("--port", str(DEAD_PORT), "--bind", "127.0.0.1"):
        response = await jp_fetch("graphlive", "api", "graphs")
        assert response.code == 200
