"""The analysis engine: discover → extract (in parallel) → resolve → write into a CodeGraph.

:class:`Analyzer` runs a full analysis of a directory tree of Python files (and of the files in
the other languages it reads: :mod:`graphlive.analysis.polyglot`, analysed after the Python
files, phase ``languages``) and makes the graph's analysed content equal to the result,
emitting only what changed (one transaction per file,
written by :class:`~graphlive.analysis.writer.GraphWriter`) and the lifecycle events:
``analysis_started`` (root, files), ``analysis_progress`` (phase, done, total, file; at most
~:data:`PROGRESS_STEPS` per phase; for ``resolve``, the files the solver's first pass has
finished: later re-evaluations show it at the total), ``analysis_completed`` (the
:class:`AnalysisSummary` as a dict) or, if something unexpected aborts the run,
``analysis_failed`` (root, error) before the exception propagates; ``diagnostic`` events for bad
input (file, line, col, severity, code, message). Events name files relative to the root and
the root by its folder's name (:attr:`Analyzer.root_name`), never by an absolute path.

Re-running on an unchanged tree emits no mutation at all.

Incremental updates (:meth:`Analyzer.update`, what the file watcher calls) cost what the edit
affects, not what the tree holds:

* discovery is patched for the changed paths (:func:`~graphlive.analysis.discover.refresh`);
  only a change of the tree's structure (folders, ``__init__.py``, ``.gitignore``, ...) walks it
  again;
* only the changed files are parsed (plus a package's ``__init__.py`` when a new submodule
  changes the id of one of its definitions); a changed file of another language has its
  language's files analysed again (:mod:`graphlive.analysis.polyglot.analyses`), and only the
  files whose output differs are written;
* resolution keeps the solver between runs and re-solves the part of the program the change
  reaches (:class:`~graphlive.analysis.incremental.Program`);
* outputs are rebuilt and written only for the changed files and the files whose links changed,
  one transaction each, ordered so that a file's new edges find their targets already added and
  edges into removed nodes are removed by their owner's transaction first.

Whatever path an update takes, the graph afterwards equals what a full analysis of the tree on
disk produces (up to the saturation caveat in :mod:`~graphlive.analysis.incremental`); updates
the incremental path does not handle (structure changes, star imports, id clashes) fall back to
resolving everything from the kept facts, still writing only the difference.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from graphlive.analysis.build import (
    FileOutput,
    build_file,
    build_outputs,
    namespace_owners,
)
from graphlive.analysis.discover import Discovery, SourceFile, discover, refresh, same_structure
from graphlive.analysis.facts import FileFacts, FileTask
from graphlive.analysis.incremental import FileChange, Program
from graphlive.analysis.lazy_maps import LazyMap
from graphlive.analysis.manifest import (
    Stamp,
    changed_files,
    differing,
    stat_files,
    structure_key,
)
from graphlive.analysis.polyglot.analyses import OtherLanguages, group_of, to_write
from graphlive.analysis.polyglot.languages import language_of
from graphlive.analysis.prepared import PreparedFacts
from graphlive.analysis.progress import PROGRESS_STEPS, Progress, ProgressCallback, Throttle
from graphlive.analysis.python_extract import extract_chunk, extract_file, gc_paused
from graphlive.analysis.resolve import ProgramIndex, resolve
from graphlive.analysis.saved_facts import SavedFacts
from graphlive.analysis.summary import AnalysisSummary
from graphlive.analysis.workers import (
    default_workers,
    file_task,
    file_tasks,
    pool_context,
    submodules,
)
from graphlive.analysis.writer import GraphWriter
from graphlive.events import EventType
from graphlive.graph import CodeGraph
from graphlive.ignore import IgnoreRules

__all__ = [
    "DEFAULT_SOURCE",
    "MAX_FILE_BYTES",
    "PROGRESS_STEPS",
    "AnalysisSummary",
    "Analyzer",
    "Progress",
]

#: Event source of everything the engine emits.
DEFAULT_SOURCE = "graphlive/analysis"
# Below these sizes one process is faster: starting workers costs ~0.1-0.3 s.
_PARALLEL_MIN_FILES = 16
_PARALLEL_MIN_BYTES = 1_500_000
#: Forked workers start in milliseconds (nothing to import): worth it from less (rich, 0.9 MB:
#: parse phase 0.27 s against 0.30-0.50 s in one process).
_PARALLEL_MIN_BYTES_FORK = 400_000


#: Files larger than this are not parsed (a diagnostic; their module node is kept): the default
#: of :class:`Analyzer`'s ``max_file_bytes``.
MAX_FILE_BYTES = 2_000_000


class Analyzer:
    """Full (and incremental) analysis of the Python files under ``root`` into ``graph``.

    ``workers``: processes used for parsing (default: the CPUs available; ``1`` keeps everything
    in this process; small trees always run in-process). ``max_file_bytes``: larger files are
    not parsed (a diagnostic; their module node is kept). ``source``: the event source.
    ``track_dependencies``: keep :attr:`dependencies` (costs a pass over the solver state).
    ``incremental``: keep the solver state between runs so that :meth:`update` re-solves only
    what a change affects (memory: roughly the solver's size, ~1 GB for the whole stdlib);
    without it, every update resolves the whole program from the kept facts.

    Files and folders that ``.gitignore`` excludes are not analysed (the same
    :class:`~graphlive.ignore.IgnoreRules` the watcher follows).

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
        max_file_bytes: int = MAX_FILE_BYTES,
        source: str = DEFAULT_SOURCE,
        track_dependencies: bool = False,
        incremental: bool = True,
        fork_guard: Callable[[], AbstractContextManager[object]] = nullcontext,
        languages: frozenset[str] | None = None,
    ) -> None:
        self.root = Path(root)
        #: The languages analysed (``None``: all; :func:`~graphlive.analysis.polyglot.
        #: languages.selection`).
        self.languages = languages
        #: Entered while the parsing workers are forked: its owner stops its own threads for
        #: that moment (the writer lease's heartbeat), so that fork, the fastest way to start
        #: workers, is safe (see :func:`~graphlive.analysis.workers.pool_context`).
        self.fork_guard = fork_guard
        #: Processes that parsed in the last run that parsed anything (1: this process alone).
        self.parse_processes = 1
        #: Facts extracted before this analyzer was restored, for its next extraction (used
        #: once; :mod:`graphlive.analysis.prepared`).
        self.prepared: PreparedFacts | None = None
        self._parsed_ahead_s = 0.0  # what the prepared facts the last extraction took cost
        self.workers = workers if workers is not None else default_workers()
        self.max_file_bytes = max_file_bytes
        self.source = source
        #: Facts of the last run by relative path (kept for incremental updates).
        self.facts: dict[str, FileFacts] = {}
        #: Writes results into the graph; remembers the last output of each file.
        self.writer = GraphWriter(graph, source)
        self.discovery: Discovery | None = None
        self.track_dependencies = track_dependencies
        self.incremental = incremental
        #: With ``track_dependencies``: for each file, the files its links were computed from
        #: (see :meth:`Resolution.file_dependencies`), as of the last full resolution.
        self.dependencies: dict[str, set[str]] | None = None
        #: The resolved program kept for incremental updates (``None`` without ``incremental``).
        self.program: Program | None = None
        self.rules = IgnoreRules(self.root)
        self._files: dict[str, SourceFile] = {}
        #: What the other languages' analyses keep between runs, and how many of their files
        #: the last run read.
        self.others = OtherLanguages()
        self.other_read = 0
        self._module_ids: set[str] = set()
        self._ns_owners: dict[str, list[str]] = {}
        #: Stamps of the files whose facts are kept (:mod:`graphlive.analysis.manifest`), and
        #: the latest time one was taken (``time.time_ns()``).
        self.stamps: dict[str, Stamp] = {}
        self.stamped_ns = 0
        # Restored without the writer's memory: the next run compares every file with the graph.
        self._resync = False
        #: Files whose facts or graph content changed since :meth:`export_state` was last taken
        #: (``mark_saved``); ``None`` after a full run (only a whole new state describes it).
        #: What lets a saved state plus a list of files stand for a later graph (see
        #: :meth:`restore`'s ``rewrite``).
        self.unsaved: set[str] | None = None
        # Files the graph may hold otherwise than the restored writer remembers: the next
        # update rebuilds them and compares them with the graph.
        self._rewrite: set[str] = set()
        # Whether the writer remembers what the graph holds for the ``_rewrite`` files (their
        # outputs came with the saved state: ``restore``'s ``written``); else they are written
        # even where their output did not change, comparing with the graph.
        self._rewrite_known = False

    @property
    def graph(self) -> CodeGraph:
        """The graph written into (the writer's: it may switch from a working copy to the
        whole graph during a run, see :attr:`GraphWriter.partial`)."""
        return self.writer.graph

    # ------------------------------------------------------------------ saved state

    def export_state(self) -> dict[str, Any]:
        """What :meth:`restore` needs to continue from this analyzer in another process: the
        facts and stamps of every file, the discovery, the resolved program and what the writer
        remembers. Plain picklable data (no graph, no callbacks, no ignore rules)."""
        if self.program is not None:
            self.program.solver.on_file = None
        disc = replace(self.discovery, rules=None) if self.discovery is not None else None
        self.unsaved = set()
        return {
            # The facts the program's index holds are saved with its parts (shards.py).
            "facts": SavedFacts(self.facts, self.program),
            "stamps": self.stamps,
            "stamped_ns": self.stamped_ns,
            "discovery": disc,
            "program": self.program,
            "dependencies": self.dependencies,
            "files": self._files,
            "module_ids": self._module_ids,
            "ns_owners": self._ns_owners,
            "writer": self.writer.export_state(),
            "others": self.others,
        }

    @classmethod
    def restore(
        cls,
        root: Path,
        graph: CodeGraph,
        state: dict[str, Any],
        *,
        in_sync: bool,
        rewrite: Iterable[str] = (),
        written: Mapping[str, FileOutput] | None = None,
        **options: Any,
    ) -> Analyzer:
        """An analyzer continuing from :meth:`export_state` of an analysis of the same root.

        ``in_sync``: ``graph`` holds exactly what that analyzer had written, except for the
        files in ``rewrite`` (written by later updates, whose :attr:`unsaved` names them); the
        next update re-analyses what changed on disk since the state was taken, rebuilds the
        ``rewrite`` files as well and writes only the difference from the graph. Otherwise the
        graph may differ anywhere (another writer published meanwhile): the kept facts are
        reused, but the next :meth:`update` resolves the whole program and compares every file
        with the graph. ``written``: the outputs the later updates wrote for the ``rewrite``
        files (what the graph holds for them); the writer adopts them, so that only what
        differs from them is written.
        """
        analyzer = cls(root, graph, **options)
        facts = state["facts"]
        analyzer.facts = (
            facts.restored(state["program"]) if isinstance(facts, SavedFacts) else facts
        )
        analyzer.stamps = state["stamps"]
        analyzer.stamped_ns = state["stamped_ns"]
        disc: Discovery | None = state["discovery"]
        if disc is not None:
            disc.rules = analyzer.rules
        analyzer.discovery = disc
        analyzer._files = state["files"]
        analyzer._module_ids = state["module_ids"]
        analyzer._ns_owners = state["ns_owners"]
        # Without the writer's memory (not in sync) the other languages' files have no kept
        # output, which makes the next run analyse them again (_other_outputs).
        analyzer.others = state["others"]
        if in_sync:
            analyzer.program = state["program"] if analyzer.incremental else None
            analyzer.dependencies = state["dependencies"]
            analyzer.writer.restore_state(state["writer"])
            analyzer._rewrite = set(rewrite)
            analyzer.unsaved = set(rewrite)
            if written is not None and disc is not None and analyzer._rewrite <= written.keys():
                analyzer.writer.adopt(
                    {rel: written[rel] for rel in sorted(analyzer._rewrite)},
                    disc.namespaces,
                    analyzer.facts,
                )
                analyzer._rewrite_known = True
        else:
            analyzer._resync = True
        return analyzer

    def structure_key(self) -> str:
        """:func:`~graphlive.analysis.manifest.structure_key` of the last walk (``""``: none)."""
        return structure_key(self.discovery) if self.discovery is not None else ""

    def rescan(
        self,
        progress: ProgressCallback | None = None,
        *,
        walked: Discovery | None = None,
        changed: set[str] | None = None,
    ) -> AnalysisSummary:
        """Bring the graph up to date with the tree as it is now, re-analysing only the files
        whose stamps changed since they were analysed (for changes nobody reported: another
        process's request, a new process continuing a saved analysis).

        ``walked``: a :func:`discover` of this root made just before (by a caller that had to
        walk the tree anyway), used instead of walking it again; it takes this analyzer's
        ignore rules. ``changed``: what :func:`~graphlive.analysis.manifest.changed_files` of
        ``walked`` against this analyzer's very stamps and ``stamped_ns`` found, by a caller that
        had to compare them anyway (not compared again)."""
        old = self.discovery
        if old is None or not (self.facts or self.writer.outputs):
            return self.run(progress)
        started = time.perf_counter()
        self.rules.forget()
        if walked is not None:
            walked.rules = self.rules
        disc = walked if walked is not None else self._discover()
        if changed is None or walked is None:
            changed = changed_files(self.stamps, disc, self.stamped_ns)
        changed = (
            (disc.by_rel.keys() ^ old.by_rel.keys())
            | (disc.others.keys() ^ old.others.keys())
            | changed
        )
        if self.program is not None and structure_key(disc) == structure_key(old):
            return self.update(sorted(changed), progress, _walked=disc)
        timings = {"discover": time.perf_counter() - started}
        reason = "structure" if self.program is not None or self.incremental else "not-incremental"
        if self._resync:
            reason = "resync"
        self.program = None
        return self._guarded(
            lambda: self._update_structure(disc, changed, started, timings, progress, reason)
        )

    @property
    def root_name(self) -> str:
        """How events name the analysed root: its folder's name, never its absolute path, so
        that the graph's subscribers learn nothing about the file system around it."""
        return Path(os.path.abspath(self.root)).name or "."

    def _public(self, text: str) -> str:
        """``text`` (an error message) with the root's absolute spellings made relative."""
        spellings = {os.path.abspath(self.root), os.path.realpath(self.root)}
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling + os.sep, "").replace(spelling, self.root_name)
        return text

    @property
    def outputs(self) -> dict[str, FileOutput]:
        """Output of the last run by relative path."""
        return self.writer.outputs

    # ------------------------------------------------------------------ public API

    def run(self, progress: ProgressCallback | None = None) -> AnalysisSummary:
        """Analyse every ``.py`` file under the root (and the other languages' files) and update
        the graph (module docstring).

        Raises only for a missing root or an unexpected internal error (after emitting
        ``analysis_failed``); bad files become diagnostics.
        """
        return self._guarded(lambda: self._run_full(progress))

    def update(
        self,
        paths: Iterable[str | Path],
        progress: ProgressCallback | None = None,
        *,
        _walked: Discovery | None = None,
    ) -> AnalysisSummary:
        """Re-analyse after the given paths changed (files added, changed or deleted, folders,
        ``.gitignore`` files; absolute or relative to the root) and write only the difference,
        one transaction per file. Files not named keep their facts (no re-parse) unless the
        tree's structure changed. Falls back to :meth:`run` when there was no previous run, or
        when the previous update failed."""
        if not self.facts and self.discovery is None:
            return self.run(progress)
        try:
            return self._guarded(lambda: self._run_update(paths, progress, _walked))
        except BaseException:
            # The kept state may be half updated: the next update analyses everything again
            # (writing only the difference), instead of building on it.
            self.facts = {}
            self.discovery = None
            self.program = None
            raise

    # ------------------------------------------------------------------ phases

    def _guarded(self, body: Callable[[], AnalysisSummary]) -> AnalysisSummary:
        try:
            with gc_paused(promote=True):
                return body()
        except BaseException as exc:
            self.graph.emit(
                EventType.ANALYSIS_FAILED,
                {"root": self.root_name, "error": self._public(f"{type(exc).__name__}: {exc}")},
                source=self.source,
            )
            raise

    def _discover(self) -> Discovery:
        return discover(self.root, self.rules, self.languages)

    def _run_full(self, progress: ProgressCallback | None) -> AnalysisSummary:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        self.rules.forget()
        disc = self._discover()
        timings["discover"] = time.perf_counter() - started
        self._start(disc, progress, diagnostics=True)
        t = time.perf_counter()
        tasks = file_tasks(disc)
        facts = self._extract(tasks, disc, progress)
        timings["parse"] = time.perf_counter() - t
        other = self._other_outputs(disc, None, progress, timings)
        parsed = len(tasks) + self.other_read
        return self._finish(disc, facts, started, timings, progress, parsed=parsed, other=other)

    def _run_update(
        self,
        paths: Iterable[str | Path],
        progress: ProgressCallback | None,
        prewalked: Discovery | None = None,
    ) -> AnalysisSummary:
        """An update; ``prewalked``: a walk of the tree just made (by :meth:`rescan`), of the same
        structure as the kept discovery, used where the paths would need another walk."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        rels = {rel for rel in (self._relative(p) for p in paths) if rel is not None}
        for rel in rels:
            if rel.rpartition("/")[2] == ".gitignore":
                self.rules.forget(rel.rpartition("/")[0])
        disc = self.discovery
        program = self.program
        if disc is None or program is None:
            new = self._discover()
            timings["discover"] = time.perf_counter() - started
            reason = "not-incremental" if not self.incremental else "structure"
            if self._resync:
                reason = "resync"
            return self._update_structure(new, rels, started, timings, progress, reason)
        # A kept discovery listing another choice of languages (a restored analysis) cannot be
        # patched: walked again.
        same_languages = disc.languages == self.languages
        changed = refresh(disc, rels) if prewalked is None and same_languages else None
        walked = changed is None
        if changed is None:
            new = prewalked if prewalked is not None else self._discover()
            if not same_structure(disc, new):
                timings["discover"] = time.perf_counter() - started
                return self._update_structure(new, rels, started, timings, progress, "structure")
            changed = {rel for rel in rels if rel in new.by_rel or rel in disc.by_rel}
            changed |= new.by_rel.keys() ^ disc.by_rel.keys()
            changed |= {rel for rel in rels if group_of(rel) is not None}
            changed |= new.others.keys() ^ disc.others.keys()
            disc = new
        timings["discover"] = time.perf_counter() - started
        self._start(disc, progress, diagnostics=walked)
        other_changed = {rel for rel in changed if group_of(rel) is not None}
        changed -= other_changed
        # Files written after the saved state this analyzer continues: parsed again when they
        # differ from what the state's facts were taken from (else those facts hold).
        rewrite = [(rel, disc.by_rel[rel].path) for rel in self._rewrite if rel in disc.by_rel]
        changed |= differing(self.stamps, rewrite, self.stamped_ns)
        changed.update(rel for rel in self._rewrite if rel in self.facts and rel not in disc.by_rel)
        t = time.perf_counter()
        changed |= self._inits_to_reparse(disc, changed)
        tasks = [file_task(disc, disc.by_rel[rel]) for rel in sorted(changed) if rel in disc.by_rel]
        fresh = {f.file: f for f in self._extract(tasks, disc, progress)}
        changes: dict[str, FileChange] = {}
        for rel in sorted(changed):
            facts = fresh.get(rel)
            sf = disc.by_rel.get(rel)
            script_dir = sf.parent if sf is not None and sf.parent_is_namespace else None
            changes[rel] = FileChange(facts, script_dir)
            if facts is None:
                self.facts.pop(rel, None)
                self.stamps.pop(rel, None)
            else:
                self.facts[rel] = facts
        # (with the time the files parsed ahead took: graphlive.analysis.prepared)
        timings["parse"] = time.perf_counter() - t + self._parsed_ahead_s
        other = self._other_outputs(disc, other_changed, progress, timings)
        t = time.perf_counter()
        stats = program.update(changes)
        if stats is None:
            # Not incremental after all (star imports, id clashes): resolve the
            # whole program from the kept facts; still only the difference is written.
            facts_list = [self.facts[sf.rel] for sf in disc.files]
            return self._finish(
                disc,
                facts_list,
                started,
                timings,
                progress,
                parsed=len(tasks) + self.other_read,
                fallback=program.fallback,
                other=other,
            )
        timings["resolve"] = time.perf_counter() - t
        if progress is not None:
            progress(Progress("resolve", len(stats.files_solved), len(stats.files_solved), None))
        t = time.perf_counter()
        rebuild = set(changed) | stats.relinked
        rebuild.update(rel for rel in self._rewrite if group_of(rel) is None)
        for rel in changed:
            old = self._files.get(rel)
            if old is not None:
                self._module_ids.discard(old.id)
        for rel in changed:
            facts = self.facts.get(rel)
            if facts is not None and not facts.missing:
                self._module_ids.add(facts.module)
        if walked:
            owners = self._namespace_owners(disc)
            for rel in owners.keys() | self._ns_owners.keys():
                if owners.get(rel) != self._ns_owners.get(rel):
                    rebuild.add(rel)
            self._ns_owners = owners
        outputs: dict[str, FileOutput] = {}
        for rel in sorted(rebuild):
            sf = disc.by_rel.get(rel)
            facts = self.facts.get(rel)
            if sf is None or facts is None:
                outputs[rel] = FileOutput(file=rel)  # gone: its transaction removes everything
                continue
            outputs[rel] = build_file(
                facts,
                program.links_of(rel),
                sf.parent,
                self._ns_owners.get(rel, ()),
                self._module_ids,
                disc.namespaces,
            )
        self.discovery = disc
        if walked:
            self._files = dict(disc.by_rel)
        else:
            for rel in changed:
                sf = disc.by_rel.get(rel)
                if sf is None:
                    self._files.pop(rel, None)
                else:
                    self._files[rel] = sf
        outputs.update(to_write(other, other_changed | self._rewrite, self.writer.outputs))
        timings["build"] = time.perf_counter() - t
        t = time.perf_counter()
        diagnostics, written = self.writer.write_changes(
            outputs,
            disc.namespaces,
            self.facts,
            progress,
            force=frozenset() if self._rewrite_known else self._rewrite,
        )
        self._rewrite = set()
        if self.unsaved is not None:
            self.unsaved |= changed | other_changed
            self.unsaved.update(written)
        timings["write"] = time.perf_counter() - t
        if walked:
            diagnostics += len(disc.diagnostics)
        return self._completed(
            languages=_languages(disc),
            diagnostics=diagnostics,
            started=started,
            timings=timings,
            files_failed=self.writer.counts().files_failed,
            incremental=True,
            files_parsed=len(tasks) + self.other_read,
            files_solved=len(stats.files_solved),
            files_written=len(written),
            saturated=stats.saturated,
        )

    def _completed(
        self,
        *,
        languages: dict[str, int],
        diagnostics: int,
        started: float,
        timings: dict[str, float],
        files_failed: int,
        **rest: Any,
    ) -> AnalysisSummary:
        """The run's summary (counts from the writer; ``languages``: files per language), also
        emitted as ``analysis_completed``."""
        counts = self.writer.counts()
        summary = AnalysisSummary(
            root=self.root_name,
            files=sum(languages.values()),
            languages=languages,
            nodes=counts.nodes,
            edges=counts.edges,
            calls_total=counts.calls_total,
            calls_resolved=counts.calls_resolved,
            calls_unresolved=counts.calls_total - counts.calls_resolved,
            diagnostics=diagnostics,
            seconds=time.perf_counter() - started,
            files_failed=files_failed,
            timings={k: round(v, 4) for k, v in timings.items()},
            **rest,
        )
        self.graph.emit(EventType.ANALYSIS_COMPLETED, summary.to_dict(), source=self.source)
        return summary

    def _update_structure(
        self,
        disc: Discovery,
        rels: set[str],
        started: float,
        timings: dict[str, float],
        progress: ProgressCallback | None,
        reason: str,
    ) -> AnalysisSummary:
        """An update that changed the tree's structure (or without a kept program): re-parse
        the named files and those whose module identity changed, then resolve the whole
        program."""
        self._start(disc, progress, diagnostics=True)
        t = time.perf_counter()
        tasks = file_tasks(disc)
        todo: list[FileTask] = []
        kept: dict[str, FileFacts] = {}
        for task in tasks:
            old = self.facts.get(task.rel)
            old_file = self._files.get(task.rel)
            new_file = disc.by_rel.get(task.rel)
            same_identity = (
                old is not None
                and old_file is not None
                and new_file is not None
                and (old_file.id, old_file.is_package) == (new_file.id, new_file.is_package)
                and task.submodules == submodules(self._files, old_file)
            )
            if task.rel in rels or not same_identity:
                todo.append(task)
            else:
                assert old is not None
                kept[task.rel] = old
        fresh = {f.file: f for f in self._extract(todo, disc, progress)}
        facts = [fresh[t.rel] if t.rel in fresh else kept[t.rel] for t in tasks]
        timings["parse"] = time.perf_counter() - t
        walked = self.discovery
        other_changed = {rel for rel in rels if group_of(rel) is not None}
        if walked is not None:
            other_changed |= disc.others.keys() ^ walked.others.keys()
        other = self._other_outputs(
            disc, other_changed if walked is not None else None, progress, timings
        )
        return self._finish(
            disc,
            facts,
            started,
            timings,
            progress,
            parsed=len(todo) + self.other_read,
            fallback=reason,
            other=other,
        )

    def _inits_to_reparse(self, disc: Discovery, changed: set[str]) -> set[str]:
        """``__init__.py`` files whose definitions may change id because a submodule of the
        same name appeared or vanished (``pkg.__init__.name`` vs ``pkg.name``)."""
        out: set[str] = set()
        for rel in changed:
            if (rel in disc.by_rel) == (rel in self._files):
                continue  # changed content only: the set of submodules is the same
            sf = disc.by_rel.get(rel) or self._files[rel]
            init = disc.by_id.get(sf.parent) if sf.parent is not None else None
            if init is None or not init.is_package:
                continue
            facts = self.facts.get(init.rel)
            scope = facts.scopes.get(facts.module) if facts is not None else None
            if scope is not None and sf.id.rpartition(".")[2] in scope.locals:
                out.add(init.rel)
        return out

    def _start(
        self, disc: Discovery, progress: ProgressCallback | None, *, diagnostics: bool
    ) -> None:
        total = sum(_languages(disc).values())
        self.graph.emit(
            EventType.ANALYSIS_STARTED,
            {"root": self.root_name, "files": total},
            source=self.source,
        )
        if diagnostics:
            for diag in disc.diagnostics:
                self.writer.emit_diagnostic(diag)
        if progress is not None:
            progress(Progress("discover", total, total, None))

    def _finish(
        self,
        disc: Discovery,
        facts: list[FileFacts],
        started: float,
        timings: dict[str, float],
        progress: ProgressCallback | None,
        *,
        parsed: int,
        fallback: str | None = None,
        other: dict[str, FileOutput],
    ) -> AnalysisSummary:
        """Resolve the whole program, build every output and write the difference
        (``fallback``: why an update came here). ``other``: the outputs of the other
        languages' files analysed again (:meth:`_other_outputs`); their other files keep the
        output last written."""
        t = time.perf_counter()
        files = disc.files
        index = ProgramIndex(
            facts,
            namespaces=disc.namespaces,
            script_dirs=[sf.parent if sf.parent_is_namespace else None for sf in files],
        )
        self.program = None  # free the previous solver before building the next one
        throttle = Throttle("resolve", len(files), self.graph, self.source, progress)
        resolution = resolve(index, lambda done, i: throttle(done, facts[i].file))
        if self.track_dependencies:
            self.dependencies = resolution.file_dependencies()
        parents = [sf.parent for sf in files]
        outputs, ns_nodes = build_outputs(facts, resolution.links, parents, disc.namespaces)
        kept = self.writer.outputs
        for rel in disc.others:
            out = other.get(rel) or kept.get(rel)
            if out is not None and language_of(rel) is not None:
                outputs.append(out)
        self.writer.program_ids = index.kinds
        if self.incremental:
            self.program = Program(resolution)
        # Without incremental updates, free the solver state now (it can be millions of
        # objects) so that the time it takes is counted here rather than after run() returns.
        del resolution, index
        timings["resolve"] = time.perf_counter() - t
        throttle.finish()
        t = time.perf_counter()
        self.facts = {f.file: f for f in facts}
        self.stamps = {
            rel: st for rel, st in self.stamps.items() if rel in self.facts or rel in disc.others
        }
        self._resync = False
        # Files the graph may hold otherwise than the writer remembers: forgotten, so that
        # they are compared with the graph even when their output did not change.
        for rel in self._rewrite:
            self.writer.outputs.pop(rel, None)
        self._rewrite = set()
        self.unsaved = None
        diagnostics, written = self.writer.write_all(outputs, ns_nodes, self.facts, progress)
        timings["write"] = time.perf_counter() - t
        diagnostics += len(disc.diagnostics)
        self.discovery = disc
        self._files = dict(disc.by_rel)
        self._module_ids = {f.module for f in facts if not f.missing}
        self._ns_owners = namespace_owners(facts, parents, disc.namespaces)
        return self._completed(
            languages=_languages(disc),
            diagnostics=diagnostics,
            started=started,
            timings=timings,
            files_failed=sum(1 for f in facts if f.error is not None or f.missing)
            + len(self.writer.failed_other),
            incremental=False,
            files_parsed=parsed,
            files_solved=len(files),
            files_written=written,
            fallback=fallback,
        )

    # ------------------------------------------------------------------ extraction

    def _relative(self, path: str | Path) -> str | None:
        """``path`` relative to the root (``/`` separators), ``None`` if it is outside."""
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.relative_to(self.root.absolute())
            except ValueError:
                return None
        rel = p.as_posix()
        if rel in ("", ".") or rel.startswith("../") or rel == "..":
            return None
        return rel

    def _extract(
        self, tasks: Sequence[FileTask], disc: Discovery, progress: ProgressCallback | None
    ) -> list[FileFacts]:
        """Facts for ``tasks`` in the same order, in worker processes when that pays off; their
        files' stamps are recorded (stat'ed before they are read). Facts :attr:`prepared` for
        the same task are taken instead of extracting again (given once)."""
        taken = time.time_ns()
        prepared, self.prepared = self.prepared, None
        ready = prepared.take_all(tasks, self.max_file_bytes) if prepared is not None else {}
        self._parsed_ahead_s = 0.0
        stats = stat_files((t.rel, t.path) for t in tasks if t.rel not in ready)
        if prepared is not None and ready:
            self._parsed_ahead_s = prepared.seconds
            taken = min(taken, prepared.taken_ns)  # (stat'ed then: an older stamp time)
            stats.update((rel, st) for rel, (st, _facts) in ready.items() if st is not None)
        known = {rel: facts for rel, (_st, facts) in ready.items()}
        facts = self._extract_facts(tasks, disc, progress, known)
        stamps = self.stamps
        for f in facts:
            st = stats.get(f.file)
            if st is None or f.missing:
                stamps.pop(f.file, None)
            else:
                stamps[f.file] = (st[0], st[1], f.digest)
        self.stamped_ns = max(self.stamped_ns, taken)
        return facts

    def _extract_facts(
        self,
        tasks: Sequence[FileTask],
        disc: Discovery,
        progress: ProgressCallback | None,
        known: Mapping[str, FileFacts],
    ) -> list[FileFacts]:
        """Facts for ``tasks`` in order; those ``known`` (parsed ahead) are taken, and reported
        in the progress as the others. Worker processes only when nothing is known (a few files
        of an edit, parsed here)."""
        throttle = Throttle("parse", len(tasks), self.graph, self.source, progress)
        sizes = {t.rel: disc.by_rel[t.rel].size for t in tasks if t.rel in disc.by_rel}
        total_bytes = sum(sizes.get(t.rel, 0) for t in tasks)
        workers = min(self.workers, len(tasks))
        if (
            not known
            and workers > 1
            and len(tasks) >= _PARALLEL_MIN_FILES
            and total_bytes >= _PARALLEL_MIN_BYTES_FORK
        ):
            facts = self._extract_parallel(tasks, sizes, total_bytes, workers, throttle)
            if facts is not None:
                self.parse_processes = workers
                return facts
        self.parse_processes = 1
        out = []
        for i, task in enumerate(tasks, 1):
            ahead = known.get(task.rel)
            out.append(ahead if ahead is not None else extract_file(task, self.max_file_bytes))
            throttle(i, task.rel)
        return out

    def _extract_parallel(
        self,
        tasks: Sequence[FileTask],
        sizes: dict[str, int],
        total_bytes: int,
        workers: int,
        throttle: Throttle,
    ) -> list[FileFacts] | None:
        """Facts for ``tasks`` from worker processes, or ``None`` when none can be started
        safely here (:func:`~graphlive.analysis.workers.pool_context`)."""
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
            with ExitStack() as stack:
                with self.fork_guard():
                    # Decided and done inside the guard: the workers are started by the first
                    # submit (all at once with fork), before the pool starts its own thread.
                    context = pool_context()
                    if context is None:
                        return None
                    forked = context.get_start_method() == "fork"
                    if total_bytes < (_PARALLEL_MIN_BYTES_FORK if forked else _PARALLEL_MIN_BYTES):
                        return None
                    pool = stack.enter_context(
                        concurrent.futures.ProcessPoolExecutor(
                            max_workers=workers, mp_context=context
                        )
                    )
                    futures = {
                        pool.submit(extract_chunk, chunks[i], self.max_file_bytes): i
                        for i in pending
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

    # ------------------------------------------------------------------ other languages

    def _other_outputs(
        self,
        disc: Discovery,
        changed: set[str] | None,
        progress: ProgressCallback | None,
        timings: dict[str, float],
    ) -> dict[str, FileOutput]:
        """The outputs of the other languages' files whose analysis ran again: the groups with
        a file in ``changed`` (every group when ``None``), and any group with a file the
        writer holds no output of (new, or restored without the writer's memory). Stamps
        them; the writer learns their external nodes."""
        self.other_read = 0
        if changed is not None:
            # Files written after the saved state this analyzer continues: read again (the
            # graph may hold them otherwise than the state says) and compared with the graph.
            changed = set(changed) | {rel for rel in self._rewrite if group_of(rel) is not None}
        changed, total = self.others.plan(disc.others, changed, self.writer.outputs)
        if changed == set() or (not disc.others and not self.others.files):
            return {}
        t = time.perf_counter()
        throttle = Throttle("languages", total, self.graph, self.source, progress)
        done = 0

        def read(rel: str) -> None:
            nonlocal done
            done += 1
            throttle(min(done, total), rel)

        taken = time.time_ns()
        out = self.others.analyse(
            disc.root,  # (the folder, also when the analysed root is a single file)
            disc.others,
            changed,
            self.stamps,
            max_bytes=self.max_file_bytes,
            on_file=read,
        )
        throttle.finish()
        for rel in self.others.vanished:
            disc.others.pop(rel, None)  # gone since the walk: not counted, not stamped
        self.other_read = done
        self.stamped_ns = max(self.stamped_ns, taken)
        self.writer.use_externals(self.others.external_nodes())
        self.writer.failed_other = self.others.failed_files()
        timings["languages"] = time.perf_counter() - t
        return out

    # ------------------------------------------------------------------ writing

    def _namespace_owners(self, disc: Discovery) -> dict[str, list[str]]:
        kept = self.facts
        # Restored facts not loaded yet are of files present (SavedFacts): not loaded for this.
        lazy = kept if isinstance(kept, LazyMap) else None
        facts = [
            _present(sf.rel)
            if lazy is not None and lazy.is_pending(sf.rel)
            else kept.get(sf.rel) or _gone(sf.rel)
            for sf in disc.files
        ]
        return namespace_owners(facts, [sf.parent for sf in disc.files], disc.namespaces)


def _languages(disc: Discovery) -> dict[str, int]:
    """The files of ``disc`` analysed (Python's and the other languages' source files), per
    language: :attr:`AnalysisSummary.languages`."""
    counts = {"python": len(disc.files)} if disc.files else {}
    for rel, language in disc.others.items():
        if language_of(rel) is not None:
            counts[language] = counts.get(language, 0) + 1
    return dict(sorted(counts.items()))


def _gone(rel: str) -> FileFacts:
    return FileFacts(file=rel, module=rel, is_package=False, missing=True)


def _present(rel: str) -> FileFacts:
    """A stand-in for the facts of a file that is there (where only that matters)."""
    return FileFacts(file=rel, module=rel, is_package=False)
