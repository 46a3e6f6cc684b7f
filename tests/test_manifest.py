"""Stamps (``graphlive.analysis.manifest``): which files changed since they were stamped, with
as few reads as the stamps allow."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from graphlive.analysis import manifest
from graphlive.analysis.manifest import RACY_NS, differing
from graphlive.analysis.source import content_digest


def _stamp(path: Path) -> tuple[int, int, str]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, content_digest(path.read_bytes()))


def test_only_a_racy_file_of_the_same_size_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same, grown, racy = (tmp_path / name for name in ("same.py", "grown.py", "racy.py"))
    for path in (same, grown, racy):
        path.write_text("x = 1\n")
    old = time.time_ns() - 10 * RACY_NS
    for path in (same, grown):
        os.utime(path, ns=(old, old))
    stamps = {path.name: _stamp(path) for path in (same, grown, racy)}
    taken = time.time_ns()
    grown.write_text("x = 12\n")
    os.utime(grown, ns=(old, old))  # (the same time: the size alone tells)
    racy.write_text("x = 2\n")  # the same size, within the racy window of the stamps
    files = [(path.name, str(path)) for path in (same, grown, racy)]
    read: list[str] = []
    real = manifest._digest_of

    def digest_of(path: str) -> str | None:
        read.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(manifest, "_digest_of", digest_of)
    assert differing(stamps, files, taken) == {"grown.py", "racy.py"}
    assert read == ["racy.py"]
