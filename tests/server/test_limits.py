"""Bad input, abuse, rate limits, slow consumers and dead connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis

from graphlive.bus.publisher import Publisher
from graphlive_server.service import GraphliveService
from tests.server.clients import (
    GLClient,
    RawWebSocket,
    modules_with_snapshot,
    publish_nodes,
    wait_until,
)

Connect = Callable[..., Awaitable[GLClient]]


async def test_bad_messages_get_error_frames_and_the_connection_lives_on(
    gl_connect: Connect, redis_client: redis.Redis, graph_name: str
) -> None:
    client = await gl_connect()
    limits = (await client.hello())["limits"]
    cases: list[tuple[Any, str, str]] = [
        ("{not json", "bad_request", "not valid JSON"),
        ("[1, 2]", "bad_request", "JSON object"),
        ({"op": 3}, "bad_request", "string 'op'"),
        ({"op": "teleport", "ref": "t1"}, "bad_request", "unknown op"),
        ({"op": "subscribe"}, "bad_request", "'graph'"),
        ({"op": "subscribe", "graph": "a b"}, "bad_request", "invalid graph name"),
        ({"op": "subscribe", "graph": "g", "since": 5}, "bad_request", "'since'"),
        ({"op": "subscribe", "graph": "g", "since": {"epoch": "e", "seq": -1}}, "bad_request", ""),
        ({"op": "subscribe", "graph": "g", "snapshot": "yes"}, "bad_request", "'snapshot'"),
        ({"op": "ping", "t": "now"}, "bad_request", "'t'"),
        ({"op": "ping", "ref": "x" * 65}, "bad_request", "'ref'"),
        ({"op": "unsubscribe", "graph": "g"}, "bad_request", "not subscribed"),
        (json.dumps({"op": "ping", "pad": "x" * limits["max_message_bytes"]}), "too_large", ""),
        (b"\x00\x01binary", "bad_request", "binary"),
    ]
    for message, code, text in cases:
        await client.send(message)
        error = await client.expect("error")
        assert error["code"] == code and text in error["message"], (message, error)
    assert error is not None
    teleport = [f for f in client.frames if "unknown op" in f.get("message", "")]
    assert teleport[0]["ref"] == "t1"
    # Still usable.
    await client.send({"op": "ping", "t": 7, "ref": "p"})
    assert (await client.expect("pong")) == {"op": "pong", "t": 7.0, "ref": "p"}
    Publisher(redis_client, graph_name).publish([])  # nothing: subscribing still works
    publish_nodes(Publisher(redis_client, graph_name), 0, 1)
    assert (await client.subscribe(graph_name))["graph"] == graph_name


async def test_a_huge_frame_is_not_even_read(gl_connect: Connect) -> None:
    client = await gl_connect()
    limits = (await client.hello())["limits"]
    await client.send("x" * (4 * limits["max_message_bytes"] + 1))
    assert await client.closed() == 1009


async def test_persistent_garbage_closes_with_4400(gl_connect: Connect) -> None:
    client = await gl_connect()
    await client.hello()
    for _ in range(25):
        await client.send("garbage")
    errors = 0
    code = None
    while code is None:
        try:
            frame = await client.recv()
        except Exception as exc:
            code = getattr(exc, "code", None)
            break
        errors += frame["op"] == "error"
    assert code == 4400
    assert errors == 20  # BAD_MESSAGE_LIMIT answered, then the close


@pytest.mark.parametrize("gl_config", [{"rate_limit": 5}])
async def test_rate_limit_errors_then_4429(gl_connect: Connect) -> None:
    client = await gl_connect()
    hello = await client.hello()
    assert hello["limits"]["rate_limit"] == 5 and hello["limits"]["rate_burst"] == 10
    for i in range(15):
        await client.send({"op": "ping", "t": i})
    frames = [await client.recv() for _ in range(15)]
    pongs = [f for f in frames if f["op"] == "pong"]
    limited = [f for f in frames if f["op"] == "error" and f["code"] == "rate_limited"]
    assert len(pongs) + len(limited) == 15
    # The burst of 10 passes (plus what refills while sending), the rest is refused.
    assert len(pongs) >= 10 and len(limited) >= 1
    assert [f["t"] for f in pongs[:10]] == list(range(10))
    for i in range(30):  # keep flooding: more than the abuse limit of rejected messages
        await client.send({"op": "ping", "t": i})
    assert await client.closed() == 4429


@pytest.mark.parametrize("gl_config", [{"max_subscriptions": 2}])
async def test_subscription_limit(
    gl_connect: Connect, redis_client: redis.Redis, graph_name: str
) -> None:
    for suffix in ("1", "2", "3"):
        publish_nodes(Publisher(redis_client, graph_name + suffix), 0, 1)
    client = await gl_connect()
    await client.hello()
    await client.subscribe(graph_name + "1", snapshot=False)
    await client.subscribe(graph_name + "2", snapshot=False)
    await client.send({"op": "subscribe", "graph": graph_name + "3", "since": None})
    error = await client.until("error")
    assert error["code"] == "bad_request" and "at most 2" in error["message"]
    # Re-subscribing to a followed graph replaces the subscription (not counted twice).
    assert (await client.subscribe(graph_name + "2", snapshot=False))["mode"] == "live"


@pytest.mark.parametrize("gl_config", [{"max_queue_bytes": 64 * 1024}])
async def test_slow_consumer_is_closed_with_4001_while_a_fast_one_gets_everything(
    gl_connect: Connect,
    gl_service: GraphliveService,
    gl_token: str,
    jp_http_port: int,
    jp_base_url: str,
    redis_client: redis.Redis,
    graph_name: str,
    big_payload: str,
) -> None:
    pub = Publisher(redis_client, graph_name)
    first = publish_nodes(pub, 0, 1)
    fast = await gl_connect()
    await fast.hello()
    await fast.subscribe(graph_name, snapshot=False)
    fast.positions[graph_name] = (first.epoch, first.last)

    # A client that stops reading: a bare socket with a tiny receive window.
    slow = await RawWebSocket.connect(
        jp_http_port, f"{jp_base_url}graphlive/ws/events", gl_token, rcvbuf=4096
    )
    assert (await slow.read_json())["op"] == "hello"
    await slow.send_text(json.dumps({"op": "subscribe", "graph": graph_name, "since": None,
                                     "snapshot": False}))  # fmt: skip
    assert (await slow.read_json())["op"] == "subscribed"
    # Both are live once both got the same first live event.
    marker = publish_nodes(pub, 1, 1)
    assert (await slow.read_json())["through"] == marker.last
    await fast.events_through(graph_name, marker.last)

    # ~6 MB of events in batches of ~50 KB; the fast client reads each batch before the next
    # one goes out, the slow one reads nothing from now on.
    last = marker.last
    for start in range(2, 6002, 50):
        last = publish_nodes(pub, start, 50, pad=big_payload).last
        await fast.events_through(graph_name, last)
    events = [e for f in fast.frames if f["op"] == "events" for e in f["events"]]
    assert [e["seq"] for e in events] == list(range(first.last + 1, last + 1))
    await wait_until(lambda: gl_service.metrics.slow_client_closes_total == 1)
    assert gl_service.status()["connections"]["events"] == 1  # only the fast one is left
    # The slow client finds the 4001 close after the frames that reached it.
    assert await slow.close_code(timeout=30) == 4001
    slow.close()


@pytest.mark.parametrize("gl_config", [{"ping_interval": 0.1, "ping_timeout": 0.5}])
async def test_silent_connection_is_closed_with_4002_and_cleaned_up(
    gl_connect: Connect,
    gl_service: GraphliveService,
    gl_token: str,
    jp_http_port: int,
    jp_base_url: str,
) -> None:
    # A responsive client (Tornado answers pings) stays.
    alive = await gl_connect()
    await alive.hello()
    # A peer that never answers pings nor sends anything.
    dead = await RawWebSocket.connect(jp_http_port, f"{jp_base_url}graphlive/ws/events", gl_token)
    pings = 0
    code = None
    while code is None:
        opcode, payload = await dead.read_frame(timeout=10)
        if opcode == 0x9:
            pings += 1
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big")
    assert code == 4002 and pings >= 3
    await wait_until(lambda: gl_service.status()["connections"]["events"] == 1)
    assert gl_service.metrics.ping_timeout_closes_total == 1
    # Well past the timeout, the answering client is still connected.
    await alive.send({"op": "ping", "t": 1})
    assert (await alive.expect("pong"))["t"] == 1
    dead.close()


@pytest.mark.parametrize("gl_config", [{"subscribe_rate": 100}])  # the loop is the point here
async def test_resubscribing_in_a_loop_leaves_no_subscriber_and_no_channel_behind(
    gl_connect: Connect,
    gl_service: GraphliveService,
    redis_client: redis.Redis,
    graph_name: str,
) -> None:
    """A client re-subscribing to a graph with a snapshot as fast as the rate limit lets it,
    then closing: the graph's subscriber count and its Pub/Sub channel go back to zero."""
    from graphlive.bus.keys import GraphKeys

    modules_with_snapshot(Publisher(redis_client, graph_name), 100)
    channel = GraphKeys(graph_name).live

    def subscribers() -> int:
        graphs = gl_service.status()["graphs"]
        return int(graphs.get(graph_name, {}).get("subscribers", 0))

    def channel_subscribed() -> bool:
        counts: Any = redis_client.pubsub_numsub(channel)
        return any(n for _, n in counts)

    client = await gl_connect()
    await client.hello()
    count = 95  # within the rate limit's burst: none is refused
    for i in range(count):
        await client.send({"op": "subscribe", "graph": graph_name, "since": None, "ref": str(i)})
    while (await client.until("subscribed", timeout=30)).get("ref") != str(count - 1):
        pass
    assert not [f for f in client.frames if f["op"] == "error"]
    await wait_until(lambda: subscribers() == 1)
    await wait_until(channel_subscribed)
    client.close()
    await wait_until(lambda: gl_service.status()["connections"]["events"] == 0)
    await wait_until(lambda: subscribers() == 0 and graph_name not in gl_service.broadcaster.feeds)
    await wait_until(lambda: not channel_subscribed())


async def _frames_until_close(ws: RawWebSocket) -> tuple[list[dict[str, Any]], int | None]:
    """Text frames up to the close frame, and its code (fails if none comes within 30 s: the
    status socket's periodic frames would otherwise keep the loop going)."""
    frames: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        assert asyncio.get_running_loop().time() < deadline, f"no close; frames: {frames[-5:]}"
        opcode, payload = await ws.read_frame()
        if opcode == 0x1:
            frames.append(json.loads(payload))
        elif opcode == 0x8:
            return frames, int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None


@pytest.mark.usefixtures("http_server_client")  # the server listening, for raw sockets
@pytest.mark.parametrize("endpoint", ["events", "status"])
async def test_a_burst_of_garbage_gets_every_error_frame_then_4400(
    endpoint: str, gl_token: str, jp_http_port: int, jp_base_url: str
) -> None:
    """30 malformed messages arriving at once (one TCP write): the 20 the limit tolerates are
    all answered before the close, on the events socket and on the status socket alike."""
    from graphlive.wire import BAD_MESSAGE_LIMIT

    path = {"events": "graphlive/ws/events", "status": "graphlive/ws/status"}[endpoint]
    ws = await RawWebSocket.connect(jp_http_port, f"{jp_base_url}{path}", gl_token)
    try:
        first = await ws.read_json()
        assert first["op"] == ("hello" if endpoint == "events" else "status")
        await ws.send_texts(["garbage"] * 30)
        frames, code = await _frames_until_close(ws)
    finally:
        ws.close()
    errors = [f for f in frames if f["op"] == "error"]
    assert code == 4400
    assert len(errors) == BAD_MESSAGE_LIMIT
    assert all(f["code"] == "bad_request" for f in errors)


@pytest.mark.usefixtures("http_server_client")
@pytest.mark.parametrize("gl_config", [{"rate_limit": 5}])
async def test_the_status_socket_has_the_events_sockets_limits(
    gl_token: str, jp_http_port: int, jp_base_url: str, gl_service: GraphliveService
) -> None:
    """Over the rate: ``rate_limited`` errors, then 4429; oversize: ``too_large``."""
    ws = await RawWebSocket.connect(jp_http_port, f"{jp_base_url}graphlive/ws/status", gl_token)
    try:
        assert (await ws.read_json())["op"] == "status"
        limit = gl_service.limits.max_message_bytes
        await ws.send_text(json.dumps({"op": "ping", "pad": "x" * limit}))
        reply = await ws.read_json()
        assert reply["op"] == "error" and reply["code"] == "too_large", reply
        await ws.send_texts([json.dumps({"op": "ping", "t": i}) for i in range(60)])
        frames, code = await _frames_until_close(ws)
    finally:
        ws.close()
    pongs = [f for f in frames if f["op"] == "pong"]
    limited = [f for f in frames if f["op"] == "error" and f["code"] == "rate_limited"]
    assert code == 4429
    assert 9 <= len(pongs) <= 10  # the burst of 10 at 5/s, one token spent above
    # Refusals answered up to the abuse limit; the next one closes (its answer: the close).
    assert len(limited) == gl_service.limits.abuse_limit
    assert [f["t"] for f in pongs] == list(range(len(pongs)))


@pytest.mark.parametrize(
    "gl_config", [{"subscribe_rate": 2, "rate_limit": 100, "max_subscriptions": 10}]
)
async def test_a_resubscribe_loop_is_limited_as_such(
    gl_connect: Connect, redis_client: redis.Redis, graph_name: str
) -> None:
    """Under the message rate but over the subscribe budget (burst 10 — as many as the
    connection may hold — at 2/s): the extra subscribes are refused with ``rate_limited``
    errors (pings still answered), and a client that keeps at it is closed with 4429."""
    publish_nodes(Publisher(redis_client, graph_name), 0, 3)
    client = await gl_connect()
    limits = (await client.hello())["limits"]
    assert limits["subscribe_rate"] == 2 and limits["subscribe_burst"] == 10
    for i in range(14):
        await client.send({"op": "subscribe", "graph": graph_name, "since": None, "ref": str(i)})
    await client.send({"op": "ping", "t": 7})
    pong = await client.until("pong")
    assert pong["t"] == 7
    refused = [f for f in client.frames if f["op"] == "error" and f["code"] == "rate_limited"]
    assert 3 <= len(refused) <= 4  # 14 sent, 10 in the burst (plus what refilled meanwhile)
    assert all(f["graph"] == graph_name and f.get("ref") for f in refused)
    for _ in range(250):  # refusals past the abuse limit (200 here) close the connection
        await client.send({"op": "subscribe", "graph": graph_name, "since": None})
    assert await client.closed() == 4429
