"""LiveGraph: a CodeGraph whose every change is published to its Redis stream.

    lg = graphlive.analyze("path/to/project")     # full analysis, published as it goes
    lg.graph.node("pkg.mod.func")                  # the in-memory graph (source of truth)
    lg.to_networkx()

Publishing contract:

* A session continues the graph stored in Redis: its first analysis loads what the graph holds
  and publishes only the difference, in the same epoch, like any incremental update (an
  unchanged tree publishes no mutation). It starts a new epoch (``graph_reset``) only when asked
  (``reset=True``) or when the stored graph cannot be continued (:mod:`graphlive.resume` says
  why; :attr:`LiveGraph.epoch_note` keeps the reason). Every mutation is published in order,
  one transaction per analysed file, so consumers converge on exactly ``lg.graph``.
* One writer per graph: analysing, updating and watching hold the graph's writer lease
  (:mod:`graphlive.bus.writer_lease`). A session that finds another writer waits for it, or,
  when it is a watcher, hands it the request to rescan.
* What the analysis needs to continue (facts of every file, the resolved program) is saved in
  the analysis cache (:mod:`graphlive.analysis_cache`), so a new process parses only the files
  that changed, and nothing at all when the tree is unchanged (``lg.graph`` is then read from
  Redis when first used).
* During a full analysis events are buffered and published in large batches (fast); otherwise
  every batch is published as soon as it is produced (low latency).
* If Redis is unreachable, nothing is lost: batches stay buffered (up to ``max_buffer`` events)
  and go out, in order, on the next successful flush. Past that bound the buffer is dropped and
  the next successful flush starts a new epoch with the full current graph, so consumers resync
  instead of silently missing events. ``publish_error`` holds the last error (``None`` when
  healthy).
* A snapshot is written after each analysis and every ``snapshot_every`` published events, so the
  stream can be trimmed and late subscribers start from the snapshot.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from graphlive import forked
from graphlive.bus.bus import Bus
from graphlive.bus.inflight import InFlightSend
from graphlive.bus.keys import GraphKeys
from graphlive.bus.publisher import NotWriter, PublishResult
from graphlive.bus.reader import Position, ResyncRequired
from graphlive.bus.snapshot import write_snapshot
from graphlive.bus.writer_lease import WriterGone, WriterInfo, WriterLease, request_rescan
from graphlive.events import ChangeEvent, EventType
from graphlive.gc_pause import gc_paused
from graphlive.graph import CodeGraph
from graphlive.live_queries import GraphQueries

if TYPE_CHECKING:
    from graphlive.analysis.discover import Discovery
    from graphlive.analysis.engine import AnalysisSummary, Analyzer, Progress
    from graphlive.analysis_cache import CacheEntry, Header
    from graphlive.watch import Watcher
    from graphlive.widget import GraphView

__all__ = ["LiveGraph", "NotWriter", "analyze", "graph_name_for"]

log = logging.getLogger(__name__)

#: Fewer buffered events than this (or than ``flush_events``) are published in the caller's
#: thread (see _flush_locked).
_THREADED_SEND_MIN = 64
#: A bulk run's lifecycle events are sent as they pass once it has run this long (seconds); a
#: shorter run, such as a one-file update of a few milliseconds, sends them with its changes.
PROMPT_AFTER_S = 0.1
_LIFECYCLE = frozenset(
    {
        EventType.ANALYSIS_STARTED,
        EventType.ANALYSIS_PROGRESS,
        EventType.ANALYSIS_COMPLETED,
        EventType.ANALYSIS_FAILED,
    }
)


def graph_name_for(path: Path) -> str:
    """A valid graph name derived from a folder name (``my project`` → ``my-project``)."""
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", path.resolve().name).strip("-.")
    return (name or "graph")[:128]


class LiveGraph(GraphQueries):
    """A named code graph, kept in memory and mirrored as CDC events on Redis.

    ``publish=False`` keeps everything in memory (no Redis needed); :meth:`flush` is then a no-op.
    """

    def __init__(
        self,
        name: str,
        *,
        root: Path | str | None = None,
        bus: Bus | None = None,
        redis_url: str | None = None,
        publish: bool = True,
        flush_events: int = 5000,
        snapshot_every: int = 50_000,
        max_buffer: int = 2_000_000,
        languages: Iterable[str] | None = None,
    ) -> None:
        from graphlive.analysis.polyglot.languages import selection
        from graphlive.bus.keys import validate_graph_name

        self.name = validate_graph_name(name)
        #: The languages analysed (``None``: every language graphlive reads).
        self.languages = selection(languages)
        self.root = Path(root).resolve() if root is not None else None
        self._graph: CodeGraph | None = None
        self.publishing = publish
        self.bus = bus if bus is not None else (Bus(redis_url) if publish else None)
        self.flush_events = flush_events
        self.snapshot_every = snapshot_every
        self.max_buffer = max_buffer
        #: See :data:`PROMPT_AFTER_S`.
        self.prompt_after = PROMPT_AFTER_S
        self.position = Position()
        self.publish_error: BaseException | None = None
        self.last_summary: AnalysisSummary | None = None
        self._buffer: list[ChangeEvent] = []
        # The send still running while a bulk run goes on (at most one; see _flush).
        self._inflight: InFlightSend | None = None
        self._bulk = False
        self._bulk_since = 0.0
        # Every session starts a fresh epoch; after dropping events, one with the full graph.
        self._needs_reset = publish
        self._needs_full_graph = False
        self._since_snapshot = 0
        #: Serialises analysis, updates (the watcher thread) and reads of the graph.
        self.lock = threading.RLock()
        self.analyzer: Analyzer | None = None
        self.watcher: Watcher | None = None
        #: Why this session started a new epoch (``None``: it continued the stored graph, or has
        #: not published yet).
        self.epoch_note: str | None = None
        #: How the last analysis ran: ``"new-epoch"``, ``"unchanged"`` (nothing parsed, nothing
        #: published but its lifecycle), ``"continued"`` (the saved analysis was updated),
        #: ``"full"`` (everything resolved, the difference published), ``"handed-off"`` (the
        #: graph's watcher did it).
        self.resumed: str | None = None
        # Whether this session has decided between continuing the stored graph and a new epoch.
        self._attached = not publish
        self._lease: WriterLease | None = None
        self._lease_depth = 0
        # The graph's record as read with the lease (_acquire's read_history), for _attach.
        self._history: list[Any] | None = None
        # A saved analysis not loaded yet (after an unchanged run): (cache entry, header).
        self._saved: tuple[CacheEntry, Header] | None = None
        #: The saved analysis state the analyzer continues (``Analyzer.unsaved`` is relative
        #: to it): its token, ``None`` when there is none.
        self._state_token: str | None = None
        # Whether the last send of the last analyze gave the writer lease back (saved first).
        self._handed_back = False
        #: The walk of the tree ``_attach`` made, for the rescan of the same analyze call, with
        #: the files it found changed against the restored analyzer's stamps (``None``: not
        #: compared with those).
        self._walked: tuple[Discovery, set[str] | None] | None = None
        # The cache entry of the last root looked up: (root, entry), its real path digested once.
        self._entry: tuple[Path, CacheEntry] | None = None
        self.wait_note: Callable[[str], None] = lambda text: log.warning("graphlive: %s", text)
        self._started = 0.0
        if not publish:
            self._graph = self._new_graph()

    @property
    def graph(self) -> CodeGraph:
        """The graph in memory. After a session continued a stored graph (it found nothing to
        re-analyse, or analysed a change into a working copy) it is read from Redis when
        first used."""
        if self._graph is None:
            with self.lock:
                if self._graph is None:
                    graph = self._load_graph() if self._attached else self._new_graph()
                    if self.analyzer is not None and self.analyzer.writer.partial:
                        self.analyzer.writer.use_graph(graph)  # updates go on in the whole
                    self._graph = graph
        return self._graph

    def _new_graph(self) -> CodeGraph:
        graph = CodeGraph(self.name, source="graphlive/analysis")
        graph.listen(self._on_batch)
        return graph

    def _load_graph(self) -> CodeGraph:
        from graphlive.bus.snapshot import load_graph

        assert self.bus is not None
        self.flush()
        with gc_paused(promote=True):  # one object per node, edge and index entry
            graph, position = load_graph(self.bus.client, self.name)
        graph.source = "graphlive/analysis"
        graph.listen(self._on_batch)
        if position.epoch and position.seq >= self.position.seq:
            self.position = position
        return graph

    @classmethod
    def load(cls, name: str, *, redis_url: str | None = None) -> LiveGraph:
        """A read-only copy of graph ``name`` rebuilt from Redis (snapshot + stream tail), for
        queries in a process that does not produce the graph. It does not publish.

        Raises ``KeyError`` if Redis holds no graph of that name.
        """
        from graphlive.bus.snapshot import load_graph

        bus = Bus(redis_url)
        try:
            if not bus.client.exists(GraphKeys(name).meta):
                raise KeyError(f"no graph named {name!r} in Redis")
            graph, position = load_graph(bus.client, name)
        finally:
            bus.close()
        live = cls(name, publish=False)
        live.graph.load_dict(graph.to_dict())
        live.position = position
        return live

    # ------------------------------------------------------------------ analysis

    def analyze(
        self,
        path: Path | str | None = None,
        *,
        workers: int | None = None,
        progress: Callable[[Progress], None] | None = None,
        reset: bool = False,
        wait: float | None = None,
    ) -> AnalysisSummary:
        """Analyse ``path`` (default: this graph's root) into the graph and publish what changed.

        The first analysis of a session continues the graph stored in Redis (same epoch; only
        the difference is published; files unchanged since the saved analysis are not parsed);
        ``reset=True`` starts a new epoch instead (module docstring). If another process is
        writing the graph, this waits for it (at most ``wait`` seconds, then
        :class:`~graphlive.bus.writer_lease.WriterBusy`), or hands the request to it when it is
        a watcher. Returns the analysis summary. Bad files become ``diagnostic`` events, never
        exceptions; an unexpected failure is published as ``analysis_failed`` and re-raised.
        """
        root = self.root if path is None else Path(path)
        if root is not None and root != self.root:  # (this graph's root is resolved already)
            root = root.resolve()
        if root is None:
            raise ValueError("LiveGraph.analyze needs a path (this graph has no root)")
        if not root.exists():
            raise FileNotFoundError(f"cannot analyse {root}: no such file or directory")
        # The collector pauses for the whole call, not only for the analysis itself
        # (Analyzer._guarded): a new process continuing a saved analysis allocates in many
        # short steps around it (the header, the files parsed ahead, the send), and each young
        # collection there also went over what the imports had just allocated, a few tenths of
        # a millisecond of a call that takes a few. What the call allocates is promoted.
        with self.lock, gc_paused(promote=True):
            self._started = time.perf_counter()
            self._walked = None
            if self.root is not None and root != self.root:
                # Another folder: a full analysis (the writer removes what the old one held).
                self.analyzer = None
                self._saved = None
            self.root = root
            attaching = reset or not self._attached
            handed = self._acquire("analyze", wait=wait, hand_off=not reset, read_history=attaching)
            if handed is not None:
                return handed
            try:
                if reset and self.bus is None:
                    self.analyzer = None  # nothing published: a reset is a full analysis
                elif attaching:
                    summary = self._attach(root, reset=reset, workers=workers, progress=progress)
                    if summary is not None:
                        return summary
                analyzer = self._ensure_analyzer(workers)
                walked, changes = self._walked or (None, None)
                self._walked = None
                if analyzer is None:
                    analyzer = self.analyzer = self._fresh_analyzer(workers)
                    body = analyzer.run
                else:
                    body = functools.partial(analyzer.rescan, walked=walked, changed=changes)
                summary = self._bulk_run(
                    lambda: body(progress),
                    snapshot=self._needs_snapshot(),
                    before_last_send=self._save_and_hand_back,
                )
                if self.resumed is None:
                    self.resumed = (
                        "full" if summary.fallback or not summary.incremental else ("continued")
                    )
                if not self._handed_back:
                    self._save_analysis()
                return summary
            finally:
                self._release()

    def update(
        self, paths: Iterable[str | Path], *, progress: Callable[[Progress], None] | None = None
    ) -> AnalysisSummary:
        """Re-analyse the given files (changed, added or deleted; absolute or relative to the
        root) and publish only the difference, one transaction per file. Unchanged code emits
        no graph mutation. Runs a full analysis if there was none yet."""
        return self._incremental(lambda a: a.update(paths, progress=progress), progress)

    def rescan(self, *, progress: Callable[[Progress], None] | None = None) -> AnalysisSummary:
        """Re-analyse what changed on disk since the last analysis (by the files' stamps) and
        publish the difference; what a watcher does when another process asks it to."""
        return self._incremental(lambda a: a.rescan(progress), progress)

    def _incremental(
        self,
        body: Callable[[Analyzer], AnalysisSummary],
        progress: Callable[[Progress], None] | None,
    ) -> AnalysisSummary:
        """Run ``body`` on the analyzer holding the writer lease (a full analysis if there is
        no analysis to continue). No snapshot: its cost grows with the graph; flush() writes one
        every `snapshot_every` published events."""
        with self.lock:
            analyzer = self._ensure_analyzer(None)
            if analyzer is None:
                return self.analyze(progress=progress)
            self._acquire("analyze", wait=None, hand_off=False)
            try:
                summary = self._bulk_run(lambda: body(analyzer), snapshot=False)
                # A header naming the files written, when that is enough (no whole state per
                # edit), so that a process started later continues from here.
                self._save_analysis(full=False)
                return summary
            finally:
                self._release()

    def watch(self, *, debounce_ms: int = 50, **kwargs: Any) -> Watcher:
        """Follow file changes under the root in a background thread (see
        :class:`graphlive.watch.Watcher`); analyses first if needed. Stop with ``.stop()``.

        While it watches, this session holds the graph's writer lease and serves other
        processes' requests to re-analyse (a server's Re-analyze button, ``graphlive analyze``)
        by rescanning, so they neither wait nor republish."""
        from graphlive.watch import Watcher

        if self.analyzer is None and self._saved is None:
            self.analyze()
        self.stop_watching()
        with self.lock:
            self._acquire("watch", wait=None, hand_off=False, serves=True)
            self._ensure_analyzer(None)  # updates start from the analysis, not a restore
            self.watcher = Watcher(self, debounce_ms=debounce_ms, **kwargs).start()
        return self.watcher

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
            with self.lock:
                self._save_analysis()
                self._release()

    # ------------------------------------------------------------------ the writer lease

    def _acquire(
        self,
        kind: str,
        *,
        wait: float | None,
        hand_off: bool,
        serves: bool = False,
        read_history: bool = False,
    ) -> AnalysisSummary | None:
        """Hold the writer lease (re-entrant). Returns the summary of a rescan handed to the
        graph's watcher instead (``hand_off``), else ``None`` once this session holds it.
        ``read_history``: also read what :meth:`_attach` needs, in the same round trip as a
        lease taken at once (kept for it in ``_history``)."""
        self._history = None
        if not self.publishing or self.bus is None:
            return None
        if self._lease is not None and self._lease.held:
            self._lease_depth += 1
            return None
        from graphlive.resume import queue_history_reads

        lease = WriterLease(self.bus.client, self.name, kind, serves=serves)
        if read_history:
            taken, replies = lease.try_take_and_read(
                functools.partial(queue_history_reads, graph=self.name)
            )
            if taken:
                self._history = replies
        while True:
            if self._history is not None or lease.try_take():
                break
            holder = lease.holder()
            if hand_off and holder is not None and holder.serves:
                try:
                    return self._handed_off(holder, wait)
                except WriterGone:
                    continue  # it stopped: take the lease ourselves

            def note(info: WriterInfo, left_ms: int) -> None:
                self.wait_note(
                    f"waiting for {info.describe()}, which is writing graph {self.name!r} "
                    f"(its lease expires in {left_ms / 1000:.1f} s unless renewed)"
                )

            lease.take(timeout=wait, on_wait=note)
            break
        lease.start_heartbeat(self._serve if serves else None)
        self._lease = lease
        self._lease_depth = 1
        return None

    def _release(self) -> None:
        if self._lease is None:
            return
        self._lease_depth -= 1
        if self._lease_depth > 0:
            return
        lease, self._lease = self._lease, None
        lease.release()

    def _serve(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer another process's rescan request (runs in the lease's heartbeat thread)."""
        summary = self.rescan()
        position = self.position
        return {"summary": summary.to_dict(), "epoch": position.epoch, "seq": position.seq}

    def _handed_off(self, holder: WriterInfo, wait: float | None) -> AnalysisSummary:
        from graphlive.analysis.engine import AnalysisSummary

        assert self.bus is not None
        self.wait_note(f"graph {self.name!r} is watched by {holder.describe()}: asking it")
        answer = request_rescan(self.bus.client, self.name, holder, timeout=wait)
        if "error" in answer:
            raise RuntimeError(f"{holder.describe()} could not rescan: {answer['error']}")
        data = dict(answer["summary"])
        data.pop("resolved_ratio", None)
        summary = AnalysisSummary(**data)
        self.last_summary = summary
        self.resumed = "handed-off"
        # This session did not write: its view of the graph is read from Redis when used.
        self.analyzer = None
        self._saved = None
        self._graph = None
        self._attached = True
        self._needs_reset = False
        self.position = Position(str(answer.get("epoch", "")), int(answer.get("seq", 0)))
        return summary

    # ------------------------------------------------------------------ continuing a graph

    def _attach(
        self,
        root: Path,
        *,
        reset: bool,
        workers: int | None,
        progress: Callable[[Progress], None] | None,
    ) -> AnalysisSummary | None:
        """Decide between continuing the stored graph and a new epoch (holding the lease).

        Returns the summary when the tree is unchanged since the saved analysis (nothing else
        to do); otherwise leaves :attr:`analyzer` (restored or ``None``) and the graph ready
        for the run."""
        from graphlive.resume import read_with_history, record_with_history, reset_reason

        assert self.bus is not None
        client = self.bus.client
        replies, self._history = self._history, None
        record, complete = (
            record_with_history(replies)
            if replies is not None
            else read_with_history(client, self.name)
        )
        entry = self._cache_entry(root)
        rid = entry.root
        header = entry.header()
        reason = reset_reason(record, rid, reset=reset)
        self._attached = True
        self.analyzer = None
        self._saved = None
        if reason is None and not complete:
            reason = self._lost_history
        if reason is None:
            from graphlive.resume import changed_since, in_sync

            synced = header is not None and in_sync(client, self.name, header, record)
            prepared = None
            changed: set[str] | None = None
            if synced and header is not None:
                from graphlive.analysis.discover import discover
                from graphlive.analysis.engine import MAX_FILE_BYTES
                from graphlive.analysis.prepared import prepare
                from graphlive.ignore import IgnoreRules

                walked = discover(root, IgnoreRules(root), self.languages)
                changed = changed_since(walked, header)
                if changed is not None and not changed:
                    return self._unchanged(entry, header, record)
                self._walked = (walked, None)  # the rescan that follows need not walk again
                if changed:
                    # The few files of an edit are parsed now, before the state is loaded
                    # into the memory their trees took (graphlive.analysis.prepared).
                    try:
                        prepared = prepare(walked, changed, MAX_FILE_BYTES)
                    except Exception:  # the analysis parses them again, and reports what fails
                        log.debug("graphlive: parsing ahead failed", exc_info=True)
            self._needs_reset = False
            state = entry.state(header) if header is not None else None
            if synced and state is not None and header is not None:
                # The graph is what the saved analysis remembers: not read from Redis (the
                # update writes into a working copy; ``graph`` reads it when used).
                self.epoch_note = None
                self.position = Position(record.epoch, record.seq)
                self._since_snapshot = record.seq - record.snapshot_seq
                self._graph = None
                analyzer = self.analyzer = self._restore(
                    state, header, in_sync=True, workers=workers
                )
                analyzer.prepared = prepared
                same_stamps = (analyzer.stamps, analyzer.stamped_ns) == (
                    header.stamps,
                    header.stamped_ns,
                )
                if self._walked is not None and same_stamps:
                    self._walked = (self._walked[0], changed)  # compared with these already
                return None
            try:
                self._graph = self._load_graph()
            except ResyncRequired:
                reason = self._lost_history
            else:
                self.epoch_note = None
                self._since_snapshot = self.position.seq - record.snapshot_seq
                if state is not None and header is not None:
                    self.analyzer = self._restore(state, header, in_sync=synced, workers=workers)
                return None
        # A new epoch: consumers clear their copy; the saved facts still spare the parsing.
        self.epoch_note = reason
        self.resumed = "new-epoch"
        if reason != "the graph is new":
            log.warning("graphlive: new epoch of graph %r: %s", self.name, reason)
        self._needs_reset = True
        self._graph = self._new_graph()
        state = entry.state(header) if header is not None else None
        if state is not None and header is not None:
            self.analyzer = self._restore(state, header, in_sync=False, workers=workers)
        return None

    _lost_history = "its history cannot be rebuilt from Redis (trimmed or lost)"

    def _cache_entry(self, root: Path) -> CacheEntry:
        """The analysis cache entry of this graph and ``root`` (a resolved folder)."""
        from graphlive.analysis_cache import CacheEntry, root_id

        known = self._entry
        if known is not None and known[0] == root and known[1].graph == self.name:
            return known[1]
        entry = CacheEntry(self.name, root_id(root, resolved=True))
        self._entry = (root, entry)
        return entry

    def _unchanged(self, entry: CacheEntry, header: Header, record: Any) -> AnalysisSummary:
        """The tree is what the saved analysis saw and the graph holds what it wrote: publish
        the run's lifecycle only; the analysis and the graph are loaded when first needed."""
        from graphlive.analysis.engine import DEFAULT_SOURCE, AnalysisSummary

        started = self._started
        self._needs_reset = False
        self.epoch_note = None
        self.resumed = "unchanged"
        self.position = Position(record.epoch, record.seq)
        self._since_snapshot = record.seq - record.snapshot_seq
        data = dict(header.summary or {})
        data.pop("resolved_ratio", None)
        summary = AnalysisSummary(**data) if data else None
        root_name = self.root.name if self.root is not None else ""
        files = len(header.stamps)
        if summary is None:
            summary = AnalysisSummary(root_name, files, 0, 0, 0, 0, 0, 0, 0.0)
        summary.incremental = True
        summary.fallback = None
        summary.files_parsed = summary.files_solved = summary.files_written = 0
        summary.diagnostics = 0
        summary.seconds = time.perf_counter() - started
        # Walking the tree and comparing stamps (with the lease and Redis checks around it).
        summary.timings = {"check": round(summary.seconds, 4)}
        for etype, payload in (
            (EventType.ANALYSIS_STARTED, {"root": summary.root, "files": summary.files}),
            (EventType.ANALYSIS_COMPLETED, summary.to_dict()),
        ):
            self._buffer.append(ChangeEvent(etype, self.name, payload, source=DEFAULT_SOURCE))
        self.flush()
        self.last_summary = summary
        self._saved = (entry, header)
        header.epoch, header.seq = self.position.epoch, self.position.seq
        entry.save(header, None)
        return summary

    def _restore(
        self, state: dict[str, Any], header: Header, *, in_sync: bool, workers: int | None
    ) -> Analyzer:
        from graphlive.analysis.engine import Analyzer

        assert self.root is not None
        self._state_token = header.state_token if in_sync else None
        # In sync and not read yet, the graph is not read at all: a working copy holds what
        # each update touches (GraphWriter.partial).
        working = self._new_graph() if in_sync and self._graph is None else None
        analyzer = Analyzer.restore(
            self.root,
            working if working is not None else self.graph,
            state,
            in_sync=in_sync,
            rewrite=header.dirty,
            written=header.written,
            **self._analyzer_options(workers),
        )
        if working is not None:
            analyzer.writer.use_graph(working, partial=True)
            analyzer.writer.require_full = lambda: self.graph
        return analyzer

    def _fresh_analyzer(self, workers: int | None) -> Analyzer:
        from graphlive.analysis.engine import Analyzer

        assert self.root is not None
        return Analyzer(self.root, self.graph, **self._analyzer_options(workers))

    def _analyzer_options(self, workers: int | None) -> dict[str, Any]:
        options: dict[str, Any] = {"fork_guard": self._fork_guard, "languages": self.languages}
        if workers is not None:
            options["workers"] = workers
        return options

    def _fork_guard(self) -> AbstractContextManager[object]:
        """No thread of ours runs while the analyzer forks its parsing workers (else it would
        parse in this process alone): the send in flight (``analysis_started``) is waited for,
        and the writer lease's heartbeat pauses."""
        if self._inflight is not None:
            self._inflight.wait()  # settled, in order, by the next flush
        return self._lease.paused() if self._lease is not None else nullcontext()

    def _ensure_analyzer(self, workers: int | None) -> Analyzer | None:
        """The analyzer, restored from the saved analysis after an unchanged run."""
        if self.analyzer is None and self._saved is not None and self.bus is not None:
            from graphlive.resume import in_sync, read_record

            entry, header = self._saved
            self._saved = None
            state = entry.state(header)
            if state is not None:
                record = read_record(self.bus.client, self.name)
                synced = in_sync(self.bus.client, self.name, header, record)
                if not synced:
                    self._graph = self._load_graph()
                self.analyzer = self._restore(state, header, in_sync=synced, workers=workers)
        return self.analyzer

    def _needs_snapshot(self) -> bool:
        """A snapshot after an analysis: for a new epoch, or once enough events went by."""
        return self._needs_reset or self._since_snapshot >= self.snapshot_every

    def _save_and_hand_back(self, snapshot: bool) -> bool:
        """Before the last send of :meth:`analyze`: whether that send gives the writer lease
        back itself (the publish script deletes the lease once it has appended; one round trip
        fewer than releasing after it). Only for a lease this call took, a send of what is
        buffered with nothing in flight and no reset or snapshot to follow. Then the analysis
        is saved first, at the position that send reaches, while the lease is held (a writer
        that takes over finds the header of what it continues), and the heartbeat stops (no
        renewal can take the lease back). Should the send fail, the header is ahead of the
        graph, which the next process tells (``resume.in_sync``) and continues by comparing."""
        lease = self._lease
        if (
            lease is None
            or not lease.held
            or lease.serves
            or self._lease_depth != 1
            or snapshot
            or self._needs_reset
            or self._inflight is not None
            or not self._buffer
            or self._since_snapshot + len(self._buffer) >= self.snapshot_every
        ):
            return False
        self._save_analysis(ahead=len(self._buffer))
        lease.stop_heartbeat()
        return True

    def _save_analysis(self, *, full: bool = True, ahead: int = 0) -> None:
        """Save what a new process needs to continue (after a successful publish).

        After an incremental run that wrote few files since the saved state, only the header
        is written (it names those files: :attr:`~graphlive.analysis_cache.Header.dirty`);
        otherwise the whole state, or with ``full=False`` nothing (the entry keeps an older
        position, and the next process continuing it compares every file with the graph).
        ``ahead``: the buffered events about to be sent, the position saved being the one they
        will reach (nothing else may be buffered)."""
        from graphlive.analysis.build import FileOutput
        from graphlive.analysis_cache import DIRTY_MAX, Header, version_key

        analyzer = self.analyzer
        if (
            analyzer is None
            or not self.publishing
            or len(self._buffer) != ahead
            or not self.position.epoch
            or analyzer.discovery is None
        ):
            return
        entry = self._cache_entry(analyzer.root)
        summary = self.last_summary.to_dict() if self.last_summary is not None else None
        header = Header(
            version=version_key(),
            graph=self.name,
            root=entry.root,
            epoch=self.position.epoch,
            seq=self.position.seq + ahead,
            structure=analyzer.structure_key(),
            stamps=analyzer.stamps,
            stamped_ns=analyzer.stamped_ns,
            summary=summary,
            state_token="",
        )
        unsaved = analyzer.unsaved
        if unsaved is not None and self._state_token is not None and len(unsaved) <= DIRTY_MAX:
            header.state_token = self._state_token
            header.dirty = tuple(sorted(unsaved))
            kept = analyzer.writer.outputs
            header.written = {rel: kept.get(rel) or FileOutput(file=rel) for rel in header.dirty}
            if entry.save_header(header):
                return
            # The state file is gone (evicted, deleted): the whole state instead.
            header.state_token, header.dirty, header.written = "", (), {}
        if full:
            self._state_token = None
            # Written by a forked child (graphlive.forked): the caller does not wait for it.
            if entry.save(header, analyzer.export_state(), background=True):
                self._state_token = header.state_token

    def _bulk_run(
        self,
        body: Callable[[], AnalysisSummary],
        *,
        snapshot: bool = True,
        before_last_send: Callable[[bool], bool] | None = None,
    ) -> AnalysisSummary:
        """Run ``body`` publishing in bulk, then send what is left (and write the snapshot
        due). ``before_last_send(snapshot)``, called once ``body`` succeeded: True when the
        last send is to give the writer lease back (:meth:`_save_and_hand_back`)."""
        self._bulk = True
        self._bulk_since = time.perf_counter()
        self._handed_back = False
        release = False
        try:
            summary = body()
            self.last_summary = summary
            if before_last_send is not None:
                release = before_last_send(snapshot)
        finally:
            # Flushed while still in bulk, so this flush writes no periodic snapshot: the one
            # due is written once, below (two at the same position cost 0.5 s on Django).
            self._flush(wait=True, release=release)
            self._bulk = False
        if release and not self._buffer and self._lease is not None:
            self._lease.given_back()
            self._handed_back = True
        if snapshot or self._since_snapshot >= self.snapshot_every:
            self.snapshot()
        return summary

    # ------------------------------------------------------------------ publishing

    def _on_batch(self, batch: Sequence[ChangeEvent]) -> None:
        if not self.publishing:
            return
        self._buffer.extend(batch)
        if len(self._buffer) > self.max_buffer:
            # Redis has been gone for too long: keep memory bounded, and make consumers resync
            # from the full graph once it is back rather than pretend nothing was lost.
            log.error("graphlive: dropping %d unpublished events; will resync", len(self._buffer))
            self._buffer.clear()
            self._needs_reset = self._needs_full_graph = True
            return
        if not self._bulk:
            self.flush()
        elif len(self._buffer) >= self.flush_events or (
            any(e.type in _LIFECYCLE for e in batch)
            and time.perf_counter() - self._bulk_since >= self.prompt_after
        ):
            # A bulk run goes on while its events are sent (bus/inflight.py). The send before
            # is settled first: when a progress report is made, everything before the report
            # that carried the last one is in Redis (and a progress callback can rely on it).
            # Before prompt_after, each lifecycle event would cost a round trip of its own in a
            # run that ends before anyone could see it.
            self._flush(wait=False)

    def flush(self) -> bool:
        """Publish buffered events. Returns True if the buffer is empty afterwards.

        Never raises for an unreachable Redis: the error is kept in ``publish_error`` and the
        events stay buffered for the next flush.
        """
        return self._flush(wait=True)

    def _flush(self, *, wait: bool, release: bool = False) -> bool:
        """:meth:`flush`; without ``wait``, the last send may still be in flight on return
        (settled by the next flush: one at a time, in order). ``release``: the send gives the
        writer lease back once it has appended (:meth:`_save_and_hand_back`)."""
        with self.lock:  # the watcher's thread flushes too, and a send is settled only once
            return self._flush_locked(wait=wait, release=release)

    def _flush_locked(self, *, wait: bool, release: bool = False) -> bool:
        if not self.publishing or self.bus is None:
            return True
        if not self._buffer and not self._needs_reset and self._inflight is None:
            return True
        try:
            self._settle()
            # A few events are sent at once: a thread to overlap them with the analysis costs
            # more than the send (an update publishes its lifecycle events a few at a time).
            small = len(self._buffer) < min(_THREADED_SEND_MIN, self.flush_events)
            self._publish_buffer(wait=wait or small, release=release)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.publish_error = exc
            log.warning("graphlive: Redis unavailable (%s); %d events kept", exc, len(self._buffer))
            self.bus.reconnect()
            return False
        except NotWriter as exc:
            # Another process writes the graph now (we lost the lease, or publish without one):
            # what we hold may differ from the stored graph. Drop it; the next analysis of this
            # session continues from Redis again.
            self.publish_error = exc
            log.error("graphlive: %s; %d events not published", exc, len(self._buffer))
            self._buffer.clear()
            self._attached = False
            self.analyzer = None
            self._saved = None
            raise
        self.publish_error = None
        if self._since_snapshot >= self.snapshot_every and not self._bulk and self._graph:
            self.snapshot()
        return True

    def _settle(self) -> None:
        """Wait for the send in flight and account for it; should it have failed, its events go
        back in front of the buffer (to be sent again) and its error is raised."""
        inflight, self._inflight = self._inflight, None
        if inflight is None:
            return
        try:
            result = inflight.result()
        except BaseException:
            if not inflight.done():
                # Interrupted while waiting (Ctrl-C in a kernel): the send may still succeed,
                # so its events must not be queued again; it stays the one in flight.
                self._inflight = inflight
                raise
            self._buffer[:0] = inflight.events
            raise
        self._published(result, inflight.known_epoch)

    def _publish_buffer(self, *, wait: bool = True, release: bool = False) -> None:
        assert self.bus is not None and self._inflight is None
        publisher = self.bus.publisher(self.name)
        publisher.writer_token = self._lease.token if self._lease is not None else ""
        if self._needs_reset:
            reset = publisher.reset(source="graphlive/session")
            self.position = Position(reset.epoch, reset.last)
            self._record_analysis()
            if self._needs_full_graph:
                # Consumers now hold an empty graph and the buffer was dropped: send the whole
                # current graph instead.
                self._buffer = _full_graph_events(self._whole_graph())
                self._needs_full_graph = False
            self._needs_reset = False
        if not self._buffer:
            return
        known_epoch = self.position.epoch
        events = self._buffer
        bodies = publisher.encode(events)
        if not wait and not release:
            self._buffer = []
            self._inflight = InFlightSend(publisher, bodies, events, known_epoch)
            return
        result = publisher.publish_encoded(bodies, release=release)
        self._buffer = []
        self._published(result, known_epoch)

    def _whole_graph(self) -> CodeGraph:
        """The whole graph as this session knows it, to publish again: read from Redis, or,
        when the analyzer writes a working copy, rebuilt from what its writer remembers (Redis
        has lost it when this is needed)."""
        analyzer = self.analyzer
        if self._graph is None and analyzer is not None and analyzer.writer.partial:
            graph = self._new_graph()
            namespaces = analyzer.discovery.namespaces if analyzer.discovery is not None else {}
            analyzer.writer.whole_graph_from_memory(graph, namespaces)
            analyzer.writer.use_graph(graph)
            self._graph = graph
        return self.graph

    def _published(self, result: PublishResult, known_epoch: str) -> None:
        if known_epoch and any(epoch != known_epoch for _, _, epoch in result.ranges):
            # Redis lost the graph's history (restarted empty, or the graph was reset by someone
            # else): what was just appended lacks its base. Start over with the whole graph.
            log.warning("graphlive: history of %r lost in Redis; republishing the graph", self.name)
            self._needs_reset = self._needs_full_graph = True
            self._publish_buffer()
            return
        self._since_snapshot += result.count
        self.position = Position(result.epoch, result.last)

    def _record_analysis(self) -> None:
        """Note in the graph's meta which folder and analysis format the new epoch holds."""
        from graphlive.analysis_cache import root_id
        from graphlive.resume import ANALYSIS_FORMAT

        if self.root is None or self.bus is None:
            return
        fields = {
            "root": root_id(self.root, resolved=True),
            "root_name": self.root.name,
            "analysis_format": ANALYSIS_FORMAT,
        }
        self.bus.client.hset(GraphKeys(self.name).meta, mapping=fields)  # type: ignore[arg-type]

    def snapshot(self) -> bool:
        """Write a snapshot of the graph at the last published position (after flushing).

        Returns False if there was nothing to snapshot or Redis is unavailable.
        """
        if not self.flush() or self.bus is None or not self.position.epoch:
            return False
        try:
            write_snapshot(self.bus.client, self.graph, self.position)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.publish_error = exc
            return False
        self._since_snapshot = 0
        return True

    # ------------------------------------------------------------------ reading

    def summary(self) -> dict[str, Any]:
        """Counts and position, as shown by ``graphlive analyze --json``."""
        s = self.last_summary
        return {
            "graph": self.name,
            "root": str(self.root) if self.root else None,
            "files": s.files if s else len(self.graph.files()),
            "languages": dict(s.languages) if s else {},
            "nodes": self.graph.node_count if self._graph is not None or not s else s.nodes,
            "edges": self.graph.edge_count if self._graph is not None or not s else s.edges,
            "seconds": round(s.seconds, 3) if s else None,
            "calls_resolved": s.calls_resolved if s else None,
            "calls_unresolved": s.calls_unresolved if s else None,
            "diagnostics": s.diagnostics if s else None,
            "epoch": self.position.epoch or None,
            "last_seq": self.position.seq,
            "resumed": self.resumed,
            "epoch_note": self.epoch_note,
        }

    def view(self, **kwargs: Any) -> GraphView:
        """A live :class:`~graphlive.widget.GraphView` of this graph, with a re-analyse button."""
        from graphlive.widget import GraphView

        if self.root is not None:
            kwargs.setdefault("path", str(self.root))
        return GraphView.for_graph(self, **kwargs)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In a notebook a LiveGraph displays as its live view (text elsewhere)."""
        if not self.publishing:
            return {"text/plain": repr(self)}
        return self.view()._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop watching, flush what can be flushed and release the Redis connection."""
        self.stop_watching()
        self.flush()
        if self.bus is not None:
            self.bus.close()
        forked.reap()  # a save still running goes on; it is collected later

    def __repr__(self) -> str:
        if self._graph is None:
            return f"<LiveGraph {self.name!r}: seq {self.position.seq}, not loaded>"
        return (
            f"<LiveGraph {self.name!r}: {self._graph.node_count} nodes, "
            f"{self._graph.edge_count} edges, seq {self.position.seq}>"
        )


def _full_graph_events(graph: CodeGraph) -> list[ChangeEvent]:
    out = [
        ChangeEvent(EventType.NODE_ADDED, graph.name, {"node": n.to_dict()}, source=graph.source)
        for n in graph.nodes()
    ]
    out += [
        ChangeEvent(EventType.EDGE_ADDED, graph.name, {"edge": e.to_dict()}, source=graph.source)
        for e in graph.edges()
    ]
    return out


def analyze(
    path: Path | str,
    graph: str | None = None,
    *,
    publish: bool = True,
    redis_url: str | None = None,
    workers: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    reset: bool = False,
    wait: float | None = None,
    languages: Iterable[str] | None = None,
) -> LiveGraph:
    """Analyse the code under ``path`` into a :class:`LiveGraph` and publish what changed.

    ``graph`` names the graph (default: derived from the folder name). A graph Redis already
    holds for this folder is continued (same epoch, only the difference published; see
    :meth:`LiveGraph.analyze`); ``reset=True`` starts a new epoch. ``wait``: seconds to wait for
    another writer of the graph (``None``: as long as it holds on). ``languages`` limits the
    analysis to some of ``python``, ``javascript``, ``typescript``, ``go``, ``java``, ``rust``
    (default: all). With ``publish=False`` no Redis is used. Raises ``FileNotFoundError`` for a
    missing path and ``ValueError`` for an invalid graph name or language; problems inside
    files become ``diagnostic`` events.
    """
    root = Path(path).resolve()
    lg = LiveGraph(
        graph or graph_name_for(root),
        root=root,
        publish=publish,
        redis_url=redis_url,
        languages=languages,
    )
    lg.analyze(root, workers=workers, progress=progress, reset=reset, wait=wait)
    return lg
