"""Following a project's files: each burst of changes becomes one incremental re-analysis.

``watchfiles`` (Rust ``notify``) reports changes; graphlive groups them with a short debounce
(default 50 ms, so a ``git checkout`` of hundreds of files is one update, while a single save is
analysed within ~50 ms), drops paths that ``.gitignore`` or the always-skipped folders exclude,
and hands the set of changed source paths (``.py`` and the other languages' files, such as
``.ts``, ``.go``, ``.java``, ``.rs``, and ``go.mod``; plus ``.gitignore`` files and the project
files that decide import names: ``pyproject.toml``, ``setup.cfg``) to
:meth:`graphlive.live.LiveGraph.update`.

Re-analysis is state-based: the update reads what is on disk *now*, so editors' save patterns
(write a temporary file then rename it over the original, delete then create, several writes in a
row) and bursts converge on the final content — nothing is lost or applied twice however the
operating system reports the steps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles

from graphlive.analysis.polyglot.languages import read_by
from graphlive.analysis.roots import PROJECT_FILES
from graphlive.ignore import IgnoreRules

if TYPE_CHECKING:
    from graphlive.analysis.engine import AnalysisSummary
    from graphlive.live import LiveGraph

__all__ = ["DEFAULT_DEBOUNCE_MS", "Update", "Watcher"]

log = logging.getLogger(__name__)

#: Longest time changes are gathered before an update starts.
DEFAULT_DEBOUNCE_MS = 50


@dataclass(frozen=True, slots=True)
class Update:
    """One incremental update: the changed files (relative), what it did, how long it took."""

    files: tuple[str, ...]
    summary: AnalysisSummary | None
    seconds: float
    error: str | None = None


class Watcher:
    """Watches ``live.root`` in a background thread and keeps ``live`` up to date.

    ``on_update`` is called (in the watcher thread) after each update. :meth:`stop` ends the
    thread; a watcher is also a context manager. Errors of one update are logged and reported in
    :class:`Update` — the watcher keeps running.
    """

    def __init__(
        self,
        live: LiveGraph,
        *,
        debounce_ms: int = DEFAULT_DEBOUNCE_MS,
        on_update: Callable[[Update], None] | None = None,
        force_polling: bool | None = None,
    ) -> None:
        if live.root is None:
            raise ValueError("cannot watch a LiveGraph without a root folder")
        self.live = live
        self.root: Path = live.root
        self.debounce_ms = debounce_ms
        self.on_update = on_update
        self.force_polling = force_polling
        self.rules = IgnoreRules(self.root)
        self.updates = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"graphlive-watch-{live.name}", daemon=True
        )

    def start(self) -> Watcher:
        """Start watching; returns once the OS watch is in place (changes after this are seen)."""
        self._thread.start()
        self._ready.wait(30)
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def __enter__(self) -> Watcher:
        return self.start() if not self._thread.is_alive() else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def relevant(self, path: str) -> str | None:
        """The root-relative path if ``path`` matters to the analysis, else ``None``."""
        try:
            rel = Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return None
        name = rel.rsplit("/", 1)[-1]
        if name == ".gitignore":
            return rel
        # Project files decide where import names start (graphlive.analysis.roots).
        if name in PROJECT_FILES and not self.rules.is_ignored(rel):
            return rel
        if read_by(name) is None or self.rules.is_ignored(rel):
            return None
        return rel

    def _filter(self, change: watchfiles.Change, path: str) -> bool:
        # Folders: a deleted or renamed folder reports only the folder path; keep it so its files
        # are re-checked (the update walks the tree again).
        return self.relevant(path) is not None or not Path(path).suffix

    def _run(self) -> None:
        watcher = watchfiles.watch(
            self.root,
            watch_filter=self._filter,
            debounce=self.debounce_ms,
            step=min(10, self.debounce_ms),
            stop_event=self._stop,
            yield_on_timeout=True,
            rust_timeout=200,
            force_polling=self.force_polling,
            raise_interrupt=False,
        )
        try:
            self._consume(watcher)
        finally:
            self._ready.set()  # never leave start() waiting if watching failed

    def _consume(self, watcher: Iterator[set[tuple[watchfiles.Change, str]]]) -> None:
        for changes in watcher:
            # The OS watch exists once the generator has produced its first item (a batch of
            # changes, or an empty set after rust_timeout): only then may start() return.
            self._ready.set()
            if self._stop.is_set():
                break
            if changes:
                self._handle({p for _, p in changes})

    def _handle(self, paths: set[str]) -> None:
        files: set[str] = set()
        for path in paths:
            rel = self.relevant(path)
            if rel is None:
                # A folder appeared or vanished: let the update find its files.
                try:
                    folder = Path(path).relative_to(self.root).as_posix()
                except ValueError:
                    continue
                files.add(folder)
                continue
            if rel.endswith(".gitignore"):
                self.rules.forget(rel.rsplit("/", 1)[0] if "/" in rel else "")
            files.add(rel)
        if not files:
            return
        started = time.perf_counter()
        try:
            summary = self.live.update(sorted(files))
            update = Update(tuple(sorted(files)), summary, time.perf_counter() - started)
        except Exception as exc:
            log.exception("graphlive: update of %d files failed", len(files))
            update = Update(tuple(sorted(files)), None, time.perf_counter() - started, f"{exc!r}")
        self.updates += 1
        if self.on_update is not None:
            self.on_update(update)
