"""Cypher statements of the graph-database sinks: schema, cursor, batches, snapshot chunks.

Every statement is fixed text plus parameters. The only identifiers put into the text are labels
and relationship types taken from the whitelists :data:`NODE_LABELS` / :data:`EDGE_TYPES`
(Cypher cannot take a label as a parameter in FalkorDB or Memgraph); every value — ids, names,
docstrings, file paths — travels as a parameter.

Data model (the same in FalkorDB, Neo4j and Memgraph):

* ``(:CodeNode:<Kind> {graph, id, kind, name, language, file?, line?, end_line?, col?, end_col?,
  doc?, complexity?, loc?, extra?})`` — one per code-graph node; ``<Kind>`` from
  :data:`NODE_LABELS`; ``extra`` is the node's language-specific attributes as a JSON string
  (graph databases store no nested maps); ``graph`` is the graphlive graph name, so one database
  can hold several graphs.
* ``(:CodeNode)-[:<TYPE> {id, kind, line, file?}]->(:CodeNode)`` — one per edge, ``<TYPE>`` from
  :data:`EDGE_TYPES`, ``id`` as :attr:`graphlive.graph.Edge.id`.
* ``(:GraphliveCursor {graph, epoch, seq, consumer})`` — the last applied stream position of the
  graph. Every batch statement is guarded by it (compare-and-set) and moves it in the same
  statement, so a batch takes effect exactly once and a stale writer changes nothing.

A batch statement returns one row (the new ``seq``) when it was applied and no row when the
cursor guard did not match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphlive.bus.reader import Position
from graphlive.graph import EdgeKind, NodeKind
from graphlive.sinks.changes import ChangeSet

__all__ = [
    "CODE_LABEL",
    "CURSOR_LABEL",
    "EDGE_TYPES",
    "NODE_LABELS",
    "Flavor",
    "Statement",
    "apply_statement",
    "clear_chunk_statement",
    "cursor_statement",
    "edge_props",
    "edge_row",
    "node_from_props",
    "node_props",
    "read_edges_statement",
    "read_nodes_statement",
    "schema_statements",
    "split_patch",
    "start_rebuild_statement",
]

#: Label every code-graph node carries (indexed on ``id``).
CODE_LABEL = "CodeNode"
#: Label of the per-graph cursor node.
CURSOR_LABEL = "GraphliveCursor"

#: Node kind → label. A kind missing here cannot be written (no label is ever made up).
NODE_LABELS: Mapping[str, str] = {
    NodeKind.PACKAGE.value: "Package",
    NodeKind.MODULE.value: "Module",
    NodeKind.CLASS.value: "Class",
    NodeKind.FUNCTION.value: "Function",
    NodeKind.METHOD.value: "Method",
    NodeKind.LAMBDA.value: "Lambda",
    NodeKind.EXTERNAL.value: "External",
    NodeKind.CELL.value: "Cell",
    NodeKind.INTERFACE.value: "Interface",
}
#: Edge kind → relationship type.
EDGE_TYPES: Mapping[str, str] = {
    EdgeKind.CONTAINS.value: "CONTAINS",
    EdgeKind.IMPORTS.value: "IMPORTS",
    EdgeKind.CALLS.value: "CALLS",
    EdgeKind.INHERITS.value: "INHERITS",
    EdgeKind.DECORATES.value: "DECORATES",
    EdgeKind.IMPLEMENTS.value: "IMPLEMENTS",
}

_NODE_FIELDS = ("kind", "name", "file", "line", "end_line", "col", "end_col", "doc")
_NODE_NUMBERS = ("complexity", "loc")
_ALL_KIND_LABELS = ":".join(NODE_LABELS.values())


def _check_whitelists() -> None:
    # Labels are spliced into statement text: make sure the whitelists hold plain identifiers.
    for name in (*NODE_LABELS.values(), *EDGE_TYPES.values(), CODE_LABEL, CURSOR_LABEL):
        if not (name.isidentifier() and name.isascii()):
            raise AssertionError(f"label {name!r} is not a plain identifier")
    if set(NODE_LABELS) != {k.value for k in NodeKind}:
        raise AssertionError("NODE_LABELS must cover every NodeKind")
    if set(EDGE_TYPES) != {k.value for k in EdgeKind}:
        raise AssertionError("EDGE_TYPES must cover every EdgeKind")


_check_whitelists()


class UnknownKind(ValueError):
    """An event names a node or edge kind that has no label in the whitelist."""


def node_label(kind: str) -> str:
    """The label of node ``kind``; raises :class:`UnknownKind`."""
    try:
        return NODE_LABELS[kind]
    except KeyError:
        raise UnknownKind(f"node kind {kind!r} has no graph-database label") from None


def edge_type(kind: str) -> str:
    """The relationship type of edge ``kind``; raises :class:`UnknownKind`."""
    try:
        return EDGE_TYPES[kind]
    except KeyError:
        raise UnknownKind(f"edge kind {kind!r} has no relationship type") from None


@dataclass(frozen=True)
class Flavor:
    """What differs between target databases.

    ``lock_cursor``: take the cursor node's write lock before reading it (Neo4j reads committed
    data without locks, so two writers could both pass the guard otherwise; FalkorDB runs each
    query alone, Memgraph aborts one of two conflicting transactions).
    """

    name: str
    lock_cursor: bool = False


FALKORDB = Flavor("falkordb")
NEO4J = Flavor("neo4j", lock_cursor=True)
MEMGRAPH = Flavor("memgraph")


@dataclass(frozen=True)
class Statement:
    """Cypher text and its parameters."""

    text: str
    params: dict[str, Any]


# ---------------------------------------------------------------------- property conversion


def node_props(graph: str, node: Mapping[str, Any]) -> dict[str, Any]:
    """Database properties of a node given in :meth:`Node.to_dict` form.

    Absent fields are left out rather than set to null: ``SET n = props`` replaces every property,
    so they disappear anyway, and null-valued removals are what FalkorDB gets wrong (below).
    """
    node_label(node["kind"])
    props: dict[str, Any] = {"graph": graph, "id": node["id"]}
    for key in (*_NODE_FIELDS, *_NODE_NUMBERS):
        value = node.get(key)
        if value is not None:
            props[key] = value
    props["language"] = node.get("language", "python")
    extra = node.get("extra")
    if extra:
        props["extra"] = _extra_json(extra)
    return props


#: Node fields a ``node_updated`` event may change (the keys spliced into patch statements).
PATCHABLE = frozenset({*_NODE_FIELDS, *_NODE_NUMBERS, "language", "extra"})


def split_patch(patch: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A node patch in ``to_dict`` form (``None`` = field now absent) as ``(properties to set,
    properties to remove)``. Raises ``ValueError`` for a field outside :data:`PATCHABLE`."""
    values: dict[str, Any] = {}
    removed: list[str] = []
    for key, value in patch.items():
        if key == "id":
            continue
        if key not in PATCHABLE:
            raise ValueError(f"node field {key!r} cannot be written to a graph database")
        if key == "kind":
            node_label(value)
        if key == "language" and value is None:
            value = "python"
        elif key == "extra":
            value = _extra_json(value) if value else None
        if value is None:
            removed.append(key)
        else:
            values[key] = value
    return values, tuple(sorted(removed))


def node_from_props(props: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`node_props`: the node in ``to_dict`` form."""
    out: dict[str, Any] = {"id": props["id"], "kind": props["kind"], "name": props["name"]}
    for key in (*_NODE_FIELDS[2:], *_NODE_NUMBERS):
        value = props.get(key)
        if value is not None:
            out[key] = value
    language = props.get("language")
    if language not in (None, "python"):
        out["language"] = language
    extra = props.get("extra")
    if extra:
        out["extra"] = json.loads(extra)
    return out


def edge_props(edge: Mapping[str, Any]) -> dict[str, Any]:
    """Relationship properties of an edge in :meth:`Edge.to_dict` form."""
    edge_type(edge["kind"])
    props = {"id": edge["id"], "kind": edge["kind"], "line": int(edge.get("line", 0))}
    if edge.get("file") is not None:
        props["file"] = edge["file"]
    return props


def edge_row(edge: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter row of one edge: endpoints plus properties."""
    return {"id": edge["id"], "source": edge["source"], "target": edge["target"],
            "p": edge_props(edge)}  # fmt: skip


def _extra_json(extra: Any) -> str:
    return json.dumps(extra, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------- statements


def schema_statements(flavor: Flavor) -> list[str]:
    """Index/constraint DDL for ``flavor``. FalkorDB and Memgraph report an error for an index
    that exists already; callers ignore those (see the targets)."""
    if flavor.name == "neo4j":
        return [
            f"CREATE CONSTRAINT graphlive_code_key IF NOT EXISTS FOR (n:{CODE_LABEL}) "
            "REQUIRE (n.graph, n.id) IS UNIQUE",
            f"CREATE INDEX graphlive_code_id IF NOT EXISTS FOR (n:{CODE_LABEL}) ON (n.id)",
            f"CREATE CONSTRAINT graphlive_cursor_key IF NOT EXISTS FOR (c:{CURSOR_LABEL}) "
            "REQUIRE c.graph IS UNIQUE",
        ]
    if flavor.name == "memgraph":
        return [
            f"CREATE INDEX ON :{CODE_LABEL}(id)",
            f"CREATE INDEX ON :{CURSOR_LABEL}(graph)",
            f"CREATE CONSTRAINT ON (c:{CURSOR_LABEL}) ASSERT c.graph IS UNIQUE",
        ]
    return [
        f"CREATE INDEX FOR (n:{CODE_LABEL}) ON (n.id)",
        f"CREATE INDEX FOR (c:{CURSOR_LABEL}) ON (c.graph)",
    ]


def cursor_statement(graph: str) -> Statement:
    """Read the cursor: rows ``[epoch, seq, consumer]`` (none when the target is fresh)."""
    return Statement(
        f"MATCH (c:{CURSOR_LABEL} {{graph: $graph}}) RETURN c.epoch, c.seq, c.consumer",
        {"graph": graph},
    )


def start_rebuild_statement(graph: str, token: str, consumer: str) -> Statement:
    """Create or take over the cursor with epoch ``token`` and seq 0, unconditionally.

    Starting a rebuild needs no guard: it only ever invalidates what other writers believe, and
    their next guarded statement then changes nothing.
    """
    return Statement(
        f"MERGE (c:{CURSOR_LABEL} {{graph: $graph}}) "
        "SET c.epoch = $epoch, c.seq = 0, c.consumer = $consumer RETURN c.seq",
        {"graph": graph, "epoch": token, "consumer": consumer},
    )


def clear_chunk_statement(graph: str, token: str, limit: int) -> Statement:
    """Delete up to ``limit`` nodes of ``graph`` (with their edges) while the cursor holds rebuild
    ``token``. Returns one row: the number deleted (0 when done or when the token is stale)."""
    return Statement(
        f"MATCH (c:{CURSOR_LABEL} {{graph: $graph}}) WHERE c.epoch = $token "
        f"MATCH (n:{CODE_LABEL} {{graph: $graph}}) WITH n LIMIT $limit "
        "DETACH DELETE n RETURN count(*)",
        {"graph": graph, "token": token, "limit": limit},
    )


def apply_statement(
    graph: str,
    changes: ChangeSet,
    *,
    guard: Position,
    advance: Position,
    consumer: str,
    flavor: Flavor,
    create: bool = False,
) -> Statement:
    """One statement applying ``changes`` iff the cursor is at ``guard``, then moving it to
    ``advance`` — all or nothing, in one query.

    ``create=True`` (snapshot loading into a cleared graph) uses ``CREATE`` instead of ``MERGE``.
    Raises :class:`UnknownKind` for a kind outside the whitelists.
    """
    params: dict[str, Any] = {
        "graph": graph,
        "from_epoch": guard.epoch,
        "from_seq": guard.seq,
        "to_epoch": advance.epoch,
        "to_seq": advance.seq,
        "consumer": consumer,
    }
    parts = [f"MATCH (c:{CURSOR_LABEL} {{graph: $graph}})"]
    if flavor.lock_cursor:
        parts.append("SET c._lock = true")
    parts.append("WITH c WHERE c.epoch = $from_epoch AND c.seq = $from_seq")
    # Each part runs once per row of its UNWIND and ends in `WITH DISTINCT c`, bringing the
    # pipeline back to the single cursor row; OPTIONAL MATCH + FOREACH guards never drop that
    # row, so the cursor update at the end runs exactly when the guard matched.
    if changes.clear:
        parts.append(
            f"OPTIONAL MATCH (n:{CODE_LABEL} {{graph: $graph}}) "
            "FOREACH (hit IN CASE WHEN n IS NULL THEN [] ELSE [1] END | DETACH DELETE n) "
            "WITH DISTINCT c"
        )
    if changes.removed_edges:
        params["removed_edges"] = [
            {"id": e["id"], "source": e["source"]} for e in changes.removed_edges.values()
        ]
        parts.append(
            "UNWIND $removed_edges AS r "
            f"OPTIONAL MATCH (:{CODE_LABEL} {{graph: $graph, id: r.source}})-[e {{id: r.id}}]->() "
            "FOREACH (hit IN CASE WHEN e IS NULL THEN [] ELSE [1] END | DELETE e) "
            "WITH DISTINCT c"
        )
    if changes.removed_nodes:
        params["removed_nodes"] = sorted(changes.removed_nodes)
        parts.append(
            "UNWIND $removed_nodes AS rid "
            f"OPTIONAL MATCH (n:{CODE_LABEL} {{graph: $graph, id: rid}}) "
            "FOREACH (hit IN CASE WHEN n IS NULL THEN [] ELSE [1] END | DETACH DELETE n) "
            "WITH DISTINCT c"
        )
    by_label: dict[str, list[dict[str, Any]]] = {}
    for node in changes.full_nodes.values():
        by_label.setdefault(node_label(node["kind"]), []).append(node_props(graph, node))
    for i, (label, rows) in enumerate(sorted(by_label.items())):
        name = f"nodes{i}"
        params[name] = rows
        if create:
            parts.append(
                f"UNWIND ${name} AS r CREATE (n:{CODE_LABEL}:{label}) SET n = r WITH DISTINCT c"
            )
        else:
            # An upsert without MERGE: FalkorDB 4.16 runs `UNWIND ... MERGE` of nodes ~10x slower
            # than a lookup plus CREATE, and removing labels a node does not have costs as much,
            # so labels are only touched when the kind really changed. Rows have unique ids.
            parts.append(
                f"UNWIND ${name} AS r "
                f"OPTIONAL MATCH (n:{CODE_LABEL} {{graph: $graph, id: r.id}}) "
                "FOREACH (hit IN CASE WHEN n IS NULL THEN [1] ELSE [] END | "
                f"CREATE (m:{CODE_LABEL}:{label}) SET m = r) "
                "FOREACH (hit IN CASE WHEN n IS NOT NULL AND coalesce(n.kind, '') <> r.kind "
                f"THEN [1] ELSE [] END | REMOVE n:{_ALL_KIND_LABELS} SET n:{label}) "
                "FOREACH (hit IN CASE WHEN n IS NULL THEN [] ELSE [1] END | SET n = r) "
                "WITH DISTINCT c"
            )
    # Patches are grouped by (new label, removed fields) so each group is fixed text. Every
    # removed field gets its own FOREACH: FalkorDB 4.16 corrupts a node when one update
    # operation removes several of its properties (it drops the wrong ones), whatever the form
    # (`SET n += {a: null, b: null}`, `SET n.a = null, n.b = null`, `REMOVE n.a, n.b`, or
    # consecutive SET clauses, which it merges); separate FOREACH clauses stay separate.
    groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for nid, patch in changes.patched_nodes.items():
        values, removed = split_patch(patch)
        kind = patch.get("kind")
        label = node_label(kind) if kind is not None else ""
        groups.setdefault((label, removed), []).append({"id": nid, "set": values})
    guard_n = "FOREACH (hit IN CASE WHEN n IS NULL THEN [] ELSE [1] END | "
    for i, ((label, removed), rows) in enumerate(sorted(groups.items())):
        name = f"patches{i}"
        params[name] = rows
        relabel = f" REMOVE n:{_ALL_KIND_LABELS} SET n:{label}" if label else ""
        clauses = [f"{guard_n}SET n += r.set{relabel})"]
        clauses += [f"{guard_n}SET n.{key} = null)" for key in removed]
        parts.append(
            f"UNWIND ${name} AS r "
            f"OPTIONAL MATCH (n:{CODE_LABEL} {{graph: $graph, id: r.id}}) "
            + " ".join(clauses)
            + " WITH DISTINCT c"
        )
    by_type: dict[str, list[dict[str, Any]]] = {}
    for edge in changes.added_edges.values():
        by_type.setdefault(edge_type(edge["kind"]), []).append(edge_row(edge))
    for i, (rtype, rows) in enumerate(sorted(by_type.items())):
        name = f"edges{i}"
        params[name] = rows
        write = (
            f"CREATE (a)-[e:{rtype}]->(b) SET e = r.p"
            if create
            else f"MERGE (a)-[e:{rtype} {{id: r.id}}]->(b) SET e = r.p"
        )
        parts.append(
            f"UNWIND ${name} AS r "
            f"OPTIONAL MATCH (a:{CODE_LABEL} {{graph: $graph, id: r.source}}) "
            f"OPTIONAL MATCH (b:{CODE_LABEL} {{graph: $graph, id: r.target}}) "
            f"FOREACH (hit IN CASE WHEN a IS NULL OR b IS NULL THEN [] ELSE [1] END | {write}) "
            "WITH DISTINCT c"
        )
    tail = "SET c.epoch = $to_epoch, c.seq = $to_seq, c.consumer = $consumer"
    if flavor.lock_cursor:
        tail += " REMOVE c._lock"
    parts.append(tail + " RETURN c.seq")
    return Statement(" ".join(parts), params)


def read_nodes_statement(graph: str) -> Statement:
    """Every code node of ``graph``: rows ``[labels, id, kind, name, file, line, end_line, col,
    end_col, doc, complexity, loc, language, extra]``."""
    cols = ", ".join(f"n.{k}" for k in ("id", *_NODE_FIELDS, *_NODE_NUMBERS, "language", "extra"))
    return Statement(
        f"MATCH (n:{CODE_LABEL} {{graph: $graph}}) RETURN labels(n), {cols}", {"graph": graph}
    )


#: Column names of :func:`read_nodes_statement` after ``labels``.
NODE_COLUMNS: Sequence[str] = ("id", *_NODE_FIELDS, *_NODE_NUMBERS, "language", "extra")


def read_edges_statement(graph: str) -> Statement:
    """Every edge of ``graph``: rows ``[type, source id, target id, id, kind, line, file]``."""
    return Statement(
        f"MATCH (a:{CODE_LABEL} {{graph: $graph}})-[e]->(b:{CODE_LABEL} {{graph: $graph}}) "
        "RETURN type(e), a.id, b.id, e.id, e.kind, e.line, e.file",
        {"graph": graph},
    )
