"""JavaScript and TypeScript through tree-sitter: extraction, resolution across modules, ids,
and bad input (issue 21, step 1: the analysis itself, not yet wired into ``analyze``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlive.analysis.polyglot import language_of
from graphlive.analysis.polyglot.analyses import analyze_group
from graphlive.analysis.polyglot.javascript import extract_script
from graphlive.graph import EdgeKind, NodeKind
from tests.polyglot_trees import node_ids

FIXTURE = Path(__file__).parent / "analysis_fixtures" / "scripts"

#: Every call edge the fixture must give (caller, callee, line); nothing else may appear.
EXPECTED_CALLS = {
    # ES modules, TypeScript: re-exports through an index file, default exports, namespaces
    ("web/app.ts:main.local", "web/lib/base.ts:helper", 7),
    ("web/app.ts:main", "web/lib/geometry.ts:Circle.constructor", 9),  # new C() → constructor
    ("web/app.ts:main", "web/lib/geometry.ts:Circle.describe", 10),  # c = new C(); c.m()
    ("web/app.ts:main", "web/lib/geometry.ts:square", 11),  # export * as geometry
    ("web/app.ts:main", "web/lib/base.ts:helper", 12),  # ns.default
    ("web/app.ts:main", "npm:react:useState", 13),
    ("web/app.ts:main", "npm:react:createElement", 14),  # default import of a package
    ("web/app.ts:main", "web/app.ts:main.local", 16),  # nested function
    ("web/app.ts:main", "web/lib/geometry.ts:Circle.area", 16),
    ("web/app.ts:App.run", "web/app.ts:main", 21),
    ("web/app.ts:App.run", "web/app.ts:App.start", 22),  # this.m()
    ("web/app.ts:App.start", "web/lib/base.ts:Base.constructor", 25),
    ("web/app.ts:App.start", "web/lib/base.ts:Base.describe", 25),  # new C().m()
    ("web/lib/geometry.ts:Circle.constructor", "web/lib/base.ts:Base.constructor", 9),  # super()
    ("web/lib/geometry.ts:Circle.area", "web/lib/geometry.ts:square", 12),
    ("web/lib/geometry.ts:Circle.describe", "web/lib/base.ts:Base.log", 15),  # inherited
    ("web/lib/geometry.ts:Circle.describe", "web/lib/base.ts:Base.describe", 16),  # super.m()
    # CommonJS
    ("web/cjs/main.js:Counter.inc", "web/cjs/util.js:add", 10),  # destructured require
    ("web/cjs/main.js:run", "web/cjs/main.js:Counter.constructor", 15),
    ("web/cjs/main.js:run", "web/cjs/main.js:Counter.inc", 16),
    ("web/cjs/main.js:run", "web/cjs/util.js:twice", 17),  # module.exports.twice
    ("web/cjs/main.js:run", "npm:path:join", 18),
    ("web/cjs/util.js:twice", "web/cjs/util.js:add", 6),
    # JSX
    ("web/view.jsx:Page", "web/cjs/util.js:add", 4),
    ("web/view.jsx:Page", "web/view.jsx:label", 8),  # inside a JSX attribute
    ("web/view.jsx:Page", "web/view.jsx:Page.inner", 8),  # inside a JSX child
}


def _rels(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if language_of(p.name) is not None
    )


def _calls(root: Path) -> set[tuple[str, str, int]]:
    analysis = analyze_group("scripts", root, _rels(root))
    return {
        (e.source, e.target, e.line)
        for out in analysis.outputs
        for e in out.edges.values()
        if e.kind is EdgeKind.CALLS
    }


def test_calls_across_modules_resolve_exactly_as_expected() -> None:
    found = _calls(FIXTURE)
    missed = EXPECTED_CALLS - found
    invented = found - EXPECTED_CALLS
    assert not missed and not invented, (sorted(missed), sorted(invented))


def test_what_does_not_resolve_is_listed_on_its_caller_not_guessed() -> None:
    analysis = analyze_group("scripts", FIXTURE, _rels(FIXTURE))
    nodes = {n.id: n for out in analysis.outputs for n in out.nodes.values()}
    assert dict(nodes["web/app.ts:main"].extra)["unresolved_calls"] == ((15, "unknownThing"),)
    app = next(o for o in analysis.outputs if o.file == "web/app.ts")
    assert (app.calls_total, app.calls_resolved) == (14, 13)


def test_nodes_carry_language_kind_file_and_line() -> None:
    analysis = analyze_group("scripts", FIXTURE, _rels(FIXTURE))
    nodes = {n.id: n for out in analysis.outputs for n in out.nodes.values()}
    assert nodes["web/lib/geometry.ts"].kind is NodeKind.MODULE
    circle = nodes["web/lib/geometry.ts:Circle"]
    assert (circle.kind, circle.language, circle.file, circle.line) == (
        NodeKind.CLASS, "typescript", "web/lib/geometry.ts", 7,
    )  # fmt: skip
    shape = nodes["web/lib/base.ts:Shape"]
    assert (shape.kind, shape.extra) == (NodeKind.INTERFACE, ())
    assert nodes["web/lib/base.ts:Shape.area"].kind is NodeKind.METHOD
    assert nodes["web/cjs/util.js:add"].language == "javascript"
    assert nodes["web/view.jsx:Page"].kind is NodeKind.FUNCTION
    assert analysis.externals["npm:react:useState"].kind is NodeKind.EXTERNAL
    edges = {(e.kind, e.source, e.target) for out in analysis.outputs for e in out.edges.values()}
    hierarchy = {e for e in edges if e[0] in (EdgeKind.INHERITS, EdgeKind.IMPLEMENTS)}
    assert hierarchy == {
        (EdgeKind.INHERITS, "web/lib/geometry.ts:Circle", "web/lib/base.ts:Base"),  # extends
        (EdgeKind.IMPLEMENTS, "web/lib/geometry.ts:Circle", "web/lib/base.ts:Shape"),
    }
    assert (EdgeKind.IMPORTS, "web/app.ts", "web/lib/index.ts") in edges  # ./lib → index
    assert (EdgeKind.IMPORTS, "web/lib/index.ts", "web/lib/geometry.ts") in edges  # .js → .ts
    circle_area = "web/lib/geometry.ts:Circle.area"
    assert (EdgeKind.CONTAINS, "web/lib/geometry.ts:Circle", circle_area) in edges


def test_interfaces_extend_by_inherits_and_classes_implement_by_implements(
    tmp_path: Path,
) -> None:
    (tmp_path / "t.ts").write_text(
        "interface A { a(): void }\n"
        "interface B extends A { b(): void }\n"
        "class C implements B { a() {} b() {} }\n"
        "class D extends C implements A {}\n"
    )
    analysis = analyze_group("scripts", tmp_path, ["t.ts"])
    kinds = {n.name: n.kind for out in analysis.outputs for n in out.nodes.values()}
    assert (kinds["A"], kinds["B"], kinds["C"], kinds["D"]) == (
        NodeKind.INTERFACE, NodeKind.INTERFACE, NodeKind.CLASS, NodeKind.CLASS,
    )  # fmt: skip
    edges = {
        (e.kind, e.source, e.target)
        for out in analysis.outputs
        for e in out.edges.values()
        if e.kind in (EdgeKind.INHERITS, EdgeKind.IMPLEMENTS)
    }
    assert edges == {
        (EdgeKind.INHERITS, "t.ts:B", "t.ts:A"),
        (EdgeKind.IMPLEMENTS, "t.ts:C", "t.ts:B"),
        (EdgeKind.INHERITS, "t.ts:D", "t.ts:C"),
        (EdgeKind.IMPLEMENTS, "t.ts:D", "t.ts:A"),
    }


def test_ids_are_stable_when_other_files_change(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(FIXTURE, tmp_path / "t")
    root = tmp_path / "t"
    before = node_ids(analyze_group("scripts", root, _rels(root)))
    util = root / "web" / "cjs" / "util.js"
    util.write_text("// a comment moves every line\n" + util.read_text())
    after = node_ids(analyze_group("scripts", root, _rels(root)))
    assert before == after


def test_a_syntax_error_is_reported_and_what_parsed_is_kept() -> None:
    data = b"function ok() { return 1; }\nfunction broken( {\n\nfunction later() { ok(); }\n"
    facts = extract_script("bad.js", data)
    assert [d.code for d in facts.diagnostics] and facts.diagnostics[0].code == "syntax-error"
    assert facts.diagnostics[0].line >= 2
    assert "ok" in {d.qualname for d in facts.defs}


def test_minified_bundles_and_huge_files_are_skipped_with_a_diagnostic() -> None:
    bundle = b"var a=1;" * 2000  # one 16 kB line
    facts = extract_script("dist/app.min.js", bundle)
    assert [d.code for d in facts.diagnostics] == ["generated-file"] and not facts.defs
    big = extract_script("big.js", b"function f() {}\n" * 100, max_bytes=1000)
    assert [d.code for d in big.diagnostics] == ["generated-file"] and not big.defs


def test_undecodable_bytes_and_vanished_files_do_not_stop_the_analysis(tmp_path: Path) -> None:
    (tmp_path / "odd.js").write_bytes(b"function f\xff\xfe() { g(); }\nfunction g() {}\n")
    analysis = analyze_group("scripts", tmp_path, ["odd.js", "gone.ts"])
    by_file = {o.file: o for o in analysis.outputs}
    assert "odd.js:g" in by_file["odd.js"].nodes
    assert [d.code for d in by_file["gone.ts"].diagnostics] == ["unreadable"]
    assert list(by_file["gone.ts"].nodes) == ["gone.ts"]  # the module node stays


@pytest.mark.parametrize(
    ("name", "language"),
    [("a.ts", "typescript"), ("a.tsx", "typescript"), ("a.mjs", "javascript"),
     ("a.jsx", "javascript"), ("a.d.ts", None), ("a.py", None)],
)  # fmt: skip
def test_languages_by_file_name(name: str, language: str | None) -> None:
    assert language_of(name) == language
