"""The analysis cache's size bound: which saves evict, and what goes first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphlive.analysis_cache import CacheEntry, Header, version_key

_KB = 1024


def _header(entry: CacheEntry, **extra: object) -> Header:
    return Header(
        version=version_key(), graph=entry.graph, root=entry.root, epoch="e", seq=1,
        structure="s", stamps={}, stamped_ns=0, summary=None, state_token="", **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def _saved(folder: Path, graph: str, kb: int, used: float) -> CacheEntry:
    """An entry with a state of about ``kb`` KB, last used at ``used`` (seconds since epoch)."""
    entry = CacheEntry(graph, "r", folder=folder)
    assert entry.save(_header(entry), {"blob": os.urandom(kb * _KB)})
    os.utime(entry.header_path, (used, used))
    return entry


def test_a_state_save_evicts_the_least_recently_used_entries_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHLIVE_CACHE_MB", "0.25")
    old = _saved(tmp_path, "old", 100, used=1_000)
    recent = _saved(tmp_path, "recent", 100, used=2_000)
    new = _saved(tmp_path, "new", 100, used=3_000)  # 300 KB > 256 KB: one must go
    assert not old.folder.exists()
    assert recent.folder.exists() and new.folder.exists()
    assert new.header() is not None


def test_a_small_header_save_leaves_eviction_to_the_next_state_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _saved(tmp_path, "old", 200, used=1_000)
    entry = _saved(tmp_path, "current", 100, used=2_000)
    monkeypatch.setenv("GRAPHLIVE_CACHE_MB", "0.15")  # the two no longer fit
    assert entry.save(_header(entry), None)
    assert old.folder.exists()  # a few bytes of header: no look at the other entries
    monkeypatch.setenv("GRAPHLIVE_CACHE_MB", "1.2")  # the entry with a 1 MB header fits alone
    big = _header(entry, written={"huge.py": b"x" * (1 << 20)})
    assert entry.save(big, None)  # a header over 1 MB counts
    assert not old.folder.exists()
    assert entry.header() is not None


def test_an_entry_over_the_bound_alone_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHLIVE_CACHE_MB", "0.05")
    entry = CacheEntry("g", "r", folder=tmp_path)
    assert not entry.save(_header(entry), {"blob": os.urandom(100 * _KB)})
    assert not entry.folder.exists()


def test_a_header_alone_is_saved_only_beside_its_state(tmp_path: Path) -> None:
    """After a small update only the header is rewritten, pairing with the state there; with
    the state gone meanwhile (evicted, deleted) nothing is written and the caller saves a
    whole state instead (LiveGraph._save_analysis)."""
    entry = CacheEntry("g", "r", folder=tmp_path)
    assert entry.save(_header(entry), {"x": 1})
    first = entry.header()
    assert first is not None
    moved = _header(entry, dirty=("a.py",))
    moved.state_token, moved.seq = first.state_token, 2
    assert entry.save_header(moved)
    header = entry.header()
    assert header is not None and (header.seq, header.dirty) == (2, ("a.py",))
    assert entry.state(header) == {"x": 1}
    entry.state_path.unlink()
    later = _header(entry, dirty=("b.py",))
    later.state_token, later.seq = first.state_token, 3
    assert not entry.save_header(later)
    kept = entry.header()
    assert kept is not None and kept.seq == 2
    assert not entry.save_header(_header(CacheEntry("other", "r", folder=tmp_path)))


def test_the_header_is_rewritten_in_place_and_a_cut_short_rewrite_still_loads(
    tmp_path: Path,
) -> None:
    """The header is written over its old bytes (no temporary file): a shorter header leaves
    no tail behind, and one whose write stopped before the file was cut to its size (a crash
    between the write and the truncation) still loads, as the new header."""
    import pickle

    entry = CacheEntry("g", "r", folder=tmp_path)
    long = _header(entry, dirty=tuple(f"pkg/module_{i}.py" for i in range(200)))
    assert entry.save(long, {"x": 1})
    first = entry.header()
    assert first is not None and len(first.dirty) == 200
    inode = entry.header_path.stat().st_ino
    short = _header(entry, dirty=("a.py",))
    short.state_token = first.state_token
    assert entry.save_header(short)
    assert entry.header_path.stat().st_ino == inode  # the same file, written over
    data = pickle.dumps(short, protocol=pickle.HIGHEST_PROTOCOL)
    assert entry.header_path.stat().st_size == len(data)
    loaded = entry.header()
    assert loaded is not None and loaded.dirty == ("a.py",)
    # As if cut short before the truncation: the new pickle, then the old header's tail.
    old = pickle.dumps(first, protocol=pickle.HIGHEST_PROTOCOL)
    entry.header_path.write_bytes(data + old[len(data) :])
    loaded = entry.header()
    assert loaded is not None and loaded.dirty == ("a.py",) and entry.state(loaded) == {"x": 1}
