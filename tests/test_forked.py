"""Saving the analysis from a forked child: what it writes, what it holds, and who waits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphlive import forked
from graphlive.analysis_cache import CacheEntry, Header, version_key


def _header(entry: CacheEntry) -> Header:
    return Header(
        version=version_key(), graph=entry.graph, root=entry.root, epoch="e", seq=7,
        structure="s", stamps={}, stamped_ns=0, summary=None, state_token="",
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _no_children_left() -> object:
    forked.wait_children()  # the exit codes of earlier tests' saves are not this test's
    yield
    forked.wait_children()


def test_a_background_save_writes_the_state_as_it_was_when_saved(tmp_path: Path) -> None:
    entry = CacheEntry("g", "r", folder=tmp_path)
    state = {"facts": {"a.py": [1, 2]}}
    assert entry.save(_header(entry), state, background=True)
    state["facts"]["a.py"].append(3)  # the caller goes on changing its state at once
    # Read at once, as the next process would: the reader waits for the child's lock.
    header = entry.header()
    assert header is not None and header.seq == 7
    assert entry.state(header) == {"facts": {"a.py": [1, 2]}}
    assert forked.wait_children() == [0]  # it was written by a child, which succeeded


def test_forked_saves_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHLIVE_FORKED_SAVES", "0")
    entry = CacheEntry("g", "r", folder=tmp_path)
    assert entry.save(_header(entry), {"x": 1}, background=True)
    assert forked.wait_children() == []
    header = entry.header()
    assert header is not None and entry.state(header) == {"x": 1}


def test_the_child_holds_none_of_the_parents_descriptors(tmp_path: Path) -> None:
    """Else a command run with captured output would wait for the save, and a lock the parent
    holds (the embedded Redis') would outlive its release."""
    read_end, write_end = os.pipe()
    keep = os.open(tmp_path / "kept", os.O_RDWR | os.O_CREAT)
    out = tmp_path / "seen"

    def look() -> bool:
        seen = [os.readlink(f"/proc/self/fd/{fd}") for fd in (1, write_end, keep)]
        out.write_text("\n".join(seen))
        return True

    try:
        assert forked.run_in_child(look, keep=[keep]) is not None
        assert forked.wait_children() == [0]
    finally:
        os.close(read_end)
        os.close(write_end)
        os.close(keep)
    stdout, pipe, kept = out.read_text().splitlines()
    assert stdout == pipe == os.devnull
    assert kept == str(tmp_path / "kept")


def test_a_failing_child_leaves_the_old_entry_in_place(tmp_path: Path) -> None:
    entry = CacheEntry("g", "r", folder=tmp_path)
    assert entry.save(_header(entry), {"old": True})
    old = entry.header()
    assert old is not None
    # Not picklable: the child fails; the header on disk still pairs with the old state.
    assert entry.save(_header(entry), {"lock": __import__("threading").Lock()}, background=True)
    assert forked.wait_children() == [1]
    header = entry.header()
    assert header is not None and header.state_token == old.state_token
    assert entry.state(header) == {"old": True}
