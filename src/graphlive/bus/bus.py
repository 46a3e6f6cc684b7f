"""Bus: the one object a process needs to publish and consume graph events.

    bus = Bus()                      # GRAPHLIVE_REDIS_URL, or the embedded Redis
    bus.publish(events)              # append to the stream(s), contiguous seq per graph

    @bus.on("node_*")
    def changed(event): ...

    bus.start("demo")                # follow the stream in a thread, calling handlers

Handlers only ever see events read back from Redis, in ``seq`` order, each once — so a process
that both publishes and follows does not see its own events twice. After a resync (gap or new
epoch), handlers receive a ``graph_reset`` followed by ``node_added``/``edge_added`` events
rebuilding the graph from its snapshot (``source == RESYNC_SOURCE``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby

import redis

from graphlive.bus.connection import Client, dedicated
from graphlive.bus.handlers import Handler, HandlerRegistry
from graphlive.bus.publisher import DEFAULT_BATCH_SIZE, DEFAULT_RETENTION, Publisher, PublishResult
from graphlive.bus.reader import Position, ResyncRequired, StreamReader
from graphlive.bus.snapshot import load_graph
from graphlive.events import ChangeEvent, EventType

__all__ = ["RESYNC_SOURCE", "Bus"]

log = logging.getLogger(__name__)

#: ``source`` of the synthetic events that rebuild a consumer's graph after a resync.
RESYNC_SOURCE = "graphlive/resync"


class Bus:
    """Publishing, reading and in-process dispatch for graphs on one Redis."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Client | None = None,
        retention: int = DEFAULT_RETENTION,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._url = url
        self._client = client
        self._owns_client = client is None
        self.retention = retention
        self.batch_size = batch_size
        self.handlers = HandlerRegistry()
        self._publishers: dict[str, Publisher] = {}
        self._threads: list[tuple[threading.Thread, threading.Event]] = []

    @property
    def client(self) -> Client:
        """The Redis client, connected on first use (starting the embedded Redis if needed)."""
        if self._client is None:
            from graphlive.bus.connection import connect

            self._client = connect(self._url)
        return self._client

    # ------------------------------------------------------------------ producing

    def publisher(self, graph: str) -> Publisher:
        pub = self._publishers.get(graph)
        if pub is None:
            pub = Publisher(
                self.client, graph, retention=self.retention, batch_size=self.batch_size
            )
            self._publishers[graph] = pub
        return pub

    def publish(self, events: Sequence[ChangeEvent]) -> list[PublishResult]:
        """Append ``events`` to their graphs' streams (one result per run of the same graph)."""
        return [
            self.publisher(graph).publish(list(run))
            for graph, run in groupby(events, key=lambda e: e.graph)
        ]

    # ------------------------------------------------------------------ consuming

    def reader(self, graph: str) -> StreamReader:
        return StreamReader(self.client, graph)

    def on(self, pattern: str = "*") -> Callable[[Handler], Handler]:
        """Register an in-process handler for event types matching the glob ``pattern``."""
        return self.handlers.on(pattern)

    def follow_once(
        self,
        graph: str,
        after: Position,
        *,
        block_ms: int = 1000,
        reader: StreamReader | None = None,
    ) -> Position:
        """Wait up to ``block_ms`` for events after ``after``, dispatch them, return the new
        position. On a gap or epoch change, dispatches the resync sequence instead."""
        reader = reader or self.reader(graph)
        try:
            events = reader.wait(after, block_ms=block_ms)
        except ResyncRequired as exc:
            log.info("%s; rebuilding from snapshot", exc)
            return self._resync(graph)
        if events:
            self.handlers.dispatch(events)
            return Position(events[-1].epoch, events[-1].seq)
        return after

    def start(self, graph: str, since: Position | None = None) -> threading.Event:
        """Follow ``graph`` in a daemon thread from ``since`` (default: the current head).

        Returns an event; set it (or call :meth:`close`) to stop the thread.
        """
        stop = threading.Event()
        # A dedicated connection: blocking XREAD must not hold the shared client's connection.
        client = dedicated(self.client)
        reader = StreamReader(client, graph)
        position = since if since is not None else reader.head()

        def loop() -> None:
            pos = position
            while not stop.is_set():
                try:
                    pos = self.follow_once(graph, pos, block_ms=200, reader=reader)
                except redis.ConnectionError:
                    log.warning("graphlive: lost Redis while following %s; retrying", graph)
                    stop.wait(0.5)
            client.close()

        thread = threading.Thread(target=loop, name=f"graphlive-follow-{graph}", daemon=True)
        thread.start()
        self._threads.append((thread, stop))
        return stop

    def _resync(self, graph: str) -> Position:
        g, pos = load_graph(self.client, graph)
        self.handlers.dispatch(_rebuild_events(graph, g.to_dict(), pos))
        return pos

    def reconnect(self) -> None:
        """Forget the connection so the next use resolves the Redis location again.

        With the embedded default this restarts a server that died (its AOF keeps the data);
        a client passed in by the caller is kept (redis-py reconnects it on its own).
        """
        if not self._owns_client or self._client is None:
            return
        client, self._client = self._client, None
        self._publishers.clear()
        client.close()

    def close(self) -> None:
        """Stop follower threads and close the connection."""
        for thread, stop in self._threads:
            stop.set()
            thread.join(timeout=5)
        self._threads.clear()
        if self._client is not None:
            self._client.close()


def _rebuild_events(
    graph: str, content: dict[str, list[dict[str, object]]], at: Position
) -> Iterable[ChangeEvent]:
    def make(etype: EventType, data: dict[str, object]) -> ChangeEvent:
        return ChangeEvent(
            type=etype, graph=graph, data=data, seq=at.seq, epoch=at.epoch, source=RESYNC_SOURCE
        )

    yield make(EventType.GRAPH_RESET, {})
    for n in content["nodes"]:
        yield make(EventType.NODE_ADDED, {"node": n})
    for e in content["edges"]:
        yield make(EventType.EDGE_ADDED, {"edge": e})
