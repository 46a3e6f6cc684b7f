"""The engine: lifecycle events, one transaction per file, determinism, re-runs and updates,
parallel parsing, failures, and a real code base (the stdlib's json and email packages)."""

from __future__ import annotations

import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from graphlive.analysis import Analyzer, engine
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, EdgeKind
from tests.analysis_fixtures import analyze, sorted_edges, write_tree


def _many_files(n: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"pkg/__init__.py": "from .m0 import f0\n"}
    for i in range(n):
        nxt = (i + 1) % n
        files[f"pkg/m{i}.py"] = (
            f"from pkg import m{nxt}\n"
            f"class C{i}:\n"
            f"    def run(self):\n"
            f"        return m{nxt}.f{nxt}()\n"
            f"def f{i}():\n"
            f"    return C{i}().run\n"
        )
    return files


def test_lifecycle_events_and_throttled_progress(tmp_path: Path) -> None:
    run = analyze(tmp_path, _many_files(300))
    started = run.of_type(EventType.ANALYSIS_STARTED)
    assert [e.data for e in started] == [{"root": tmp_path.name, "files": 301}]
    progress = run.of_type(EventType.ANALYSIS_PROGRESS)
    for phase in ("parse", "resolve", "write"):
        reports = [e.data for e in progress if e.data["phase"] == phase]
        # Throttled: about one report per 2% of the files, not one per file.
        assert 20 <= len(reports) <= engine.PROGRESS_STEPS + 2
        assert reports[-1]["done"] == reports[-1]["total"] == 301
        assert [r["done"] for r in reports] == sorted(r["done"] for r in reports)
    (completed,) = run.of_type(EventType.ANALYSIS_COMPLETED)
    assert completed.data == run.summary.to_dict()
    assert run.summary.files == 301
    assert run.summary.calls_total == 600
    assert run.summary.calls_resolved == 600
    assert run.events[0].type is EventType.ANALYSIS_STARTED
    assert run.events[-1].type is EventType.ANALYSIS_COMPLETED


def test_one_transaction_per_file_and_replayable(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "a.py": "import b\ndef fa():\n    b.fb()\n    len([])\n",
            "b.py": "import a\ndef fb():\n    a.fa()\n",
            "c.py": "def broken(:\n",
        },
    )
    txns: dict[str, list[ChangeEvent]] = defaultdict(list)
    for event in run.events:
        if event.txn is not None:
            txns[event.txn.id].append(event)
    by_file: dict[str, str] = {}
    for txn_id, events in txns.items():
        assert events[-1].txn is not None and events[-1].txn.last
        assert all(e.txn is not None and not e.txn.last for e in events[:-1])
        # Every edge of a transaction is owned by the same file; a transaction without edges
        # (c.py does not parse) holds that file's module node.
        owners = {e.data["edge"]["file"] for e in events if e.type is EventType.EDGE_ADDED}
        if not owners:
            owners = {e.data["node"]["file"] for e in events if e.type is EventType.NODE_ADDED}
        assert len(owners) == 1, events
        owner = owners.pop()
        assert owner not in by_file
        by_file[owner] = txn_id
    assert len(txns) == 3
    assert set(by_file) == {"a.py", "b.py", "c.py"}
    # c.py's diagnostic travels in c.py's transaction.
    (diag,) = [e for e in run.of_type(EventType.DIAGNOSTIC)]
    assert diag.txn is not None and diag.txn.id == by_file["c.py"]
    # Each transaction is self-contained: replaying them in order rebuilds the graph.
    replica = CodeGraph()
    for event in run.events:
        replica.apply(event)
    assert replica == run.graph


def test_determinism(tmp_path: Path) -> None:
    files = _many_files(40)
    files["extra.py"] = "from pkg import *\nimport os\nf0()\nos.path.join('a')\n"
    first = analyze(tmp_path / "one", files)
    second = analyze(tmp_path / "two", files)
    assert first.graph == second.graph
    assert sorted_edges(first) == sorted_edges(second)
    assert first.summary.calls_resolved == second.summary.calls_resolved


def test_parallel_parsing_gives_the_same_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _many_files(60)
    files["bad.py"] = "def (\n"
    serial = analyze(tmp_path / "serial", files, workers=1)
    monkeypatch.setattr(engine, "_PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(engine, "_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(engine, "_PARALLEL_MIN_BYTES_FORK", 0)
    calls = []
    real = engine.Analyzer._extract_parallel

    def spy(self: Analyzer, *args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.Analyzer, "_extract_parallel", spy)
    parallel = analyze(tmp_path / "parallel", files, workers=2)
    assert calls == [1]
    assert parallel.graph == serial.graph
    assert parallel.diagnostics() == serial.diagnostics()


def test_rerun_on_unchanged_tree_emits_no_mutations(tmp_path: Path) -> None:
    write_tree(tmp_path, _many_files(10))
    graph = CodeGraph()
    analyzer = Analyzer(tmp_path, graph, workers=1)
    analyzer.run()
    events: list[ChangeEvent] = []
    graph.listen(events.extend)
    analyzer.run()
    assert [e for e in events if e.type.is_mutation] == []
    assert {e.type for e in events} == {
        EventType.ANALYSIS_STARTED,
        EventType.ANALYSIS_PROGRESS,
        EventType.ANALYSIS_COMPLETED,
    }


def test_update_writes_only_the_difference(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a.py": "def helper():\n    pass\n",
            "b.py": "from a import helper\ndef main():\n    helper()\n",
            "c.py": "def alone():\n    pass\n",
        },
    )
    graph = CodeGraph()
    analyzer = Analyzer(tmp_path, graph, workers=1)
    analyzer.run()
    events: list[ChangeEvent] = []
    graph.listen(events.extend)
    # Rename helper in a.py: b.py's call edge (owned by b.py) must go, c.py stays untouched.
    (tmp_path / "a.py").write_text("def assist():\n    pass\n")
    (tmp_path / "d.py").write_text("import c\nc.alone()\n")
    analyzer.update([tmp_path / "a.py", "d.py"])
    mutations = [e for e in events if e.type.is_mutation]
    removed_nodes = {e.data["node"]["id"] for e in mutations if e.type is EventType.NODE_REMOVED}
    added_nodes = {e.data["node"]["id"] for e in mutations if e.type is EventType.NODE_ADDED}
    removed_edges = {
        (e.data["edge"]["source"], e.data["edge"]["target"])
        for e in mutations
        if e.type is EventType.EDGE_REMOVED
    }
    assert removed_nodes == {"a.helper"}
    assert added_nodes == {"a.assist", "d"}
    assert ("b.main", "a.helper") in removed_edges
    touched = {e.data.get("node", e.data.get("edge", {})).get("file") for e in mutations}
    assert "c.py" not in touched
    assert graph.in_edges("c.alone", EdgeKind.CALLS)[0].source == "d"
    # A deleted file loses everything it owned.
    (tmp_path / "d.py").unlink()
    analyzer.update(["d.py"])
    assert graph.nodes_in_file("d.py") == set()
    assert graph.edges_of_file("d.py") == set()
    assert not graph.in_edges("c.alone", EdgeKind.CALLS)


def test_unexpected_failure_emits_analysis_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"a.py": "x = 1\n"})

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("resolver exploded")

    monkeypatch.setattr(engine, "resolve", explode)
    graph = CodeGraph()
    events: list[ChangeEvent] = []
    graph.listen(events.extend)
    with pytest.raises(RuntimeError, match="resolver exploded"):
        Analyzer(tmp_path, graph, workers=1).run()
    failed = [e for e in events if e.type is EventType.ANALYSIS_FAILED]
    assert [e.data for e in failed] == [
        {"root": tmp_path.name, "error": "RuntimeError: resolver exploded"}
    ]
    assert not any(e.type is EventType.ANALYSIS_COMPLETED for e in events)


def test_missing_root_is_an_error(tmp_path: Path) -> None:
    graph = CodeGraph()
    with pytest.raises(FileNotFoundError):
        Analyzer(tmp_path / "nope", graph).run()


def test_stdlib_json_and_email(tmp_path: Path) -> None:
    stdlib = Path(shutil.__file__).parent
    for name in ("json", "email"):
        shutil.copytree(
            stdlib / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    run = analyze(tmp_path, workers=2)
    summary = run.summary
    assert summary.files == len(list(tmp_path.rglob("*.py")))
    assert summary.files_failed == 0
    assert summary.calls_total > 1500
    assert summary.resolved_ratio > 0.6, summary
    calls = run.edges(EdgeKind.CALLS)
    # json.loads uses the module-level JSONDecoder instance: a method call through a global.
    assert ("json.loads", "json.decoder.JSONDecoder.decode") in calls
    # email.message_from_string instantiates the parser: through __init__.
    assert ("email.message_from_string", "email.parser.Parser.__init__") in calls
    assert ("email.parser.Parser.parsestr", "email.parser.Parser.parse") in calls
    assert ("email.mime.text.MIMEText", "email.mime.nonmultipart.MIMENonMultipart") in run.edges(
        EdgeKind.INHERITS
    )
    assert sys.version_info >= (3, 10)
