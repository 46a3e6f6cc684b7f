"""The sink runner: follow a graph's stream through a Redis consumer group into a graph database.

    sink = Sink("demo", "falkordb://")           # graphlive's Redis, FalkorDB graph "demo"
    sink.run(until_caught_up=True)                # or run() to follow until stop()

Guarantees:

* **Exactly-once effect.** Events are applied in ``seq`` order, in batches; each batch is one
  statement that checks the target's cursor (last applied ``epoch``/``seq``) and moves it in the
  same atomic query or transaction. Events at or below the cursor are never applied again, so
  crashes (even ``kill -9``) at any point, replays and duplicate deliveries change nothing.
* **Transactions.** A batch ends at a transaction boundary (``txn.last``) whenever one is within
  ``max_txn_events``, so one file's re-analysis appears in the database at once. An incomplete
  transaction is waited for at most ``txn_wait_ms``, then applied as far as it goes.
* **Resync.** A gap the stream cannot fill (trimmed), a new epoch without its ``graph_reset``, a
  lost history, or a fresh or half-rebuilt target trigger a rebuild: the graph's nodes in the
  target are deleted and the bus snapshot is loaded in chunks (each chunk guarded by a rebuild
  token in the cursor), then the tail after the snapshot's ``seq`` is applied as usual.
* **Consumer groups.** Entries are read with ``XREADGROUP`` and acknowledged with ``XACK`` once
  applied. Of several sink processes in one group, only the holder of the group's lease
  (:mod:`graphlive.bus.lease`) reads and applies; the others stand by, take the lease over when
  it expires, and claim the dead holder's pending entries with ``XAUTOCLAIM``. Ordering needs a
  single applier; the cursor compare-and-set keeps even a stalled former holder from doing harm.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from graphlive.bus.connection import Client
from graphlive.bus.keys import GraphKeys
from graphlive.bus.lease import Lease, lease_key
from graphlive.bus.reader import (
    Position,
    ResyncRequired,
    StreamReader,
    check_contiguous,
    entry_seq,
)
from graphlive.bus.snapshot import read_snapshot
from graphlive.events import ChangeEvent
from graphlive.sinks.changes import ChangeSet, fold
from graphlive.sinks.cypher import (
    apply_statement,
    clear_chunk_statement,
    start_rebuild_statement,
)
from graphlive.sinks.lag import record_applied
from graphlive.sinks.target import REBUILD_PREFIX, Target, open_target

__all__ = ["Sink", "SinkStats"]

log = logging.getLogger(__name__)

#: Events per applied batch (one statement). Larger batches amortise the per-query cost.
DEFAULT_BATCH_EVENTS = 2000
#: A transaction up to this size is applied in one statement.
DEFAULT_MAX_TXN_EVENTS = 50_000
#: Nodes or edges per statement while loading a snapshot.
DEFAULT_SNAPSHOT_CHUNK = 5000
DEFAULT_LEASE_MS = 5000
DEFAULT_TXN_WAIT_MS = 500
DEFAULT_BLOCK_MS = 1000
#: Pause after a lost connection before trying again.
RETRY_DELAY = 1.0


@dataclass
class SinkStats:
    """Counters of one :meth:`Sink.run`."""

    events: int = 0
    batches: int = 0
    rebuilds: int = 0
    takeovers: int = 0
    #: Batches whose cursor guard failed (another writer moved the cursor).
    conflicts: int = 0
    position: Position = field(default_factory=Position)


class _CursorMoved(Exception):
    """The target's cursor is not where this process left it: re-read it."""


class _LostLease(Exception):
    """Another process holds the group's lease now."""


def default_consumer() -> str:
    """``<host>-<pid>``: unique per running process."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Sink:
    """Applies one graph's events to one target. Use from one thread; :meth:`stop` from any.

    ``target`` is a :class:`Target` or a ``--to`` URL (see :func:`open_target`). ``group``
    defaults to a name derived from the target, so different targets get their own groups.
    """

    def __init__(
        self,
        graph: str,
        target: Target | str,
        *,
        redis_url: str | None = None,
        client: Client | None = None,
        group: str | None = None,
        consumer: str | None = None,
        batch_events: int = DEFAULT_BATCH_EVENTS,
        max_txn_events: int = DEFAULT_MAX_TXN_EVENTS,
        snapshot_chunk: int = DEFAULT_SNAPSHOT_CHUNK,
        lease_ms: int = DEFAULT_LEASE_MS,
        txn_wait_ms: int = DEFAULT_TXN_WAIT_MS,
        block_ms: int = DEFAULT_BLOCK_MS,
    ) -> None:
        if batch_events < 1 or max_txn_events < batch_events or snapshot_chunk < 1:
            raise ValueError("need 1 <= batch_events <= max_txn_events and snapshot_chunk >= 1")
        self.keys = GraphKeys(graph)
        self.graph = self.keys.graph
        self._owns_client = client is None
        if client is None:
            from graphlive.bus.connection import connect

            client = connect(redis_url)
        self.client = client
        self._owns_target = isinstance(target, str)
        self.target = (
            open_target(target, graph=self.graph, redis_url=redis_url)
            if isinstance(target, str)
            else target
        )
        self.group = group or f"sink:{self.target.describe()}"
        self.consumer = consumer or default_consumer()
        self.batch_events = batch_events
        self.max_txn_events = max_txn_events
        self.snapshot_chunk = snapshot_chunk
        self.txn_wait = txn_wait_ms / 1000
        # Reads block for at most a third of the lease, so the holder renews it in time.
        self.block_ms = max(1, min(block_ms, lease_ms // 3))
        self.lease = Lease(client, lease_key(self.graph, self.group), self.consumer, lease_ms)
        self.reader = StreamReader(client, self.graph, page=max(batch_events, 1000))
        self.stats = SinkStats()
        self._stop = threading.Event()
        self._leading = False
        self._needs_rebuild = False
        self._applied = Position()
        self._tail = Position()
        self._buffer: list[ChangeEvent] = []
        self._open_since: float | None = None
        self._unacked: set[int] = set()

    # ------------------------------------------------------------------ public

    @property
    def applied(self) -> Position:
        """The last position this process applied (or found in the target)."""
        return self._applied

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current step (thread-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Release the lease and the connections this sink opened."""
        with contextlib.suppress(redis.RedisError, OSError):
            self.lease.release()
        if self._owns_target:
            self.target.close()
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, *, until_caught_up: bool = False) -> SinkStats:
        """Apply events until :meth:`stop` (or, with ``until_caught_up``, until the target holds
        everything up to the stream head — whoever in the group applied it). Returns the stats.

        Lost connections to Redis or the target are retried; errors that retrying cannot fix
        (:class:`~graphlive.sinks.target.SinkError`, unknown kinds, undecodable events) raise.
        """
        self.target.ensure_schema()
        transient: tuple[type[BaseException], ...] = (
            redis.ConnectionError, redis.TimeoutError, OSError, *self.target.transient,
        )  # fmt: skip
        try:
            while not self._stop.is_set():
                try:
                    if until_caught_up and self._caught_up():
                        break
                    if not self.lease.hold():
                        self._stand_by()
                        continue
                    self._lead()
                except _CursorMoved:
                    self.stats.conflicts += 1
                    log.warning("sink %s: cursor moved by another writer; re-reading", self.graph)
                    self._leading = False
                except _LostLease:
                    log.warning("sink %s: lease lost; standing by", self.graph)
                    self._leading = False
                except transient as exc:
                    log.warning("sink %s: %s; retrying", self.graph, exc)
                    self._leading = False
                    self._stop.wait(RETRY_DELAY)
        finally:
            if self._leading:
                with contextlib.suppress(redis.RedisError, OSError):
                    self.lease.release()
                self._leading = False
        self.stats.position = self._applied
        return self.stats

    # ------------------------------------------------------------------ roles

    def _stand_by(self) -> None:
        if self._leading:
            self._leading = False
        # Polling the lease is the standby's whole job; a third of its lifetime keeps takeover
        # delay below ttl + ttl/3 without busy-waiting.
        self._stop.wait(self.lease.ttl_ms / 3000)

    def _lead(self) -> None:
        if not self._leading:
            self._take_over()
        if self._needs_rebuild:
            self._rebuild()
        try:
            self._read_and_apply()
        except ResyncRequired as exc:
            log.info("sink %s: %s; rebuilding from the snapshot", self.graph, exc)
            self._needs_rebuild = True

    def _take_over(self) -> None:
        self.stats.takeovers += 1
        self._buffer.clear()
        self._open_since = None
        cursor = self.target.cursor(self.graph)
        self._leading = True
        if cursor is None or cursor.rebuilding:
            self._needs_rebuild = True
            self._ensure_group(0)
        else:
            self._applied = self._tail = cursor.position
            self._ensure_group(cursor.position.seq)
        self._claim_pending()
        self._ack()
        log.info(
            "sink %s: %s leads group %r from seq %d",
            self.graph, self.consumer, self.group, self._applied.seq,
        )  # fmt: skip

    def _check_lease(self) -> None:
        if not self.lease.hold():
            raise _LostLease

    def _caught_up(self) -> bool:
        head = self.reader.head()
        if self._leading and not self._needs_rebuild:
            if self._buffer:
                return False
            pos = self._applied
        else:
            cursor = self.target.cursor(self.graph)
            if cursor is None or cursor.rebuilding:
                return head.seq == 0
            pos = cursor.position
        return pos.seq == head.seq and (pos.epoch == head.epoch or head.seq == 0)

    # ------------------------------------------------------------------ consumer group

    def _ensure_group(self, at_seq: int) -> None:
        try:
            self.client.xgroup_create(self.keys.events, self.group, id=f"{at_seq}-0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _claim_pending(self) -> None:
        """Take over every entry delivered to a member of the group but not acknowledged."""
        start: Any = "0-0"
        while True:
            try:
                reply: Any = self.client.xautoclaim(
                    self.keys.events, self.group, self.consumer, 0, start, count=1000
                )
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    return
                raise
            start, entries = reply[0], reply[1]
            self._unacked.update(entry_seq(entry_id) for entry_id, _ in entries)
            if _text(start) == "0-0":
                return

    def _read_group(self, block_ms: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        try:
            reply: Any = self.client.xreadgroup(
                self.group,
                self.consumer,
                {self.keys.events: ">"},
                count=self.batch_events,
                block=block_ms,
            )
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream was replaced (graph reset, or history lost): the group went with it.
            self._ensure_group(self._tail.seq)
            return []
        if not reply:
            return []
        # RESP2 gives [[key, entries]], RESP3 {key: [entries]}.
        streams = reply.values() if isinstance(reply, dict) else (e[1] for e in reply)
        return [entry for entries in streams for entry in entries]

    def _ack(self) -> None:
        done = sorted(s for s in self._unacked if s <= self._applied.seq)
        for i in range(0, len(done), 1000):
            self.client.xack(self.keys.events, self.group, *(f"{s}-0" for s in done[i : i + 1000]))
        self._unacked.difference_update(done)

    # ------------------------------------------------------------------ reading

    def _read_and_apply(self) -> None:
        block = self.block_ms
        if self._open_since is not None:
            left = self.txn_wait - (time.monotonic() - self._open_since)
            block = max(1, min(block, int(left * 1000)))
        entries = self._read_group(block)
        self._unacked.update(entry_seq(entry_id) for entry_id, _ in entries)
        fresh = [(i, f) for i, f in entries if entry_seq(i) > self._tail.seq]
        if fresh:
            try:
                events = check_contiguous(self.graph, self._tail, fresh, None)
            except ResyncRequired:
                # Entries before these went to another consumer or were read before a takeover:
                # the stream still has them (or tells us it does not).
                events = self.reader.read(self._tail)
            self._append(events)
        else:
            self._follow_head()
        self._flush()

    def _follow_head(self) -> None:
        """Nothing new was delivered: compare with the head, which also notices a replaced stream
        whose group starts past its entries, a reset, or a history lost in Redis."""
        head = self.reader.head()
        tail = self._tail
        if head.seq != tail.seq or (tail.epoch and head.epoch and head.epoch != tail.epoch):
            self._append(self.reader.read(tail))

    def _append(self, events: Sequence[ChangeEvent]) -> None:
        if events:
            self._buffer.extend(events)
            self._tail = Position(events[-1].epoch, events[-1].seq)

    def _flush(self) -> None:
        cut_any = False
        while self._buffer:
            cut = self._cut(time.monotonic())
            if cut == 0:
                break
            self._apply(self._buffer[:cut])
            del self._buffer[:cut]
            cut_any = True
        if not self._buffer:
            self._open_since = None
        elif cut_any or self._open_since is None:
            self._open_since = time.monotonic()

    def _cut(self, now: float) -> int:
        """How many buffered events the next batch takes (0: wait for the open transaction)."""
        buf = self._buffer
        best = 0
        for i in range(min(len(buf), self.max_txn_events)):
            txn = buf[i].txn
            if txn is None or txn.last:
                if i + 1 <= self.batch_events:
                    best = i + 1
                else:
                    return best or i + 1
        if best:
            return best
        if len(buf) >= self.max_txn_events:
            return self.max_txn_events
        if self._open_since is not None and now - self._open_since >= self.txn_wait:
            return len(buf)
        return 0

    # ------------------------------------------------------------------ writing

    def _apply(self, events: Sequence[ChangeEvent]) -> None:
        advance = Position(events[-1].epoch, events[-1].seq)
        self._write(fold(events), guard=self._applied, advance=advance)
        self._applied = advance
        self.stats.events += len(events)
        self.stats.batches += 1
        self._after_commit()

    def _write(
        self, changes: ChangeSet, *, guard: Position, advance: Position, create: bool = False
    ) -> None:
        statement = apply_statement(
            self.graph,
            changes,
            guard=guard,
            advance=advance,
            consumer=self.consumer,
            flavor=self.target.flavor,
            create=create,
        )
        self._check_lease()
        if not self.target.write(statement):
            raise _CursorMoved

    def _after_commit(self) -> None:
        self._ack()
        record_applied(
            self.client, self.graph, self.group, self._applied,
            consumer=self.consumer, target=self.target.describe(),
        )  # fmt: skip

    def _rebuild(self) -> None:
        """Replace the target's copy by the bus snapshot; the tail follows as usual."""
        snap = read_snapshot(self.client, self.graph)
        content: dict[str, Any] = snap.content if snap is not None else {}
        position = snap.position if snap is not None else Position()
        token = REBUILD_PREFIX + os.urandom(8).hex()
        self._check_lease()
        self.target.write(start_rebuild_statement(self.graph, token, self.consumer))
        while True:
            self._check_lease()
            rows = self.target.write(clear_chunk_statement(self.graph, token, self.snapshot_chunk))
            if not rows or int(rows[0][0]) < self.snapshot_chunk:
                break
        chunks: list[ChangeSet] = []
        nodes = content.get("nodes", [])
        edges = content.get("edges", [])
        size = self.snapshot_chunk
        for i in range(0, len(nodes), size):
            chunks.append(ChangeSet(full_nodes={n["id"]: n for n in nodes[i : i + size]}))
        for i in range(0, len(edges), size):
            chunks.append(ChangeSet(added_edges={e["id"]: e for e in edges[i : i + size]}))
        if not chunks:
            chunks.append(ChangeSet())
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            advance = position if last else Position(token, i + 1)
            self._write(chunk, guard=Position(token, i), advance=advance, create=True)
        self._applied = self._tail = position
        self._buffer.clear()
        self._open_since = None
        self._needs_rebuild = False
        self.stats.rebuilds += 1
        with contextlib.suppress(redis.ResponseError):
            # Deliver from the snapshot on (a missing group is made by the next read).
            self.client.xgroup_setid(self.keys.events, self.group, id=f"{position.seq}-0")
        self._after_commit()
        log.info(
            "sink %s: rebuilt from snapshot at seq %d (%d nodes, %d edges)",
            self.graph, position.seq, len(nodes), len(edges),
        )  # fmt: skip


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
