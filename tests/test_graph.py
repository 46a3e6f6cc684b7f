from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlive.events import ChangeEvent, EventType, decode, encode
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind

IDS = [f"pkg.m{i}" for i in range(6)]
FILES = ["a.py", "b.py", None]


def recording(graph: CodeGraph) -> list[Sequence[ChangeEvent]]:
    batches: list[Sequence[ChangeEvent]] = []
    graph.listen(batches.append)
    return batches


def flat(batches: list[Sequence[ChangeEvent]]) -> list[ChangeEvent]:
    return [e for b in batches for e in b]


nodes = st.builds(
    Node,
    id=st.sampled_from(IDS),
    kind=st.sampled_from(list(NodeKind)),
    name=st.sampled_from(["f", "g"]),
    file=st.sampled_from(FILES),
    line=st.none() | st.integers(1, 5),
    doc=st.none() | st.sampled_from(["doc", "ünï"]),
    complexity=st.none() | st.integers(1, 3),
    extra=st.sampled_from([(), (("async", True),)]),
)
edges = st.builds(
    Edge,
    kind=st.sampled_from(list(EdgeKind)),
    source=st.sampled_from(IDS),
    target=st.sampled_from(IDS),
    line=st.integers(0, 3),
    file=st.sampled_from(FILES),
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add_node"), nodes),
        st.tuples(st.just("remove_node"), st.sampled_from(IDS)),
        st.tuples(st.just("add_edge"), edges),
        st.tuples(st.just("remove_edge"), edges),
        st.tuples(st.just("clear"), st.none()),
        st.tuples(st.just("txn"), st.lists(st.tuples(st.just("add_node"), nodes), max_size=4)),
    ),
    max_size=40,
)


def snapshot_state(g: CodeGraph) -> tuple[dict[str, Node], dict[object, Edge]]:
    return ({n.id: n for n in g.nodes()}, {e.key: e for e in g.edges()})


def run_op(g: CodeGraph, op: str, arg: object) -> None:
    if op == "add_node":
        assert isinstance(arg, Node)
        g.add_node(arg)
    elif op == "remove_node":
        assert isinstance(arg, str)
        g.remove_node(arg)
    elif op == "add_edge":
        assert isinstance(arg, Edge)
        if arg.source in g and arg.target in g:
            g.add_edge(arg)
    elif op == "remove_edge":
        assert isinstance(arg, Edge)
        g.remove_edge(arg.key)
    elif op == "clear":
        g.clear()


@settings(max_examples=300, deadline=None)
@given(ops)
def test_mutations_emit_exact_events_and_replay_reproduces(
    operations: list[tuple[str, object]],
) -> None:
    g = CodeGraph("p")
    batches = recording(g)
    for op, arg in operations:
        before = snapshot_state(g)
        n_before = len(flat(batches))
        if op == "txn":
            assert isinstance(arg, list)
            with g.transaction():
                for sub_op, sub_arg in arg:
                    run_op(g, sub_op, sub_arg)
            txn_batch = batches[-1] if len(flat(batches)) > n_before else []
            if txn_batch:
                assert [e.txn.last for e in txn_batch if e.txn] == [False] * (
                    len(txn_batch) - 1
                ) + [True]
                assert len({e.txn.id for e in txn_batch if e.txn}) == 1
            continue
        run_op(g, op, arg)
        emitted = flat(batches)[n_before:]
        changed = snapshot_state(g) != before
        if op in ("add_node", "add_edge") and changed:
            # Exactly one event, unless an add_edge replaced an edge with a different owner.
            assert len(emitted) in (1, 2)
        if not changed:
            assert emitted == [], f"{op} changed nothing but emitted {emitted}"
        else:
            assert emitted, f"{op} changed the graph but emitted nothing"

    replica = CodeGraph("replica")
    for event in flat(batches):
        replica.apply(decode(encode(event)))
    assert replica == g
    # Indexes agree with content.
    for node in g.nodes():
        assert node.id in g.nodes_of_kind(node.kind)
        if node.file:
            assert node.id in g.nodes_in_file(node.file)
    for edge in g.edges():
        assert edge in g.out_edges(edge.source) and edge in g.in_edges(edge.target)


def test_noop_mutations_emit_nothing() -> None:
    g = CodeGraph("g")
    batches = recording(g)
    n = Node.make("a", NodeKind.MODULE, file="a.py", line=1)
    assert g.add_node(n)
    assert not g.add_node(Node.make("a", NodeKind.MODULE, file="a.py", line=1))
    assert not g.remove_node("missing")
    assert not g.remove_edge((EdgeKind.CALLS, "a", "a", 1))
    assert len(flat(batches)) == 1


def test_update_carries_only_changed_fields() -> None:
    g = CodeGraph("g")
    batches = recording(g)
    g.add_node(Node.make("a.f", NodeKind.FUNCTION, file="a.py", line=1, doc="old"))
    g.add_node(Node.make("a.f", NodeKind.FUNCTION, file="a.py", line=2))
    (update,) = batches[-1]
    assert update.type is EventType.NODE_UPDATED
    assert update.data == {
        "id": "a.f",
        "kind": "function",
        "file": "a.py",
        "before": {"line": 1, "doc": "old"},
        "after": {"line": 2},
    }
    g.add_node(Node.make("ext", NodeKind.EXTERNAL))
    g.add_node(Node.make("ext", NodeKind.EXTERNAL, doc="d"))
    (update,) = batches[-1]
    assert update.data == {"id": "ext", "kind": "external", "before": {}, "after": {"doc": "d"}}


def test_remove_node_removes_incident_edges_first() -> None:
    g = CodeGraph("g")
    for i in ("a", "b", "c"):
        g.add_node(Node.make(i, NodeKind.FUNCTION, file="x.py"))
    g.add_edge(Edge(EdgeKind.CALLS, "a", "b", 3, "x.py"))
    g.add_edge(Edge(EdgeKind.CALLS, "c", "b", 4, "x.py"))
    batches = recording(g)
    g.remove_node("b")
    types = [e.type for e in flat(batches)]
    assert types == [EventType.EDGE_REMOVED, EventType.EDGE_REMOVED, EventType.NODE_REMOVED]
    assert g.edge_count == 0 and g.degree("a") == 0


def test_edge_requires_existing_endpoints() -> None:
    g = CodeGraph("g")
    g.add_node(Node.make("a", NodeKind.FUNCTION))
    with pytest.raises(KeyError, match="unknown node 'zz'"):
        g.add_edge(Edge(EdgeKind.CALLS, "a", "zz", 1))


def test_failed_transaction_rolls_back_and_emits_nothing() -> None:
    g = CodeGraph("g")
    g.add_node(Node.make("a", NodeKind.MODULE, file="a.py", line=1))
    g.add_node(Node.make("a.f", NodeKind.FUNCTION, file="a.py", line=2))
    g.add_edge(Edge(EdgeKind.CONTAINS, "a", "a.f", 0, "a.py"))
    before = snapshot_state(g)
    batches = recording(g)
    with pytest.raises(RuntimeError, match="parser exploded"), g.transaction():
        g.remove_node("a.f")
        g.add_node(Node.make("a", NodeKind.MODULE, file="a.py", line=9))
        g.add_node(Node.make("a.g", NodeKind.FUNCTION, file="a.py", line=3))
        raise RuntimeError("parser exploded")
    assert batches == []
    assert snapshot_state(g) == before
    assert g.nodes_in_file("a.py") == {"a", "a.f"}


def test_transaction_groups_one_batch_with_last_flag() -> None:
    g = CodeGraph("g", source="test")
    batches = recording(g)
    with g.transaction(source="analysis:a.py") as txn_id:
        g.add_node(Node.make("a", NodeKind.MODULE, file="a.py"))
        with g.transaction():  # nested joins the outer one
            g.add_node(Node.make("a.f", NodeKind.FUNCTION, file="a.py"))
        g.emit(EventType.DIAGNOSTIC, {"file": "a.py", "line": 3, "message": "m"})
    assert len(batches) == 1
    (batch,) = batches
    assert [e.txn.id for e in batch if e.txn] == [txn_id] * 3
    assert [e.txn.last for e in batch if e.txn] == [False, False, True]
    assert {e.source for e in batch} == {"analysis:a.py"}
    with g.transaction():
        pass
    assert len(batches) == 1  # empty transaction: nothing


def test_emit_refuses_mutation_types() -> None:
    with pytest.raises(ValueError, match="produced by mutations"):
        CodeGraph("g").emit(EventType.NODE_ADDED, {})


def test_indexes_follow_moves_between_files_and_kinds() -> None:
    g = CodeGraph("g")
    g.add_node(Node.make("m.f", NodeKind.FUNCTION, file="a.py"))
    g.add_node(Node.make("m.f", NodeKind.CLASS, file="b.py"))
    assert g.nodes_in_file("a.py") == set() and g.nodes_in_file("b.py") == {"m.f"}
    assert g.nodes_of_kind(NodeKind.FUNCTION) == set()
    assert g.nodes_of_kind(NodeKind.CLASS) == {"m.f"}
    g.add_node(Node.make("m", NodeKind.MODULE, file="b.py"))
    g.add_edge(Edge(EdgeKind.CONTAINS, "m", "m.f", 0, "b.py"))
    assert g.edges_of_file("b.py") == {(EdgeKind.CONTAINS, "m", "m.f", 0)}
    g.remove_node("m")
    assert g.edges_of_file("b.py") == set()


def test_snapshot_dict_round_trip() -> None:
    g = CodeGraph("g")
    g.add_node(Node.make("a", NodeKind.MODULE, file="a.py", extra={"k": [1, 2]}))
    g.add_node(Node.make("<builtin>.len", NodeKind.EXTERNAL, name="len"))
    g.add_edge(Edge(EdgeKind.CALLS, "a", "<builtin>.len", 4, "a.py"))
    h = CodeGraph("h")
    batches = recording(h)
    h.load_dict(g.to_dict())
    assert h == g and batches == []
