"""Queries on graphs analysed from fixture packages with known answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.live import LiveGraph, analyze
from graphlive.queries import import_cycles, module_of, module_stats, references


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> LiveGraph:
    root = tmp_path_factory.mktemp("proj")
    pkg = root / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    # a <-> b import each other; c imports a (no cycle).
    (pkg / "a.py").write_text(
        "from app import b\n\n"
        "def entry():\n    return helper()\n\n"
        "def helper():\n    return b.work(1)\n"
    )
    (pkg / "b.py").write_text(
        "from app import a\n\n"
        "def work(x):\n"
        "    if x > 1:\n        return 1\n"
        "    elif x < 0:\n        return 2\n"
        "    for i in range(x):\n        if i:\n            return 3\n"
        "    return leaf()\n\n"
        "def leaf():\n    return 0\n"
    )
    (pkg / "c.py").write_text("from app.a import entry\n\ndef main():\n    entry()\n    entry()\n")
    return analyze(root, graph="queries", publish=False)


def test_callers_and_callees_with_depth(app: LiveGraph) -> None:
    direct = app.callees("app.a.entry")
    assert list(direct["id"]) == ["app.a.helper"]
    deep = app.callees("app.a.entry", depth=3)
    assert list(zip(deep["id"], deep["depth"], strict=True)) == [
        ("app.a.helper", 1),
        ("app.b.work", 2),
        ("<builtin>.range", 3),
        ("app.b.leaf", 3),
    ]
    callers = app.callers("app.b.leaf", depth=4)
    assert set(callers["id"]) == {"app.b.work", "app.a.helper", "app.a.entry", "app.c.main"}
    assert dict(zip(callers["id"], callers["depth"], strict=True))["app.c.main"] == 4
    with pytest.raises(KeyError, match=r"no node 'app\.nope'"):
        app.callers("app.nope")
    with pytest.raises(ValueError, match="depth"):
        app.callers("app.b.leaf", depth=0)


def test_definition_and_references(app: LiveGraph) -> None:
    assert list(app.definition("work")["id"]) == ["app.b.work"]
    assert list(app.definition("app.a.entry")["file"]) == ["app/a.py"]
    assert app.definition("no_such_name").empty
    refs = app.references("entry")
    calls = refs[refs["kind"] == "calls"]
    # two call sites in c.main, on lines 4 and 5
    assert list(zip(calls["source"], calls["line"], strict=True)) == [
        ("app.c.main", 4),
        ("app.c.main", 5),
    ]
    assert set(refs["kind"]) >= {"calls"}


def test_references_of_a_class_include_instantiations(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "class A:\n    def __init__(self):\n        pass\n\nclass B(A):\n    pass\n\n"
        "def make():\n    return A()\n"
    )
    lg = analyze(tmp_path, graph="refs", publish=False)
    refs = lg.references("A")
    assert set(zip(refs["kind"], refs["source"], refs["line"], strict=True)) == {
        ("inherits", "m.B", 5),
        ("calls", "m.make", 9),
    }


def test_interfaces_are_types_and_their_implementations_references() -> None:
    g = CodeGraph("typed")
    g.add_node(Node.make("a.ts", NodeKind.MODULE, name="a", file="a.ts"))
    g.add_node(Node.make("a.ts:Shape", NodeKind.INTERFACE, name="Shape", file="a.ts", line=1))
    g.add_node(Node.make("a.ts:Circle", NodeKind.CLASS, name="Circle", file="a.ts", line=3))
    g.add_edge(Edge(EdgeKind.CONTAINS, "a.ts", "a.ts:Shape", 0, "a.ts"))
    g.add_edge(Edge(EdgeKind.CONTAINS, "a.ts", "a.ts:Circle", 0, "a.ts"))
    g.add_edge(Edge(EdgeKind.IMPLEMENTS, "a.ts:Circle", "a.ts:Shape", 3, "a.ts"))
    refs = references(g, "Shape")
    assert list(zip(refs["kind"], refs["source"], strict=True)) == [("implements", "a.ts:Circle")]
    assert int(module_stats(g).set_index("module").loc["a.ts", "classes"]) == 2


def test_shortest_path(app: LiveGraph) -> None:
    assert app.shortest_path("app.c.main", "app.b.leaf") == [
        "app.c.main",
        "app.a.entry",
        "app.a.helper",
        "app.b.work",
        "app.b.leaf",
    ]
    assert app.shortest_path("app.b.leaf", "app.c.main") is None


def test_import_cycles_are_components(app: LiveGraph) -> None:
    cycles = app.import_cycles()
    found = [(row.size, row.modules) for row in cycles.itertuples()]
    assert found == [(2, ["app.a", "app.b"])]


def test_self_import_is_a_cycle() -> None:
    g = CodeGraph("selfie")
    g.add_node(Node.make("m", NodeKind.MODULE, file="m.py"))
    g.add_node(Node.make("n", NodeKind.MODULE, file="n.py"))
    g.add_edge(Edge(EdgeKind.IMPORTS, "m", "m", 1, "m.py"))
    g.add_edge(Edge(EdgeKind.IMPORTS, "n", "m", 1, "n.py"))
    assert [row.modules for row in import_cycles(g).itertuples()] == [["m"]]


def test_import_cycles_scale_without_enumerating_cycles() -> None:
    # A complete import graph of 60 modules has astronomically many simple cycles; SCCs do not.
    g = CodeGraph("dense")
    n = 60
    for i in range(n):
        g.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py"))
    for i in range(n):
        for j in range(n):
            if i != j:
                g.add_edge(Edge(EdgeKind.IMPORTS, f"m{i}", f"m{j}", 1, f"m{i}.py"))
    cycles = import_cycles(g)
    assert list(cycles["size"]) == [n]


def test_hotspots_and_module_stats(app: LiveGraph) -> None:
    hot = app.hotspots(top=2)
    assert hot["id"].iloc[0] == "app.b.work"
    assert int(hot["complexity"].iloc[0]) == 5  # if, elif, for, inner if: 1 + 4
    assert int(hot["callers"].iloc[0]) == 1 and int(hot["callees"].iloc[0]) >= 1
    stats = app.module_stats().set_index("module")
    assert int(stats.loc["app.b", "functions"]) == 2
    assert int(stats.loc["app.b", "max_complexity"]) == 5
    assert int(stats.loc["app.a", "imports"]) == 1 and int(stats.loc["app.a", "imported_by"]) == 2


def test_ego_subgraph(app: LiveGraph) -> None:
    sub = app.ego("app.a.helper", depth=1)
    assert {"app.a.helper", "app.a.entry", "app.b.work", "app.a"} <= {n.id for n in sub.nodes()}
    assert "app.b.leaf" not in sub
    assert all(e.source in sub and e.target in sub for e in sub.edges())
    assert module_of(app.graph, "app.b.leaf") == "app.b"


def test_to_networkx_matches_graph(app: LiveGraph, tmp_path: Path) -> None:
    g = app.to_networkx()
    assert g.number_of_nodes() == app.graph.node_count
    assert g.number_of_edges() == app.graph.edge_count
    assert g.nodes["app.b.work"]["kind"] == "function"
    kinds = {d["kind"] for _, _, d in g.edges(data=True)}
    assert {"contains", "imports", "calls"} <= kinds


def test_unresolved_calls_say_where_they_are(
    tmp_path: Path, redis_url: str, graph_name: str
) -> None:
    (tmp_path / "m.py").write_text(
        "def known():\n    pass\n\n"
        "def run(obj, handlers):\n"
        "    known()\n"
        "    obj.process()\n"
        "    handlers['save'].go()\n"
        "    make()()\n"
        "\nmissing_at_module_level()\n"
    )
    lg = analyze(tmp_path, graph=graph_name, redis_url=redis_url)
    expected = [
        ("m.run", "m.py", 6, "obj.process"),
        ("m.run", "m.py", 7, "handlers['save'].go"),
        ("m.run", "m.py", 8, "make"),
        ("m.run", "m.py", 8, "make(...)"),
        ("m", "m.py", 10, "missing_at_module_level"),
    ]
    rows = [tuple(r) for r in lg.unresolved_calls().itertuples(index=False)]
    assert sorted(rows) == sorted(expected)
    assert lg.summary()["calls_unresolved"] == len(expected)
    assert list(lg.unresolved_calls("m.run")["line"]) == [6, 7, 8, 8]
    assert lg.unresolved_calls("m.known").empty
    with pytest.raises(KeyError, match=r"m\.nothing"):
        lg.unresolved_calls("m.nothing")
    # The same from the published stream: the list is part of the caller's node.
    loaded = LiveGraph.load(graph_name, redis_url=redis_url)
    assert loaded.graph.node("m.run") == lg.graph.node("m.run")
    assert sorted(tuple(r) for r in loaded.unresolved_calls().itertuples(index=False)) == sorted(
        expected
    )
    loaded.close()
    lg.close()
