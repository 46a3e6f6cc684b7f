"""Facts parsed before a saved analysis is restored (``graphlive.analysis.prepared``): the
analysis takes them instead of parsing again, only for the very task they were parsed for, and
a file changed in between is parsed again by the next run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import graphlive
from graphlive.analysis import Analyzer, engine
from graphlive.analysis.discover import discover
from graphlive.analysis.engine import MAX_FILE_BYTES
from graphlive.analysis.facts import FileTask
from graphlive.analysis.prepared import PREPARE_MAX_FILES, prepare
from graphlive.analysis.workers import file_task
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph
from graphlive.ignore import IgnoreRules


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("VERSION = 1\n")
    (pkg / "a.py").write_text("def f(x):\n    return x\n")
    (pkg / "b.py").write_text("from pkg.a import f\n\n\ndef g():\n    return f(1)\n")
    return root


def _walk(root: Path):  # type: ignore[no-untyped-def]
    return discover(root, IgnoreRules(root))


def _fresh(root: Path) -> CodeGraph:
    return graphlive.analyze(root, publish=False, workers=1).graph


def _no_parsing(task: FileTask, max_bytes: int) -> None:
    raise AssertionError(f"{task.rel} parsed again")


def test_the_analysis_takes_prepared_facts_instead_of_parsing(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    b = tree / "pkg" / "b.py"
    b.write_text(b.read_text().replace("return f(1)", "y = f(2)\n    return f(1) + y"))
    analyzer.prepared = prepare(_walk(tree), {"pkg/b.py"}, MAX_FILE_BYTES)
    assert analyzer.prepared is not None and analyzer.prepared.seconds > 0
    analyzer.prepared.seconds = 5.0  # (as if parsing ahead took that long)
    monkeypatch.setattr(engine, "extract_file", _no_parsing)
    emitted: list[ChangeEvent] = []
    analyzer.graph.listen(emitted.extend)
    summary = analyzer.rescan()
    monkeypatch.undo()
    # Reported in the parse progress as a file parsed then would be.
    parsed = [e.data for e in emitted if e.type is EventType.ANALYSIS_PROGRESS]
    assert {"phase": "parse", "done": 1, "total": 1, "file": "pkg/b.py"} in parsed
    assert summary.incremental and summary.files_parsed == 1
    assert summary.timings["parse"] >= 5.0  # the time parsing ahead took is reported
    assert analyzer.prepared is None  # used once
    assert analyzer.stamps["pkg/b.py"][:2] == (b.stat().st_size, b.stat().st_mtime_ns)
    assert analyzer.graph == _fresh(tree)


def test_prepared_facts_serve_only_the_task_they_were_parsed_for(tree: Path) -> None:
    disc = _walk(tree)
    prepared = prepare(disc, {"pkg/__init__.py", "pkg/a.py"}, MAX_FILE_BYTES)
    assert prepared is not None
    init, a = (
        file_task(disc, disc.by_rel["pkg/__init__.py"]),
        file_task(disc, disc.by_rel["pkg/a.py"]),
    )
    assert init.submodules == frozenset({"a", "b"})
    # Another size limit, or the package with other submodules: not these facts.
    assert prepared.take_all([a], MAX_FILE_BYTES - 1) == {}
    assert prepared.take_all([init._replace(submodules=frozenset({"a"}))], MAX_FILE_BYTES) == {}
    taken = prepared.take_all([init, a], MAX_FILE_BYTES)
    assert set(taken) == {"pkg/__init__.py", "pkg/a.py"}
    assert taken["pkg/a.py"][1].module == "pkg.a"
    assert prepared.take_all([init, a], MAX_FILE_BYTES) == {}  # given once


def test_too_many_files_are_left_to_the_analysis(tree: Path) -> None:
    for i in range(PREPARE_MAX_FILES):
        (tree / "pkg" / f"m{i}.py").write_text(f"X = {i}\n")
    disc = _walk(tree)
    assert prepare(disc, set(disc.by_rel), MAX_FILE_BYTES) is None
    assert prepare(disc, {"pkg/m0.py", "gone.py"}, MAX_FILE_BYTES) is not None
    assert prepare(disc, {"gone.py"}, MAX_FILE_BYTES) is None


def test_a_file_changed_after_it_was_prepared_is_parsed_again_by_the_next_run(
    tree: Path,
) -> None:
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    b = tree / "pkg" / "b.py"
    b.write_text(b.read_text() + "\n\ndef h():\n    return 1\n")
    analyzer.prepared = prepare(_walk(tree), {"pkg/b.py"}, MAX_FILE_BYTES)
    # Changed again before the analysis takes the facts: they describe the first edit.
    b.write_text(b.read_text().replace("return 1", "return g()") + "\n\ndef k():\n    pass\n")
    st = b.stat()
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))  # (a later time, surely)
    analyzer.rescan()
    assert analyzer.graph != _fresh(tree)  # the first edit only, for now
    summary = analyzer.rescan()
    assert summary.files_parsed == 1
    assert analyzer.graph == _fresh(tree)
