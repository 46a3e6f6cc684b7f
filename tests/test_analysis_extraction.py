"""Extraction: node ids and kinds, node fields, the containment tree, edge ownership."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from graphlive.analysis.source_metrics import doc_summary
from graphlive.graph import EdgeKind, NodeKind
from tests.analysis_fixtures import analyze, ids

SHAPES = """
\"\"\"Shapes module.

Longer description that is not part of the summary.
\"\"\"

import math


class Shape:
    \"\"\"A shape.\"\"\"

    def area(self):
        raise NotImplementedError

    class Meta:
        def info(self):
            return "meta"


def describe(shape, verbose=False):
    \"\"\"Describe a shape
    on two lines.

    Details.
    \"\"\"
    # a comment line

    def fmt(x):
        return f"{x:.2f}"

    key = lambda s: s.area()
    other = lambda s: (lambda t: t)(s)
    if verbose and shape:
        for i in range(3):
            if i > 1 or i < 0:
                pass
    elif shape is None:
        pass
    while False:
        pass
    try:
        pass
    except ValueError:
        pass
    except KeyError:
        pass
    values = [v for v in range(3) if v]
    return fmt(key(shape)) if values else other


async def fetch():
    yield 1


top = lambda: None
"""


def test_ids_kinds_and_lambda_numbering(tmp_path: Path) -> None:
    run = analyze(tmp_path, {"geo/__init__.py": '"""Geo."""\n', "geo/shapes.py": SHAPES})
    nodes = {n.id: n.kind for n in run.graph.nodes() if n.file is not None}
    assert nodes == {
        "geo": NodeKind.PACKAGE,
        "geo.shapes": NodeKind.MODULE,
        "geo.shapes.Shape": NodeKind.CLASS,
        "geo.shapes.Shape.area": NodeKind.METHOD,
        "geo.shapes.Shape.Meta": NodeKind.CLASS,
        "geo.shapes.Shape.Meta.info": NodeKind.METHOD,
        "geo.shapes.describe": NodeKind.FUNCTION,
        "geo.shapes.describe.fmt": NodeKind.FUNCTION,
        "geo.shapes.describe.<lambda1>": NodeKind.LAMBDA,
        "geo.shapes.describe.<lambda2>": NodeKind.LAMBDA,
        "geo.shapes.describe.<lambda2>.<lambda1>": NodeKind.LAMBDA,
        "geo.shapes.fetch": NodeKind.FUNCTION,
        "geo.shapes.<lambda1>": NodeKind.LAMBDA,
    }
    # pkg/__init__.py is the package node itself: no separate module node.
    assert run.graph.node("geo").file == "geo/__init__.py"
    assert "geo.__init__" not in run.graph
    contains = run.edges(EdgeKind.CONTAINS)
    assert contains == {
        ("geo", "geo.shapes"),
        ("geo.shapes", "geo.shapes.Shape"),
        ("geo.shapes.Shape", "geo.shapes.Shape.area"),
        ("geo.shapes.Shape", "geo.shapes.Shape.Meta"),
        ("geo.shapes.Shape.Meta", "geo.shapes.Shape.Meta.info"),
        ("geo.shapes", "geo.shapes.describe"),
        ("geo.shapes.describe", "geo.shapes.describe.fmt"),
        ("geo.shapes.describe", "geo.shapes.describe.<lambda1>"),
        ("geo.shapes.describe", "geo.shapes.describe.<lambda2>"),
        ("geo.shapes.describe.<lambda2>", "geo.shapes.describe.<lambda2>.<lambda1>"),
        ("geo.shapes", "geo.shapes.fetch"),
        ("geo.shapes", "geo.shapes.<lambda1>"),
    }
    # Lambdas are callable like functions: the call site in describe reaches lambda1.
    assert "geo.shapes.describe.<lambda1>" in run.calls("geo.shapes.describe")


def test_node_fields(tmp_path: Path) -> None:
    run = analyze(tmp_path, {"geo/__init__.py": "", "geo/shapes.py": SHAPES})
    module = run.graph.node("geo.shapes")
    assert (module.file, module.line, module.col) == ("geo/shapes.py", 1, 0)
    assert module.end_line == len(SHAPES.lstrip("\n").splitlines())
    assert module.doc == "Shapes module."
    describe = run.graph.node("geo.shapes.describe")
    assert describe.file == "geo/shapes.py"
    assert (describe.line, describe.col) == (20, 0)
    assert describe.end_line == 48
    assert describe.end_col == len("    return fmt(key(shape)) if values else other")
    assert describe.doc == "Describe a shape on two lines."
    # 1 + if + and + for + if + or + elif + while + 2 except + comprehension for + its if
    # + the conditional expression of the return = 13
    assert describe.complexity == 13
    # Lines 20..48 minus three blank lines and one comment-only line.
    assert describe.loc == 29 - 4
    area = run.graph.node("geo.shapes.Shape.area")
    assert (area.line, area.end_line, area.col, area.complexity, area.loc) == (12, 13, 4, 1, 2)
    assert run.graph.node("geo.shapes.Shape").doc == "A shape."
    assert run.graph.node("geo.shapes.Shape").complexity is None
    lam = run.graph.node("geo.shapes.describe.<lambda1>")
    assert (lam.name, lam.line, lam.col) == ("<lambda1>", 31, 10)
    fetch = run.graph.node("geo.shapes.fetch")
    assert dict(fetch.extra) == {"async": True, "generator": True}


def test_doc_summary_rules() -> None:
    assert doc_summary("\n\n  First line\n  continues.\n\n  Second paragraph.") == (
        "First line continues."
    )
    assert doc_summary("   ") is None
    assert doc_summary("x" * 500) == "x" * 239 + "…"


def test_every_edge_is_owned_by_exactly_one_file(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "pkg/__init__.py": "from .a import f\n",
            "pkg/a.py": "import os\ndef f():\n    return os.getcwd()\n",
            "pkg/b.py": "from pkg import f\nclass C(dict):\n    def m(self):\n        f()\n",
        },
    )
    owned: Counter[object] = Counter()
    for file in ("pkg/__init__.py", "pkg/a.py", "pkg/b.py"):
        for key in run.graph.edges_of_file(file):
            owned[key] += 1
    assert set(owned) == {e.key for e in run.graph.edges()}
    assert set(owned.values()) == {1}
    # The call edge belongs to the file with the call site, not the callee's file.
    (edge,) = [e for e in run.graph.edges() if e.kind is EdgeKind.CALLS and e.target == "pkg.a.f"]
    assert (edge.source, edge.file, edge.line) == ("pkg.b.C.m", "pkg/b.py", 4)
    inherits = [e for e in run.graph.edges() if e.kind is EdgeKind.INHERITS]
    assert [(e.source, e.target, e.file) for e in inherits] == [
        ("pkg.b.C", "<builtin>.dict", "pkg/b.py")
    ]


def test_namespace_packages_and_imports_edges(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "tools/scripts/run.py": "import json\nfrom tools.scripts import helper\n",
            "tools/scripts/helper.py": "",
            "setup.py": "import tools.scripts.run\n",
        },
    )
    for ns in ("tools", "tools.scripts"):
        node = run.graph.node(ns)
        assert node.kind is NodeKind.PACKAGE
        assert node.file is None
        assert dict(node.extra) == {"namespace": True}
    assert run.edges(EdgeKind.CONTAINS) == {
        ("tools", "tools.scripts"),
        ("tools.scripts", "tools.scripts.run"),
        ("tools.scripts", "tools.scripts.helper"),
    }
    assert run.edges(EdgeKind.IMPORTS) == {
        ("tools.scripts.run", "json"),
        ("tools.scripts.run", "tools.scripts.helper"),
        ("setup", "tools.scripts.run"),
    }
    assert run.graph.node("json").kind is NodeKind.EXTERNAL
    assert run.graph.node("setup").file == "setup.py"


def test_root_that_is_a_package_prefixes_ids(tmp_path: Path) -> None:
    (tmp_path / "outer").mkdir()
    (tmp_path / "outer" / "__init__.py").write_text("")
    root = tmp_path / "outer" / "mylib"
    run = analyze(
        root,
        {
            "__init__.py": "from .core import go\n",
            "core.py": """
                from ..outside import thing
                from ... import nothing
                def go():
                    thing()
            """,
        },
    )
    assert ids(run, "outer.mylib") == {"outer.mylib", "outer.mylib.core", "outer.mylib.core.go"}
    assert run.graph.node("outer.outside.thing").kind is NodeKind.EXTERNAL
    assert run.graph.node("outer.mylib").file == "__init__.py"
    assert run.graph.node("outer.mylib.core").file == "core.py"
    # A relative import out of the root names a module outside the tree: external.
    assert run.calls("outer.mylib.core.go") == {"outer.outside.thing"}
    # One level too far is an error Python would raise: a diagnostic, no edge.
    (diag,) = run.diagnostics("relative-import-beyond-top")
    assert (diag["file"], diag["line"]) == ("core.py", 2)


def test_src_layout_and_script_directories(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "src/app/__init__.py": "",
            "src/app/core.py": "def start(): pass\n",
            "scripts/tool.py": """
                import common
                from app.core import start
                common.util()
                start()
            """,
            "scripts/common.py": "def util(): pass\n",
        },
    )
    # src/ is a source root: its package is named as imported.
    assert run.calls("scripts.tool") == {"scripts.common.util", "app.core.start"}


def test_redefinitions_and_init_name_collisions(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {
            "pkg/__init__.py": "def util():\n    pass\n",
            "pkg/util.py": "def helper(): pass\n",
            "m.py": """
                import sys
                if sys.platform == "win32":
                    def f():
                        return 1
                else:
                    def f():
                        return 2
                class P:
                    @property
                    def x(self): pass
                    @x.setter
                    def x(self, value): pass
            """,
        },
    )
    # One node per id: the first definition keeps it.
    f = run.graph.node("m.f")
    assert (f.line, f.end_line) == (3, 4)
    assert run.graph.node("m.P.x").line == 10
    # pkg/__init__.py's function named like the submodule pkg/util.py.
    assert run.graph.node("pkg.util").kind is NodeKind.MODULE
    assert run.graph.node("pkg.__init__.util").kind is NodeKind.FUNCTION
    assert run.graph.node("pkg.__init__.util").file == "pkg/__init__.py"


def test_shadowed_module_keeps_a_node(tmp_path: Path) -> None:
    run = analyze(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/mod.py": "def a(): pass\n", "pkg/mod/__init__.py": ""},
    )
    assert run.graph.node("pkg.mod").file == "pkg/mod/__init__.py"
    assert run.graph.node("pkg/mod.py").file == "pkg/mod.py"
    assert run.diagnostics("shadowed-module")[0]["file"] == "pkg/mod.py"
