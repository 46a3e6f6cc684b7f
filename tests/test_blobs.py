"""The saved state's layout: Blobs after the pickle, read from the file only when used."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from graphlive import forked
from graphlive.analysis import blobs
from graphlive.analysis.blobs import Blob
from graphlive.analysis_cache import CacheEntry, Header, version_key


def _save(path: Path, value: object) -> int:
    with open(path, "wb") as fh:
        return blobs.dump(value, fh)


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


def test_blobs_are_read_from_the_file_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "state"
    first, second = b"a" * 5000, pickle.dumps({"x": [1, 2, 3]})
    written = _save(path, {"parts": [Blob(first), Blob(second)], "n": 7})
    assert written == path.stat().st_size
    # The pickle itself is small: the Blobs' bytes follow it, they are not inside.
    assert path.read_bytes().startswith(blobs.MAGIC)
    assert path.stat().st_size - len(first) - len(second) < 200

    before = _open_fds()
    state = blobs.load(path)
    assert state["n"] == 7
    parts = state["parts"]
    assert [p.size for p in parts] == [len(first), len(second)]
    assert "unread" in repr(parts[0])
    assert len(_open_fds() - before) == 1  # the file stays open for the unread Blobs
    assert parts[1].read() == second and parts[0].read() == first
    del state, parts
    assert _open_fds() == before  # closed with the last Blob


def test_a_blob_reads_what_was_saved_with_its_pickle_after_the_file_is_replaced(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state"
    _save(path, [Blob(b"old contents")])
    (old,) = blobs.load(path)
    # A later save renames a new file over it (analysis_cache._write_atomic).
    tmp = tmp_path / "state.tmp"
    _save(tmp, [Blob(b"new, longer contents")])
    path.unlink()
    tmp.rename(path)
    assert old.read() == b"old contents"
    (new,) = blobs.load(path)
    assert new.read() == b"new, longer contents"


def test_a_loaded_blob_saved_again_carries_its_bytes(tmp_path: Path) -> None:
    path, again = tmp_path / "state", tmp_path / "again"
    _save(path, {"a": Blob(b"kept"), "b": Blob(b"also kept")})
    loaded = blobs.load(path)
    _save(again, loaded)  # unread Blobs are read and written into the new file
    path.unlink()
    reloaded = blobs.load(again)
    assert (reloaded["a"].read(), reloaded["b"].read()) == (b"kept", b"also kept")
    # Pickled anywhere else, a Blob is its bytes.
    copy = pickle.loads(pickle.dumps(reloaded["b"]))
    assert copy.read() == b"also kept" and "in memory" in repr(copy)


def test_pickled_values_inside_a_dump_are_whole(tmp_path: Path) -> None:
    class Holder:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def __reduce__(self) -> tuple[object, ...]:
            # As shards.cut and PackedOutputs do: pickle a part on its own while dumping.
            return (_unwrap, (blobs.pickled(self.inner),))

    path = tmp_path / "state"
    _save(path, Holder({"nested": Blob(b"inner bytes")}))
    outer = blobs.load(path)
    inner = pickle.loads(outer.read())  # read later, outside any load: must stand alone
    assert inner["nested"].read() == b"inner bytes"


def _unwrap(blob: Blob) -> Blob:
    return blob


def test_files_in_another_layout_or_cut_short_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "state"
    path.write_bytes(pickle.dumps(("token", {"a": 1})))  # the layout before blobs
    with pytest.raises(ValueError, match="not a saved state"):
        blobs.load(path)
    path.write_bytes(b"GLB")
    with pytest.raises(ValueError, match="too short"):
        blobs.load(path)
    size = _save(path, [Blob(b"x" * 1000)])
    data = path.read_bytes()
    path.write_bytes(data[: size - 1000 - 1])  # the pickle cut short
    with pytest.raises(ValueError, match="truncated"):
        blobs.load(path)
    head = 16  # MAGIC and the pickle's length
    path.write_bytes(data[:head] + b"\xff" * (size - 1000 - head) + data[size - 1000 :])
    with pytest.raises(pickle.UnpicklingError):  # a damaged pickle: its error, not the map's
        blobs.load(path)
    path.write_bytes(data[: size - 10])  # the blob cut short: found when it is read
    (blob,) = blobs.load(path)
    with pytest.raises(OSError, match="truncated"):
        blob.read()


def test_a_stored_blob_cannot_be_unpickled_outside_load(tmp_path: Path) -> None:
    path = tmp_path / "state"
    _save(path, [Blob(b"x")])
    data = path.read_bytes()
    length = int.from_bytes(data[8:16], "little")
    with pytest.raises(pickle.UnpicklingError, match="outside"):
        pickle.loads(data[16 : 16 + length])


def test_a_forked_save_of_a_loaded_state_still_reads_its_unread_blobs(tmp_path: Path) -> None:
    """A restored analysis saving its whole state does so in a forked child
    (graphlive.forked), which lets go of the parent's descriptors but those it is told to
    keep: the state files its unread parts come from are among them."""
    entry = CacheEntry("g", "r", folder=tmp_path)

    def header() -> Header:
        return Header(
            version=version_key(), graph="g", root="r", epoch="e", seq=1, structure="s",
            stamps={}, stamped_ns=0, summary=None, state_token="",
        )  # fmt: skip

    parts = [b"one", b"two" * 1000]
    assert entry.save(header(), {"parts": [Blob(p) for p in parts]})
    saved = entry.header()
    assert saved is not None
    loaded = entry.state(saved)
    assert loaded is not None and "unread" in repr(loaded["parts"][1])
    forked.wait_children()
    assert entry.save(header(), loaded, background=True)
    assert forked.wait_children() == [0]
    again = entry.header()
    assert again is not None and again.state_token != saved.state_token
    state = entry.state(again)
    assert state is not None and [blob.read() for blob in state["parts"]] == parts
