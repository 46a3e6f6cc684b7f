"""Statement builder, batch fold, FalkorDB parameter encoding and the lease: unit tests, and
round trips through a real FalkorDB where the server's parsing is what matters."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphlive.bus import Position
from graphlive.bus.lease import Lease
from graphlive.cli import sinks as sink_cli
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.sinks.changes import fold
from graphlive.sinks.cypher import (
    EDGE_TYPES,
    FALKORDB,
    MEMGRAPH,
    NEO4J,
    NODE_LABELS,
    Statement,
    UnknownKind,
    apply_statement,
    schema_statements,
    split_patch,
    start_rebuild_statement,
)
from graphlive.sinks.falkordb import FalkorDBTarget
from graphlive.sinks.params import NUL_REPLACEMENT, encode_params, encode_value
from tests.test_sink_support import assert_mirrors, falkordb_url, open_falkordb, wait_for

__all__ = ["falkordb_url"]  # the fixture, re-exported for pytest

HOSTILE = "x\"}) MATCH (m) DETACH DELETE m //' `$graph` \\"


def events_of(build: Any) -> list[ChangeEvent]:
    g = CodeGraph("g")
    out: list[ChangeEvent] = []
    g.listen(out.extend)
    build(g)
    return out


def statement(changes_events: list[ChangeEvent], **kw: Any) -> Statement:
    return apply_statement(
        "g",
        fold(changes_events),
        guard=Position("e", 1),
        advance=Position("e", 9),
        consumer="c",
        flavor=kw.pop("flavor", FALKORDB),
        **kw,
    )


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return set()


# ---------------------------------------------------------------------- fold


def test_fold_keeps_the_net_effect_of_a_run() -> None:
    def build(g: CodeGraph) -> None:
        g.add_node(Node.make("a", NodeKind.MODULE, doc="d"))
        g.add_node(Node.make("b", NodeKind.MODULE))
        g.add_edge(Edge(EdgeKind.IMPORTS, "a", "b", 1))
        g.remove_node("b")  # takes the edge with it
        g.add_node(Node.make("b", NodeKind.CLASS))  # re-added: a replacement, not a delete
        g.add_node(Node.make("a", NodeKind.MODULE))  # update of a node added in the run

    changes = fold(events_of(build))
    assert changes.removed_nodes == set()
    assert set(changes.full_nodes) == {"a", "b"} and "doc" not in changes.full_nodes["a"]
    assert changes.full_nodes["b"]["kind"] == "class"
    assert not changes.added_edges and set(changes.removed_edges) == {"imports:a->b@1"}
    assert not changes.patched_nodes and not changes.clear


def test_fold_composes_updates_and_resets() -> None:
    g = CodeGraph("g")
    g.add_node(Node.make("a", NodeKind.MODULE, doc="d", line=1))
    events: list[ChangeEvent] = []
    g.listen(events.extend)
    g.add_node(Node.make("a", NodeKind.MODULE, line=2))
    g.add_node(Node.make("a", NodeKind.CLASS, line=2, loc=5))
    changes = fold(events)
    assert changes.patched_nodes == {"a": {"doc": None, "line": 2, "kind": "class", "loc": 5}}
    g.clear()
    g.add_node(Node.make("z", NodeKind.MODULE))
    changes = fold(events)
    assert changes.clear and set(changes.full_nodes) == {"z"} and not changes.patched_nodes
    diag = ChangeEvent(EventType.DIAGNOSTIC, "g", {"message": "m"})
    assert fold([diag]).is_empty()


# ---------------------------------------------------------------------- statements


def test_values_are_parameters_and_labels_come_from_the_whitelist() -> None:
    def build(g: CodeGraph) -> None:
        g.add_node(Node.make(HOSTILE, NodeKind.FUNCTION, doc=HOSTILE, file=HOSTILE))
        g.add_node(Node.make("b", NodeKind.CLASS))
        g.add_edge(Edge(EdgeKind.CALLS, HOSTILE, "b", 3, HOSTILE))

    st_ = statement(events_of(build))
    assert HOSTILE not in st_.text
    assert HOSTILE in _strings(st_.params)
    assert ":Function" in st_.text and ":Class" in st_.text and ":CALLS" in st_.text
    spliced = {
        w.strip(":")
        for w in st_.text.replace("(", " ").replace(")", " ").split()
        if w.startswith(":") or w.startswith("n:") or w.startswith("e:")
    }
    allowed = {*NODE_LABELS.values(), *EDGE_TYPES.values(), "CodeNode", "GraphliveCursor"}
    for word in spliced:
        for label in word.split(":"):
            assert label in allowed | {"n", "e", ""}, word
    assert st_.params["from_epoch"] == "e" and st_.params["from_seq"] == 1
    assert st_.params["to_seq"] == 9 and st_.text.endswith("RETURN c.seq")


def test_unknown_kinds_and_fields_are_refused() -> None:
    bad_node = ChangeEvent(
        EventType.NODE_ADDED, "g", {"node": {"id": "x", "kind": "macro", "name": "x"}}
    )
    with pytest.raises(UnknownKind):
        statement([bad_node])
    bad_edge = ChangeEvent(
        EventType.EDGE_ADDED,
        "g",
        {"edge": {"id": "i", "kind": "uses", "source": "a", "target": "b", "line": 0}},
    )
    with pytest.raises(UnknownKind):
        statement([bad_edge])
    with pytest.raises(ValueError, match="cannot be written"):
        split_patch({"evil) DETACH DELETE n //": 1})
    assert split_patch({"doc": None, "language": None, "extra": {"a": 1}, "line": 3}) == (
        {"language": "python", "extra": '{"a":1}', "line": 3},
        ("doc",),
    )


def test_flavors_and_create_mode() -> None:
    evs = events_of(lambda g: g.add_node(Node.make("a", NodeKind.MODULE)))
    neo = statement(evs, flavor=NEO4J)
    assert "SET c._lock = true WITH c WHERE" in neo.text and "REMOVE c._lock" in neo.text
    assert (
        "_lock" not in statement(evs).text and "_lock" not in statement(evs, flavor=MEMGRAPH).text
    )
    created = statement(evs, create=True)
    assert "CREATE (n:CodeNode:Module)" in created.text and "MERGE" not in created.text
    empty = apply_statement(
        "g",
        fold([]),
        guard=Position("e", 1),
        advance=Position("e", 2),
        consumer="c",
        flavor=FALKORDB,
    )
    assert "UNWIND" not in empty.text and "SET c.epoch = $to_epoch" in empty.text
    assert any("IF NOT EXISTS" in s for s in schema_statements(NEO4J))
    assert all("IF NOT EXISTS" not in s for s in schema_statements(MEMGRAPH))
    assert schema_statements(FALKORDB)[0] == "CREATE INDEX FOR (n:CodeNode) ON (n.id)"


@pytest.fixture
def fdb(falkordb_url: str, graph_name: str) -> Iterator[FalkorDBTarget]:
    t = open_falkordb(falkordb_url, graph_name)
    t.ensure_schema()
    t.ensure_schema()  # idempotent
    yield t
    t.delete_graph()
    t.close()


def test_hostile_values_are_stored_verbatim(fdb: FalkorDBTarget, graph_name: str) -> None:
    g = CodeGraph(graph_name)
    events: list[ChangeEvent] = []
    g.listen(events.extend)
    g.add_node(Node.make("victim", NodeKind.MODULE))
    g.add_node(Node.make(HOSTILE, NodeKind.FUNCTION, doc=HOSTILE + "\n\t☃", file=HOSTILE))
    g.add_edge(Edge(EdgeKind.CALLS, HOSTILE, "victim", 3, HOSTILE))
    fdb.write(start_rebuild_statement(graph_name, "e", "c"))
    st_ = apply_statement(
        graph_name,
        fold(events),
        guard=Position("e", 0),
        advance=Position("e", 3),
        consumer="c",
        flavor=FALKORDB,
    )
    assert fdb.write(st_) == [[3]]
    assert_mirrors(fdb, graph_name, g)


def test_the_cursor_guard_refuses_stale_and_foreign_positions(
    fdb: FalkorDBTarget, graph_name: str
) -> None:
    fdb.write(start_rebuild_statement(graph_name, "e", "c"))
    node = ChangeEvent(
        EventType.NODE_ADDED, graph_name, {"node": Node.make("a", NodeKind.MODULE).to_dict()}
    )
    for guard in (Position("e", 1), Position("other", 0)):
        st_ = apply_statement(
            graph_name,
            fold([node]),
            guard=guard,
            advance=Position("e", 5),
            consumer="c",
            flavor=FALKORDB,
        )
        assert fdb.write(st_) == []
    assert fdb.counts(graph_name) == (0, 0)
    cursor = fdb.cursor(graph_name)
    assert cursor is not None and cursor.position == Position("e", 0)


# ---------------------------------------------------------------------- parameters

_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
    # Replies print 15 significant digits, which turns values near the maximum into inf.
    | st.floats(min_value=-1e300, max_value=1e300)
    | st.text(max_size=40)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, float) and not isinstance(expected, bool):
        # FalkorDB prints doubles with 15 significant digits in its replies.
        return isinstance(got, float) and math.isclose(expected, got, rel_tol=1e-14, abs_tol=1e-300)
    if isinstance(expected, str):
        return got == expected.replace("\0", NUL_REPLACEMENT)
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(_same(a, b) for a, b in zip(expected, got, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(_same(v, got[k]) for k, v in expected.items())
        )
    return bool(expected == got)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_values)
def test_parameters_round_trip_through_falkordb(fdb: FalkorDBTarget, value: Any) -> None:
    columns, rows = fdb.columns_and_rows(Statement("RETURN $p AS p", {"p": value}))
    assert columns == ["p"]
    assert _same(value, rows[0][0]), (value, rows[0][0])


def test_parameter_encoding_rejects_what_cypher_cannot_express() -> None:
    assert encode_params({}) == ""
    assert encode_params({"a": 1, "b": "x"}) == 'CYPHER a=1 b="x" '
    assert encode_value('a"b\\c\nd') == '"a\\"b\\\\c\nd"'
    for bad in (math.nan, math.inf, 1 << 64):
        with pytest.raises(ValueError, match=r"literal|64 bits"):
            encode_value(bad)
    with pytest.raises(ValueError, match="identifier"):
        encode_value({"a b": 1})
    with pytest.raises(ValueError, match="parameter name"):
        encode_params({"x y": 1})
    with pytest.raises(TypeError):
        encode_value(b"bytes")


# ---------------------------------------------------------------------- lease and CLI


def test_lease_is_exclusive_renewable_and_expires(falkordb_url: str, graph_name: str) -> None:
    client = redis.Redis.from_url(falkordb_url)
    a = Lease(client, f"lease:{graph_name}", "a", ttl_ms=300)
    b = Lease(client, f"lease:{graph_name}", "b", ttl_ms=300)
    assert a.hold() and not b.hold() and a.hold()  # renewing keeps it
    assert (a.holder() or "").startswith("a:")
    a.release()
    assert b.hold() and not a.hold()
    # b stops renewing (as if killed): a gets the lease once it expires.
    wait_for(a.hold, "the lease to expire", timeout=5)
    b.release()  # not b's any more: changes nothing
    assert (a.holder() or "").startswith("a:")
    with pytest.raises(ValueError, match="at least"):
        Lease(client, "k", "x", ttl_ms=10)
    client.close()


def test_cli_wiring_and_status(
    falkordb_url: str, graph_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="graphlive")
    sub = parser.add_subparsers(dest="command")
    sink_cli.add_commands(sub)
    args = parser.parse_args(
        [
            "sink",
            graph_name,
            "--to",
            "falkordb://",
            "--until-caught-up",
            "--group",
            "g",
            "--consumer",
            "c",
            "--batch",
            "10",
        ]
    )
    assert args.func is sink_cli.run_sink and args.until_caught_up and args.batch == 10
    status = sink_cli.build_parser().parse_args(
        [graph_name, "--status", "--redis-url", falkordb_url]
    )
    assert sink_cli.run_sink(status) == 0
    assert json.loads(capsys.readouterr().out) == []
    missing = sink_cli.build_parser().parse_args([graph_name, "--redis-url", falkordb_url])
    assert sink_cli.run_sink(missing) == 2
    bad = sink_cli.build_parser().parse_args(
        [graph_name, "--to", "http://x", "--redis-url", falkordb_url]
    )
    assert sink_cli.run_sink(bad) == 2
    assert "unsupported sink target" in capsys.readouterr().err
