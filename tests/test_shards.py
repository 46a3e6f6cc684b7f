"""A saved analysis restored in parts: an update unpickles only what it reaches.

``Program`` pickles as a core plus one part per file (``graphlive.analysis.shards``); the
analyzer's facts and the writer's outputs come back as lazy maps (``graphlive.analysis.
lazy_maps``). These tests restore an analysis as a new process would (a pickle round trip) and
check what an edit loads, and that the result is the fresh analysis' all the same.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from graphlive.analysis import Analyzer
from graphlive.analysis.lazy_maps import LazyMap, PackedOutputs
from graphlive.analysis.solver_state import _joined
from graphlive.graph import CodeGraph

MODULES = 30


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A chain of modules, each calling the previous one, with a class hierarchy at the end."""
    root = tmp_path / "chain"
    pkg = root / "chain"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for i in range(MODULES):
        head = f"from chain.m{i - 1} import f{i - 1}\n\n" if i else ""
        call = f"f{i - 1}(x)" if i else "x"
        (pkg / f"m{i}.py").write_text(
            f"{head}def f{i}(x):\n    return {call}\n\n\ndef g{i}():\n    return f{i}(1)\n"
        )
    (pkg / "shapes.py").write_text(
        "class Base:\n    def run(self):\n        return 1\n\n\nclass Square(Base):\n    pass\n"
    )
    (pkg / "use.py").write_text(
        "from chain.shapes import Square\n\n\ndef main():\n    return Square().run()\n"
    )
    return root


def _restored(analyzer: Analyzer, root: Path) -> tuple[Analyzer, CodeGraph]:
    """``analyzer`` saved and restored; the restored one writes into a copy of its graph."""
    graph = CodeGraph(analyzer.graph.name)
    graph.load_dict(analyzer.graph.to_dict())
    state = pickle.loads(pickle.dumps(analyzer.export_state()))
    return Analyzer.restore(root, graph, state, in_sync=True, workers=1), graph


def _fresh(root: Path) -> CodeGraph:
    graph = CodeGraph("fresh")
    Analyzer(root, graph, workers=1).run()
    return graph


def _pending(analyzer: Analyzer) -> int:
    assert analyzer.program is not None
    shards = analyzer.program.solver.shards
    return len(shards.blobs) if shards is not None else 0


def test_a_one_function_edit_unpickles_the_parts_it_reaches(tree: Path) -> None:
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    restored, graph = _restored(analyzer, tree)
    files = MODULES + 3
    assert _pending(restored) == files  # nothing unpickled until something is needed
    facts, outputs = restored.facts, restored.writer.outputs
    assert isinstance(facts, LazyMap) and isinstance(outputs, LazyMap)
    assert len(facts) == files and "chain/m7.py" in facts and dict.__len__(facts) == 0

    m7 = tree / "chain" / "m7.py"
    # A body edit whose values stay in the function (below the call: the sites of the
    # expressions above it keep their numbers, so the call is the same constraint).
    m7.write_text(m7.read_text() + "    y = [g7]\n")
    summary = restored.update([m7])
    assert summary.incremental and summary.files_parsed == 1
    # The edited file's part only: not its package's (where a clash of its scopes was once
    # looked for), nor the 30 others.
    assert _pending(restored) == files - 1
    assert dict.__len__(facts) <= 1
    assert dict.__len__(outputs) <= 3
    # The few values it interned were looked up in the list: the value map was not rebuilt.
    solver = restored.program.solver  # type: ignore[union-attr]
    assert solver.vid_scans > 0 and len(solver.vid) <= solver.vid_scans < len(solver.vals)
    assert graph == _fresh(tree)


def test_the_importers_table_is_read_only_by_an_update_that_changes_imports(tree: Path) -> None:
    """The saved module → importing files table stays pickled through body edits, and an edit
    that changes a file's imports reads it and keeps it right (the graph equals a fresh
    analysis, also after a later edit that removes the import again)."""
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    restored, graph = _restored(analyzer, tree)
    program = restored.program
    assert program is not None and program._importers is None
    m7 = tree / "chain" / "m7.py"
    body = m7.read_text()
    m7.write_text(body + "    y = [g7]\n")
    restored.update([m7])
    assert program._importers is None and program._importers_saved is not None
    # Saved again unread: passed on as it was, and still right once restored.
    again = pickle.loads(pickle.dumps(restored.export_state()))["program"]
    assert program._importers is None
    assert _nonempty(again.importers) == analyzer_importers(tree)
    m7.write_text("import chain.shapes\n" + body)
    restored.update([m7])
    assert program._importers is not None
    assert _nonempty(program.importers) == analyzer_importers(tree)
    assert graph == _fresh(tree)
    m7.write_text(body)
    restored.update([m7])
    assert _nonempty(program.importers) == analyzer_importers(tree)
    assert graph == _fresh(tree)


def analyzer_importers(root: Path) -> dict[str, set[int]]:
    """The importers table of a fresh analysis of ``root`` (built from every file's facts)."""
    fresh = Analyzer(root, CodeGraph("fresh"), workers=1)
    fresh.run()
    assert fresh.program is not None
    return _nonempty(fresh.program.importers)


def _nonempty(importers: dict[str, set[int]]) -> dict[str, set[int]]:
    return {key: files for key, files in importers.items() if files}


def test_a_class_change_after_a_restore_retracts_lookups_made_before_it(tree: Path) -> None:
    """Lookups are not saved: ``Square().run()`` was looked up before the save, and a method
    added to ``Square`` must still move the call to it."""
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    assert ("chain.use.main", "chain.shapes.Base.run") in {
        (e.source, e.target) for e in analyzer.graph.edges()
    }
    restored, graph = _restored(analyzer, tree)
    shapes = tree / "chain" / "shapes.py"
    shapes.write_text(
        shapes.read_text().replace("    pass\n", "    def run(self):\n        return 2\n")
    )
    restored.update([shapes])
    edges = {(e.source, e.target) for e in graph.edges()}
    assert ("chain.use.main", "chain.shapes.Square.run") in edges
    assert ("chain.use.main", "chain.shapes.Base.run") not in edges
    assert graph == _fresh(tree)


def test_who_made_a_classs_lookups_comes_with_its_part(tree: Path) -> None:
    """The records of which constraints looked something up on a class are saved with the
    class's file, not in the core; a lookup made after the restore and the saved ones are all
    retracted when the class changes."""
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    assert "chain.shapes.Square" in analyzer.program.solver.lookup_users  # type: ignore[union-attr]
    restored, graph = _restored(analyzer, tree)
    assert restored.program is not None
    solver = restored.program.solver
    assert not {"chain.shapes.Base", "chain.shapes.Square"} & solver.lookup_users.keys()
    m9 = tree / "chain" / "m9.py"
    m9.write_text(
        "from chain.shapes import Square\n\n\n" + m9.read_text() + "\n\ndef h9():\n"
        "    return Square().run()\n"
    )
    restored.update([m9])
    shapes = tree / "chain" / "shapes.py"
    shapes.write_text(
        shapes.read_text().replace("    pass\n", "    def run(self):\n        return 2\n")
    )
    restored.update([shapes])
    edges = {(e.source, e.target) for e in graph.edges()}
    assert ("chain.use.main", "chain.shapes.Square.run") in edges  # saved lookup
    assert ("chain.m9.h9", "chain.shapes.Square.run") in edges  # lookup made since
    assert graph == _fresh(tree)


def test_lookup_records_made_since_a_restore_join_the_saved_ones() -> None:
    assert _joined(None, 3) == 3
    assert _joined(3, None) == 3
    assert _joined(3, 3) == 3
    assert _joined(3, 4) == {3, 4}
    assert _joined({1, 2}, 3) == {1, 2, 3}
    assert _joined(5, {1, 2}) == {1, 2, 5}


def test_a_restored_analysis_saved_again_is_whole(tree: Path) -> None:
    """Saving a restored analysis that loaded a few parts saves every part (the pending ones
    are loaded first), and the next process continues from it exactly."""
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    first, graph = _restored(analyzer, tree)
    m3 = tree / "chain" / "m3.py"
    m3.write_text(m3.read_text() + "\n\ndef h3():\n    return g3()\n")
    first.update([m3])
    second, graph = _restored(first, tree)
    assert _pending(second) == MODULES + 3
    m20 = tree / "chain" / "m20.py"
    m20.write_text(
        m20.read_text().replace("return f20(1)", "return f20(2) + h()\n\n\ndef h():\n    return 3")
    )
    second.update([m20])
    assert graph == _fresh(tree)


def test_each_files_constraint_list_comes_with_its_part(tree: Path) -> None:
    """The saved core holds no per-file constraint lists: loading a file's part gives its
    list, equal to the saved program's, and loading every part gives the whole table (after an
    update, which renumbers the edited file's constraints, too). Only a whole solve, never a
    restored solver's, reads the table in order."""
    # (The constraints synthesised for a star import are the file's too, but not in its list.)
    (tree / "chain" / "star.py").write_text(
        "from chain.m1 import *\n\n\ndef s():\n    return f1(2)\n"
    )
    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    assert analyzer.program is not None and analyzer.program.solver.star_cons
    m5 = tree / "chain" / "m5.py"
    m5.write_text(m5.read_text() + "\n\ndef h5():\n    return g5() + f5(2)\n")
    analyzer.update([m5])
    assert analyzer.program is not None
    saved = analyzer.program.solver.file_cons
    restored, _graph = _restored(analyzer, tree)
    assert restored.program is not None
    solver = restored.program.solver
    assert solver.file_cons == {}
    number = solver.index.file_numbers["chain/m5.py"]
    solver.load_shard(number)
    assert solver.file_cons == {number: saved[number]}
    solver.load_all()
    assert solver.file_cons == saved


def test_lazy_maps_behave_as_dicts() -> None:
    fetched: list[str] = []

    def fetch(key: str, token: int) -> int:
        fetched.append(key)
        return token * 10

    lazy: LazyMap[str, int] = LazyMap({"a": 1, "b": 2, "c": 3}, fetch)
    assert len(lazy) == 3 and "b" in lazy and "z" not in lazy and fetched == []
    assert lazy["a"] == 10 and lazy.get("b") == 20 and lazy.get("z", -1) == -1
    assert fetched == ["a", "b"]
    lazy["c"] = 7  # a write replaces what was pending, unfetched
    assert lazy.pop("c") == 7 and "c" not in lazy and fetched == ["a", "b"]
    lazy["d"] = 4
    del lazy["a"]
    with pytest.raises(KeyError):
        lazy["a"]
    assert dict(lazy.items()) == {"b": 20, "d": 4} and len(lazy) == 2
    packed = pickle.loads(pickle.dumps(PackedOutputs({"x": [1, 2], "y": "why"})))
    restored = packed.restored()
    assert len(restored) == 2 and dict.__len__(restored) == 0
    assert restored["y"] == "why" and dict.__len__(restored) == 1
    assert restored == {"x": [1, 2], "y": "why"}


def test_a_restored_lookup_through_an_unloaded_subclass_is_compared_when_its_base_changes(
    tmp_path: Path,
) -> None:
    """``Sub().run()`` found ``Base.run`` through ``Mid``. An annotation naming ``run`` in
    ``Mid`` (no value: no variable is written) makes ``Mid`` the definer: only comparing the
    lookup made on ``Sub`` — saved in ``sub.py``'s part, which the edit of ``mid.py`` does not
    load by itself — finds that the call changed."""
    root = tmp_path / "h"
    pkg = root / "h"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text("class Base:\n    def run(self):\n        return 1\n")
    (pkg / "mid.py").write_text("from h.base import Base\n\n\nclass Mid(Base):\n    pass\n")
    (pkg / "sub.py").write_text("from h.mid import Mid\n\n\nclass Sub(Mid):\n    pass\n")
    (pkg / "use.py").write_text("from h.sub import Sub\n\n\ndef main():\n    return Sub().run()\n")
    analyzer = Analyzer(root, CodeGraph("g"), workers=1)
    analyzer.run()
    calls = {(e.source, e.target) for e in analyzer.graph.edges()}
    assert ("h.use.main", "h.base.Base.run") in calls
    restored, graph = _restored(analyzer, root)
    mid = pkg / "mid.py"
    mid.write_text(mid.read_text().replace("    pass\n", "    run: object\n"))
    restored.update([mid])
    fresh = _fresh(root)
    assert ("h.use.main", "h.base.Base.run") not in {(e.source, e.target) for e in fresh.edges()}
    assert graph == fresh


def test_a_pending_files_links_are_computed_from_its_part(tree: Path) -> None:
    """Relinking a file an update never reached (an importer of a module that appeared, say)
    reads its part: the links equal the saved ones (once they came out empty)."""
    from graphlive.analysis.resolve import file_links

    analyzer = Analyzer(tree, CodeGraph("g"), workers=1)
    analyzer.run()
    assert analyzer.program is not None
    restored, _graph = _restored(analyzer, tree)
    assert restored.program is not None
    number = restored.program.index.file_numbers["chain/use.py"]
    assert _pending(restored) == MODULES + 3  # its part among them
    links = file_links(restored.program.solver, number)
    assert links.calls and links == analyzer.program.links[number]
