"""Rust through tree-sitter: extraction, module paths, resolution across a crate, ids, and bad
input (issue 21: the analysis itself, not yet wired into ``analyze``)."""

from __future__ import annotations

from pathlib import Path

from graphlive.analysis.polyglot.analyses import analyze_group
from graphlive.analysis.polyglot.rust import RustType, RustUse, extract_rust
from graphlive.graph import EdgeKind, NodeKind
from tests.polyglot_trees import node_ids

FIXTURE = Path(__file__).parent / "analysis_fixtures" / "rust"

_DISPATCH_AREA = (
    "src/shapes.rs:Shape.area",
    "src/shapes.rs:Circle.area",
    "src/shapes.rs:Square.area",
)

#: Every call edge the fixture must give (caller, callee, line); nothing else may appear.
EXPECTED_CALLS = {
    # src/lib.rs: use groups and aliases, constructors, variables, std, macros
    ("src/lib.rs:run", "src/shop/cart.rs:Cart.new", 10),  # Type::new() through `use`
    ("src/lib.rs:run", "src/shop/cart.rs:Cart.add", 11),  # let cart = Cart::new(); cart.m()
    ("src/lib.rs:run", "src/shapes.rs:Circle.new", 12),  # from a `use` group
    ("src/lib.rs:run", "rust:std::collections::HashMap::new", 14),
    ("src/lib.rs:run", "rust:std::collections::HashMap::insert", 15),  # method on std type
    ("src/lib.rs:run", "src/shop/cart.rs:Cart.total", 15),
    ("src/lib.rs:run", "rust:std::string::String::from", 16),  # prelude name
    ("src/lib.rs:run", "src/util.rs:log", 16),  # module path util::log
    ("src/lib.rs:run", "src/lib.rs:describe", 17),  # inside println!
    ("src/lib.rs:run", "src/shapes.rs:Square.describe", 18),  # Sq { .. } (alias); override
    ("src/lib.rs:run", "src/shapes.rs:Shape.describe", 19),  # trait default method
    ("src/lib.rs:run", "src/util.rs:Cart.log_total", 20),  # impl block in another file
    ("src/lib.rs:run", "src/lib.rs:largest", 21),
    ("src/lib.rs:run", "src/shapes.rs:Square.area", 22),  # Trait::m(&x), x: Square
    *(("src/lib.rs:describe", m, 26) for m in _DISPATCH_AREA),  # &dyn Shape
    ("src/lib.rs:describe", "src/shapes.rs:Shape.describe", 27),
    ("src/lib.rs:describe", "src/shapes.rs:Square.describe", 27),
    *(("src/lib.rs:largest", m, 31) for m in _DISPATCH_AREA),  # T: Shape
    # src/shapes.rs: traits, Self::, crate:: and super:: paths
    *(("src/shapes.rs:Shape.describe", m, 5) for m in _DISPATCH_AREA),  # self in a trait
    ("src/shapes.rs:Circle.new", "src/shapes.rs:Circle.checked", 19),  # Self::f()
    ("src/shapes.rs:Circle.area", "src/util.rs:math.square", 29),  # crate::a::inline::f
    ("src/shapes.rs:Square.describe", "src/shapes.rs:Square.area", 39),  # self.m(), trait impl
    ("src/shapes.rs:Square.describe", "src/util.rs:log", 40),  # super::util::log
    ("src/shapes.rs:Square.describe", "rust:std::string::String::from", 41),
    # src/shop: mod.rs re-exports (pub use … as …), globs, Rust 2018 nested files
    ("src/shop/cart.rs:Cart.new", "rust:std::vec::Vec::new", 12),
    ("src/shop/cart.rs:Cart.add", "src/shop/cart/line.rs:price", 16),  # cart.rs: mod line;
    ("src/shop/cart.rs:Cart.total", "src/shop/pricing.rs:Tax.standard", 20),  # super::Tax
    ("src/shop/cart.rs:Cart.total", "src/shop/cart.rs:Cart.subtotal", 21),
    ("src/shop/cart.rs:Cart.total", "src/shop/pricing.rs:discount", 22),  # alias re-exported
    ("src/shop/cart.rs:Cart.total", "src/shop/pricing.rs:Tax.apply", 22),  # let t = T::f()
    ("src/shop/cart.rs:Cart.subtotal", "src/util.rs:math.cube", 26),  # glob use
    ("src/shop/cart.rs:Cart.subtotal", "src/shop/cart.rs:Cart.count", 26),  # Self::f(self)
    ("src/shop/pricing.rs:Tax.default", "src/shop/pricing.rs:Tax.standard", 17),  # trait impl
    # src/util.rs: inline module, impl of a type declared elsewhere
    ("src/util.rs:math.cube", "src/util.rs:math.square", 13),
    ("src/util.rs:Cart.log_total", "src/util.rs:log", 19),
    ("src/util.rs:Cart.log_total", "src/util.rs:math.cube", 20),
    ("src/util.rs:Cart.log_total", "src/shop/cart.rs:Cart.total", 20),
}


def _rels(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.rs"))


def test_calls_across_the_crate_resolve_exactly_as_expected() -> None:
    analysis = analyze_group("rust", FIXTURE, _rels(FIXTURE))
    found = {
        (e.source, e.target, e.line)
        for out in analysis.outputs
        for e in out.edges.values()
        if e.kind is EdgeKind.CALLS
    }
    missed = EXPECTED_CALLS - found
    invented = found - EXPECTED_CALLS
    assert not missed and not invented, (sorted(missed), sorted(invented))


def test_what_does_not_resolve_is_listed_on_its_caller_not_guessed() -> None:
    analysis = analyze_group("rust", FIXTURE, _rels(FIXTURE))
    nodes = {n.id: n for out in analysis.outputs for n in out.nodes.values()}
    assert dict(nodes["src/lib.rs:run"].extra)["unresolved_calls"] == ((22, "unknown_helper"),)
    unresolved = dict(nodes["src/shop/cart.rs:Cart.add"].extra)["unresolved_calls"]
    assert unresolved == ((16, "self.items.push"),)  # a field's method: its type is unknown
    lib = next(o for o in analysis.outputs if o.file == "src/lib.rs")
    assert (lib.calls_total, lib.calls_resolved) == (18, 17)


def test_module_paths_follow_mod_declarations() -> None:
    analysis = analyze_group("rust", FIXTURE, _rels(FIXTURE))
    paths = {o.file: dict(o.nodes[o.file].extra)["rust_path"] for o in analysis.outputs}
    assert paths == {
        "src/lib.rs": "crate",
        "src/shapes.rs": "crate::shapes",
        "src/util.rs": "crate::util",
        "src/shop/mod.rs": "crate::shop",
        "src/shop/cart.rs": "crate::shop::cart",
        "src/shop/cart/line.rs": "crate::shop::cart::line",
        "src/shop/pricing.rs": "crate::shop::pricing",
    }


def test_nodes_carry_language_kind_file_and_line() -> None:
    analysis = analyze_group("rust", FIXTURE, _rels(FIXTURE))
    nodes = {n.id: n for out in analysis.outputs for n in out.nodes.values()}
    assert {n.language for n in nodes.values()} == {"rust"}
    assert nodes["src/shop/mod.rs"].kind is NodeKind.MODULE
    assert nodes["src/shop/mod.rs"].name == "shop"
    cart = nodes["src/shop/cart.rs:Cart"]
    assert (cart.kind, cart.file, cart.line, cart.end_line) == (
        NodeKind.CLASS, "src/shop/cart.rs", 6, 8,
    )  # fmt: skip
    total = nodes["src/shop/cart.rs:Cart.total"]
    assert (total.kind, total.file, total.line) == (NodeKind.METHOD, "src/shop/cart.rs", 19)
    assert nodes["src/lib.rs:run"].kind is NodeKind.FUNCTION
    assert nodes["src/util.rs:math"].kind is NodeKind.MODULE  # an inline module
    shape = nodes["src/shapes.rs:Shape"]
    assert (shape.kind, dict(shape.extra)) == (NodeKind.INTERFACE, {"trait": True})
    assert nodes["src/shapes.rs:Shape.area"].kind is NodeKind.METHOD
    assert dict(nodes["src/shapes.rs:Shape.describe"].extra) == {"default": True}
    assert "default" not in dict(nodes["src/shapes.rs:Shape.area"].extra)
    assert dict(nodes["src/shapes.rs:Square.area"].extra) == {"impl_of": "Shape"}
    assert nodes["src/util.rs:Cart.log_total"].file == "src/util.rs"
    external = analysis.externals["rust:std::collections::HashMap::new"]
    assert (external.kind, external.language) == (NodeKind.EXTERNAL, "rust")


def test_containment_and_imports() -> None:
    analysis = analyze_group("rust", FIXTURE, _rels(FIXTURE))
    edges = {
        (e.kind, e.source, e.target, e.file) for o in analysis.outputs for e in o.edges.values()
    }
    contains = EdgeKind.CONTAINS
    cart = "src/shop/cart.rs:Cart"
    # the methods of an impl block in another file are the type's, the edge that file's
    assert (contains, cart, "src/util.rs:Cart.log_total", "src/util.rs") in edges
    assert (contains, cart, "src/shop/cart.rs:Cart.total", "src/shop/cart.rs") in edges
    assert (contains, "src/shapes.rs:Shape", "src/shapes.rs:Shape.area", "src/shapes.rs") in edges
    assert (contains, "src/util.rs:math", "src/util.rs:math.cube", "src/util.rs") in edges
    assert (contains, "src/shop/mod.rs", "src/shop/cart.rs", "src/shop/mod.rs") in edges
    line = "src/shop/cart/line.rs"
    assert (contains, "src/shop/cart.rs", line, "src/shop/cart.rs") in edges
    imports = {(s, t) for k, s, t, _ in edges if k is EdgeKind.IMPORTS}
    assert imports == {
        ("src/lib.rs", "src/shapes.rs"),
        ("src/lib.rs", "src/shop/cart.rs"),
        ("src/lib.rs", "rust:std::collections::HashMap"),
        ("src/shop/mod.rs", "src/shop/pricing.rs"),
        ("src/shop/cart.rs", "src/shop/pricing.rs"),  # super::{…} re-exported by mod.rs
        ("src/shop/cart.rs", "src/util.rs"),
        ("src/util.rs", "src/shop/cart.rs"),
    }


def test_trait_impls_are_implements_edges_from_the_type_to_the_trait() -> None:
    analysis = analyze_group("rust", FIXTURE, _rels(FIXTURE))
    hierarchy = {
        (e.kind, e.source, e.target, e.line, e.file)
        for o in analysis.outputs
        for e in o.edges.values()
        if e.kind in (EdgeKind.INHERITS, EdgeKind.IMPLEMENTS)
    }
    implements = EdgeKind.IMPLEMENTS
    assert hierarchy == {
        (implements, "src/shapes.rs:Circle", "src/shapes.rs:Shape", 27, "src/shapes.rs"),
        (implements, "src/shapes.rs:Square", "src/shapes.rs:Shape", 33, "src/shapes.rs"),
        (implements, "src/shop/pricing.rs:Tax", "rust:std::default::Default", 15,
         "src/shop/pricing.rs"),
    }  # fmt: skip


def test_supertraits_inherit_and_impls_in_another_file_implement(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "lib.rs").write_text(
        "mod imp;\n\npub trait Named { fn name(&self) -> u32; }\n"
        "pub trait Shape: Named { fn area(&self) -> u32; }\n\n"
        "pub fn show(s: &dyn Shape) -> u32 {\n    s.area()\n}\n"
    )
    (src / "imp.rs").write_text(
        "use crate::{Named, Shape};\n\npub struct Dot;\n\n"
        "impl Named for Dot { fn name(&self) -> u32 { 0 } }\n"
        "impl Shape for Dot { fn area(&self) -> u32 { 1 } }\n"
    )
    analysis = analyze_group("rust", tmp_path, ["src/imp.rs", "src/lib.rs"])
    nodes = {n.id: n for o in analysis.outputs for n in o.nodes.values()}
    assert nodes["src/lib.rs:Named"].kind is NodeKind.INTERFACE
    assert nodes["src/lib.rs:Shape"].kind is NodeKind.INTERFACE
    assert nodes["src/imp.rs:Dot"].kind is NodeKind.CLASS
    edges = {
        (e.kind, e.source, e.target, e.file) for o in analysis.outputs for e in o.edges.values()
    }
    assert {e for e in edges if e[0] in (EdgeKind.INHERITS, EdgeKind.IMPLEMENTS)} == {
        (EdgeKind.INHERITS, "src/lib.rs:Shape", "src/lib.rs:Named", "src/lib.rs"),
        (EdgeKind.IMPLEMENTS, "src/imp.rs:Dot", "src/lib.rs:Named", "src/imp.rs"),
        (EdgeKind.IMPLEMENTS, "src/imp.rs:Dot", "src/lib.rs:Shape", "src/imp.rs"),
    }
    # A call on a trait object still reaches the trait's method and its impl.
    assert {(s, t) for k, s, t, _ in edges if k is EdgeKind.CALLS} == {
        ("src/lib.rs:show", "src/lib.rs:Shape.area"),
        ("src/lib.rs:show", "src/imp.rs:Dot.area"),
    }


def test_use_trees_are_flattened() -> None:
    data = (
        b"use std::collections::{HashMap, hash_map::Entry as E};\n"
        b"use crate::a::{self, b::*};\n"
        b"use super::x as y;\n"
        b"fn f() { use self::z; }\n"
    )
    uses = extract_rust("src/m.rs", data).uses
    assert uses == [
        RustUse("", ("std", "collections", "HashMap"), "HashMap", 1),
        RustUse("", ("std", "collections", "hash_map", "Entry"), "E", 1),
        RustUse("", ("crate", "a"), "a", 2),
        RustUse("", ("crate", "a", "b"), "", 2),  # a glob: the prefix, no name bound
        RustUse("", ("super", "x"), "y", 3),
        RustUse("f", ("self", "z"), "z", 4),  # a use inside a function is its own
    ]


def test_receiver_types_come_from_parameters_lets_and_bounds() -> None:
    data = (
        b"fn f<T: A + B>(p: &mut Box<dyn Tr>, q: impl Q, t: &T, s: crate::S) {\n"
        b"    let u: U = g();\n"
        b"    let v = V::new();\n"
        b"    let w = W { x: 1 };\n"
        b"    p.m(); q.m(); t.m(); s.m(); u.m(); v.m(); w.m();\n"
        b"}\n"
    )
    calls = [c for c in extract_rust("src/m.rs", data).calls if c.method]
    assert [c.receiver for c in calls] == [
        RustType("trait", (("Tr",),)),
        RustType("trait", (("Q",),)),
        RustType("trait", (("A",), ("B",))),
        RustType("type", (("crate", "S"),)),
        RustType("type", (("U",),)),
        RustType("type", (("V",),)),
        RustType("type", (("W",),)),
    ]


def test_a_syntax_error_is_reported_and_what_parsed_is_kept() -> None:
    data = b"fn ok() -> u32 { 1 }\nfn mid() { let x = ; }\nfn last() { ok(); }\n"
    facts = extract_rust("src/bad.rs", data)
    assert [(d.code, d.line) for d in facts.diagnostics] == [("syntax-error", 2)]
    assert [d.qualname for d in facts.defs] == ["ok", "mid", "last"]
    assert [(c.caller, c.callee) for c in facts.calls] == [("last", ("ok",))]


def test_huge_and_generated_files_are_skipped_with_a_diagnostic() -> None:
    big = extract_rust("src/big.rs", b"fn f() {}\n" * 200, max_bytes=1000)
    assert [d.code for d in big.diagnostics] == ["generated-file"] and not big.defs
    one_line = extract_rust("src/gen.rs", b"fn f() {} " * 1000)  # one 10 kB line
    assert [d.code for d in one_line.diagnostics] == ["generated-file"] and not one_line.defs
    assert big.lines == 200  # the module node still gets its extent


def test_unreadable_files_and_odd_bytes_do_not_stop_the_analysis(tmp_path: Path) -> None:
    (tmp_path / "odd.rs").write_bytes(b"fn f\xff\xfe() { g(); }\nfn g() {}\nfn h() { g(); }\n")
    analysis = analyze_group("rust", tmp_path, ["odd.rs", "gone.rs"])
    by_file = {o.file: o for o in analysis.outputs}
    assert "odd.rs:g" in by_file["odd.rs"].nodes
    calls = {(e.source, e.target) for e in by_file["odd.rs"].edges.values()}
    assert ("odd.rs:h", "odd.rs:g") in calls
    assert [d.code for d in by_file["gone.rs"].diagnostics] == ["unreadable"]
    assert list(by_file["gone.rs"].nodes) == ["gone.rs"]  # the module node stays


def test_ids_are_stable_when_other_files_change(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "crate"
    shutil.copytree(FIXTURE, root)
    before = node_ids(analyze_group("rust", root, _rels(root)))
    util = root / "src" / "util.rs"
    util.write_text("// a comment moves every line\n" + util.read_text())
    after = node_ids(analyze_group("rust", root, _rels(root)))
    assert before == after


def test_use_cycles_through_globs_end_unresolved(tmp_path: Path) -> None:
    """ripgrep's crates re-export each other with globs; lookups through such a cycle end."""
    src = tmp_path / "src"
    src.mkdir()
    lib = "mod a;\nmod b;\n\npub fn run() {\n    a::f();\n    b::missing();\n}\n"
    (src / "lib.rs").write_text(lib)
    (src / "a.rs").write_text("pub use crate::b::*;\n\npub fn f() {}\n")
    (src / "b.rs").write_text("pub use crate::a::*;\npub use self::c::*;\n")
    analysis = analyze_group("rust", tmp_path, ["src/a.rs", "src/b.rs", "src/lib.rs"])
    calls = {
        (e.source, e.target) for o in analysis.outputs for e in o.edges.values()
        if e.kind is EdgeKind.CALLS
    }  # fmt: skip
    assert calls == {("src/lib.rs:run", "src/a.rs:f")}
