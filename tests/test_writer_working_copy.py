"""A writer holding a working copy of the graph (``GraphWriter.partial``) emits the events a
writer holding the whole graph does, for any change of outputs.

The saved analysis a new process continues does not read the graph back from Redis: each
update seeds a working copy with what its transactions touch. Here the same change goes to a
writer on the whole graph and to a restored copy of it on an empty working copy, including
changes no analysis update makes today (a node removed while an unchanged file still points
at it), so that the seeding is checked beyond what the engine happens to ask.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

import graphlive
from graphlive.analysis.build import FileOutput
from graphlive.analysis.writer import GraphWriter
from graphlive.events import ChangeEvent
from graphlive.graph import CodeGraph


@pytest.fixture
def analysed(tmp_path: Path) -> graphlive.LiveGraph:
    root = tmp_path / "proj"
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "import json\n\ndef f():\n    return json.dumps(1)\n\ndef g():\n    return f()\n"
    )
    (pkg / "b.py").write_text(
        "import json\nfrom pkg.a import f\n\ndef h():\n    json.loads(json.dumps(2))\n"
        "    return f()\n"
    )
    return graphlive.analyze(root, publish=False, workers=1)


def _events_of(
    writer: GraphWriter, outputs: dict[str, FileOutput], lg: graphlive.LiveGraph
) -> list[ChangeEvent]:
    events: list[ChangeEvent] = []
    writer.graph.listen(events.extend)
    assert lg.analyzer is not None and lg.analyzer.discovery is not None
    writer.write_changes(outputs, lg.analyzer.discovery.namespaces, lg.analyzer.facts, None)
    return [e for e in events if e.type.is_mutation]


def _contents(events: list[ChangeEvent]) -> list[tuple[str, str]]:
    return sorted((e.type.value, json.dumps(e.data, sort_keys=True)) for e in events)


def _working_copy_of(writer: GraphWriter) -> tuple[GraphWriter, CodeGraph]:
    copy = GraphWriter(CodeGraph(writer.graph.name), writer.source)
    copy.restore_state(pickle.loads(pickle.dumps(writer.export_state())))
    copy.partial = True
    whole = CodeGraph(writer.graph.name)
    whole.load_dict(writer.graph.to_dict())

    def require_full() -> CodeGraph:
        raise AssertionError("the working copy should have been enough")

    copy.require_full = require_full
    return copy, whole


def _without(out: FileOutput, node_id: str) -> FileOutput:
    """``out`` without the node ``node_id`` and the edges touching it."""
    return FileOutput(
        file=out.file,
        nodes={k: n for k, n in out.nodes.items() if k != node_id},
        edges={k: e for k, e in out.edges.items() if node_id not in (e.source, e.target)},
        calls_total=out.calls_total,
        calls_resolved=out.calls_resolved,
    )


@pytest.mark.parametrize(
    ("rel", "node_id"),
    [
        # Another file (b.py, unchanged) calls and imports pkg.a.f: removing the node takes
        # b's edges along in the same transaction; json.dumps stays (b calls it too).
        ("pkg/a.py", "pkg.a.f"),
        # The only user of json.loads goes: the external goes with it, json.dumps stays.
        ("pkg/b.py", "pkg.b.h"),
    ],
)
def test_a_working_copy_emits_the_events_of_the_whole_graph(
    analysed: graphlive.LiveGraph, rel: str, node_id: str
) -> None:
    assert analysed.analyzer is not None
    whole_writer = analysed.analyzer.writer
    working_writer, whole_before = _working_copy_of(whole_writer)
    changed = {rel: _without(whole_writer.outputs[rel], node_id)}
    expected = _events_of(whole_writer, changed, analysed)
    assert expected, "the change must touch the graph"
    working = _events_of(working_writer, changed, analysed)
    assert _contents(working) == _contents(expected)
    # The working copy holds only what the change touched, not the whole graph.
    assert working_writer.graph.node_count < whole_before.node_count
    # Its events, applied to the graph as it was, give the graph as it is now.
    whole_before.apply_all(working)
    assert whole_before == whole_writer.graph


def test_an_edge_into_an_external_that_becomes_a_definition_is_removed(tmp_path: Path) -> None:
    """``pkg/a.py`` imports ``f`` from ``solo``, outside the tree: ``pkg.base``'s calls of it
    point at the external ``solo.f``. The module moves to ``src/solo.py`` (now it defines
    ``solo.f``) and ``pkg.base``'s import finds nothing: a restored analysis writing into a
    working copy must remove those calls, though by the update's ids ``solo.f`` is a definition
    not written yet (hypothesis found this; the seeding judged old edges by the new ids)."""
    from graphlive.analysis import Analyzer

    source = "from solo import f\nimport pkg.base\n\n@f\ndef f(x):\n    f(x)\n"
    root = tmp_path / "proj"
    for package in ("pkg", "src/app"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text(source)
    (root / "pkg" / "base.py").write_text("from pkg.a import f\n\n\ndef run(x):\n    f(x)\n")
    (root / "tools.py").write_text("\nlen()\n")
    graph = CodeGraph("g")
    analyzer = Analyzer(root, graph, workers=1)
    analyzer.run()
    assert ("pkg.base.run", "solo.f") in {(e.source, e.target) for e in graph.edges()}
    working = CodeGraph(graph.name)
    working.listen(lambda batch: graph.apply_all([e for e in batch if e.type.is_mutation]))
    state = pickle.loads(pickle.dumps(analyzer.export_state()))
    restored = Analyzer.restore(root, working, state, in_sync=True, workers=1)
    restored.writer.use_graph(working, partial=True)
    restored.writer.require_full = lambda: graph
    (root / "pkg" / "a.py").unlink()
    (root / "src" / "solo.py").write_text(source)
    restored.update([root / "pkg" / "a.py", root / "src" / "solo.py"])
    assert ("pkg.base.run", "solo.f") not in {(e.source, e.target) for e in graph.edges()}
    assert graph == graphlive.analyze(root, publish=False, workers=1).graph


def test_an_edit_calling_into_other_files_leaves_their_outputs_unread(tmp_path: Path) -> None:
    """A restored writer updating a working copy seeds the other files' nodes its edges point
    at as stand-ins (``GraphWriter._held_node``): their saved outputs stay unpickled, and the
    graph still ends up as a fresh analysis gives it, stand-ins never published."""
    from graphlive.analysis import Analyzer
    from graphlive.analysis.lazy_maps import LazyMap

    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("class A:\n    def run(self):\n        return 1\n")
    (root / "pkg" / "c.py").write_text("def helper(x):\n    return x\n")
    b = root / "pkg" / "b.py"
    b.write_text("from pkg.a import A\nfrom pkg.c import helper\n\ndef main():\n    return 1\n")
    graph = CodeGraph("g")
    analyzer = Analyzer(root, graph, workers=1)
    analyzer.run()
    working = CodeGraph(graph.name)
    published: list[ChangeEvent] = []
    working.listen(lambda batch: published.extend(e for e in batch if e.type.is_mutation))
    state = pickle.loads(pickle.dumps(analyzer.export_state()))
    restored = Analyzer.restore(root, working, state, in_sync=True, workers=1)
    restored.writer.use_graph(working, partial=True)
    restored.writer.require_full = lambda: graph
    b.write_text(b.read_text().replace("return 1", "return helper(A().run())"))
    restored.update([b])
    outputs = restored.writer.outputs
    assert isinstance(outputs, LazyMap)
    assert outputs.is_pending("pkg/a.py") and outputs.is_pending("pkg/c.py")
    assert "pkg.a.A.run" in working and "pkg.c.helper" in working
    touched = {
        (e.data.get("edge") or {}).get("target") for e in published if e.type.value == "edge_added"
    }
    assert {"pkg.a.A.run", "pkg.c.helper"} <= touched
    assert {e.type.value for e in published} <= {"edge_added", "edge_removed", "node_updated"}
    assert all(e.data.get("id") != "pkg.a.A.run" for e in published)
    graph.apply_all(published)
    assert graph == graphlive.analyze(root, publish=False, workers=1).graph
