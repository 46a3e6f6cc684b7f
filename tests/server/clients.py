"""Test clients of the graphlive WebSocket protocol.

:class:`GLClient` wraps Tornado's WebSocket client and checks what every client must be able to
rely on: each ``events`` frame starts right after the previous one (``from == position + 1``),
so a gap or a duplicate fails the test where it happens. :class:`RawWebSocket` speaks the
protocol over a bare socket so a test can stop reading (slow consumer) or ignore pings.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import zlib
from collections.abc import Callable
from typing import Any

import redis
from tornado.websocket import WebSocketClientConnection

from graphlive.bus.keys import GraphKeys
from graphlive.bus.publisher import Publisher, PublishResult
from graphlive.bus.reader import Position
from graphlive.bus.scripts import PUBLISH
from graphlive.bus.snapshot import write_snapshot
from graphlive.events import ChangeEvent, EventType, encode_unpositioned
from graphlive.graph import CodeGraph, Node, NodeKind

DEFAULT_TIMEOUT = 15.0


async def wait_until(predicate: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait for a condition on the server's state (checked every 10 ms; fails on timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


class Closed(Exception):
    """The server closed the connection; ``code`` is its close code."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(f"connection closed: {code} {reason}")
        self.code = code
        self.reason = reason


class GLClient:
    """A graphlive protocol client over Tornado's WebSocket client."""

    def __init__(self, conn: WebSocketClientConnection) -> None:
        self.conn = conn
        #: Per graph: (epoch, seq) of the last event frame's end.
        self.positions: dict[str, tuple[str, int]] = {}
        self.frames: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        data = json.dumps(message) if isinstance(message, dict) else message
        await self.conn.write_message(data, binary=isinstance(data, bytes))

    async def recv(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.conn.read_message(), timeout)
        if msg is None:
            raise Closed(self.conn.close_code, self.conn.close_reason)
        frame: dict[str, Any] = json.loads(msg)
        self.frames.append(frame)
        if frame["op"] == "events":
            self._check_continuity(frame)
        elif frame["op"] == "snapshot":
            self.positions[frame["graph"]] = (frame["epoch"], frame["seq"])
        return frame

    def _check_continuity(self, frame: dict[str, Any]) -> None:
        graph = frame["graph"]
        seqs = [e["seq"] for e in frame["events"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), frame
        assert all(frame["from"] <= s <= frame["through"] for s in seqs), frame
        assert all(e["graph"] == graph for e in frame["events"])
        assert all(e["epoch"] == frame["epoch"] for e in frame["events"]), frame
        if graph in self.positions:
            _, seq = self.positions[graph]
            assert frame["from"] == seq + 1, f"gap or duplicate: position {seq}, frame {frame}"
        self.positions[graph] = (frame["epoch"], frame["through"])

    async def expect(self, op: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        frame = await self.recv(timeout)
        assert frame["op"] == op, f"expected {op!r}, got {frame}"
        return frame

    async def hello(self) -> dict[str, Any]:
        return await self.expect("hello")

    async def subscribe(self, graph: str, **fields: Any) -> dict[str, Any]:
        """Send subscribe; return the ``subscribed`` reply (frames before it are kept)."""
        await self.send({"op": "subscribe", "graph": graph, "since": None, **fields})
        return await self.until("subscribed")

    async def follow(self, graph: str, through: int) -> None:
        """Say hello, subscribe to ``graph`` (snapshot first) and read its events to ``through``."""
        await self.hello()
        await self.subscribe(graph)
        await self.expect("snapshot")
        await self.events_through(graph, through)

    async def until(self, op: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Read frames until one with ``op`` (the others are recorded in :attr:`frames`)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            frame = await self.recv(max(left, 0.001))
            if frame["op"] == op:
                return frame

    async def events_through(
        self, graph: str, seq: int, timeout: float = DEFAULT_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Every event received until the position in ``graph`` reaches ``seq``."""
        out: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while self.positions.get(graph, ("", -1))[1] < seq:
            left = deadline - asyncio.get_running_loop().time()
            frame = await self.recv(max(left, 0.001))
            if frame["op"] == "events" and frame["graph"] == graph:
                out.extend(frame["events"])
            elif frame["op"] in ("resync", "error"):
                raise AssertionError(f"unexpected {frame}")
        return out

    async def closed(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Read until the server closes; return the close code."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                await self.recv(max(left, 0.001))
            except Closed as exc:
                return exc.code

    def close(self) -> None:
        self.conn.close()


def node_events(graph: str, start: int, count: int, *, pad: str = "") -> list[ChangeEvent]:
    """``count`` node_added events for modules m<start>… (``pad`` makes them heavy)."""
    out = []
    for i in range(start, start + count):
        node = Node.make(f"m{i}", NodeKind.MODULE, file=f"pkg/m{i}.py", line=1, doc=pad or None)
        out.append(ChangeEvent(EventType.NODE_ADDED, graph, {"node": node.to_dict()}))
    return out


def publish_nodes(pub: Publisher, start: int, count: int, *, pad: str = "") -> PublishResult:
    return pub.publish(node_events(pub.graph, start, count, pad=pad))


def modules_with_snapshot(pub: Publisher, count: int) -> Position:
    """Publish ``count`` module nodes in one transaction through a producer graph and write
    the graph's snapshot at the head; returns that position."""
    producer = CodeGraph(pub.graph)
    published: list[ChangeEvent] = []
    producer.listen(lambda batch: published.extend(pub.publish(batch).positioned(batch)))
    with producer.transaction():
        for i in range(count):
            producer.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py"))
    at = Position(published[-1].epoch, published[-1].seq)
    write_snapshot(pub.client, producer, at)
    return at


def publish_without_pubsub(client: redis.Redis, events: list[ChangeEvent]) -> None:
    """Append events exactly like :class:`Publisher` but announce them on another channel, so
    the broadcaster's Pub/Sub never sees them (a lost Pub/Sub message)."""
    keys = GraphKeys(events[0].graph)
    script = client.register_script(PUBLISH)
    bodies = [encode_unpositioned(e) for e in events]
    nowhere = f"graphlive:{{{keys.graph}}}:nowhere"
    empty = zlib.compress(b'{"nodes":[],"edges":[]}')  # used by resets only
    script(
        keys=[keys.events, keys.meta, keys.snapshot, nowhere, keys.writer],
        # (epoch candidate, retention, reset, empty snapshot, writer token, channel command,
        # floor epoch and seq, release flag: scripts.PUBLISH's arguments)
        args=["0" * 16, "100000", "0", empty, "", "PUBLISH", "", "0", "0", *bodies],
    )


class RawWebSocket:
    """A WebSocket client over a bare socket: it reads only when asked to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls, port: int, path: str, token: str, *, rcvbuf: int | None = None
    ) -> RawWebSocket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Before connecting, so the TCP window stays small: the server's writes block soon.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nAuthorization: token {token}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEFAULT_TIMEOUT)
        status = head.split(b"\r\n", 1)[0]
        assert b" 101 " in status, head
        return cls(reader, writer)

    async def send_text(self, text: str) -> None:
        await self.send_texts([text])

    async def send_texts(self, texts: list[str]) -> None:
        """Several text frames in one write: the server reads them in one go, before its
        writer gets to send any reply."""
        out = bytearray()
        for text in texts:
            payload = text.encode()
            mask = os.urandom(4)
            n = len(payload)
            if n < 126:
                header = struct.pack("!BB", 0x81, 0x80 | n)
            elif n < 1 << 16:
                header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
            else:
                header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
            out += header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes(out))
        await self.writer.drain()

    async def read_frame(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, bytes]:
        """``(opcode, payload)`` of the next frame (server frames are not masked)."""

        async def read() -> tuple[int, bytes]:
            opcode, n = await self._frame_header()
            return opcode, await self.reader.readexactly(n)

        return await asyncio.wait_for(read(), timeout)

    async def skim_frame(self, keep: int) -> tuple[int, bytes, int]:
        """``(opcode, first keep bytes of the payload, payload length)`` of the next frame; the
        rest is read in pieces and dropped, so a client reading huge frames holds none whole."""
        opcode, n = await self._frame_header()
        head = await self.reader.readexactly(min(n, keep))
        left = n - len(head)
        while left:
            left -= len(await self.reader.read(min(left, 1 << 20)))
        return opcode, head, n

    async def _frame_header(self) -> tuple[int, int]:
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return b0 & 0x0F, n

    async def read_json(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The next text frame as JSON (control frames other than close are skipped)."""
        while True:
            opcode, payload = await self.read_frame(timeout)
            if opcode == 0x1:
                frame: dict[str, Any] = json.loads(payload)
                return frame
            if opcode == 0x8:
                raise Closed(struct.unpack("!H", payload[:2])[0] if payload else None, None)

    async def close_code(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Read (and drop) everything until the close frame; return its code."""
        while True:
            try:
                opcode, payload = await self.read_frame(timeout)
            except asyncio.IncompleteReadError:
                return None  # connection dropped without a close frame
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

    def close(self) -> None:
        self.writer.close()
