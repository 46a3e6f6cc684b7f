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
* Messages are parsed, subscribes planned and frames built by :mod:`graphlive.wire`, as in the
  server extension; the comm behaves like the filtered endpoint (``filters`` on ``subscribe``
  and the ``filter`` op narrow types, kinds and paths; ``from``/``through`` still cover the
  whole range, so the client's position stays exact). The kernel keeps no retention limit: a
  position in the current epoch is always replayed.
* A gap or lost history (:class:`~graphlive.bus.reader.ResyncRequired`) sends ``resync`` and a
  fresh snapshot, never a silent hole.

Sending from the reader thread is safe: ipykernel routes every IOPub message through its IO
thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphlive import __version__ as _version
from graphlive.bus.connection import Client, dedicated
from graphlive.bus.reader import Position, ResyncRequired, StreamReader
from graphlive.bus.snapshot import load_graph
from graphlive.events import ChangeEvent
from graphlive.wire import (
    ErrorCode,
    EventFilter,
    Frame,
    Limits,
    Mode,
    Ping,
    Plan,
    ProtocolError,
    ResyncReason,
    SetFilter,
    Subscribe,
    Unsubscribe,
    dispatch,
    error_frame,
    events_frame,
    filtered_frame,
    hello_frame,
    parse_client_object,
    plan_subscribe,
    pong_frame,
    resync_frame,
    resync_reason,
    snapshot_frame,
    subscribed_frame,
    unsubscribed_frame,
)

__all__ = ["CLIENT_MESSAGE", "SERVER_FRAMES", "CommTransport"]

log = logging.getLogger(__name__)

#: ``type`` of the custom messages the front end sends (``{"type", "message": <client frame>}``).
CLIENT_MESSAGE = "graphlive-client"
#: ``type`` of the custom messages the kernel sends (``{"type", "frames": [<server frame>...]}``).
SERVER_FRAMES = "graphlive-frames"
#: ``endpoint`` announced in the ``hello`` frame.
ENDPOINT = "comm"

SendFrames = Callable[[list[Frame]], None]

_DEFAULT_LIMITS = Limits()


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
        max_frame_events: int = _DEFAULT_LIMITS.max_frame_events,
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
        self._filters = EventFilter()
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
        try:
            dispatch(parse_client_object(dict(message), filtered=True), self)
        except ProtocolError as exc:
            self._emit([error_frame(exc.code, exc.message, ref=exc.ref, graph=exc.graph)])

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

    def _check_graph(self, graph: str, ref: str | None) -> None:
        if graph != self.graph:
            raise ProtocolError(
                ErrorCode.UNKNOWN_GRAPH, f"this view serves {self.graph!r}", ref=ref, graph=graph
            )

    def _emit(self, frames: list[Frame]) -> None:
        if frames:
            self._send(frames)
            self.frames_sent += len(frames)

    def on_ping(self, message: Ping) -> None:
        self._emit([pong_frame(message.t, ref=message.ref)])

    def on_subscribe(self, request: Subscribe) -> None:
        self._check_graph(request.graph, request.ref)
        frames: list[Frame] = []
        with self._lock:
            self._filters = request.filters or EventFilter()
            if not self._hello_sent:
                self._hello_sent = True
                frames.append(hello_frame(f"graphlive {_version} (kernel comm)", endpoint=ENDPOINT))
            head = self._reader.head()
            plan = plan_subscribe(request.since, request.snapshot, head)
            replayed: list[Frame] = []
            if plan.mode is Mode.REPLAY:
                assert plan.start is not None
                try:
                    replayed = self._replay_frames(plan.start)
                except ResyncRequired as exc:
                    plan = Plan.resync(resync_reason(exc.reason))
            self._generation += 1
            frames.append(
                subscribed_frame(
                    self.graph, head, plan.mode.value, ref=request.ref, filters=self._filters
                )
            )
            if plan.reason is not None:
                frames.append(resync_frame(self.graph, plan.reason))
            position = plan.start
            if position is None:
                snapshot, position = self._snapshot_frame()
                frames.append(snapshot)
            elif replayed:
                position = Position(replayed[-1]["epoch"], replayed[-1]["through"])
            frames.extend(replayed)
            self._position = position
            self._emit(frames)
        self._ensure_thread()
        self._wake.set()

    def on_unsubscribe(self, request: Unsubscribe) -> None:
        self._check_graph(request.graph, request.ref)
        with self._lock:
            self._position = None
            self._generation += 1
            self._emit([unsubscribed_frame(self.graph, ref=request.ref)])

    def on_filter(self, request: SetFilter) -> None:
        self._check_graph(request.graph, request.ref)
        with self._lock:
            # Frames sent so far were filtered with the old filters; the acknowledgement goes
            # between them and the first frame filtered with the new ones.
            self._filters = request.filters
            self._emit([filtered_frame(self.graph, request.filters, ref=request.ref)])

    def _snapshot_frame(self) -> tuple[Frame, Position]:
        graph, position = load_graph(self._client, self.graph)
        content = graph.to_dict()
        keep = self._filters
        nodes = [n for n in content["nodes"] if keep.keeps_node(n)]
        edges = [e for e in content["edges"] if keep.keeps_edge(e)]
        return snapshot_frame(self.graph, position, nodes, edges), position

    def _replay_frames(self, start: Position) -> list[Frame]:
        """Every event after ``start`` as frames (raises ResyncRequired)."""
        frames: list[Frame] = []
        for page in self._reader.replay(start):
            frames.extend(self._event_frames(page))
        return frames

    def _event_frames(self, events: Sequence[ChangeEvent]) -> list[Frame]:
        """Frames of at most ``max_frame_events``, one epoch each, filtered."""
        frames: list[Frame] = []
        i = 0
        while i < len(events):
            epoch = events[i].epoch
            j = i
            while j < len(events) and j - i < self.max_frame_events and events[j].epoch == epoch:
                j += 1
            chunk = events[i:j]
            kept = [e.to_dict() for e in self._filters.select(chunk)]
            frames.append(events_frame(self.graph, epoch, chunk[0].seq, chunk[-1].seq, kept))
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
                    self._resync(generation, resync_reason(exc.reason))
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

    def _resync(self, generation: int, reason: ResyncReason) -> None:
        with self._lock:
            if generation != self._generation:
                return
            snapshot, position = self._snapshot_frame()
            self._generation += 1
            self._position = position
            self._emit([resync_frame(self.graph, reason), snapshot])
