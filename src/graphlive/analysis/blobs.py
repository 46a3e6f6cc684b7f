"""Bytes saved beside a pickle, read from the file only when used.

Most of a saved analysis (:mod:`graphlive.analysis_cache`) is pickles of single files: each
file's part of the resolved program (:mod:`graphlive.analysis.shards`), its links, the output
the graph writer wrote for it. A one-file update reads one or two of each; yet reading the
whole state file, and copying every one of those pickles into a ``bytes`` object, cost a new
process more than the rest of the state (on requests, 0.62 of the file's 0.74 MB). So they are
held as :class:`Blob` objects, and :func:`dump` writes a state file as::

    MAGIC (8 bytes) | pickle length (8 bytes, little endian) | pickle | every Blob's bytes

The pickle refers to each Blob by its place after it. :func:`load` unpickles the pickle alone
and gives back Blobs that read their bytes when first asked, with ``os.pread`` on a descriptor
kept open while any of them is unread (closed with the last). A save replaces the file by a
rename (never writes into it), which leaves an open file as it was: a Blob reads what was
saved with the pickle that named it, whatever was saved since.

A Blob pickled anywhere else (``pickle.dumps``) carries its bytes, like ``bytes``. Where there
is no ``os.pread`` (Windows), :func:`load` reads every Blob at once.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import threading
import weakref
from typing import IO, Any

__all__ = ["MAGIC", "Blob", "dump", "load", "open_descriptors", "pickled"]

#: Starts every file :func:`dump` writes (a bare pickle starts with ``0x80``).
MAGIC = b"GLBLOBS1"
_HEAD = struct.Struct("<8sQ")
#: Per thread: the Blob bytes a :func:`dump` under way puts after its pickle (``out``), or
#: the file a :func:`load` under way reads them from (``source``).
_context = threading.local()


class _Source:
    """An open state file that unread Blobs come from (closed when the last is gone)."""

    __slots__ = ("__weakref__", "base", "fd", "name")

    def __init__(self, fd: int, base: int, name: str) -> None:
        self.fd = fd
        #: Where the Blob bytes start (after the pickle).
        self.base = base
        self.name = name
        _open.add(self)

    def read(self, offset: int, size: int) -> bytes:
        data = os.pread(self.fd, size, self.base + offset)
        if len(data) != size:
            raise OSError(f"{self.name}: truncated (a saved blob is past its end)")
        return data

    def __del__(self, _close: Any = os.close) -> None:  # (os may be gone at exit)
        _close(self.fd)


#: The state files open for unread Blobs.
_open: weakref.WeakSet[_Source] = weakref.WeakSet()


def open_descriptors() -> list[int]:
    """The descriptors of the state files unread Blobs will read: a forked child that saves
    a state holding such Blobs must keep them (:func:`graphlive.forked.run_in_child`)."""
    return [source.fd for source in list(_open)]


class Blob:
    """Bytes (a pickle, mostly) that a saved state keeps after its own pickle.

    :meth:`read` gives them, from memory or from the state file :func:`load` opened; a Blob is
    read once by its user, who keeps what it decodes (the Blob itself is then dropped)."""

    __slots__ = ("_data", "_offset", "_source", "size")

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data
        self._source: _Source | None = None
        self._offset = 0
        self.size = len(data)

    @classmethod
    def _stored(cls, offset: int, size: int) -> Blob:
        """Unpickled by :func:`load`: the Blob at ``offset`` of the file it reads."""
        source: _Source | _Eager | None = getattr(_context, "source", None)
        blob = cls.__new__(cls)
        blob.size = size
        if source is None:
            raise pickle.UnpicklingError("a stored blob outside graphlive.analysis.blobs.load")
        blob._offset = offset
        if isinstance(source, _Eager):
            blob._data, blob._source = source.read(offset, size), None
        else:
            blob._data, blob._source = None, source
        return blob

    def read(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._source is not None
        return self._source.read(self._offset, self.size)

    def __reduce__(self) -> tuple[Any, ...]:
        out: list[bytes] | None = getattr(_context, "out", None)
        data = self.read()
        if out is None:
            return (Blob, (data,))
        offset = _context.written
        out.append(data)
        _context.written = offset + len(data)
        return (Blob._stored, (offset, len(data)))

    def __repr__(self) -> str:
        where = "in memory" if self._data is not None else "unread"
        return f"<Blob {self.size} bytes, {where}>"


def pickled(value: object) -> Blob:
    """``value`` pickled on its own, as a Blob. Called while a :func:`dump` pickles what holds
    it, too: the pickle made here is whole (any Blob in ``value`` carries its bytes)."""
    out = getattr(_context, "out", None)
    _context.out = None
    try:
        return Blob(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        _context.out = out


class _Eager:
    """No ``os.pread``: the Blob bytes, read with the pickle."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, offset: int, size: int) -> bytes:
        return self.data[offset : offset + size]


def dump(value: object, fh: IO[bytes]) -> int:
    """Write ``value`` to ``fh`` (at its start) in the layout of the module docstring; returns
    the bytes written. Blobs are written once per occurrence."""
    out: list[bytes] = []
    _context.out, _context.written = out, 0
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        _context.out = None
    fh.write(_HEAD.pack(MAGIC, len(data)))
    fh.write(data)
    total = _HEAD.size + len(data)
    for chunk in out:
        fh.write(chunk)
        total += len(chunk)
    return total


def load(path: str | os.PathLike[str]) -> Any:
    """Unpickle a file :func:`dump` wrote; its Blobs read the file when first used. Raises
    ``ValueError`` for a file in another layout, ``OSError`` if it cannot be read and what
    ``pickle.loads`` raises for a damaged pickle."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    source: _Source | _Eager | None = None
    try:
        head = os.read(fd, _HEAD.size)
        if len(head) != _HEAD.size:
            raise ValueError(f"{os.fspath(path)}: not a saved state (too short)")
        magic, length = _HEAD.unpack(head)
        if magic != MAGIC:
            raise ValueError(f"{os.fspath(path)}: not a saved state in this layout")
        end = _HEAD.size + length
        if not hasattr(os, "pread"):  # pragma: no cover - Windows
            data = _read_exactly(fd, length, os.fspath(path))
            source = _Eager(_read_rest(fd))
            return _unpickle(data, source)
        source = _Source(fd, end, os.fspath(path))
        if os.fstat(fd).st_size < end:  # (a map past the end would fault when read)
            raise ValueError(f"{os.fspath(path)}: truncated saved state")
        # Unpickled from a map of the file: its pages come from the page cache, where a copy
        # would be fresh memory (a page fault per 4 kB, which some VMs make costly). Unpickled
        # objects never refer to the map, which is closed before returning.
        with (
            mmap.mmap(fd, end, prot=mmap.PROT_READ) as mapped,
            memoryview(mapped) as whole,
            whole[_HEAD.size :] as view,
        ):
            return _unpickle(view, source)
    finally:
        if not isinstance(source, _Source):
            os.close(fd)
        # A _Source closes the descriptor when its last Blob is gone (at once if none).


def _unpickle(data: Any, source: _Source | _Eager) -> Any:
    _context.source = source
    try:
        return pickle.loads(data)
    finally:
        _context.source = None


def _read_exactly(fd: int, size: int, name: str) -> bytes:
    parts: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            raise ValueError(f"{name}: truncated saved state")
        parts.append(chunk)
        left -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_rest(fd: int) -> bytes:  # pragma: no cover - Windows
    parts: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)
