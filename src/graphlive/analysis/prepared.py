"""Facts of a few changed files, extracted before the saved analysis that needs them is loaded.

A new process continuing a saved analysis (:mod:`graphlive.analysis_cache`) knows which files
changed once it has walked the tree and compared it with the saved header, before it loads the
saved state. Parsing those files then, rather than after the state is loaded, gives the same
facts and stamps, and the memory a syntax tree takes while it is walked (hundreds of kilobytes
for a file of a few) is free again when the state is unpickled into it: the process touches
that much less fresh memory, which costs a page fault per 4 kB (much more in some VMs than the
parsing itself saves by being done earlier or later).

:func:`prepare` extracts; :meth:`PreparedFacts.take_all` hands a file's facts to the analysis that
would otherwise extract it (:meth:`~graphlive.analysis.engine.Analyzer._extract`), provided it
asks for the same task (path, module id, package, submodules) with the same size limit. A file
is stat'ed before it is read, as the analysis does: the stamp recorded is what was parsed or
older, so a file changed in between is parsed again by the next run, never missed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from graphlive.analysis.discover import Discovery
from graphlive.analysis.facts import FileFacts, FileTask
from graphlive.analysis.manifest import stat_files
from graphlive.analysis.python_extract import extract_file
from graphlive.analysis.workers import file_task

__all__ = ["PREPARE_MAX_BYTES", "PREPARE_MAX_FILES", "PreparedFacts", "prepare"]

#: A file's ``(size, mtime_ns)``.
Stat: TypeAlias = tuple[int, int]
#: More changed files than this, or more bytes, are left to the analysis (which may parse them
#: in worker processes): preparing is for the few files of an edit.
PREPARE_MAX_FILES = 8
PREPARE_MAX_BYTES = 1_000_000


@dataclass
class PreparedFacts:
    """Facts extracted ahead of the analysis that uses them (:func:`prepare`)."""

    #: ``time.time_ns()`` before the files were stat'ed (the analysis' ``stamped_ns``).
    taken_ns: int
    #: The size limit they were extracted with.
    max_bytes: int
    #: How long extracting them took (reported as the analysis' parsing time).
    seconds: float = 0.0
    #: Per relative path: the task, the file's ``(size, mtime_ns)`` before it was read (absent
    #: when it could not be stat'ed) and its facts.
    files: dict[str, tuple[FileTask, Stat | None, FileFacts]] = field(default_factory=dict)

    def take_all(
        self, tasks: Iterable[FileTask], max_bytes: int
    ) -> dict[str, tuple[Stat | None, FileFacts]]:
        """Of ``tasks``, those prepared for that very task (path, module id, package,
        submodules) and size limit: their stat and facts by relative path. Each is given once."""
        out: dict[str, tuple[Stat | None, FileFacts]] = {}
        if max_bytes != self.max_bytes:
            return out
        for task in tasks:
            entry = self.files.get(task.rel)
            if entry is not None and entry[0] == task:
                del self.files[task.rel]
                out[task.rel] = (entry[1], entry[2])
        return out


def prepare(disc: Discovery, rels: Iterable[str], max_bytes: int) -> PreparedFacts | None:
    """Extract the Python files among ``rels`` (relative paths of ``disc``), or ``None`` when
    there are none or too many (:data:`PREPARE_MAX_FILES`, :data:`PREPARE_MAX_BYTES`)."""
    chosen = [disc.by_rel[rel] for rel in sorted(rels) if rel in disc.by_rel]
    if not chosen or len(chosen) > PREPARE_MAX_FILES:
        return None
    if sum(sf.size for sf in chosen) > PREPARE_MAX_BYTES:
        return None
    started = time.perf_counter()
    prepared = PreparedFacts(taken_ns=time.time_ns(), max_bytes=max_bytes)
    tasks = [file_task(disc, sf) for sf in chosen]
    stats = stat_files((task.rel, task.path) for task in tasks)
    for task in tasks:
        prepared.files[task.rel] = (task, stats.get(task.rel), extract_file(task, max_bytes))
    prepared.seconds = time.perf_counter() - started
    return prepared
