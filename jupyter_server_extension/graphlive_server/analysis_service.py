"""Server-side (re-)analysis of a folder inside the Jupyter server's root directory.

The browser may only name paths inside the root: :func:`confine` refuses ``..`` components (400),
absolute paths outside the root (403) and paths that a symbolic link leads out of the root (403),
and reports missing paths (404) — before anything touches the file system beyond ``stat``.

The analysis itself is :func:`graphlive.analyze` (``graphlive.live.analyze`` until the package
exports it), run in a worker thread; it publishes its events to the server's Redis, so clients
follow its progress on the WebSocket like any other change.

Answers name paths relative to the server's root directory: the job's ``path``, its summary's
``root`` and its error text (where the server's absolute paths are rewritten), so that a client
learns nothing about the file system around that directory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "AnalysisBusy",
    "AnalysisJob",
    "AnalysisService",
    "PathRefused",
    "confine",
    "server_relative",
]

log = logging.getLogger(__name__)

#: Longest accepted path (characters).
MAX_PATH_CHARS = 4096


class PathRefused(Exception):
    """A requested path is not acceptable; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AnalysisBusy(RuntimeError):
    """An analysis of the same graph is still running."""


def confine(root_dir: str | os.PathLike[str], requested: object) -> Path:
    """Resolve ``requested`` (relative to ``root_dir``, or absolute) to a path inside the root.

    Raises :class:`PathRefused`: 400 for a malformed path or one with a ``..`` component, 403 for
    an absolute path outside the root or a path whose symbolic links lead outside it, 404 when it
    does not exist. Returns the fully resolved path.
    """
    if not isinstance(requested, str) or not requested.strip():
        raise PathRefused(400, "'path' must be a non-empty string")
    if "\x00" in requested or len(requested) > MAX_PATH_CHARS:
        raise PathRefused(400, "'path' is not a valid path")
    if ".." in PurePosixPath(requested.replace("\\", "/")).parts:
        raise PathRefused(400, "'..' is not allowed in 'path'")
    root = Path(root_dir).resolve()
    given = Path(requested)
    if given.is_absolute():
        lexical = Path(os.path.normpath(given))
        if not (_inside(lexical, Path(os.path.abspath(root_dir))) or _inside(lexical, root)):
            raise PathRefused(403, "'path' is outside the server's root directory")
        candidate = lexical
    else:
        candidate = root / given
    resolved = candidate.resolve()
    if not _inside(resolved, root):
        raise PathRefused(403, "'path' leads outside the server's root directory (symbolic link)")
    if not resolved.exists():
        raise PathRefused(404, "'path' does not exist")
    return resolved


def server_relative(text: str, root: Path, root_dir: str) -> str:
    """``text`` with the server root's absolute spellings (resolved and as configured) replaced
    by paths relative to it."""
    for spelling in sorted({str(root), os.path.abspath(root_dir)}, key=len, reverse=True):
        text = text.replace(spelling + os.sep, "").replace(spelling, ".")
    return text


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass
class AnalysisJob:
    """One server-triggered analysis (the latest per graph is kept for the summary)."""

    graph: str
    path: str
    state: str = "running"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    summary: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "graph": self.graph,
            "path": self.path,
            "state": self.state,
            "started": self.started,
            "finished": self.finished,
            "error": self.error,
            "summary": self.summary,
        }


class AnalysisService:
    """Runs analyses requested over REST, one at a time per graph."""

    def __init__(self, root_dir: str, redis_url: Callable[[], str | None]) -> None:
        self.root_dir = root_dir
        self._redis_url = redis_url
        self.jobs: dict[str, AnalysisJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, graph: str, requested: object) -> AnalysisJob:
        """Validate the path and start analysing it into ``graph``.

        Raises :class:`PathRefused` or :class:`AnalysisBusy`.
        """
        path = confine(self.root_dir, requested)
        current = self.jobs.get(graph)
        if current is not None and current.state == "running":
            raise AnalysisBusy(f"an analysis of {graph!r} is already running")
        root = Path(self.root_dir).resolve()
        job = AnalysisJob(graph=graph, path=path.relative_to(root).as_posix() or ".")
        self.jobs[graph] = job
        task = asyncio.get_running_loop().create_task(self._run(job, path, root))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: AnalysisJob, path: Path, root: Path) -> None:
        try:
            summary = await asyncio.to_thread(self._call, path, job.graph)
            if summary is not None and "root" in summary:
                summary["root"] = job.path  # not the absolute path on the server
            job.summary = summary
            job.state = "completed"
        except Exception as exc:
            log.warning("graphlive: analysis of %s into %r failed: %s", job.path, job.graph, exc)
            job.state = "failed"
            job.error = server_relative(f"{type(exc).__name__}: {exc}", root, self.root_dir)
        finally:
            job.finished = time.time()

    def _call(self, path: Path, graph: str) -> dict[str, Any]:
        # Imported here: the analysis (and its parser processes) only when one is asked for.
        from graphlive.live import analyze

        live = analyze(path, graph=graph, redis_url=self._redis_url())
        try:
            return live.summary()
        finally:
            live.close()

    async def stop(self, timeout: float = 5.0) -> None:
        """Wait a little for running analyses (threads cannot be cancelled)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
