"""The kernel-side fallback transport: docs/protocol.md served over a widget's comm.

Where no graphlive server extension is reachable (VS Code, Colab, a plain ``jupyter kernel``),
the GraphView front end talks to its kernel instead: it sends the same client messages
(``subscribe``, ``unsubscribe``, ``filter``, ``ping``) as custom widget messages, and the kernel
answers with the same server frames (``hello``, ``subscribed``, ``snapshot``, ``events`` with
``from``/``through``, ``resync``, ``pong``, ``error``). The front end runs its usual connection,
channel and resume logic on top, so the view behaves exactly as over the WebSocket.

:class:`CommTransport` owns one graph's feed for one widget:

* ``subscribe`` is answered at once from the calling thread (the kernel's shell thread): a
  snapshot (:func:`graphlive.bus.snapshot.load_graph`), a replay of the events after the client's
  position, or nothing for a live-only start.
* A background thread follows the Redis stream (:class:`graphlive.bus.reader.StreamReader`,
  blocking reads, nothing polls) and forwards every event in ``seq`` order, batched: everything a
  wake-up reads goes out as frames of at most ``max_frame_events`` events, all in one comm
  message. Frames are sent under a lock with a subscription generation, so a frame read for an
  older subscription never follows a newer snapshot.
* ``filter`` narrows the event types sent (globs); ``from``/``through`` still cover the whole
  range, as on the filtered endpoint, so the client's position stays exact.
* A gap or lost history (:class:`~graphlive.bus.reader.ResyncRequired`) sends ``resync`` and a
  fresh snapshot, never a silent hole.

Sending from the reader thread is safe: ipykernel routes every IOPub message through its IO
thread.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from graphlive import __version__ as _version
from graphlive.bus.connection import Client, dedicated
from graphlive.bus.reader import Position, ResyncRequired, StreamReader
from graphlive.bus.snapshot import load_graph
from graphlive.events import ChangeEvent

__all__ = ["CLIENT_MESSAGE", "SERVER_FRAMES", "CommTransport"]

log = logging.getLogger(__name__)

#: ``type`` of the custom messages the front end sends (``{"type", "message": <client frame>}``).
CLIENT_MESSAGE = "graphlive-client"
#: ``type`` of the custom messages the kernel sends (``{"type", "frames": [<server frame>...]}``).
SERVER_FRAMES = "graphlive-frames"

SendFrames = Callable[[list[dict[str, Any]]], None]


class CommTransport:
    """Serve graph ``graph`` from Redis to a front end through ``send``.

    ``send`` delivers a list of server frames to the front end as one message (the widget wraps
    it as ``{"type": SERVER_FRAMES, "frames": frames}``). ``handle`` takes each client message.
    ``close`` stops the reader thread (it returns within ``block_ms``).
    """

    def __init__(
        self,
        send: SendFrames,
        client: Client,
        graph: str,
        *,
        block_ms: int = 5000,
        max_frame_events: int = 1000,
        page: int = 5000,
    ) -> None:
        self._send = send
        # A pool of its own: the caller may close its client (e.g. LiveGraph.close()) while the
        # reader thread is blocked in a read; this transport's lifetime is its own.
        self._client: Client = dedicated(client)
        self.graph = graph
        self.block_ms = block_ms
        self.max_frame_events = max_frame_events
        self._reader = StreamReader(client, graph, page=page)
        self._lock = threading.Lock()
        self._position: Position | None = None
        self._generation = 0
        self._types: list[str] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._hello_sent = False
        #: Frames and events sent, for status and tests.
        self.frames_sent = 0
        self.events_sent = 0

    # ------------------------------------------------------------------ client messages

    def handle(self, message: Mapping[str, Any]) -> None:
        """Answer one client message (from the kernel's shell thread)."""
        op = message.get("op")
        ref = message.get("ref") if isinstance(message.get("ref"), str) else None
        if op == "ping":
            self._emit([{"op": "pong", "t": message.get("t")}])
        elif op == "subscribe":
            self._subscribe(message, ref)
        elif op == "unsubscribe":
            with self._lock:
                self._position = None
                self._generation += 1
            self._emit([{"op": "unsubscribed", "graph": self.graph}])
        elif op == "filter":
            filters = message.get("filters")
            types = filters.get("types") if isinstance(filters, Mapping) else None
            with self._lock:
                self._types = (
                    [t for t in types if isinstance(t, str)] if isinstance(types, list) else []
                )
        else:
            self._emit([self._error("bad_request", f"unknown op {op!r}", ref)])

    def close(self, wait: float = 0.0) -> None:
        """Stop following the stream. The reader thread ends at its next wake-up (within
        ``block_ms``); ``wait`` seconds are spent waiting for it (none by default, so closing a
        widget never blocks the kernel)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if wait > 0 and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=wait)
        self._thread = None
        # A read still blocked on it fails now, and the thread, seeing the stop, just ends.
        self._client.close()

    # ------------------------------------------------------------------ internals

    def _error(self, code: str, text: str, ref: str | None) -> dict[str, Any]:
        frame: dict[str, Any] = {"op": "error", "code": code, "message": text, "graph": self.graph}
        if ref is not None:
            frame["ref"] = ref
        return frame

    def _emit(self, frames: list[dict[str, Any]]) -> None:
        if frames:
            self._send(frames)
            self.frames_sent += len(frames)

    def _subscribe(self, message: Mapping[str, Any], ref: str | None) -> None:
        if message.get("graph") != self.graph:
            self._emit([self._error("unknown_graph", f"this view serves {self.graph!r}", ref)])
            return
        filters = message.get("filters")
        types = filters.get("types") if isinstance(filters, Mapping) else None
        since = message.get("since")
        frames: list[dict[str, Any]] = []
        with self._lock:
            if isinstance(types, list):
                self._types = [t for t in types if isinstance(t, str)]
            if not self._hello_sent:
                self._hello_sent = True
                frames.append(
                    {"op": "hello", "protocol": 1, "server": f"graphlive {_version} (kernel comm)"}
                )
            head = self._reader.head()
            mode = "snapshot"
            position: Position | None = None
            replayed: list[dict[str, Any]] = []
            resync: dict[str, Any] | None = None
            if isinstance(since, Mapping) and isinstance(since.get("seq"), int):
                start = Position(str(since.get("epoch") or ""), int(since["seq"]))
                try:
                    position, replayed = self._replay_frames(start)
                    mode = "replay"
                except ResyncRequired as exc:
                    resync = {"op": "resync", "graph": self.graph, "reason": exc.reason}
            elif message.get("snapshot") is False:
                mode = "live"
                position = head
            self._generation += 1
            subscribed: dict[str, Any] = {
                "op": "subscribed",
                "graph": self.graph,
                "epoch": head.epoch,
                "head": head.seq,
                "mode": mode,
            }
            if ref is not None:
                subscribed["ref"] = ref
            frames.append(subscribed)
            if resync is not None:
                frames.append(resync)
            if position is None:
                snapshot, position = self._snapshot_frame()
                frames.append(snapshot)
            frames.extend(replayed)
            self._position = position
            self._emit(frames)
        self._ensure_thread()
        self._wake.set()

    def _snapshot_frame(self) -> tuple[dict[str, Any], Position]:
        graph, position = load_graph(self._client, self.graph)
        content = graph.to_dict()
        frame = {
            "op": "snapshot",
            "graph": self.graph,
            "epoch": position.epoch,
            "seq": position.seq,
            "nodes": content["nodes"],
            "edges": content["edges"],
        }
        return frame, position

    def _replay_frames(self, start: Position) -> tuple[Position, list[dict[str, Any]]]:
        """Every event after ``start`` as frames (raises ResyncRequired)."""
        frames: list[dict[str, Any]] = []
        position = start
        for page in self._reader.replay(start):
            frames.extend(self._event_frames(page))
            position = Position(page[-1].epoch, page[-1].seq)
        return position, frames

    def _event_frames(self, events: Sequence[ChangeEvent]) -> list[dict[str, Any]]:
        """Frames of at most ``max_frame_events``, one epoch each, filtered by type."""
        frames: list[dict[str, Any]] = []
        types = self._types
        i = 0
        while i < len(events):
            epoch = events[i].epoch
            j = i
            while j < len(events) and j - i < self.max_frame_events and events[j].epoch == epoch:
                j += 1
            chunk = events[i:j]
            kept = [e.to_dict() for e in chunk if _matches(e.type.value, types)]
            frames.append(
                {
                    "op": "events",
                    "graph": self.graph,
                    "epoch": epoch,
                    "from": chunk[0].seq,
                    "through": chunk[-1].seq,
                    "events": kept,
                    "recovered": False,
                }
            )
            self.events_sent += len(kept)
            i = j
        return frames

    def _ensure_thread(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        self._thread = threading.Thread(
            target=self._follow, name=f"graphlive-comm-{self.graph}", daemon=True
        )
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                position, generation = self._position, self._generation
            if position is None:
                self._wake.wait(timeout=self.block_ms / 1000)
                self._wake.clear()
                continue
            try:
                events = self._reader.wait(position, block_ms=self.block_ms)
            except ResyncRequired as exc:
                try:
                    self._resync(generation, exc.reason)
                except Exception as error:
                    if self._stop.is_set():
                        return
                    log.warning(
                        "graphlive comm transport: resync of %r failed (%s)", self.graph, error
                    )
                    self._stop.wait(1.0)
                continue
            except Exception as exc:
                if self._stop.is_set():
                    return  # closed while reading
                log.warning(
                    "graphlive comm transport: reading %r failed (%s); retrying", self.graph, exc
                )
                self._stop.wait(1.0)
                continue
            if not events:
                continue
            with self._lock:
                if generation != self._generation or self._stop.is_set():
                    continue  # read for a subscription that has been replaced meanwhile
                self._emit(self._event_frames(events))
                last = events[-1]
                self._position = Position(last.epoch, last.seq)

    def _resync(self, generation: int, reason: str) -> None:
        with self._lock:
            if generation != self._generation:
                return
            snapshot, position = self._snapshot_frame()
            self._generation += 1
            self._position = position
            self._emit([{"op": "resync", "graph": self.graph, "reason": reason}, snapshot])


def _matches(event_type: str, patterns: Iterable[str]) -> bool:
    patterns = list(patterns)
    return not patterns or any(fnmatch.fnmatchcase(event_type, p) for p in patterns)
