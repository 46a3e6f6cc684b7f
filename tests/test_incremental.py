"""Incremental re-analysis: the exact events an edit produces, on real files.

Every scenario edits files on disk, calls ``Analyzer.update`` with the changed paths (what the
watcher does), and checks (1) the mutation events, transaction by transaction (each one
file's), and (2) that the graph equals a fresh full analysis of the same tree.

Events are written as ``(type, id)``: node ids, or edge ids ``kind:source->target@line``; a
transaction's events are compared as a sorted list (their order inside one transaction follows
set iteration), the order of the transactions is part of the contract (see
``GraphWriter.write_order``).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from graphlive.analysis import AnalysisSummary, Analyzer
from graphlive.analysis.incremental import Program
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, EdgeKind

Txn = list[tuple[str, str]]


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src(text), encoding="utf-8")


@dataclass
class Project:
    """A tree on disk, its analyzer and graph, and the events of the last update."""

    root: Path
    analyzer: Analyzer
    graph: CodeGraph
    batches: list[list[ChangeEvent]]
    #: The events of the initial full analysis.
    initial: list[ChangeEvent]

    @classmethod
    def create(cls, root: Path, files: Mapping[str, str]) -> Project:
        write(root, files)
        graph = CodeGraph("incremental")
        analyzer = Analyzer(root, graph, workers=1)
        batches: list[list[ChangeEvent]] = []
        graph.listen(lambda batch: batches.append(list(batch)))
        analyzer.run()
        initial = [e for batch in batches for e in batch]
        batches.clear()
        return cls(root, analyzer, graph, batches, initial)

    def update(self, *paths: str) -> AnalysisSummary:
        self.batches.clear()
        summary = self.analyzer.update(list(paths))
        assert self.graph == fresh(self.root), "incremental result differs from a full analysis"
        return summary

    def edit(self, files: Mapping[str, str]) -> AnalysisSummary:
        write(self.root, files)
        return self.update(*files)

    def transactions(self) -> list[Txn]:
        """The mutation events of the last update, one sorted list per transaction."""
        out: list[Txn] = []
        for batch in self.batches:
            events = [event_key(e) for e in batch if e.type.is_mutation]
            if events:
                assert batch[-1].txn is not None and batch[-1].txn.last
                assert len({e.txn.id for e in batch if e.txn is not None}) == 1
                out.append(sorted(events))
        return out

    def mutations(self) -> list[ChangeEvent]:
        return [e for batch in self.batches for e in batch if e.type.is_mutation]


def event_key(event: ChangeEvent) -> tuple[str, str]:
    data = event.data
    if "node" in data:
        return (event.type.value, data["node"]["id"])
    if "edge" in data:
        return (event.type.value, data["edge"]["id"])
    return (event.type.value, data["id"])


def fresh(root: Path) -> CodeGraph:
    graph = CodeGraph("fresh")
    Analyzer(root, graph, workers=1).run()
    return graph


def calls(graph: CodeGraph, caller: str) -> set[str]:
    return {e.target for e in graph.out_edges(caller, EdgeKind.CALLS)}


LIB = {
    "a.py": src(
        """
        def helper():
            pass


        def other():
            pass
        """
    ),
    "b.py": src(
        """
        from a import helper


        def main():
            helper()
        """
    ),
    "c.py": src(
        """
        def alone():
            pass
        """
    ),
}


def test_add_a_function(tmp_path: Path) -> None:
    p = Project.create(tmp_path, LIB)
    summary = p.edit({"a.py": LIB["a.py"] + "\n\ndef added():\n    helper()\n"})
    assert p.transactions() == [
        [
            ("edge_added", "calls:a.added->a.helper@10"),
            ("edge_added", "contains:a->a.added@0"),
            ("node_added", "a.added"),
            ("node_updated", "a"),  # the module got longer
        ]
    ]
    (updated,) = [e for e in p.mutations() if e.type is EventType.NODE_UPDATED]
    assert updated.data["before"] == {"end_line": 6, "end_col": 8, "loc": 4}
    assert updated.data["after"] == {"end_line": 10, "end_col": 12, "loc": 6}
    assert (summary.incremental, summary.files_parsed, summary.files_written) == (True, 1, 1)


def test_remove_a_function_another_file_calls(tmp_path: Path) -> None:
    p = Project.create(tmp_path, LIB)
    p.edit({"a.py": "def other():\n    pass\n"})
    # b.py's call loses its target: b.py's own transaction drops the edge (and its caller now
    # lists the call as unresolved), before a.py's transaction removes the node (no cascade
    # into another file's edges).
    assert p.transactions() == [
        [("edge_removed", "calls:b.main->a.helper@5"), ("node_updated", "b.main")],
        [
            ("edge_removed", "contains:a->a.helper@0"),
            ("node_removed", "a.helper"),
            ("node_updated", "a"),
            ("node_updated", "a.other"),  # moved up
        ],
    ]
    assert calls(p.graph, "b.main") == set()
    assert p.graph.node("b.main").extra == (("unresolved_calls", ((5, "helper"),)),)


def test_rename_a_function(tmp_path: Path) -> None:
    p = Project.create(tmp_path, LIB)
    p.edit({"a.py": LIB["a.py"].replace("def helper", "def assist")})
    assert p.transactions() == [
        [("edge_removed", "calls:b.main->a.helper@5"), ("node_updated", "b.main")],
        [
            ("edge_added", "contains:a->a.assist@0"),
            ("edge_removed", "contains:a->a.helper@0"),
            ("node_added", "a.assist"),
            ("node_removed", "a.helper"),
        ],
    ]
    # The caller renames its import too: now it resolves to the new name.
    p.edit({"b.py": LIB["b.py"].replace("helper", "assist")})
    assert p.transactions() == [
        [("edge_added", "calls:b.main->a.assist@5"), ("node_updated", "b.main")]
    ]


def test_change_a_signature(tmp_path: Path) -> None:
    p = Project.create(
        tmp_path,
        {
            "runner.py": """
                def run(action):
                    return action()
            """,
            "app.py": """
                from runner import run


                def ping():
                    pass


                def pong():
                    pass


                def main():
                    run(ping)
                    run(action=pong)
            """,
        },
    )
    assert calls(p.graph, "runner.run") == {"app.ping", "app.pong"}
    # A new first parameter: ping is now passed as ``task``, only pong is called back.
    summary = p.edit({"runner.py": "def run(task, action=None):\n    return action()\n"})
    assert p.transactions() == [[("edge_removed", "calls:runner.run->app.ping@2")]]
    # app.py's call sites had to be re-solved (they bind the arguments) but its edges are
    # the same: no transaction for it, and it was not parsed again.
    assert summary.files_parsed == 1
    assert summary.files_solved == 2


def test_change_an_import_so_a_call_resolves_elsewhere(tmp_path: Path) -> None:
    files = {**LIB, "c.py": "def helper():\n    return 1\n"}
    p = Project.create(tmp_path, files)
    summary = p.edit({"b.py": LIB["b.py"].replace("from a import", "from c import")})
    assert p.transactions() == [
        [
            ("edge_added", "calls:b.main->c.helper@5"),
            ("edge_added", "imports:b->c@1"),
            ("edge_removed", "calls:b.main->a.helper@5"),
            ("edge_removed", "imports:b->a@1"),
        ]
    ]
    assert (summary.files_parsed, summary.files_written) == (1, 1)


def test_a_method_added_to_a_base_class_resolves_a_subclass_call(tmp_path: Path) -> None:
    base = src(
        """
        class Base:
            def run(self):
                pass
        """
    )
    p = Project.create(
        tmp_path,
        {
            "base.py": base,
            "child.py": """
                from base import Base


                class Child(Base):
                    pass


                def main():
                    Child().extra()
            """,
        },
    )
    assert calls(p.graph, "child.main") == {"child.Child"}  # extra() unresolved
    p.edit({"base.py": base + "\n    def extra(self):\n        pass\n"})
    # base.py adds the method first; child.py's transaction then only adds its call edge (its
    # caller no longer lists the call as unresolved).
    assert p.transactions() == [
        [
            ("edge_added", "contains:base.Base->base.Base.extra@0"),
            ("node_added", "base.Base.extra"),
            ("node_updated", "base"),
            ("node_updated", "base.Base"),
        ],
        [("edge_added", "calls:child.main->base.Base.extra@9"), ("node_updated", "child.main")],
    ]
    assert p.graph.node("child.main").extra == ()


def test_delete_a_module(tmp_path: Path) -> None:
    p = Project.create(tmp_path, LIB)
    (tmp_path / "a.py").unlink()
    summary = p.update("a.py")
    # a.py's nodes go; b.py's import and call now name something outside the tree, so they
    # point at external nodes of the same ids: b.py's transaction puts its edges back after
    # the removal took them along.
    assert p.transactions() == [
        [
            ("edge_removed", "calls:b.main->a.helper@5"),
            ("edge_removed", "contains:a->a.helper@0"),
            ("edge_removed", "contains:a->a.other@0"),
            ("edge_removed", "imports:b->a@1"),
            ("node_removed", "a"),
            ("node_removed", "a.helper"),
            ("node_removed", "a.other"),
        ],
        [
            ("edge_added", "calls:b.main->a.helper@5"),
            ("edge_added", "imports:b->a@1"),
            ("node_added", "a"),
            ("node_added", "a.helper"),
        ],
    ]
    assert p.graph.node("a").kind.value == "external"
    assert p.graph.nodes_in_file("a.py") == set() and p.graph.edges_of_file("a.py") == set()
    assert summary.files_parsed == 0


def test_delete_a_module_nothing_imports(tmp_path: Path) -> None:
    p = Project.create(tmp_path, LIB)
    (tmp_path / "c.py").unlink()
    p.update("c.py")
    assert p.transactions() == [
        [
            ("edge_removed", "contains:c->c.alone@0"),
            ("node_removed", "c"),
            ("node_removed", "c.alone"),
        ]
    ]


def test_delete_an_imported_module_in_a_namespace_directory(tmp_path: Path) -> None:
    # The last module of a namespace directory: the tree's structure changes (the namespace
    # goes), so the whole program is resolved again; the importer's edges must survive the
    # removal of the module they pointed at (they now point at externals of the same ids).
    p = Project.create(
        tmp_path,
        {
            "tools/util.py": "def work():\n    pass\n",
            "app.py": "import tools.util\ntools.util.work()\n",
        },
    )
    (tmp_path / "tools" / "util.py").unlink()
    summary = p.update("tools/util.py")
    assert not summary.incremental
    assert {e.id for e in p.graph.edges()} == {
        "imports:app->tools.util@1",
        "calls:app->tools.util.work@2",
    }
    assert {n.id: n.kind.value for n in p.graph.nodes()} == {
        "app": "module",
        "tools.util": "external",
        "tools.util.work": "external",
    }


def test_method_body_change_rebinds_inherited_calls(tmp_path: Path) -> None:
    # Base.work is bound to the first class of the receiver's MRO that defines an attribute
    # it uses on self: that choice changes when its body uses other attributes.
    base = src(
        """
        class Base:
            def helper(self):
                pass

            def work(self):
                self.helper()


        class Sub(Base):
            def extra(self):
                pass


        def main():
            Sub().work()
        """
    )
    p = Project.create(tmp_path, {"m.py": base})
    assert calls(p.graph, "m.Base.work") == {"m.Base.helper"}
    p.edit({"m.py": base.replace("self.helper()", "self.extra()")})
    assert calls(p.graph, "m.Base.work") == {"m.Sub.extra"}


def test_changing_a_base_class_redoes_lookups_through_it(tmp_path: Path) -> None:
    shapes = src(
        """
        class Round:
            def area(self):
                pass


        class Square:
            def area(self):
                pass
        """
    )
    use = src(
        """
        from shapes import Round, Square


        class Tile(Round):
            pass


        def main():
            Tile().area()
        """
    )
    p = Project.create(tmp_path, {"shapes.py": shapes, "use.py": use})
    assert calls(p.graph, "use.main") == {"use.Tile", "shapes.Round.area"}
    summary = p.edit({"use.py": use.replace("class Tile(Round)", "class Tile(Square)")})
    assert p.transactions() == [
        [
            ("edge_added", "calls:use.main->shapes.Square.area@9"),
            ("edge_added", "inherits:use.Tile->shapes.Square@4"),
            ("edge_removed", "calls:use.main->shapes.Round.area@9"),
            ("edge_removed", "inherits:use.Tile->shapes.Round@4"),
        ]
    ]
    # use.py, and shapes.py whose methods' ``self`` was bound by the call.
    assert summary.files_solved == 2


def test_star_imports(tmp_path: Path) -> None:
    tools = src(
        """
        __all__ = ["work"]


        def work():
            pass


        def rest():
            pass
        """
    )
    app = src(
        """
        from tools import *


        def main():
            work()
            rest()
        """
    )
    p = Project.create(tmp_path, {"tools.py": tools, "app.py": app})
    assert calls(p.graph, "app.main") == {"tools.work"}
    # A body edit of the star-imported module: still incremental.
    summary = p.edit(
        {"tools.py": tools.replace("def rest():\n    pass", "def rest():\n    work()")}
    )
    assert summary.incremental
    assert p.transactions() == [
        [
            ("edge_added", "calls:tools.rest->tools.work@9"),
            ("node_updated", "tools"),  # its last column
            ("node_updated", "tools.rest"),
        ]
    ]
    # Exporting one more name changes what ``from tools import *`` brings: app.main's second
    # call now resolves. (The names feed other modules' names: the program is solved again.)
    summary = p.edit({"tools.py": tools.replace('["work"]', '["work", "rest"]')})
    assert summary.fallback == "star-import"
    assert calls(p.graph, "app.main") == {"tools.work", "tools.rest"}


def test_burst_deleting_a_module_and_one_that_imports_it(tmp_path: Path) -> None:
    # app.py's import of ``top`` survives as an import of an external: app.py's transaction
    # must come after top.py's removal, although base.py (also deleted) would prefer app.py
    # first and top.py after base.py.
    p = Project.create(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/base.py": "import top\n",
            "top.py": "x = 1\n",
            "pkg/app.py": "import pkg.base\nimport top\n",
        },
    )
    (tmp_path / "pkg" / "base.py").unlink()
    (tmp_path / "top.py").unlink()
    p.update("pkg/base.py", "top.py")
    assert {e.id for e in p.graph.edges()} >= {"imports:pkg.app->top@2"}


def test_a_new_module_changes_what_a_star_import_brings(tmp_path: Path) -> None:
    p = Project.create(tmp_path, {"app.py": "from tools import *\n\nwork()\n"})
    assert calls(p.graph, "app") == {"tools.work"}  # an external star import: its name
    summary = p.edit({"tools.py": "def helper():\n    pass\n"})
    assert summary.fallback == "star-import"
    assert calls(p.graph, "app") == set()  # tools.py has no ``work``


def test_rename_a_file(tmp_path: Path) -> None:
    p = Project.create(tmp_path, LIB)
    os.replace(tmp_path / "c.py", tmp_path / "d.py")
    summary = p.update("c.py", "d.py")
    assert p.transactions() == [
        [
            ("edge_removed", "contains:c->c.alone@0"),
            ("node_removed", "c"),
            ("node_removed", "c.alone"),
        ],
        [
            ("edge_added", "contains:d->d.alone@0"),
            ("node_added", "d"),
            ("node_added", "d.alone"),
        ],
    ]
    assert summary.files_parsed == 1


def test_new_file_resolves_a_previously_unresolved_import(tmp_path: Path) -> None:
    p = Project.create(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/use.py": """
                import pkg.tools


                def main():
                    pkg.tools.work()
            """,
        },
    )
    unresolved = [e.data for e in p.initial if e.type is EventType.DIAGNOSTIC]
    assert [(d["file"], d["code"]) for d in unresolved] == [("pkg/use.py", "unresolved-import")]
    assert calls(p.graph, "pkg.use.main") == set()
    summary = p.edit({"pkg/tools.py": "def work():\n    pass\n"})
    assert p.transactions() == [
        [
            ("edge_added", "contains:pkg->pkg.tools@0"),
            ("edge_added", "contains:pkg.tools->pkg.tools.work@0"),
            ("node_added", "pkg.tools"),
            ("node_added", "pkg.tools.work"),
        ],
        [
            ("edge_added", "calls:pkg.use.main->pkg.tools.work@5"),
            ("edge_added", "imports:pkg.use->pkg.tools@1"),
            ("node_updated", "pkg.use.main"),  # no unresolved call left
        ],
    ]
    # The unresolved-import diagnostic is gone: pkg/use.py re-emitted none.
    assert not [e for batch in p.batches for e in batch if e.type is EventType.DIAGNOSTIC]
    assert summary.files_parsed == 1 and summary.incremental


def test_checkout_burst(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": ""}
    for i in range(30):
        files[f"pkg/m{i}.py"] = f"from pkg.m{(i + 1) % 30} import f{(i + 1) % 30}\n\n\n" + (
            f"def f{i}():\n    return f{(i + 1) % 30}()\n"
        )
    p = Project.create(tmp_path, files)
    # A branch switch: 10 files rewritten, 5 deleted, 5 new, reported as one burst.
    changed: dict[str, str] = {}
    for i in range(10):
        changed[f"pkg/m{i}.py"] = f"def f{i}():\n    return {i}\n"
    for i in range(30, 35):
        changed[f"pkg/m{i}.py"] = f"from pkg.m0 import f0\n\n\ndef f{i}():\n    f0()\n"
    write(tmp_path, changed)
    deleted = [f"pkg/m{i}.py" for i in range(25, 30)]
    for rel in deleted:
        (tmp_path / rel).unlink()
    summary = p.update(*changed, *deleted)
    owners: list[set[str]] = []
    for batch in p.batches:
        files_of_txn = {
            e.data.get("node", e.data.get("edge", {})).get("file")
            for e in batch
            if e.type.is_mutation and e.type is not EventType.NODE_UPDATED
        } - {None}
        if files_of_txn:
            owners.append(files_of_txn)
    # One transaction per file that changed, each about that file only: the 10 rewritten,
    # 5 new, 5 deleted, and m24 whose import of the deleted m25 no longer resolves.
    touched = set(changed) | set(deleted) | {"pkg/m24.py"}
    assert all(len(owner) == 1 for owner in owners)
    assert sorted(owner.pop() for owner in owners) == sorted(touched)
    assert summary.files_parsed == 15
    assert summary.files_written == len(touched)


def test_unchanged_reanalysis_emits_no_mutation(tmp_path: Path) -> None:
    p = Project.create(tmp_path, LIB)
    summary = p.update("a.py", "b.py", "c.py")
    assert p.mutations() == []
    assert {e.type for batch in p.batches for e in batch} <= {
        EventType.ANALYSIS_STARTED,
        EventType.ANALYSIS_PROGRESS,
        EventType.ANALYSIS_COMPLETED,
    }
    assert summary.files_written == 0
    # Touching a file (same bytes, new mtime) and a full re-run: still nothing.
    os.utime(tmp_path / "a.py")
    p.update("a.py")
    p.batches.clear()
    p.analyzer.run()
    assert p.mutations() == []


def test_gitignored_files_are_not_analysed(tmp_path: Path) -> None:
    p = Project.create(
        tmp_path,
        {
            ".gitignore": "generated/\nscratch_*.py\n",
            "a.py": "def f():\n    pass\n",
            "generated/out.py": "def gen():\n    pass\n",
            "scratch_1.py": "def s():\n    pass\n",
        },
    )
    assert {n.id for n in p.graph.nodes()} == {"a", "a.f"}
    p.edit({"generated/more.py": "x = 1\n", "scratch_2.py": "y = 2\n"})
    assert p.mutations() == []
    # Un-ignoring a pattern brings the files in: the rules are re-read and the tree walked
    # again; only the files that appeared are parsed.
    summary = p.edit({".gitignore": "generated/\n"})
    assert {"scratch_1", "scratch_2"} <= {n.id for n in p.graph.nodes()}
    assert summary.files_parsed == 2


def test_a_failed_update_is_followed_by_a_full_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = Project.create(tmp_path, LIB)

    def explode(self: Program, changes: object) -> None:
        raise RuntimeError("solver exploded")

    with monkeypatch.context() as patch:
        patch.setattr(Program, "update", explode)
        write(tmp_path, {"c.py": "def alone():\n    return 1\n\n\ndef more():\n    pass\n"})
        with pytest.raises(RuntimeError, match="solver exploded"):
            p.analyzer.update(["c.py"])
    assert [e.data["error"] for b in p.batches for e in b if e.type is EventType.ANALYSIS_FAILED]
    # The next update does not build on the half-updated state: it analyses everything.
    summary = p.update("c.py")
    assert not summary.incremental and "c.more" in p.graph
