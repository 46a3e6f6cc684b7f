"""The persistent analysis cache: what a new process needs to continue a graph's analysis.

One entry per (graph, analysed folder), under ``<data dir>/analysis-cache/`` (see
:func:`graphlive.paths.data_dir`):

* ``header.pickle`` (small, read first): the versions it was written by, the graph position the
  analysis had published up to, the stamps of every analysed file
  (:mod:`graphlive.analysis.manifest`), how discovery named things, and the last summary. With it
  alone a new process tells an unchanged tree (nothing to do) from a changed one;
* ``state.pickle`` (large: facts of every file, the resolved program, what the graph writer
  remembers; ~30 MB for Django): read only when something must be re-analysed, and then only
  its core: the per-file parts are read and unpickled as the update reaches them
  (:mod:`graphlive.analysis.shards`, :mod:`graphlive.analysis.lazy_maps`; the file's layout is
  :mod:`graphlive.analysis.blobs`). It is written after
  full analyses; after an incremental one only the header is (a new graph position and stamps,
  plus the files written since the state, :attr:`Header.dirty`, and what was written for them,
  :attr:`Header.written`), so that a one-file change costs a small write rather than the whole
  state.

Contracts:

* An entry is used only by the same graphlive analysis code and Python version that wrote it
  (:func:`version_key`); anything else is ignored (and replaced by the next save).
* Writes happen under the entry's lock, which readers take too: a state file is replaced by a
  temporary file renamed in its place (a process still reading parts from the old one keeps
  it), the header is rewritten in place (a crash in the middle leaves a header that does not
  load, ignored like any damaged entry). The header names the state it belongs to, so a header
  never pairs with another save's state.
* A whole state is written by a forked child (:mod:`graphlive.forked`): the analysis returns
  without waiting for the pickle. The child holds the entry's lock (``flock`` on ``lock``)
  until both files are in place, and readers (:meth:`CacheEntry.header`,
  :meth:`CacheEntry.state`) and later saves take the lock first, so a process started right
  after the save (the next ``graphlive analyze``) waits for it instead of missing it.
* The total size is bounded by ``GRAPHLIVE_CACHE_MB`` (default 2048): after each save of a
  state (or of a header over 1 MB) the least recently used entries are deleted until the rest
  fits; an entry larger than the bound is not
  kept at all. Deleting the folder at any time is safe: the next analysis parses everything.
* The files are pickles, read only from the user's own data folder (mode 0700): whoever can write
  there can already run code as the user.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import pickle
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from graphlive import forked
from graphlive.analysis import blobs
from graphlive.analysis.manifest import Stamp
from graphlive.gc_pause import gc_paused
from graphlive.paths import data_dir

__all__ = [
    "DIRTY_MAX",
    "CacheEntry",
    "Header",
    "cache_limit_bytes",
    "cache_root",
    "root_id",
    "version_key",
]

log = logging.getLogger(__name__)

if sys.platform != "win32":
    import fcntl

#: How long a reader waits for a save in progress before it treats the entry as missing (a save
#: child that hangs must not stall every later analysis of the folder).
LOCK_WAIT_S = 120.0

_FORMAT = 5  # 2: Header.dirty; 3: the solver split into graphlive.analysis.solver*; 4: raise facts;
# 5: Header.written
_DEFAULT_LIMIT_MB = 2048
#: At most this many files in :attr:`Header.dirty`; beyond, the whole state is saved again.
DIRTY_MAX = 256
#: A header-only save looks for entries to evict only when the header is at least this large.
_EVICT_AFTER_HEADER_BYTES = 1 << 20


#: The parsers of the other languages: facts saved from one version of a grammar are not
#: those another version extracts.
_GRAMMARS = (
    "tree_sitter",
    "tree_sitter_go",
    "tree_sitter_java",
    "tree_sitter_javascript",
    "tree_sitter_rust",
    "tree_sitter_typescript",
)


@cache
def version_key() -> str:
    """Identifies the analysis code and what parses: a digest of graphlive's analysis sources
    and compiled modules, the Python version and implementation, and the installed versions
    of the tree-sitter grammars.

    Reading and hashing every source costs a few milliseconds, on every analysis of a new
    process: the digest is remembered in the data folder (``analysis-version``) under a
    signature of the same files' sizes and modification times (as Python validates its
    bytecode caches) and of the import path's folders (:func:`_stat_signature`), and computed
    again when that signature changes."""
    folder = Path(os.path.dirname(os.path.abspath(__file__)), "analysis")
    signature = _stat_signature(folder)
    memo = data_dir() / "analysis-version"
    # Bytes: a text file in "ascii" would import that codec, a third of a millisecond.
    with contextlib.suppress(OSError, ValueError):
        known, _, digest = memo.read_bytes().decode().partition(" ")
        if known == signature and len(digest) == 24:
            return digest
    digest = analysis_digest(folder)
    with contextlib.suppress(OSError):
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
        tmp.write_bytes(f"{signature} {digest}".encode())
        os.replace(tmp, memo)
    return digest


def _stat_signature(folder: Path) -> str:
    """What :func:`analysis_digest` reads, by name, size and modification time, without
    reading, importing or looking anything up: the analysis files' stats, and the modification
    times of the import path's ``site-packages`` (and Debian's ``dist-packages``) folders in
    place of the grammars' versions (installing, upgrading or removing a distribution adds or
    removes entries there). Other import path folders are left out: the working directory or
    a script's folder change all the time, and grammars are not installed there."""
    h = hashlib.blake2b(digest_size=12)
    h.update(_ENVIRONMENT.encode())
    found: list[tuple[str, int, int]] = []
    for entry in sys.path:
        if os.path.basename(entry) in _SITE_FOLDERS:
            found.append((entry, *_size_and_time(entry)))
    for name, path in _analysis_files(folder):
        found.append((name, *_size_and_time(path)))
    h.update(repr(found).encode())
    return h.hexdigest()


def _size_and_time(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return -1, -1
    return st.st_size, st.st_mtime_ns


_SITE_FOLDERS = ("site-packages", "dist-packages")
#: What besides the sources and grammars decides the key: the cache format, the Python version
#: and implementation.
_ENVIRONMENT = f"{_FORMAT}|{sys.implementation.cache_tag}|{sys.version_info[:3]}"


def _analysis_files(folder: Path) -> list[tuple[str, str]]:
    """The sources and compiled modules of the analysis package in ``folder``, subpackages
    too (the other languages' analyses, polyglot/, write saved outputs), sorted: each as its
    path relative to ``folder`` (with ``/``) and its full path."""
    compiled = tuple(EXTENSION_SUFFIXES)
    found: list[tuple[str, str]] = []
    pending = [("", str(folder))]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as listing:
            for entry in listing:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append((f"{prefix}{entry.name}/", entry.path))
                elif entry.name.endswith(".py") or entry.name.endswith(compiled):
                    found.append((prefix + entry.name, entry.path))
    found.sort()
    return found


@cache
def grammar_versions() -> list[str]:
    """The installed tree-sitter distributions as their ``.dist-info`` names (name and
    version), found beside each package without importing it (a few milliseconds, where
    ``importlib.metadata`` takes tens)."""
    listed: dict[str, list[str]] = {}
    found: list[str] = []
    for name in _GRAMMARS:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin is None:
            found.append(f"{name}: missing")
            continue
        parent = os.path.dirname(os.path.dirname(spec.origin))
        if parent not in listed:
            try:
                listed[parent] = os.listdir(parent)
            except OSError:
                listed[parent] = []
        found.extend(
            sorted(e for e in listed[parent] if e.startswith(f"{name}-") and e.endswith("-info"))
            or [f"{name}: {spec.origin}"]
        )
    return found


def analysis_digest(folder: Path) -> str:
    """:func:`version_key` of the analysis package in ``folder``. Compiled modules (the mypyc
    build) count by content: their classes pickle differently from the pure build's, and in an
    editable checkout a stale one runs instead of the source beside it."""
    h = hashlib.blake2b(digest_size=12)
    h.update(_ENVIRONMENT.encode())
    h.update(repr(grammar_versions()).encode())
    for name, path in _analysis_files(folder):
        h.update(name.encode())
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def root_id(root: Path, *, resolved: bool = False) -> str:
    """A digest of the real path of an analysed folder (graphs store it, never the path).
    ``resolved``: ``root`` is a real path already (``Path.resolve``), not resolved again (a
    system call per component)."""
    real = os.fspath(root) if resolved else os.path.realpath(root)
    return hashlib.blake2b(real.encode(), digest_size=8).hexdigest()


def cache_root() -> Path:
    return data_dir() / "analysis-cache"


def cache_limit_bytes() -> int:
    """The size bound of the whole cache (``GRAPHLIVE_CACHE_MB``, default 2048 MB)."""
    raw = os.environ.get("GRAPHLIVE_CACHE_MB", "").strip()
    try:
        mb = float(raw) if raw else _DEFAULT_LIMIT_MB
    except ValueError:
        log.warning("graphlive: GRAPHLIVE_CACHE_MB=%r is not a number; using %d", raw, 2048)
        mb = _DEFAULT_LIMIT_MB
    return max(0, int(mb * 1024 * 1024))


@dataclass(slots=True)
class Header:
    """The small part of an entry (module docstring)."""

    version: str
    graph: str
    root: str
    #: The graph position the analysis had published up to when it was saved.
    epoch: str
    seq: int
    structure: str
    stamps: dict[str, Stamp]
    stamped_ns: int
    summary: dict[str, Any] | None
    #: Pairs the header with its state file.
    state_token: str
    saved: float = field(default_factory=time.time)
    #: Files updates wrote after the state was saved (the header moved on without it): a
    #: process continuing from the state re-analyses what changed since and compares these
    #: with the graph (:meth:`~graphlive.analysis.engine.Analyzer.restore`'s ``rewrite``).
    dirty: tuple[str, ...] = ()
    #: What those updates wrote for each :attr:`dirty` file (a
    #: :class:`~graphlive.analysis.build.FileOutput`; empty for a file gone): with it a
    #: process continuing from the state knows what the graph holds for them without reading
    #: the graph.
    written: dict[str, Any] = field(default_factory=dict)


class CacheEntry:
    """The cache entry of graph ``graph`` analysed from the folder with :func:`root_id` ``root``."""

    def __init__(self, graph: str, root: str, *, folder: Path | None = None) -> None:
        self.graph = graph
        self.root = root
        self.folder = (folder or cache_root()) / f"{graph}-{root}"

    @property
    def header_path(self) -> Path:
        return self.folder / "header.pickle"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.pickle"

    @property
    def lock_path(self) -> Path:
        return self.folder / "lock"

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[int]:
        """Hold the entry's lock (shared for reading); yields its descriptor, -1 when the
        entry's folder does not exist (nothing to read) or there are no locks (Windows).
        Raises :class:`TimeoutError` after :data:`LOCK_WAIT_S` seconds."""
        forked.reap()  # save children that have ended (no zombie waits for the next save)
        if sys.platform == "win32":  # no flock: saves run in the calling process, unlocked
            yield -1
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            yield -1
            return
        try:
            mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    fcntl.flock(fd, mode)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(f"analysis cache {self.folder} stays locked") from None
                    time.sleep(0.02)  # polling another process's lock; flock has no timeout
            yield fd
        finally:
            os.close(fd)  # a forked writer keeps its copy, and with it the lock

    def header(self) -> Header | None:
        """The entry's header if there is a usable one (same versions, graph and root)."""
        try:
            with self._locked(exclusive=False):
                data = self.header_path.read_bytes()
        except OSError:
            return None
        try:
            header = pickle.loads(data)
        except Exception as exc:  # a truncated or foreign file: ignore it, the next save mends
            log.info("graphlive: ignoring unreadable analysis cache %s: %s", self.folder, exc)
            return None
        if not isinstance(header, Header) or (header.version, header.graph, header.root) != (
            version_key(),
            self.graph,
            self.root,
        ):
            return None
        with contextlib.suppress(OSError):
            os.utime(self.header_path)  # least recently used goes first
        return header

    def state(self, header: Header) -> dict[str, Any] | None:
        """The analyzer state saved with ``header`` (``None`` when missing or not its pair)."""
        try:
            # Millions of long-lived objects: the collector would run over them again and again.
            # Only the core: the per-file pickles are read from the file when used (blobs).
            with self._locked(exclusive=False), gc_paused(promote=True):
                token, state = blobs.load(self.state_path)
        except Exception as exc:
            log.info("graphlive: ignoring unreadable analysis state %s: %s", self.folder, exc)
            return None
        if token != header.state_token or not isinstance(state, dict):
            return None
        return state

    def save(
        self, header: Header, state: dict[str, Any] | None, *, background: bool = False
    ) -> bool:
        """Write the entry (``state=None`` rewrites only the header, keeping its state file),
        then evict older entries beyond the bound. Returns False when it was not kept.

        With ``background`` and a state, a forked child writes it (module docstring) and this
        returns True at once; should the child fail, the header on disk still pairs with the
        old state (or none), so the next process re-analyses rather than misreads."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("graphlive: cannot save the analysis cache in %s: %s", self.folder, exc)
            return False
        try:
            with self._locked(exclusive=True) as fd:
                if state is not None:
                    header.state_token = os.urandom(8).hex()
                    # The child keeps the lock, and the saved states that unread parts of
                    # this one are still to be read from (blobs).
                    keep = (fd, *blobs.open_descriptors())
                    if background and forked.run_in_child(
                        lambda: self._write(header, state), keep=keep
                    ):
                        return True
                return self._write(header, state)
        except TimeoutError as exc:
            log.warning("graphlive: not saving the analysis: %s", exc)
            return False

    def save_header(self, header: Header) -> bool:
        """Rewrite the header alone, pairing it with the state file there now; False (nothing
        written) when there is no state file (evicted or deleted meanwhile) or the entry
        cannot be written."""
        try:
            with self._locked(exclusive=True):
                if not self.state_path.exists():
                    return False
                return self._write(header, None)
        except (OSError, TimeoutError) as exc:
            log.warning("graphlive: not saving the analysis: %s", exc)
            return False

    def _write(self, header: Header, state: dict[str, Any] | None) -> bool:
        try:
            if state is not None:
                _write_atomic(self.state_path, (header.state_token, state))
            written = _write_in_place(self.header_path, header)
        except (OSError, pickle.PicklingError, RecursionError) as exc:
            log.warning("graphlive: cannot save the analysis cache in %s: %s", self.folder, exc)
            return False
        if state is None and written < _EVICT_AFTER_HEADER_BYTES:
            # A header alone (after a small update) barely grows the entry: the bound is
            # enforced after the next state, sparing a look at every entry on each update.
            return True
        return evict(cache_limit_bytes(), keep=self.folder, root=self.folder.parent)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_in_place(path: Path, value: object) -> int:
    """Pickle ``value`` over the bytes of ``path`` (the header: small, always read whole, by
    readers holding the entry's lock, which the caller holds exclusively); returns the bytes
    written. No temporary file and rename: a third of the cost of a small save on ext4.
    Cut short by a crash, the file holds a pickle that does not load (ignored, as any damaged
    entry) or the whole new one followed by the old one's tail, which unpickling never reads.
    Where there is no ``os.pwrite`` (Windows), written through a temporary file."""
    if not hasattr(os, "pwrite"):  # pragma: no cover - Windows
        return _write_atomic(path, value, layout="pickle")
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        done = 0
        while done < len(data):
            done += os.pwrite(fd, data[done:], done)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
    return len(data)


def _write_atomic(path: Path, value: object, *, layout: str = "blobs") -> int:
    """Pickle ``value`` into ``path`` through a temporary file; returns the bytes written.
    ``layout="blobs"``: with its Blobs after the pickle (:func:`graphlive.analysis.blobs.dump`,
    what :meth:`CacheEntry.state` reads): the state file, always replaced, never written into,
    as other processes may still read parts from the one they opened. The caller holds the
    entry's lock exclusively (readers hold it too: none sees ``path`` missing for the moment
    between the unlink and the rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh, gc_paused():
            if layout == "blobs":
                blobs.dump(value, fh)
            else:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            size = fh.tell()
        # Not os.replace: renaming over an existing file makes ext4 write the new one's data
        # out at once (its guard against zero-length files after a crash), a third of a
        # millisecond of every small update. A crash in between leaves no header: the next
        # analysis starts afresh, as for any damaged entry.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def _size(folder: Path) -> int:
    total = 0
    for item in folder.iterdir():
        with contextlib.suppress(OSError):
            total += item.stat().st_size
    return total


def _last_used(folder: Path) -> float:
    try:
        return (folder / "header.pickle").stat().st_mtime
    except OSError:  # being saved (or damaged): the folder changed when its files did
        try:
            return folder.stat().st_mtime
        except OSError:
            return 0.0


def evict(limit: int, *, keep: Path | None = None, root: Path | None = None) -> bool:
    """Delete least recently used entries until the cache fits ``limit`` bytes. ``keep`` goes
    last, and only if it alone is over the limit. Returns False if ``keep`` was deleted."""
    base = root or cache_root()
    try:
        entries = [p for p in base.iterdir() if p.is_dir()]
    except OSError:
        return True
    sizes = {p: _size(p) for p in entries}
    total = sum(sizes.values())
    order = sorted((p for p in entries if p != keep), key=_last_used)
    if keep is not None and keep in sizes:
        order.append(keep)
    kept = True
    for folder in order:
        if total <= limit:
            break
        shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]
        if folder == keep:
            kept = False
            log.warning(
                "graphlive: the analysis cache of %s (%d MB) is over GRAPHLIVE_CACHE_MB; not kept",
                folder.name,
                sizes[folder] // (1024 * 1024),
            )
    return kept
