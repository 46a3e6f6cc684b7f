"""One writer per graph: the writer lease, its heartbeat, and rescans handed to the writer.

Whoever analyses and publishes a graph (``graphlive analyze``, ``graphlive.analyze()``, a
watcher, the server's Re-analyze) first takes the graph's writer lease (key
``graphlive:{g}:writer``, value the holder's token, set with ``NX PX``). A heartbeat thread renews
it every third of its time to live (``GRAPHLIVE_WRITER_TTL_MS``, default 15 s), so a holder that
dies (kill -9) blocks others for at most that long. The publish script refuses events from any
other token while the lease is held (the fence: a holder that stalled past its expiry cannot
interleave with its successor; it gets :class:`~graphlive.bus.publisher.NotWriter`).

A second writer does not fight the first (docs/events.md, "Writers"):

* a holder that **serves** requests (a watcher: ``kind`` ``watch``) is asked to rescan instead
  (:func:`request_rescan`): the request goes into the list ``graphlive:{g}:writer:requests``, the
  holder re-analyses what changed on disk and answers with its summary;
* any other holder (a one-shot analysis) is waited for; when it releases the lease, or it expires,
  the waiter takes it and continues the graph in the same epoch.

The token is ``kind|host|pid|serves|random`` so that waiters can say who they wait for.
"""

from __future__ import annotations

import _thread
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis

from graphlive.bus.connection import Client
from graphlive.bus.keys import GraphKeys
from graphlive.bus.lease import Lease

__all__ = [
    "DEFAULT_WRITER_TTL_MS",
    "WriterBusy",
    "WriterGone",
    "WriterInfo",
    "WriterLease",
    "request_rescan",
    "writer_ttl_ms",
]

log = logging.getLogger(__name__)

DEFAULT_WRITER_TTL_MS = 15_000
#: How long an answer to a handed-off request is kept for its requester.
_REPLY_TTL_S = 300


def writer_ttl_ms() -> int:
    """The writer lease's time to live (``GRAPHLIVE_WRITER_TTL_MS``, at least 300 ms)."""
    raw = os.environ.get("GRAPHLIVE_WRITER_TTL_MS", "").strip()
    try:
        return max(300, int(raw)) if raw else DEFAULT_WRITER_TTL_MS
    except ValueError:
        return DEFAULT_WRITER_TTL_MS


class WriterBusy(RuntimeError):
    """Another process kept the graph's writer lease for longer than we were willing to wait."""


class WriterGone(RuntimeError):
    """The writer a request was handed to stopped holding the lease without answering."""


@dataclass(frozen=True, slots=True)
class WriterInfo:
    """Who holds a writer lease, parsed from its token."""

    kind: str
    host: str
    pid: int
    serves: bool
    token: str

    @classmethod
    def parse(cls, token: str) -> WriterInfo:
        parts = token.split("|")
        if len(parts) != 5:
            return cls("unknown", "?", 0, False, token)
        kind, host, pid, serves, _ = parts
        return cls(kind, host, int(pid) if pid.isdigit() else 0, serves == "1", token)

    def describe(self) -> str:
        return f"{self.kind} (pid {self.pid} on {self.host})"


class WriterLease:
    """This process's claim to write graph ``graph``.

    ``kind`` names what holds it (``analyze``, ``watch``, ``server``); ``serves``: whether the
    holder answers rescan requests while it holds the lease (pass a handler to
    :meth:`start_heartbeat`).
    """

    def __init__(
        self,
        client: Client,
        graph: str,
        kind: str,
        *,
        serves: bool = False,
        ttl_ms: int | None = None,
    ) -> None:
        self.client = client
        self.keys = GraphKeys(graph)
        self.kind = kind
        self.serves = serves
        host = socket.gethostname().replace("|", "-")
        token = f"{kind}|{host}|{os.getpid()}|{int(serves)}|{os.urandom(6).hex()}"
        self._lease = Lease(client, self.keys.writer, kind, ttl_ms or writer_ttl_ms(), token=token)
        #: The running heartbeat, if any.
        self._beat: _Heartbeat | None = None
        # Held by a heartbeat while it renews: release() takes it after stopping the heartbeat,
        # so no renewal can take the lease again once it is given up.
        self._renewing = threading.Lock()
        #: Set when a renewal found the lease taken by someone else (or gone): stop writing.
        self.lost = False
        self._given_back = False

    @property
    def token(self) -> str:
        return self._lease.token

    @property
    def ttl_ms(self) -> int:
        return self._lease.ttl_ms

    @property
    def held(self) -> bool:
        return self._beat is not None and not self.lost

    @property
    def beating(self) -> bool:
        """Whether a heartbeat thread of this lease is running (none while :meth:`paused`)."""
        return self._beat is not None and not self._beat.exited.is_set()

    def holder(self) -> WriterInfo | None:
        token = self._lease.holder()
        return WriterInfo.parse(token) if token is not None else None

    def try_take(self) -> bool:
        """Take (or renew) the lease if nobody else holds it."""
        return self._lease.hold()

    def try_take_and_read(self, read: Callable[[Any], None]) -> tuple[bool, list[Any]]:
        """:meth:`try_take`, sending the commands ``read`` queues in the same round trip
        (:meth:`~graphlive.bus.lease.Lease.hold_and_read`)."""
        return self._lease.hold_and_read(read)

    def take(
        self,
        *,
        timeout: float | None = None,
        on_wait: Callable[[WriterInfo, int], None] | None = None,
        poll: float = 0.1,
    ) -> None:
        """Take the lease, waiting while another process holds it (``on_wait(holder, ms left
        on its lease)`` is called once per holder). Raises :class:`WriterBusy` after
        ``timeout`` seconds (``None``: wait as long as holders keep it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        told: str | None = None
        while not self.try_take():
            holder = self.holder()
            if holder is not None and holder.token != told:
                told = holder.token
                if on_wait is not None:
                    on_wait(holder, self._lease.remaining_ms())
            if deadline is not None and time.monotonic() >= deadline:
                who = holder.describe() if holder is not None else "another process"
                raise WriterBusy(f"graph {self.keys.graph!r} is being written by {who}")
            time.sleep(poll)
        self.lost = False

    def start_heartbeat(
        self, handler: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    ) -> None:
        """Renew the lease in a background thread until :meth:`release`; with ``handler``
        (for a lease that ``serves``), answer rescan requests with ``handler(request)``."""
        if self._beat is not None:
            return
        beat = self._beat = _Heartbeat(handler)
        if handler is None:
            # A bare thread: threading.Thread.start() waits until the new thread runs, a few
            # tenths of a millisecond of every one-shot analysis, which may take a few
            # milliseconds in all; nothing here needs that wait.
            _thread.start_new_thread(self._run, (beat,))
        else:
            threading.Thread(
                target=self._run, args=(beat,), name=f"graphlive-writer-{self.keys.graph}",
                daemon=True,
            ).start()  # fmt: skip

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the heartbeat thread for the duration of the block, renewing the lease first.

        For a moment in which this process must have no other thread: forking the parsing
        workers (a fork copies the locks another thread holds, and the child could deadlock on
        them). The block must be short (a fork); the lease's whole time to live covers it. A
        serving heartbeat (blocked in ``BLPOP`` for up to a third of the time to live) is left
        running: pausing it would cost more than the fork saves."""
        beat = self._beat
        if beat is None or beat.handler is not None or self.lost or beat.exited.is_set():
            # Nothing to pause, or the lease is lost: never take it back here (the fence
            # must keep refusing this session's events).
            yield
            return
        beat.stop.set()
        self._beat = None
        beat.exited.wait()
        try:
            if not self._lease.renew():
                self.lost = True
                log.error("graphlive: lost the writer lease of %r", self.keys.graph)
        except redis.RedisError as exc:
            log.warning("graphlive: cannot renew the writer lease: %s", exc)
        try:
            yield
        finally:
            if not self.lost:
                self.start_heartbeat()

    def release(self) -> None:
        """Stop the heartbeat and give the lease up, so a waiting writer continues at once
        (nothing to send when a publish gave it back already: :meth:`given_back`)."""
        self.stop_heartbeat()
        if self._given_back:
            return
        try:
            self._lease.release()
        except redis.RedisError as exc:
            log.warning("graphlive: could not release the writer lease: %s", exc)

    def stop_heartbeat(self) -> None:
        """Stop renewing the lease (a renewal under way ends first; none starts later), still
        holding it until it expires or is released: before a last send that releases it
        itself (the publish script's ``release``)."""
        beat, self._beat = self._beat, None
        if beat is None:
            return
        beat.stop.set()
        if beat.handler is not None:
            # A serving heartbeat may be answering a request: let it finish first.
            if beat.ident != threading.get_ident():
                beat.exited.wait(10)
        else:
            with self._renewing:  # a renewal under way ends first; later ones see stop
                pass

    def given_back(self) -> None:
        """A publish released the lease (its script deleted it, holding our token):
        :meth:`release` then only stops what is left."""
        self._given_back = True

    # ------------------------------------------------------------------ internals

    def _run(self, beat: _Heartbeat) -> None:
        beat.ident = threading.get_ident()
        try:
            self._beat_until_stopped(beat)
        finally:
            beat.exited.set()

    def _beat_until_stopped(self, beat: _Heartbeat) -> None:
        interval = self.ttl_ms / 3000
        next_renew = time.monotonic() + interval
        stop, handler = beat.stop, beat.handler
        while not stop.is_set():
            wait = max(0.0, next_renew - time.monotonic())
            if handler is not None:
                self._serve_one(handler, wait, stop)
            else:
                stop.wait(wait)
            if stop.is_set() or time.monotonic() < next_renew:
                continue
            next_renew = time.monotonic() + interval
            with self._renewing:
                if stop.is_set():
                    return
                try:
                    held = self._lease.hold()
                except redis.RedisError as exc:
                    log.warning("graphlive: cannot renew the writer lease: %s", exc)
                    continue
            if not held:
                # Someone took it over (we stalled past the expiry): the publish fence stops
                # our writes; say so.
                self.lost = True
                log.error("graphlive: lost the writer lease of %r", self.keys.graph)
                return

    def _serve_one(
        self,
        handler: Callable[[dict[str, Any]], dict[str, Any]],
        wait: float,
        stop: threading.Event,
    ) -> None:
        try:
            # BLPOP's timeout is in whole or fractional seconds; 0 would block for ever.
            item: Any = self.client.blpop([self.keys.requests], timeout=max(wait, 0.05))
        except redis.RedisError as exc:
            log.warning("graphlive: cannot read writer requests: %s", exc)
            stop.wait(min(wait, 1.0))
            return
        if item is None:
            return
        try:
            request = json.loads(item[1])
            request_id = str(request["id"])
        except (ValueError, KeyError, TypeError):
            log.warning("graphlive: ignoring a malformed writer request %r", item[1][:200])
            return
        try:
            answer = handler(request)
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        reply = self.keys.reply(request_id)
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.rpush(reply, json.dumps(answer))
            pipe.expire(reply, _REPLY_TTL_S)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("graphlive: cannot answer a writer request: %s", exc)


class _Heartbeat:
    """One run of a lease's heartbeat thread."""

    __slots__ = ("exited", "handler", "ident", "stop")

    def __init__(self, handler: Callable[[dict[str, Any]], dict[str, Any]] | None) -> None:
        self.handler = handler
        self.stop = threading.Event()
        #: Set by the thread as it ends.
        self.exited = threading.Event()
        self.ident: int | None = None


def request_rescan(
    client: Client,
    graph: str,
    holder: WriterInfo,
    *,
    timeout: float | None = None,
    poll: float = 1.0,
) -> dict[str, Any]:
    """Ask ``holder`` (a writer that serves requests) to rescan ``graph`` and return its answer
    (``{"summary": ...}`` or ``{"error": ...}``).

    Raises :class:`WriterGone` when the holder stops holding the lease before answering (the
    caller may then take the lease itself) and :class:`WriterBusy` after ``timeout`` seconds.
    """
    keys = GraphKeys(graph)
    request_id = os.urandom(8).hex()
    request = {"id": request_id, "op": "rescan", "from": f"pid {os.getpid()}"}
    pipe = client.pipeline(transaction=True)
    pipe.rpush(keys.requests, json.dumps(request))
    pipe.expire(keys.requests, _REPLY_TTL_S)
    pipe.execute()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        item: Any = client.blpop([keys.reply(request_id)], timeout=poll)
        if item is not None:
            answer = json.loads(item[1])
            return answer if isinstance(answer, dict) else {"error": "malformed answer"}
        current: Any = client.get(keys.writer)
        token = current.decode() if isinstance(current, bytes) else current
        if token != holder.token:
            late: Any = client.lpop(keys.reply(request_id))  # answered just before leaving
            if late is not None:
                answer = json.loads(late)
                return answer if isinstance(answer, dict) else {"error": "malformed answer"}
            # The request may still be in the list: drop it so a later writer does not rescan
            # for nobody.
            client.lrem(keys.requests, 1, json.dumps(request))
            raise WriterGone(f"{holder.describe()} stopped writing {graph!r} before answering")
        if deadline is not None and time.monotonic() >= deadline:
            client.lrem(keys.requests, 1, json.dumps(request))
            raise WriterBusy(f"{holder.describe()} did not answer within {timeout:.0f} s")
