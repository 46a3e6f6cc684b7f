"""LiveGraph: a CodeGraph whose every change is published to its Redis stream.

    lg = graphlive.analyze("path/to/project")     # full analysis, published as it goes
    lg.graph.node("pkg.mod.func")                  # the in-memory graph (source of truth)
    lg.to_networkx()

Publishing contract:

* Each ``LiveGraph`` session starts a new epoch of its graph (``graph_reset``), then publishes
  every mutation in order, one transaction per analysed file. Consumers that follow the stream
  therefore always converge on exactly ``lg.graph``.
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

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from graphlive import queries
from graphlive.bus.bus import Bus
from graphlive.bus.reader import Position
from graphlive.bus.snapshot import write_snapshot
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, EdgeKind

if TYPE_CHECKING:
    import networkx
    import pandas

    from graphlive.analysis.engine import AnalysisSummary, Analyzer, Progress
    from graphlive.watch import Watcher
    from graphlive.widget import GraphView

__all__ = ["LiveGraph", "analyze", "graph_name_for"]

log = logging.getLogger(__name__)

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


class LiveGraph:
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
    ) -> None:
        from graphlive.bus.keys import validate_graph_name

        self.name = validate_graph_name(name)
        self.root = Path(root).resolve() if root is not None else None
        self.graph = CodeGraph(name, source="graphlive/analysis")
        self.publishing = publish
        self.bus = bus if bus is not None else (Bus(redis_url) if publish else None)
        self.flush_events = flush_events
        self.snapshot_every = snapshot_every
        self.max_buffer = max_buffer
        self.position = Position()
        self.publish_error: BaseException | None = None
        self.last_summary: AnalysisSummary | None = None
        self._buffer: list[ChangeEvent] = []
        self._bulk = False
        # Every session starts a fresh epoch; after dropping events, one with the full graph.
        self._needs_reset = publish
        self._needs_full_graph = False
        self._since_snapshot = 0
        #: Serialises analysis, updates (the watcher thread) and reads of the graph.
        self.lock = threading.RLock()
        self.analyzer: Analyzer | None = None
        self.watcher: Watcher | None = None
        self.graph.listen(self._on_batch)

    @classmethod
    def load(cls, name: str, *, redis_url: str | None = None) -> LiveGraph:
        """A read-only copy of graph ``name`` rebuilt from Redis (snapshot + stream tail), for
        queries in a process that does not produce the graph. It does not publish.

        Raises ``KeyError`` if Redis holds no graph of that name.
        """
        from graphlive.bus.keys import GraphKeys
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
    ) -> AnalysisSummary:
        """Fully analyse ``path`` (default: this graph's root) into the graph and publish it.

        Returns the analysis summary. Bad files become ``diagnostic`` events, never exceptions;
        an unexpected failure is published as ``analysis_failed`` and re-raised.
        """
        from graphlive.analysis.engine import Analyzer

        root = Path(path).resolve() if path is not None else self.root
        if root is None:
            raise ValueError("LiveGraph.analyze needs a path (this graph has no root)")
        if not root.exists():
            raise FileNotFoundError(f"cannot analyse {root}: no such file or directory")
        with self.lock:
            self.root = root
            analyzer = self.analyzer = Analyzer(root, self.graph, workers=workers)
            return self._bulk_run(lambda: analyzer.run(progress=progress))

    def update(
        self, paths: Iterable[str | Path], *, progress: Callable[[Progress], None] | None = None
    ) -> AnalysisSummary:
        """Re-analyse the given files (changed, added or deleted; absolute or relative to the
        root) and publish only the difference, one transaction per file. Unchanged code emits
        no graph mutation. Runs a full analysis if there was none yet."""
        with self.lock:
            if self.analyzer is None:
                return self.analyze(progress=progress)
            analyzer = self.analyzer
            # No snapshot per update (its cost grows with the graph): flush() writes one every
            # `snapshot_every` published events.
            return self._bulk_run(lambda: analyzer.update(paths, progress=progress), snapshot=False)

    def watch(self, *, debounce_ms: int = 50, **kwargs: Any) -> Watcher:
        """Follow file changes under the root in a background thread (see
        :class:`graphlive.watch.Watcher`); analyses first if needed. Stop with ``.stop()``."""
        from graphlive.watch import Watcher

        if self.analyzer is None:
            self.analyze()
        self.stop_watching()
        self.watcher = Watcher(self, debounce_ms=debounce_ms, **kwargs).start()
        return self.watcher

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _bulk_run(
        self, body: Callable[[], AnalysisSummary], *, snapshot: bool = True
    ) -> AnalysisSummary:
        self._bulk = True
        try:
            summary = body()
        finally:
            self._bulk = False
            self.flush()
        self.last_summary = summary
        if snapshot:
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
        if (
            not self._bulk
            or len(self._buffer) >= self.flush_events
            or any(e.type in _LIFECYCLE for e in batch)
        ):
            self.flush()

    def flush(self) -> bool:
        """Publish buffered events. Returns True if the buffer is empty afterwards.

        Never raises for an unreachable Redis: the error is kept in ``publish_error`` and the
        events stay buffered for the next flush.
        """
        if not self.publishing or self.bus is None:
            return True
        if not self._buffer and not self._needs_reset:
            return True
        try:
            self._publish_buffer()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.publish_error = exc
            log.warning("graphlive: Redis unavailable (%s); %d events kept", exc, len(self._buffer))
            self.bus.reconnect()
            return False
        self.publish_error = None
        if self._since_snapshot >= self.snapshot_every and not self._bulk:
            self.snapshot()
        return True

    def _publish_buffer(self) -> None:
        assert self.bus is not None
        publisher = self.bus.publisher(self.name)
        if self._needs_reset:
            reset = publisher.reset(source="graphlive/session")
            self.position = Position(reset.epoch, reset.last)
            if self._needs_full_graph:
                # Consumers now hold an empty graph and the buffer was dropped: send the whole
                # current graph instead.
                self._buffer = _full_graph_events(self.graph)
                self._needs_full_graph = False
            self._needs_reset = False
        if not self._buffer:
            return
        known_epoch = self.position.epoch
        result = publisher.publish(self._buffer)
        self._buffer = []
        if known_epoch and any(epoch != known_epoch for _, _, epoch in result.ranges):
            # Redis lost the graph's history (restarted empty, or the graph was reset by someone
            # else): what was just appended lacks its base. Start over with the whole graph.
            log.warning("graphlive: history of %r lost in Redis; republishing the graph", self.name)
            self._needs_reset = self._needs_full_graph = True
            self._publish_buffer()
            return
        self._since_snapshot += result.count
        self.position = Position(result.epoch, result.last)

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
            "nodes": self.graph.node_count,
            "edges": self.graph.edge_count,
            "seconds": round(s.seconds, 3) if s else None,
            "calls_resolved": s.calls_resolved if s else None,
            "calls_unresolved": s.calls_unresolved if s else None,
            "diagnostics": s.diagnostics if s else None,
            "epoch": self.position.epoch or None,
            "last_seq": self.position.seq,
        }

    def to_networkx(self) -> networkx.MultiDiGraph:
        """A ``networkx.MultiDiGraph``: nodes are ids with their attributes (``kind``, ``file``,
        ``line``, …); edges are keyed by edge id and carry ``kind``, ``line`` and ``file``."""
        import networkx as nx

        g: nx.MultiDiGraph = nx.MultiDiGraph(name=self.name)
        for node in self.graph.nodes():
            attrs = node.to_dict()
            del attrs["id"]
            g.add_node(node.id, **attrs)
        for edge in self.graph.edges():
            g.add_edge(
                edge.source, edge.target, key=edge.id, kind=edge.kind.value, line=edge.line,
                file=edge.file,
            )  # fmt: skip
        return g

    # ------------------------------------------------------------------ queries (see queries.py)

    def callers(self, node_id: str, depth: int = 1) -> pandas.DataFrame:
        """Who calls ``node_id`` within ``depth`` calls (:func:`graphlive.queries.callers`)."""
        return queries.callers(self.graph, node_id, depth)

    def callees(self, node_id: str, depth: int = 1) -> pandas.DataFrame:
        """What ``node_id`` calls within ``depth`` calls (:func:`graphlive.queries.callees`)."""
        return queries.callees(self.graph, node_id, depth)

    def definition(self, name: str) -> pandas.DataFrame:
        """Where ``name`` is defined (:func:`graphlive.queries.definitions`)."""
        return queries.definitions(self.graph, name)

    def references(self, name: str) -> pandas.DataFrame:
        """Every call, import, base class or decorator use of ``name``."""
        return queries.references(self.graph, name)

    def shortest_path(
        self, source: str, target: str, kinds: Iterable[EdgeKind] = (EdgeKind.CALLS,)
    ) -> list[str] | None:
        """The shortest chain of ids from ``source`` to ``target`` over edges of ``kinds``."""
        return queries.shortest_path(self.graph, source, target, kinds)

    def import_cycles(self) -> pandas.DataFrame:
        """Groups of mutually importing modules (strongly connected components)."""
        return queries.import_cycles(self.graph)

    def hotspots(self, top: int = 20) -> pandas.DataFrame:
        """The most complex functions and methods."""
        return queries.hotspots(self.graph, top)

    def module_stats(self) -> pandas.DataFrame:
        """Per-module definitions, size, complexity and import coupling."""
        return queries.module_stats(self.graph)

    def unresolved_calls(self, node_id: str | None = None) -> pandas.DataFrame:
        """Calls left unresolved, where they are (:func:`graphlive.queries.unresolved_calls`)."""
        return queries.unresolved_calls(self.graph, node_id)

    def ego(self, node_id: str, depth: int = 1) -> CodeGraph:
        """The subgraph within ``depth`` hops of ``node_id``."""
        return queries.ego(self.graph, node_id, depth)

    def cypher(
        self, query: str, params: Mapping[str, Any] | None = None, *, sync: bool = True
    ) -> pandas.DataFrame:
        """Run a read-only Cypher query on this graph's FalkorDB copy, as a DataFrame.

        With ``sync=True`` the copy (kept by the sink in the embedded Redis' FalkorDB module,
        the same one ``graphlive sink NAME --to falkordb://`` maintains) is first brought up to
        date with every published event. Needs Redis (``publish=True``).
        """
        from graphlive.sinks import Sink
        from graphlive.sinks.falkordb import FalkorDBTarget, cypher

        if self.bus is None:
            raise RuntimeError("LiveGraph.cypher needs Redis: create the graph with publish=True")
        self.flush()
        client = self.bus.client
        if sync:
            target = FalkorDBTarget(client, self.name, where="graphlive-redis")
            with Sink(self.name, target, client=client) as sink:
                sink.run(until_caught_up=True)
        return cypher(query, params, graph=self.name, client=client)

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

    def __repr__(self) -> str:
        return (
            f"<LiveGraph {self.name!r}: {self.graph.node_count} nodes, "
            f"{self.graph.edge_count} edges, seq {self.position.seq}>"
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
) -> LiveGraph:
    """Analyse the code under ``path`` into a new :class:`LiveGraph` and publish it.

    ``graph`` names the graph (default: derived from the folder name). With ``publish=False``
    no Redis is used. Raises ``FileNotFoundError`` for a missing path and ``ValueError`` for an
    invalid graph name; problems inside files become ``diagnostic`` events.
    """
    root = Path(path).resolve()
    lg = LiveGraph(graph or graph_name_for(root), root=root, publish=publish, redis_url=redis_url)
    lg.analyze(root, workers=workers, progress=progress)
    return lg
