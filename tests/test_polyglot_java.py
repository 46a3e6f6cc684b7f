"""Java through tree-sitter: extraction, resolution across packages (types, overloads by arity,
interfaces, inheritance, static members, java.* externals), ids, and bad input."""

from __future__ import annotations

from pathlib import Path

from graphlive.analysis.build import FileOutput
from graphlive.analysis.polyglot import language_of
from graphlive.analysis.polyglot.analyses import analyze_group
from graphlive.analysis.polyglot.java import extract_java
from graphlive.analysis.polyglot.resolve_java import resolve_java
from graphlive.graph import EdgeKind, Node, NodeKind

FIXTURE = Path(__file__).parent / "analysis_fixtures" / "java"

APP = "src/com/acme/App.java:App"
CART = "src/com/acme/shop/Cart.java:Cart"
ITEM = "src/com/acme/shop/Item.java:Item"
PRICING = "src/com/acme/pricing/Pricing.java:Pricing"
BASE = "src/com/acme/pricing/BasePricing.java:BasePricing"
FLAT = "src/com/acme/pricing/FlatPricing.java:FlatPricing"
SALE = "src/com/acme/pricing/SalePricing.java:SalePricing"
MATH = "src/com/acme/util/MathUtil.java:MathUtil"
ROUNDING = "src/com/acme/util/Rounding.java:Rounding"

_TYPES = (NodeKind.CLASS, NodeKind.INTERFACE)

#: Every call edge the fixture must give (caller, callee, line); nothing else may appear.
EXPECTED_CALLS = {
    # App.java: another package's types through single-type and on-demand imports
    (APP, "java:java.util.HashMap", 10),  # a field initialiser: the class is the caller
    (f"{APP}.main/1", APP, 13),  # new C() with no constructor declared → the class
    (f"{APP}.main/1", f"{APP}.run/1", 14),  # x.m() on a local's declared type
    (f"{APP}.run/1", f"{CART}.<init>/1", 18),  # new C(args) → the constructor of that arity
    (f"{APP}.run/1", f"{SALE}.<init>/1", 18),  # import com.acme.pricing.*
    (f"{APP}.run/1", f"{CART}.add/2(Item,int)", 19),  # two overloads of arity 2: both
    (f"{APP}.run/1", f"{CART}.add/2(String,int)", 19),
    (f"{APP}.run/1", f"{CART}.<init>/0", 20),
    (f"{APP}.run/1", f"{CART}.add/1", 21),  # var other = new Cart(); other.add(x)
    (f"{APP}.run/1", f"{ITEM}.<init>/2", 21),  # new com.acme.shop.Item(…): qualified name
    (f"{APP}.run/1", "java:java.util.Map.put", 22),  # a field of a java.util type
    (f"{APP}.run/1", f"{CART}.total/0", 23),
    (f"{APP}.run/1", f"{CART}.<init>/0", 24),  # new Cart().total()
    (f"{APP}.run/1", f"{CART}.total/0", 24),
    (f"{APP}.run/1", FLAT, 25),
    (f"{APP}.run/1", f"{PRICING}.twice/1", 26),  # through an interface: no implementation
    (f"{APP}.run/1", f"{MATH}.sum/1", 27),  # a varargs method, three arguments
    (f"{APP}.run/1", f"{CART}.Line.<init>/1", 28),  # new Cart.Line(…): a nested class
    (f"{APP}.run/1", f"{CART}.Line.label/0", 29),
    (f"{APP}.run/1", f"{APP}.report/1", 32),  # in a lambda: the enclosing method's
    (f"{APP}.run/1", "java:java.lang.Runnable.run", 33),  # java.lang is implicit
    (f"{APP}.report/1", f"{APP}.Helper.log/1", 37),  # a nested class's static method
    # pricing: an interface with two implementations, an inherited method, a static import
    (f"{BASE}.round/1", f"{MATH}.roundTo/2", 8),
    (f"{BASE}.round/1", f"{ROUNDING}.adjust/1", 8),  # Enum.CONSTANT.m()
    (f"{PRICING}.twice/1", f"{PRICING}.apply/1", 7),  # the interface's method …
    (f"{PRICING}.twice/1", f"{FLAT}.apply/1", 7),  # … and both implementations
    (f"{PRICING}.twice/1", f"{SALE}.apply/1", 7),
    (f"{SALE}.<init>/1", BASE, 9),  # super() with no constructor declared → the class
    (f"{SALE}.apply/1", f"{BASE}.round/1", 15),  # inherited through extends
    (f"{SALE}.apply/1", f"{MATH}.percent/2", 15),  # import static …MathUtil.percent
    # shop: the same package without an import, overloads, this(…), a nested class
    (CART, "java:java.util.ArrayList", 9),
    (f"{CART}.<init>/0", f"{CART}.<init>/1", 13),  # this(null)
    (f"{CART}.add/1", "java:java.util.List.add", 21),  # a field typed List<Item>
    (f"{CART}.add/2(Item,int)", f"{CART}.add/1", 26),  # foo(x): the arity-1 overload only
    (f"{CART}.add/2(String,int)", f"{CART}.add/2(Item,int)", 31),  # this.add(a, b)
    (f"{CART}.add/2(String,int)", f"{CART}.add/2(String,int)", 31),
    (f"{CART}.add/2(String,int)", f"{ITEM}.<init>/2", 31),  # a record's compact constructor
    (f"{CART}.total/0", f"{ITEM}.price/0", 37),  # a for-each variable
    (f"{CART}.total/0", f"{MATH}.clamp/2", 39),
    (f"{CART}.total/0", f"{PRICING}.apply/1", 39),  # a field typed by an interface
    (f"{CART}.total/0", f"{FLAT}.apply/1", 39),
    (f"{CART}.total/0", f"{SALE}.apply/1", 39),
    (f"{CART}.Line.label/0", f"{ITEM}.name/0", 50),  # a field of the nested class
    (f"{CART}.Line.label/0", f"{CART}.describe/1", 50),  # Type.staticMethod()
    (f"{CART}.describe/1", "java:java.lang.String.valueOf", 55),
    (f"{CART}.describe/1", f"{ITEM}.price/0", 55),
    (f"{ITEM}.<init>/2", "java:java.lang.IllegalArgumentException", 6),
    (f"{ITEM}.name/0", "java:java.lang.String.trim", 15),  # a record component
    (f"{MATH}.clamp/2", "java:java.lang.Math.max", 8),
    (f"{MATH}.roundTo/2", f"{MATH}.clamp/2", 12),
}


def _rels(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if language_of(p.name) == "java"
    )


def _nodes(outputs: list[FileOutput]) -> dict[str, Node]:
    return {n.id: n for out in outputs for n in out.nodes.values()}


def _edges(outputs: list[FileOutput], kind: EdgeKind) -> set[tuple[str, str, int]]:
    return {
        (e.source, e.target, e.line)
        for out in outputs
        for e in out.edges.values()
        if e.kind is kind
    }


def test_calls_across_packages_resolve_exactly_as_expected() -> None:
    found = _edges(analyze_group("java", FIXTURE, _rels(FIXTURE)).outputs, EdgeKind.CALLS)
    missed = EXPECTED_CALLS - found
    invented = found - EXPECTED_CALLS
    assert not missed and not invented, (sorted(missed), sorted(invented))


def test_what_does_not_resolve_is_listed_on_its_caller_not_guessed() -> None:
    analysis = analyze_group("java", FIXTURE, _rels(FIXTURE))
    nodes = _nodes(analysis.outputs)
    unresolved = dict(nodes[f"{APP}.run/1"].extra)["unresolved_calls"]
    # System.out is a field of a type outside the tree: its type is unknown, so is println.
    assert unresolved == ((27, "System.out.println"), (30, "unknown"))
    app = next(o for o in analysis.outputs if o.file == "src/com/acme/App.java")
    assert (app.calls_total, app.calls_resolved) == (24, 21)


def test_nodes_carry_kind_language_file_and_line() -> None:
    analysis = analyze_group("java", FIXTURE, _rels(FIXTURE))
    nodes = _nodes(analysis.outputs)
    module = nodes["src/com/acme/shop/Cart.java"]
    assert (module.kind, module.language, dict(module.extra)) == (
        NodeKind.MODULE, "java", {"package": "com.acme.shop"},
    )  # fmt: skip
    cart = nodes[CART]
    assert (cart.kind, cart.language, cart.file, cart.line, cart.end_line) == (
        NodeKind.CLASS, "java", "src/com/acme/shop/Cart.java", 8, 57,
    )  # fmt: skip
    add = nodes[f"{CART}.add/1"]
    assert (add.kind, add.name, add.line, dict(add.extra)) == (
        NodeKind.METHOD, "add", 20, {"arity": 1},
    )  # fmt: skip
    assert dict(nodes[f"{CART}.<init>/1"].extra) == {"arity": 1, "constructor": True}
    assert nodes[f"{FLAT}.apply/1"].line == 5  # the name's line, not the @Override above
    assert (nodes[PRICING].kind, nodes[PRICING].extra) == (NodeKind.INTERFACE, ())
    assert nodes[f"{PRICING}.apply/1"].kind is NodeKind.METHOD
    assert dict(nodes[ITEM].extra) == {"record": True}
    assert dict(nodes[ROUNDING].extra) == {"enum": True}
    assert dict(nodes[f"{MATH}.sum/1"].extra) == {"arity": 1, "varargs": True}
    assert all(n.language == "java" for n in nodes.values())
    external = analysis.externals["java:java.util.List.add"]
    assert (external.kind, external.name, external.language) == (NodeKind.EXTERNAL, "add", "java")
    contains = {(s, t) for s, t, _ in _edges(analysis.outputs, EdgeKind.CONTAINS)}
    assert ("src/com/acme/shop/Cart.java", CART) in contains
    assert (CART, f"{CART}.Line") in contains
    assert (f"{CART}.Line", f"{CART}.Line.label/0") in contains
    assert ("src/com/acme/shop/Cart.java", f"{CART}.Line") not in contains


def test_extends_gives_inherits_and_implements_implements_edges() -> None:
    outputs = analyze_group("java", FIXTURE, _rels(FIXTURE)).outputs
    assert _edges(outputs, EdgeKind.INHERITS) == {(SALE, BASE, 5)}
    assert _edges(outputs, EdgeKind.IMPLEMENTS) == {(FLAT, PRICING, 3), (SALE, PRICING, 5)}


def test_interfaces_and_annotation_types_are_interface_nodes() -> None:
    data = b"""package p;
interface I { void m(); }
interface J extends I {}
@interface Tag { String value(); }
enum E implements J { A; public void m() {} }
record R(int x) implements I { public void m() {} }
class C implements J { public void m() {} }
class D extends C implements Runnable { public void run() {} }
class Use { void go(I i) { i.m(); } }
"""
    outputs = resolve_java({"p/T.java": extract_java("p/T.java", data)}).outputs
    nodes = _nodes(outputs)
    types = {n.name: (n.kind, dict(n.extra)) for n in nodes.values() if n.kind in _TYPES}
    assert types == {
        "I": (NodeKind.INTERFACE, {}),
        "J": (NodeKind.INTERFACE, {}),
        "Tag": (NodeKind.INTERFACE, {"annotation": True}),
        "E": (NodeKind.CLASS, {"enum": True}),
        "R": (NodeKind.CLASS, {"record": True}),
        "C": (NodeKind.CLASS, {}),
        "D": (NodeKind.CLASS, {}),
        "Use": (NodeKind.CLASS, {}),
    }  # fmt: skip
    assert nodes["p/T.java:I.m/0"].kind is NodeKind.METHOD
    t = "p/T.java:"
    assert {(s, t_) for s, t_, _ in _edges(outputs, EdgeKind.INHERITS)} == {
        (f"{t}J", f"{t}I"),  # an interface extending an interface
        (f"{t}D", f"{t}C"),
    }
    assert {(s, t_) for s, t_, _ in _edges(outputs, EdgeKind.IMPLEMENTS)} == {
        (f"{t}E", f"{t}J"),
        (f"{t}R", f"{t}I"),
        (f"{t}C", f"{t}J"),
        (f"{t}D", "java:java.lang.Runnable"),
    }
    # A call through the interface still reaches every implementation, through J too.
    assert {target for _, target, _ in _edges(outputs, EdgeKind.CALLS)} == {
        f"{t}I.m/0", f"{t}E.m/0", f"{t}R.m/0", f"{t}C.m/0",
    }  # fmt: skip


def test_imports_point_at_the_type_or_every_file_of_the_package() -> None:
    imports = _edges(analyze_group("java", FIXTURE, _rels(FIXTURE)).outputs, EdgeKind.IMPORTS)
    app = "src/com/acme/App.java"
    assert (app, "src/com/acme/shop/Cart.java:Cart", 4) in imports
    assert (app, "java:java.util.Map", 7) in imports
    on_demand = {t for s, t, line in imports if s == app and line == 3}
    assert on_demand == {
        "src/com/acme/pricing/BasePricing.java",
        "src/com/acme/pricing/FlatPricing.java",
        "src/com/acme/pricing/Pricing.java",
        "src/com/acme/pricing/SalePricing.java",
    }


OVERLOADS = b"""package p;
class Calc {
    int f() { return 0; }
    int f(int a) { return a; }
    int f(String s) { return 1; }
    int f(int a, int b) { return a + b; }
    int g(int first, int... rest) { return first; }
    void run() {
        f();
        f(1);
        f(1, 2);
        g(1);
        g(1, 2, 3);
        g();
        f(1, 2, 3);
    }
}
"""


def test_overloads_have_distinct_ids_and_calls_resolve_by_arity() -> None:
    facts = extract_java("p/Calc.java", OVERLOADS)
    assert [d.qualname for d in facts.defs] == [
        "Calc", "Calc.f/0", "Calc.f/1(int)", "Calc.f/1(String)", "Calc.f/2", "Calc.g/2",
        "Calc.run/0",
    ]  # fmt: skip
    outputs = resolve_java({"p/Calc.java": facts}).outputs
    calls = {
        (t.removeprefix("p/Calc.java:"), line) for _, t, line in _edges(outputs, EdgeKind.CALLS)
    }
    assert calls == {
        ("Calc.f/0", 9),
        ("Calc.f/1(int)", 10), ("Calc.f/1(String)", 10),  # same arity: an edge to each
        ("Calc.f/2", 11),
        ("Calc.g/2", 12), ("Calc.g/2", 13),  # varargs: its fixed parameters or more
    }  # fmt: skip
    run = _nodes(outputs)["p/Calc.java:Calc.run/0"]
    assert dict(run.extra)["unresolved_calls"] == ((14, "g"), (15, "f"))


def test_locals_shadow_fields_and_anonymous_classes_keep_their_own_this() -> None:
    data = b"""package p;
class Box {
    Box other;
    void open() {}
    void use() {
        other.open();
        String other = "x";
        other.trim();
        Runnable r = new Runnable() {
            public void run() { open(); this.open(); other.length(); }
        };
    }
}
"""
    outputs = resolve_java({"p/Box.java": extract_java("p/Box.java", data)}).outputs
    calls = {(t, line) for _, t, line in _edges(outputs, EdgeKind.CALLS)}
    assert calls == {
        ("p/Box.java:Box.open/0", 6),  # the field, before the local is declared
        ("java:java.lang.String.trim", 8),  # the local from its declaration on
        ("java:java.lang.Runnable", 9),
        ("java:java.lang.String.length", 10),
    }
    unresolved = dict(_nodes(outputs)["p/Box.java:Box.use/0"].extra)["unresolved_calls"]
    assert unresolved == ((10, "open"), (10, "this.open"))


def test_a_syntax_error_is_reported_and_what_parsed_is_kept() -> None:
    data = b"""class Ok {
    void before() { after(); }
    void broken( {
    }
    void after() {}
}
"""
    facts = extract_java("Bad.java", data)
    assert facts.diagnostics and {d.code for d in facts.diagnostics} == {"syntax-error"}
    assert facts.diagnostics[0].line >= 3
    names = {d.qualname for d in facts.defs}
    assert {"Ok", "Ok.before/0", "Ok.after/0"} <= names


def test_huge_and_generated_files_are_skipped_with_a_diagnostic() -> None:
    big = extract_java("Big.java", b"class Big { void f() {} }\n" * 100, max_bytes=1000)
    assert [d.code for d in big.diagnostics] == ["generated-file"] and not big.defs
    one_line = b"class G { " + b"int f() { return 1; } " * 400 + b"}"
    generated = extract_java("G.java", one_line)
    assert [d.code for d in generated.diagnostics] == ["generated-file"] and not generated.defs
    analysis = analyze_group("java", FIXTURE, ["src/com/acme/App.java"], max_bytes=100)
    assert list(analysis.outputs[0].nodes) == ["src/com/acme/App.java"]  # the module stays


def test_unreadable_and_vanished_files_do_not_stop_the_analysis(tmp_path: Path) -> None:
    (tmp_path / "Odd.java").write_bytes(b"class Odd { void f\xff() { g(); } void g() {} }\n")
    (tmp_path / "Dir.java").mkdir()  # a folder: read_bytes raises
    analysis = analyze_group("java", tmp_path, ["Odd.java", "Gone.java", "Dir.java"])
    by_file = {o.file: o for o in analysis.outputs}
    assert "Odd.java:Odd.g/0" in by_file["Odd.java"].nodes
    for rel in ("Gone.java", "Dir.java"):
        assert [d.code for d in by_file[rel].diagnostics] == ["unreadable"]
        assert list(by_file[rel].nodes) == [rel]
