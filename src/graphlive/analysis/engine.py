"""The analysis engine: discover → extract (in parallel) → resolve → write into a CodeGraph.

:class:`Analyzer` runs a full analysis of a directory tree of Python files and makes the graph's
Python content equal to the result, emitting only what changed:

* one ``graph.transaction()`` per file holding that file's node and edge changes (and its
  diagnostics); when an edge of the file points at a node no transaction has added yet (a
  definition in a file written later, an external or a namespace package), that node is added
  in the same transaction, so every transaction is self-contained;
* files that disappeared since the last run lose their nodes and edges (one transaction each);
  external and namespace nodes nothing points at any more are removed in a final transaction;
* lifecycle events: ``analysis_started`` (root, files), ``analysis_progress`` (phase, done,
  total, file; at most ~:data:`PROGRESS_STEPS` per phase), ``analysis_completed`` (the
  :class:`AnalysisSummary` as a dict) or, if something unexpected aborts the run,
  ``analysis_failed`` (error) before the exception propagates; ``diagnostic`` events for bad
  input (file, line, col, severity, code, message).

Re-running on an unchanged tree therefore emits no mutation at all, which is the basis for
incremental updates: :meth:`Analyzer.update` re-extracts only the given files, re-resolves from
the kept facts of the others (no parsing) and writes the difference.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graphlive.analysis.build import FileOutput, build_outputs, external_node
from graphlive.analysis.discover import Discovery, SourceFile, discover
from graphlive.analysis.facts import DiagFact, FileFacts, FileTask
from graphlive.analysis.python_extract import extract_chunk, extract_file, gc_paused
from graphlive.analysis.resolve import ProgramIndex, resolve
from graphlive.events import EventType
from graphlive.graph import CodeGraph, Node, NodeKind

__all__ = [
    "DEFAULT_SOURCE",
    "PROGRESS_STEPS",
    "AnalysisSummary",
    "Analyzer",
    "Progress",
]

#: Event source of everything the engine emits.
DEFAULT_SOURCE = "graphlive/analysis"
#: Progress is reported about this many times per phase (plus the final count).
PROGRESS_STEPS = 50
# Below these sizes one process is faster: starting workers costs ~0.1-0.3 s.
_PARALLEL_MIN_FILES = 16
_PARALLEL_MIN_BYTES = 1_500_000
_SOURCE_ROOT_NAMES = frozenset({"src", "lib"})


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report: ``phase`` is ``discover``, ``parse``, ``resolve`` or ``write``."""

    phase: str
    done: int
    total: int
    file: str | None = None


@dataclass(slots=True)
class AnalysisSummary:
    """What a run produced. ``nodes``/``edges`` count the Python nodes and edges of the result
    (definitions, modules, namespaces, externals); ``calls_*`` count call expressions (decorator
    applications and protocol calls such as ``__iter__`` are edges but not counted);
    ``diagnostics`` counts diagnostic events; ``timings`` holds seconds per phase."""

    root: str
    files: int
    nodes: int
    edges: int
    calls_total: int
    calls_resolved: int
    calls_unresolved: int
    diagnostics: int
    seconds: float
    files_failed: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def resolved_ratio(self) -> float:
        """Share of call expressions with at least one target (1.0 when there are none)."""
        return self.calls_resolved / self.calls_total if self.calls_total else 1.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["resolved_ratio"] = round(self.resolved_ratio, 4)
        return data


ProgressCallback = Callable[[Progress], None]


class _Throttle:
    """Reports roughly every ``total / PROGRESS_STEPS`` items, and always the last one."""

    def __init__(
        self,
        phase: str,
        total: int,
        graph: CodeGraph,
        source: str,
        callback: ProgressCallback | None,
    ) -> None:
        self.phase = phase
        self.total = total
        self.step = max(1, total // PROGRESS_STEPS)
        self.next = self.step
        self.graph = graph
        self.source = source
        self.callback = callback

    def __call__(self, done: int, file: str | None) -> None:
        if done < self.next and done != self.total:
            return
        self.next = done + self.step
        report = Progress(self.phase, done, self.total, file)
        self.graph.emit(
            EventType.ANALYSIS_PROGRESS,
            {"phase": self.phase, "done": done, "total": self.total, "file": file},
            source=self.source,
        )
        if self.callback is not None:
            self.callback(report)


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _pool_context() -> Any | None:
    """How to start parsing workers, or ``None`` to parse in this process.

    fork when this process has a single thread: fastest, and the workers do not re-import the
    ``__main__`` script. With other threads running (Jupyter kernels, servers) forking could
    deadlock on a lock another thread holds, so forkserver; but forkserver/spawn workers re-run
    a ``__main__`` script, which fails for scripts without an ``if __name__ == "__main__"``
    guard, so a threaded process started from a script parses in-process instead.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) is not None:
        return None
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class Analyzer:
    """Full (and incremental) analysis of the Python files under ``root`` into ``graph``.

    ``workers``: processes used for parsing (default: the CPUs available; ``1`` keeps everything
    in this process; small trees always run in-process). ``max_file_bytes``: larger files are
    not parsed (a diagnostic; their module node is kept). ``source``: the event source.
    ``track_dependencies``: keep :attr:`dependencies` (costs a pass over the solver state).

    The analyzer owns the Python files of ``graph`` (nodes and edges whose ``file`` ends in
    ``.py``): a run removes those it did not produce, so one graph holds one analysed root.
    Not thread-safe; one run at a time.
    """

    def __init__(
        self,
        root: Path,
        graph: CodeGraph,
        *,
        workers: int | None = None,
        max_file_bytes: int = 2_000_000,
        source: str = DEFAULT_SOURCE,
        track_dependencies: bool = False,
    ) -> None:
        self.root = Path(root)
        self.graph = graph
        self.workers = workers if workers is not None else _default_workers()
        self.max_file_bytes = max_file_bytes
        self.source = source
        #: Facts of the last run by relative path (kept for incremental updates).
        self.facts: dict[str, FileFacts] = {}
        #: Output of the last run by relative path.
        self.outputs: dict[str, FileOutput] = {}
        self.discovery: Discovery | None = None
        self.track_dependencies = track_dependencies
        #: With ``track_dependencies``: for each file, the files its links were computed from
        #: (see :meth:`Resolution.file_dependencies`). The solver itself is not kept: it is
        #: large (hundreds of MB for the whole stdlib) and an update re-solves from the facts.
        self.dependencies: dict[str, set[str]] | None = None
        self._files: dict[str, SourceFile] = {}

    # ------------------------------------------------------------------ public API

    def run(self, progress: ProgressCallback | None = None) -> AnalysisSummary:
        """Analyse every ``.py`` file under the root and update the graph (module docstring).

        Raises only for a missing root or an unexpected internal error (after emitting
        ``analysis_failed``); bad files become diagnostics.
        """
        return self._guarded(lambda: self._run_full(progress))

    def update(
        self, paths: Iterable[str | Path], progress: ProgressCallback | None = None
    ) -> AnalysisSummary:
        """Re-analyse the given files (added, changed or deleted; paths absolute or relative to
        the root) and write only the difference. The tree is re-walked to learn about new or
        removed files; files not named keep their facts (no re-parse). Falls back to
        :meth:`run` when there was no previous run."""
        if not self.facts:
            return self.run(progress)
        return self._guarded(lambda: self._run_update(paths, progress))

    # ------------------------------------------------------------------ phases

    def _guarded(self, body: Callable[[], AnalysisSummary]) -> AnalysisSummary:
        try:
            with gc_paused():
                return body()
        except BaseException as exc:
            self.graph.emit(
                EventType.ANALYSIS_FAILED,
                {"root": str(self.root), "error": f"{type(exc).__name__}: {exc}"},
                source=self.source,
            )
            raise

    def _run_full(self, progress: ProgressCallback | None) -> AnalysisSummary:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        disc = discover(self.root)
        timings["discover"] = time.perf_counter() - started
        self._start(disc, progress)
        t = time.perf_counter()
        tasks = self._tasks(disc)
        facts = self._extract(tasks, disc, progress)
        timings["parse"] = time.perf_counter() - t
        return self._finish(disc, facts, started, timings, progress)

    def _run_update(
        self, paths: Iterable[str | Path], progress: ProgressCallback | None
    ) -> AnalysisSummary:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        disc = discover(self.root)
        timings["discover"] = time.perf_counter() - started
        self._start(disc, progress)
        t = time.perf_counter()
        changed = {self._relative(p) for p in paths}
        tasks = self._tasks(disc)
        todo: list[FileTask] = []
        kept: dict[str, FileFacts] = {}
        new_files = self._files_of(disc)
        for task in tasks:
            old = self.facts.get(task.rel)
            old_file = self._files.get(task.rel)
            new_file = new_files.get(task.rel)
            same_identity = (
                old is not None
                and old_file is not None
                and new_file is not None
                and (old_file.id, old_file.is_package) == (new_file.id, new_file.is_package)
            )
            if task.rel in changed or not same_identity:
                todo.append(task)
            else:
                assert old is not None
                kept[task.rel] = old
        fresh = {f.file: f for f in self._extract(todo, disc, progress)}
        facts = [fresh[t.rel] if t.rel in fresh else kept[t.rel] for t in tasks]
        timings["parse"] = time.perf_counter() - t
        return self._finish(disc, facts, started, timings, progress)

    def _start(self, disc: Discovery, progress: ProgressCallback | None) -> None:
        total = len(disc.files)
        self.graph.emit(
            EventType.ANALYSIS_STARTED,
            {"root": str(self.root), "files": total},
            source=self.source,
        )
        for diag in disc.diagnostics:
            self._emit_diagnostic(diag)
        if progress is not None:
            progress(Progress("discover", total, total, None))

    def _finish(
        self,
        disc: Discovery,
        facts: list[FileFacts],
        started: float,
        timings: dict[str, float],
        progress: ProgressCallback | None,
    ) -> AnalysisSummary:
        t = time.perf_counter()
        files = disc.files
        index = ProgramIndex(
            facts,
            namespaces=disc.namespaces,
            script_dirs=[sf.parent if sf.parent_is_namespace else None for sf in files],
            source_roots=[
                ns for ns in disc.namespaces if ns.rpartition(".")[2] in _SOURCE_ROOT_NAMES
            ],
        )
        resolution = resolve(index)
        outputs, ns_nodes = build_outputs(
            facts, resolution.links, [sf.parent for sf in files], disc.namespaces
        )
        externals = resolution.externals
        if self.track_dependencies:
            self.dependencies = resolution.file_dependencies()
        # Free the solver state now (it can be millions of objects) so that the time it takes
        # is counted here rather than surprising the caller after run() returns.
        del resolution, index
        timings["resolve"] = time.perf_counter() - t
        if progress is not None:
            progress(Progress("resolve", len(files), len(files), None))
        t = time.perf_counter()
        nodes_total, edges_total, diagnostics = self._write(outputs, ns_nodes, externals, progress)
        timings["write"] = time.perf_counter() - t
        diagnostics += len(disc.diagnostics)
        self.discovery = disc
        self.facts = {f.file: f for f in facts}
        self.outputs = {o.file: o for o in outputs}
        self._files = self._files_of(disc)
        calls_total = sum(o.calls_total for o in outputs)
        calls_resolved = sum(o.calls_resolved for o in outputs)
        summary = AnalysisSummary(
            root=str(self.root),
            files=len(files),
            nodes=nodes_total,
            edges=edges_total,
            calls_total=calls_total,
            calls_resolved=calls_resolved,
            calls_unresolved=calls_total - calls_resolved,
            diagnostics=diagnostics,
            seconds=time.perf_counter() - started,
            files_failed=sum(1 for f in facts if f.error is not None or f.missing),
            timings={k: round(v, 4) for k, v in timings.items()},
        )
        self.graph.emit(EventType.ANALYSIS_COMPLETED, summary.to_dict(), source=self.source)
        return summary

    # ------------------------------------------------------------------ extraction

    @staticmethod
    def _files_of(disc: Discovery) -> dict[str, SourceFile]:
        return {sf.rel: sf for sf in disc.files}

    def _relative(self, path: str | Path) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.relative_to(self.root.absolute())
            except ValueError:
                return str(path)
        return p.as_posix()

    def _tasks(self, disc: Discovery) -> list[FileTask]:
        children: dict[str, set[str]] = {}
        for sf in disc.files:
            if sf.parent is not None and not sf.parent_is_namespace:
                children.setdefault(sf.parent, set()).add(sf.id.rpartition(".")[2])
        return [
            FileTask(
                path=sf.path,
                rel=sf.rel,
                module=sf.id,
                is_package=sf.is_package,
                submodules=frozenset(children.get(sf.id, ())) if sf.is_package else frozenset(),
            )
            for sf in disc.files
        ]

    def _extract(
        self, tasks: Sequence[FileTask], disc: Discovery, progress: ProgressCallback | None
    ) -> list[FileFacts]:
        """Facts for ``tasks`` in the same order, in worker processes when that pays off."""
        throttle = _Throttle("parse", len(tasks), self.graph, self.source, progress)
        sizes = {sf.rel: sf.size for sf in disc.files}
        total_bytes = sum(sizes.get(t.rel, 0) for t in tasks)
        workers = min(self.workers, len(tasks))
        context = _pool_context() if workers > 1 else None
        if context is None or len(tasks) < _PARALLEL_MIN_FILES or total_bytes < _PARALLEL_MIN_BYTES:
            out = []
            for i, task in enumerate(tasks, 1):
                out.append(extract_file(task, self.max_file_bytes))
                throttle(i, task.rel)
            return out
        return self._extract_parallel(tasks, sizes, total_bytes, workers, context, throttle)

    def _extract_parallel(
        self,
        tasks: Sequence[FileTask],
        sizes: dict[str, int],
        total_bytes: int,
        workers: int,
        context: Any,
        throttle: _Throttle,
    ) -> list[FileFacts]:
        # Biggest files first, in chunks of roughly equal bytes: few round trips, and no worker
        # is left with one huge file at the end.
        target = max(64_000, total_bytes // (workers * 12))
        chunks: list[list[FileTask]] = []
        current: list[FileTask] = []
        current_bytes = 0
        for task in sorted(tasks, key=lambda t: -sizes.get(t.rel, 0)):
            current.append(task)
            current_bytes += sizes.get(task.rel, 0)
            if current_bytes >= target:
                chunks.append(current)
                current, current_bytes = [], 0
        if current:
            chunks.append(current)
        results: dict[str, FileFacts] = {}
        done = 0
        pending = list(range(len(chunks)))
        try:
            with concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=context
            ) as pool:
                futures = {
                    pool.submit(extract_chunk, chunks[i], self.max_file_bytes): i for i in pending
                }
                for future in concurrent.futures.as_completed(futures):
                    i = futures[future]
                    for facts in future.result():
                        results[facts.file] = facts
                    pending.remove(i)
                    done += len(chunks[i])
                    throttle(done, chunks[i][-1].rel)
        except BrokenProcessPool:
            # A worker died (out of memory, a crash in the interpreter): finish here, file by
            # file, so one bad file cannot take the analysis down.
            for i in pending:
                for task in chunks[i]:
                    if task.rel not in results:
                        results[task.rel] = extract_file(task, self.max_file_bytes)
                done += len(chunks[i])
                throttle(done, chunks[i][-1].rel)
        return [results[t.rel] for t in tasks]

    # ------------------------------------------------------------------ writing

    def _emit_diagnostic(self, diag: DiagFact) -> None:
        self.graph.emit(
            EventType.DIAGNOSTIC,
            {
                "file": diag.file,
                "line": diag.line,
                "col": diag.col,
                "severity": diag.severity,
                "code": diag.code,
                "message": diag.message,
            },
            source=self.source,
        )

    def _write(
        self,
        outputs: list[FileOutput],
        ns_nodes: dict[str, Node],
        externals: dict[str, str],
        progress: ProgressCallback | None,
    ) -> tuple[int, int, int]:
        """Apply the outputs to the graph; returns (nodes, edges, diagnostics) of the result."""
        graph = self.graph
        all_nodes: dict[str, Node] = {}
        for out in outputs:
            all_nodes.update(out.nodes)
        for node_id, node in ns_nodes.items():
            all_nodes.setdefault(node_id, node)
        for node_id, name in externals.items():
            if node_id not in all_nodes:
                all_nodes[node_id] = external_node(node_id, name)
        throttle = _Throttle("write", len(outputs), graph, self.source, progress)
        diagnostics = 0
        edges_total = 0
        referenced: set[str] = set()
        current_files = {out.file for out in outputs}
        for i, out in enumerate(outputs, 1):
            # Drop edges whose endpoint is not a node (a definition shadowed by a module id).
            valid = {
                key: edge
                for key, edge in out.edges.items()
                if edge.source in all_nodes and edge.target in all_nodes
            }
            edges_total += len(valid)
            for edge in valid.values():
                referenced.add(edge.source)
                referenced.add(edge.target)
            previous = self.outputs.get(out.file)
            if (
                previous is not None
                and not out.diagnostics
                and previous.nodes == out.nodes
                and previous.edges == out.edges
            ):
                # Unchanged since the last run (an update of other files): nothing to write.
                throttle(i, out.file)
                continue
            with graph.transaction(source=self.source):
                for node in out.nodes.values():
                    graph.add_node(node)
                for edge in valid.values():
                    for end in (edge.source, edge.target):
                        if end not in graph:
                            graph.add_node(all_nodes[end])
                    graph.add_edge(edge)
                for key in graph.edges_of_file(out.file) - valid.keys():
                    graph.remove_edge(key)
                for node_id in graph.nodes_in_file(out.file) - out.nodes.keys():
                    graph.remove_node(node_id)
                for diag in out.diagnostics:
                    self._emit_diagnostic(diag)
                    diagnostics += 1
            throttle(i, out.file)
        # Files analysed before that are gone now.
        for file in sorted(self._stale_files(current_files)):
            with graph.transaction(source=self.source):
                for key in graph.edges_of_file(file):
                    graph.remove_edge(key)
                for node_id in graph.nodes_in_file(file):
                    graph.remove_node(node_id)
        # Externals and namespaces nothing refers to any more.
        with graph.transaction(source=self.source):
            for kind in (NodeKind.EXTERNAL, NodeKind.PACKAGE):
                for node_id in sorted(graph.nodes_of_kind(kind)):
                    node = graph.node(node_id)
                    if (
                        node.file is None
                        and node.language == "python"
                        and graph.degree(node_id) == 0
                    ):
                        graph.remove_node(node_id)
        result_nodes = referenced
        for out in outputs:
            result_nodes.update(out.nodes)
        return len(result_nodes), edges_total, diagnostics

    def _stale_files(self, current: set[str]) -> set[str]:
        """Python files the graph holds (from an earlier run) that this run did not produce."""
        stale = set()
        for file in self.graph.files():
            if file in current or not file.endswith(".py"):
                continue
            stale.add(file)
        return stale
