"""Stamps of the analysed files: telling changed files from unchanged ones without parsing.

A :data:`Stamp` is ``(size, mtime_ns, digest)``: the size and modification time seen when the file
was stat'ed *before* it was read, and the digest of the bytes that were read
(:func:`~graphlive.analysis.source.content_digest`). A file is unchanged when its size and
modification time are the same, or, when they differ (a ``touch``, a checkout that restored the
content), when its content has the same digest. As in git's index, a file modified within
:data:`RACY_NS` of the moment the stamps were taken may change again within the same clock tick
without its time moving, so its content is always compared.

:func:`structure_key` condenses what discovery decides about Python names (files, ids,
packages, namespaces, source roots): two walks with the same key name every file alike. The
other languages' files are not part of it (their ids are their paths); their stamps tell
what changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping

from graphlive.analysis.discover import Discovery
from graphlive.analysis.source import content_digest

__all__ = ["RACY_NS", "Stamp", "changed_files", "differing", "stat_files", "structure_key"]

#: ``(size, mtime_ns, digest)`` of a file as analysed.
Stamp = tuple[int, int, str]
#: Files modified this close to when their stamps were taken have their content compared.
RACY_NS = 2_000_000_000


def stat_files(files: Iterable[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """``(size, mtime_ns)`` of each ``(relative path, path)``; files that cannot be stat'ed are
    left out."""
    out: dict[str, tuple[int, int]] = {}
    for rel, path in files:
        try:
            st = os.stat(path)
        except OSError:
            continue
        out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def _digest_of(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return content_digest(fh.read())
    except OSError:
        return None


def changed_files(stamps: Mapping[str, Stamp], disc: Discovery, taken_ns: int) -> set[str]:
    """Relative paths of the files of ``disc`` (Python's and the other languages') that differ
    from ``stamps`` (taken at ``taken_ns``, a ``time.time_ns()``), plus the stamped files
    ``disc`` no longer has."""
    changed = set(stamps.keys() - disc.by_rel.keys() - disc.others.keys())
    root = str(disc.root)
    files = [(sf.rel, sf.path) for sf in disc.files]
    files.extend((rel, os.path.join(root, rel)) for rel in disc.others)
    return changed | differing(stamps, files, taken_ns)


def differing(
    stamps: Mapping[str, Stamp], files: Iterable[tuple[str, str]], taken_ns: int
) -> set[str]:
    """Of ``files`` (relative path, path), those that differ from ``stamps`` (taken at
    ``taken_ns``) or have none."""
    changed: set[str] = set()
    racy_from = taken_ns - RACY_NS
    for rel, path in files:
        old = stamps.get(rel)
        if old is None:
            changed.add(rel)
            continue
        try:
            st = os.stat(path)
        except OSError:
            changed.add(rel)
            continue
        if (st.st_size, st.st_mtime_ns) == old[:2] and st.st_mtime_ns < racy_from:
            continue
        if st.st_size != old[0] or not old[2] or _digest_of(path) != old[2]:
            changed.add(rel)
    return changed


def structure_key(disc: Discovery) -> str:
    """A digest of how ``disc`` names things (see the module docstring)."""
    if disc.structure_memo is not None:
        return disc.structure_memo
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((disc.prefix, sorted(disc.roots.items()))).encode())
    h.update(repr(sorted(disc.namespaces.items(), key=lambda kv: kv[0])).encode())
    h.update(repr(sorted(disc.contested)).encode())
    for sf in disc.files:
        h.update(repr((sf.rel, sf.id, sf.is_package, sf.parent, sf.parent_is_namespace)).encode())
    h.update(repr([tuple(d) for d in disc.diagnostics]).encode())
    disc.structure_memo = h.hexdigest()
    return disc.structure_memo
