"""Go through tree-sitter: extraction, resolution across packages, ids, and bad input (the Go
step of issue 21: the analysis itself, not yet wired into ``analyze``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from graphlive.analysis.polyglot.analyses import analyze_group
from graphlive.analysis.polyglot.go import GoBinding, GoImport, extract_go
from graphlive.analysis.polyglot.outputs import LanguageAnalysis
from graphlive.analysis.polyglot.resolve_go import read_modules
from graphlive.graph import EdgeKind, Node, NodeKind

FIXTURE = Path(__file__).parent / "analysis_fixtures" / "go"

_M, _R = "main.go", "report.go"
_STORE, _BASE, _COUNT = "store/store.go", "store/base.go", "store/count.go"
_PAY, _WALLET = "payment/payment.go", "payment/wallet.go"
#: A call through a payment.Method: the interface's method and both implementations.
_PAYS = (f"{_PAY}:Method.Pay", f"{_PAY}:Card.Pay", f"{_WALLET}:Wallet.Pay")
_NAMES = (f"{_PAY}:Namer.Name", f"{_PAY}:Card.Name", f"{_WALLET}:Wallet.Name")

#: Every call edge the fixture must give (caller, callee, line); nothing else may appear.
EXPECTED_CALLS = {
    (f"{_M}:main", f"{_STORE}:NewStore", 11),  # pkg.F()
    (f"{_M}:main", f"{_STORE}:Store.Add", 12),  # s := NewStore() (returns *Store); s.M()
    (f"{_M}:main", f"{_BASE}:Base.Log", 13),  # promoted from the embedded Base
    (f"{_M}:main", f"{_WALLET}:NewWallet", 14),  # through an import alias
    (f"{_M}:main", f"{_M}:checkout", 15),
    (f"{_M}:main", f"{_STORE}:Store.Total", 15),  # value receiver through a *Store
    (f"{_M}:main", f"{_M}:checkout", 16),
    (f"{_M}:main", f"{_PAY}:Card.Pay", 17),  # T{}.M()
    (f"{_M}:main", f"{_R}:report", 18),  # another file of the same package
    (f"{_M}:main", "go:fmt:Println", 19),  # standard library
    (f"{_M}:main", f"{_R}:lookup", 20),  # lookup("tea")(): the inner call only
    *((f"{_M}:checkout", pay, 24) for pay in _PAYS),  # m.Pay() on an interface parameter
    (f"{_M}:checkout", "go:fmt:Println", 25),
    *((f"{_M}:checkout", name, 25) for name in _NAMES),  # from the embedded interface
    (f"{_M}:checkout", "go:builtin:error.Error", 25),  # err := m.Pay(): its declared result
    *((f"{_R}:Till.Charge", pay, 18) for pay in _PAYS),  # t.method.Pay(): a field's type
    (f"{_R}:report", "go:fmt:Printf", 22),
    (f"{_R}:report", f"{_STORE}:Store.Total", 22),  # parameter of type *store.Store
    (f"{_R}:report", f"{_BASE}:Base.Log", 24),  # var b store.Base
    (f"{_R}:report", f"{_STORE}:Store.Add", 25),  # (&T{}).M()
    (f"{_R}:report", f"{_STORE}:NewStore", 26),
    (f"{_R}:report", f"{_STORE}:Store.Add", 26),  # NewT().M()
    (f"{_R}:lookup", "go:builtin:len", 32),  # int64(…) on that line is a conversion
    (f"{_BASE}:Base.Log", "go:fmt:Println", 11),
    (f"{_STORE}:Store.Add", "go:builtin:append", 21),
    (f"{_STORE}:Store.Add", f"{_BASE}:Base.Log", 22),  # promoted, on the receiver
    (f"{_STORE}:Store.Add", f"{_COUNT}:Store.count", 23),  # method declared in another file
    (f"{_STORE}:Store.Total", f"{_COUNT}:price", 29),  # function of another file
    (f"{_COUNT}:Store.count", "go:builtin:len", 4),
    (f"{_PAY}:Card.Name", "go:strings:ToUpper", 22),
    (f"{_PAY}:Card.Pay", "go:errors:New", 26),
    (f"{_WALLET}:Wallet.Pay", f"{_BASE}:Base.Log", 19),  # promoted across packages
}

EXPECTED_INHERITS = {
    (f"{_STORE}:Store", f"{_BASE}:Base"),  # struct embedding
    (f"{_WALLET}:Wallet", f"{_BASE}:Base"),  # embedding *store.Base
    (f"{_PAY}:Method", f"{_PAY}:Namer"),  # interface embedding
}

#: Implicit satisfaction (by method names, own and promoted): Go declares no implementation.
EXPECTED_IMPLEMENTS = {
    (f"{_PAY}:Card", f"{_PAY}:Method"),
    (f"{_PAY}:Card", f"{_PAY}:Namer"),
    (f"{_WALLET}:Wallet", f"{_PAY}:Method"),
    (f"{_WALLET}:Wallet", f"{_PAY}:Namer"),
}


def _rels(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.go"))


def _analysis(root: Path = FIXTURE) -> LanguageAnalysis:
    return analyze_group("go", root, _rels(root))


def _nodes(analysis: LanguageAnalysis) -> dict[str, Node]:
    return {n.id: n for out in analysis.outputs for n in out.nodes.values()}


def _edges(analysis: LanguageAnalysis, kind: EdgeKind) -> set[tuple[str, str, int]]:
    return {
        (e.source, e.target, e.line)
        for out in analysis.outputs
        for e in out.edges.values()
        if e.kind is kind
    }


def test_calls_across_packages_resolve_exactly_as_expected() -> None:
    found = _edges(_analysis(), EdgeKind.CALLS)
    missed = EXPECTED_CALLS - found
    invented = found - EXPECTED_CALLS
    assert not missed and not invented, (sorted(missed), sorted(invented))


def test_what_does_not_resolve_is_listed_on_its_caller_not_guessed() -> None:
    analysis = _analysis()
    nodes = _nodes(analysis)
    assert dict(nodes["main.go:main"].extra)["unresolved_calls"] == ((20, 'lookup("tea")'),)
    # A local of unknown type shadows the package-level names: helper(s) is not guessed.
    assert dict(nodes["report.go:report"].extra)["unresolved_calls"] == ((28, "helper"),)
    by_file = {o.file: o for o in analysis.outputs}
    assert (by_file["main.go"].calls_total, by_file["main.go"].calls_resolved) == (16, 15)
    # int64(…) is a conversion: not a call, not counted.
    assert (by_file["report.go"].calls_total, by_file["report.go"].calls_resolved) == (9, 8)


def test_nodes_carry_language_kind_file_and_line() -> None:
    analysis = _analysis()
    nodes = _nodes(analysis)
    module = nodes["store/store.go"]
    assert (module.kind, module.language, module.file, module.line) == (
        NodeKind.MODULE, "go", "store/store.go", 1,
    )  # fmt: skip
    assert dict(module.extra) == {"package": "store"}
    store = nodes["store/store.go:Store"]
    assert (store.kind, store.language, store.file, store.line, store.end_line) == (
        NodeKind.CLASS, "go", "store/store.go", 10, 13,
    )  # fmt: skip
    count = nodes["store/count.go:Store.count"]
    assert (count.kind, count.name, count.file, count.line) == (
        NodeKind.METHOD, "count", "store/count.go", 3,
    )  # fmt: skip
    assert dict(count.extra) == {"pointer_receiver": True}
    assert nodes["payment/payment.go:Card.Pay"].extra == ()  # a value receiver
    for interface in ("payment/payment.go:Method", "payment/payment.go:Namer"):
        assert (nodes[interface].kind, nodes[interface].extra) == (NodeKind.INTERFACE, ())
    assert nodes["payment/payment.go:Method.Pay"].kind is NodeKind.METHOD
    assert nodes["main.go:checkout"].kind is NodeKind.FUNCTION
    assert {n.language for n in nodes.values()} == {"go"}
    assert analysis.externals["go:fmt:Println"].kind is NodeKind.EXTERNAL
    assert analysis.externals["go:fmt"].language == "go"


def test_embedding_gives_inherits_and_satisfying_an_interface_implements_edges() -> None:
    analysis = _analysis()
    assert {(s, t) for s, t, _ in _edges(analysis, EdgeKind.INHERITS)} == EXPECTED_INHERITS
    assert {(s, t) for s, t, _ in _edges(analysis, EdgeKind.IMPLEMENTS)} == EXPECTED_IMPLEMENTS


def test_contains_and_imports_edges() -> None:
    analysis = _analysis()
    contains = {(s, t) for s, t, _ in _edges(analysis, EdgeKind.CONTAINS)}
    assert ("store/store.go", "store/store.go:NewStore") in contains
    assert ("payment/payment.go:Method", "payment/payment.go:Method.Pay") in contains
    # A method declared in another file than its type: the type contains it, and the edge is
    # the method's file's.
    assert ("store/store.go:Store", "store/count.go:Store.count") in contains
    count_out = next(o for o in analysis.outputs if o.file == "store/count.go")
    assert {(e.source, e.target) for e in count_out.edges.values()} >= {
        ("store/store.go:Store", "store/count.go:Store.count")
    }
    assert ("store/count.go", "store/count.go:Store.count") not in contains
    imports = {(s, t) for s, t, _ in _edges(analysis, EdgeKind.IMPORTS)}
    # A package of the tree is a directory (through go.mod's module path): every file of it.
    assert {t for s, t in imports if s == "main.go"} == {
        "go:fmt", "payment/payment.go", "payment/wallet.go",
        "store/base.go", "store/count.go", "store/store.go",
    }  # fmt: skip


def test_extraction_records_imports_receivers_and_typed_variables() -> None:
    data = b"""package demo

import (
\t_ "embed"
\t. "strings"
\tx "example.com/x"
)

type T struct{ inner *U }

func NewT() (*T, error) { return nil, nil }

func (t *T) M(p U, q []U) {
\ta := T{}
\tb := &U{}
\tc, err := NewT()
\tvar d T
\te := new(U)
\tf := g.(U)
\tx.F()
}
"""
    facts = extract_go("demo/d.go", data)
    assert facts.package == "demo" and not facts.diagnostics
    assert facts.imports == [
        GoImport("embed", "_", 4), GoImport("strings", ".", 5), GoImport("example.com/x", "x", 6),
    ]  # fmt: skip
    defs = {d.qualname: d for d in facts.defs}
    assert (defs["T.M"].kind, defs["T.M"].parent, defs["T.M"].pointer) == ("method", "T", True)
    assert defs["T"].fields == {"inner": ("U",)}
    assert defs["NewT"].results == (("T",), ("error",))
    typed = {name: b for (scope, name), b in facts.typed.items() if scope == "T.M"}
    assert typed == {
        "t": GoBinding(("T",)), "p": GoBinding(("U",)), "a": GoBinding(("T",)),
        "b": GoBinding(("U",)), "c": GoBinding(("NewT",), call=True),
        "err": GoBinding(("NewT",), call=True, index=1), "d": GoBinding(("T",)),
        "e": GoBinding(("U",)), "f": GoBinding(("U",)),
    }  # fmt: skip
    assert ("T.M", "q") in facts.locals and ("T.M", "q") not in facts.typed
    assert [c.callee for c in facts.calls] == [("NewT",), ("new",), ("x", "F")]


def test_ids_are_stable_when_other_files_change(tmp_path: Path) -> None:
    root = tmp_path / "t"
    shutil.copytree(FIXTURE, root)
    before = set(_nodes(_analysis(root)))
    count = root / "store" / "count.go"
    count.write_text("// a comment moves every line\n" + count.read_text())
    assert set(_nodes(_analysis(root))) == before


def test_module_paths_come_from_go_mod_files_inside_the_root_only() -> None:
    assert read_modules(FIXTURE, ["main.go"]) == {"example.com/shop": ""}
    # Analysing a folder reads nothing above it (a server hands the analysis one folder).
    assert read_modules(FIXTURE / "store", ["base.go"]) == {}


def test_a_syntax_error_is_reported_and_what_parsed_is_kept() -> None:
    data = b"package p\n\nfunc ok() int { return 1 }\n\nfunc broken( {\n\nfunc later() { ok() }\n"
    facts = extract_go("bad.go", data)
    assert facts.diagnostics and facts.diagnostics[0].code == "syntax-error"
    assert facts.diagnostics[0].line >= 5
    assert "ok" in {d.qualname for d in facts.defs}
    assert facts.package == "p"


def test_huge_and_generated_files_are_skipped_with_a_diagnostic() -> None:
    big = extract_go("big.go", b"package p\n" + b"func f() {}\n" * 100, max_bytes=1000)
    assert [d.code for d in big.diagnostics] == ["generated-file"] and not big.defs
    marked = b"// Code generated by protoc-gen-go. DO NOT EDIT.\n\npackage p\n\nfunc f() {}\n"
    generated = extract_go("x.pb.go", marked)
    assert [d.code for d in generated.diagnostics] == ["generated-file"] and not generated.defs
    # The marker counts only before the package clause (Go's convention).
    late = extract_go("y.go", b"package p\n\n// Code generated x DO NOT EDIT.\nfunc f() {}\n")
    assert not late.diagnostics and [d.qualname for d in late.defs] == ["f"]


def test_undecodable_bytes_and_vanished_files_do_not_stop_the_analysis(tmp_path: Path) -> None:
    (tmp_path / "odd.go").write_bytes(
        b'package p\n\nfunc f() { g("\xff\xfe") }\nfunc g(string) {}\n'
    )
    analysis = analyze_group("go", tmp_path, ["odd.go", "gone.go"])
    by_file = {o.file: o for o in analysis.outputs}
    assert ("odd.go:f", "odd.go:g", 3) in _edges(analysis, EdgeKind.CALLS)
    assert [d.code for d in by_file["gone.go"].diagnostics] == ["unreadable"]
    assert list(by_file["gone.go"].nodes) == ["gone.go"]  # the module node stays
