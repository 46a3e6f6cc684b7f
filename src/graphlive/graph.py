"""CodeGraph: the in-memory code graph and the source of its change events.

Contract:

* Nodes are keyed by a stable string id (docs/analysis.md, "Ids and shapes"), edges by
  ``(kind, source, target, line)``.
  Lookups by id and by edge key are O(1); indexes by file, by kind and by endpoint are kept in
  step with every mutation.
* Every mutation that changes something produces exactly one :class:`~graphlive.events.ChangeEvent`
  (``node_added``/``node_updated``/``node_removed``/``edge_added``/``edge_removed``/
  ``graph_reset``). A mutation that changes nothing produces none.
* Events reach listeners (see :meth:`CodeGraph.listen`) in batches: one batch per mutation outside
  a transaction, one batch per transaction (the last event flagged ``txn.last``) inside one.
  A transaction that raises is rolled back and emits nothing.
* Replaying the events a graph emitted into an empty ``CodeGraph`` with :meth:`CodeGraph.apply`
  reproduces it exactly (``==``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from graphlive.events import ChangeEvent, EventType, Txn, new_event_id

__all__ = [
    "CodeGraph",
    "Edge",
    "EdgeKey",
    "EdgeKind",
    "GraphListener",
    "Node",
    "NodeKind",
]


class NodeKind(str, Enum):
    PACKAGE = "package"
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    METHOD = "method"
    LAMBDA = "lambda"
    EXTERNAL = "external"
    CELL = "cell"
    #: A type that declares methods for others to implement: a TypeScript or Java interface
    #: (Java annotation types too), a Go interface type, a Rust trait.
    INTERFACE = "interface"

    def __str__(self) -> str:
        return self.value


class EdgeKind(str, Enum):
    CONTAINS = "contains"
    IMPORTS = "imports"
    CALLS = "calls"
    INHERITS = "inherits"
    DECORATES = "decorates"
    #: A type declaring (TypeScript/Java ``implements``, Rust ``impl Trait for Type``) or, in
    #: Go, satisfying an interface: source the type, target the interface. An interface
    #: extending another, and a class extending a class, stay ``inherits``.
    IMPLEMENTS = "implements"

    def __str__(self) -> str:
        return self.value


_NODE_KINDS = {k.value: k for k in NodeKind}
_EDGE_KINDS = {k.value: k for k in EdgeKind}


def _freeze_attrs(attrs: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, _frozen(v)) for k, v in attrs.items())) if attrs else ()


def _frozen(value: Any) -> Any:
    """Lists as tuples, all the way down: JSON gives back lists where the node held tuples,
    and the node must stay hashable and equal to itself after a round trip."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


@dataclass(frozen=True, slots=True)
class Node:
    """A code element. Equality is by value: re-analysis that yields an equal node emits nothing.

    Locations are 1-based lines and 0-based columns as Python's ``ast`` reports them (``col`` is
    the UTF-8 byte offset the parser gives); ``file`` is relative to the analysed root with ``/``
    separators, or ``None`` for external nodes. ``extra`` holds language-specific attributes
    as a sorted tuple of pairs so the node stays hashable and comparable.
    """

    id: str
    kind: NodeKind
    name: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    col: int | None = None
    end_col: int | None = None
    language: str = "python"
    doc: str | None = None
    complexity: int | None = None
    loc: int | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as constructor arguments (the analysis cache holds every node and edge):
        # dataclasses' generic state for slots classes takes several times longer to load.
        return (type(self), tuple(getattr(self, name) for name in self.__slots__))

    @staticmethod
    def make(
        id: str,
        kind: NodeKind,
        name: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        **attrs: Any,
    ) -> Node:
        """Convenience constructor: ``name`` defaults to the last dotted part of ``id``."""
        return Node(
            id=id,
            kind=kind,
            name=name if name is not None else id.rsplit(".", 1)[-1],
            extra=_freeze_attrs(extra),
            **attrs,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form; fields that are ``None`` or empty are omitted."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind.value, "name": self.name}
        for f in _NODE_OPTIONAL:
            value = getattr(self, f)
            if value is not None:
                out[f] = value
        if self.language != "python":
            out["language"] = self.language
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Node:
        """Inverse of :meth:`to_dict`. Raises ``ValueError`` for an unknown kind."""
        kind = _NODE_KINDS.get(d["kind"])
        if kind is None:
            raise ValueError(f"unknown node kind {d['kind']!r}")
        return Node(
            id=d["id"],
            kind=kind,
            name=d["name"],
            language=d.get("language", "python"),
            extra=_freeze_attrs(d.get("extra")),
            **{f: d.get(f) for f in _NODE_OPTIONAL},
        )


_NODE_OPTIONAL = ("file", "line", "end_line", "col", "end_col", "doc", "complexity", "loc")

#: Identity of an edge: ``(kind, source, target, line)``.
EdgeKey = tuple[EdgeKind, str, str, int]


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed relation between two nodes.

    ``line`` is the 1-based line of the call site/import/base-class/decorator (0 when the edge has
    no location, e.g. ``contains``); two calls of the same target from the same caller on
    different lines are two edges. ``file`` is the file whose analysis produced the edge (its
    owner for incremental re-analysis), ``None`` for edges not owned by a file.
    """

    kind: EdgeKind
    source: str
    target: str
    line: int = 0
    file: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as constructor arguments (the analysis cache holds every node and edge):
        # dataclasses' generic state for slots classes takes several times longer to load.
        return (type(self), tuple(getattr(self, name) for name in self.__slots__))

    @property
    def key(self) -> EdgeKey:
        return (self.kind, self.source, self.target, self.line)

    @property
    def id(self) -> str:
        """A string id derived from the key, used by views and graph databases."""
        return f"{self.kind._value_}:{self.source}->{self.target}@{self.line}"

    def to_dict(self) -> dict[str, Any]:
        # ``_value_`` rather than ``value``: the same string without Enum's property lookup,
        # which would be a noticeable part of writing a large graph.
        kind = self.kind._value_
        out: dict[str, Any] = {
            "id": f"{kind}:{self.source}->{self.target}@{self.line}",
            "kind": kind,
            "source": self.source,
            "target": self.target,
            "line": self.line,
        }
        if self.file is not None:
            out["file"] = self.file
        return out

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Edge:
        """Inverse of :meth:`to_dict` (``id`` is derived, not read)."""
        kind = _EDGE_KINDS.get(d["kind"])
        if kind is None:
            raise ValueError(f"unknown edge kind {d['kind']!r}")
        return Edge(
            kind=kind,
            source=d["source"],
            target=d["target"],
            line=int(d.get("line", 0)),
            file=d.get("file"),
        )


#: A listener receives each batch of events (one transaction, or one mutation outside one).
GraphListener = Callable[[Sequence[ChangeEvent]], None]


@dataclass
class _Transaction:
    id: str
    source: str
    events: list[ChangeEvent] = field(default_factory=list)
    #: Stamped on every event but the last (shared: Txn is immutable).
    not_last: Txn = field(init=False)

    def __post_init__(self) -> None:
        self.not_last = Txn(self.id, last=False)


class CodeGraph:
    """Nodes, edges, indexes and the event stream of their changes. Not thread-safe: one writer.

    ``name`` is the graph name stamped on every event; ``source`` is the default event source.
    """

    def __init__(self, name: str = "default", *, source: str = "graphlive") -> None:
        self.name = name
        self.source = source
        self._nodes: dict[str, Node] = {}
        self._edges: dict[EdgeKey, Edge] = {}
        self._out: dict[str, set[EdgeKey]] = {}
        self._in: dict[str, set[EdgeKey]] = {}
        self._nodes_by_file: dict[str, set[str]] = {}
        self._edges_by_file: dict[str, set[EdgeKey]] = {}
        self._by_kind: dict[NodeKind, set[str]] = {}
        self._listeners: list[GraphListener] = []
        self._txn: _Transaction | None = None
        self._replaying = False
        self._emitted = 0  # events recorded so far (for callers that count their changes)

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __eq__(self, other: object) -> bool:
        """Two graphs are equal when they hold the same nodes and edges (names may differ)."""
        if not isinstance(other, CodeGraph):
            return NotImplemented
        return self._nodes == other._nodes and self._edges == other._edges

    __hash__ = None  # type: ignore[assignment]

    @property
    def node_count(self) -> int:
        return len(self._nodes)

    @property
    def edge_count(self) -> int:
        return len(self._edges)

    def node(self, node_id: str) -> Node:
        """The node with this id. Raises ``KeyError``."""
        return self._nodes[node_id]

    def get(self, node_id: str) -> Node | None:
        return self._nodes.get(node_id)

    def edge(self, key: EdgeKey) -> Edge:
        return self._edges[key]

    def nodes(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def edges(self) -> Iterator[Edge]:
        return iter(self._edges.values())

    def nodes_in_file(self, file: str) -> set[str]:
        """Ids of the nodes located in ``file`` (a copy)."""
        return set(self._nodes_by_file.get(file, ()))

    def edges_of_file(self, file: str) -> set[EdgeKey]:
        """Keys of the edges owned by ``file`` (a copy)."""
        return set(self._edges_by_file.get(file, ()))

    def files(self) -> set[str]:
        return set(self._nodes_by_file) | set(self._edges_by_file)

    def nodes_of_kind(self, kind: NodeKind) -> set[str]:
        return set(self._by_kind.get(kind, ()))

    def out_edges(self, node_id: str, kind: EdgeKind | None = None) -> list[Edge]:
        return [self._edges[k] for k in self._out.get(node_id, ()) if kind is None or k[0] is kind]

    def in_edges(self, node_id: str, kind: EdgeKind | None = None) -> list[Edge]:
        return [self._edges[k] for k in self._in.get(node_id, ()) if kind is None or k[0] is kind]

    def degree(self, node_id: str) -> int:
        return len(self._out.get(node_id, ())) + len(self._in.get(node_id, ()))

    # ------------------------------------------------------------------ events plumbing

    def listen(self, listener: GraphListener) -> Callable[[], None]:
        """Register ``listener`` for event batches; returns a function that unregisters it."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    @contextlib.contextmanager
    def transaction(self, source: str | None = None) -> Iterator[str]:
        """Group mutations into one transaction (typically one file's re-analysis).

        Yields the transaction id. On normal exit the buffered events are delivered as one batch,
        the last flagged ``txn.last=True``; an empty transaction emits nothing. If the body
        raises, every mutation made inside it is undone and nothing is emitted. A nested
        ``transaction()`` joins the enclosing one.
        """
        if self._txn is not None:
            yield self._txn.id
            return
        txn = _Transaction(id=new_event_id(), source=source or self.source)
        self._txn = txn
        try:
            yield txn.id
        except BaseException:
            self._txn = None
            self._undo(txn.events)
            raise
        self._txn = None
        if not txn.events:
            return
        # Events were stamped with the transaction when recorded; only the last one changes.
        batch = txn.events
        batch[-1] = replace(batch[-1], txn=Txn(txn.id, last=True))
        self._deliver(batch)

    def emit(self, etype: EventType, data: Mapping[str, Any], source: str | None = None) -> None:
        """Emit a non-mutation event (analysis lifecycle, diagnostics) through the same path, so it
        is ordered with the mutations around it."""
        if etype.is_mutation:
            raise ValueError(f"{etype.value} events are produced by mutations, not emit()")
        self._record(etype, data, source)

    def _record(self, etype: EventType, data: Mapping[str, Any], source: str | None = None) -> None:
        if self._replaying:
            return
        self._emitted += 1
        txn = self._txn
        if txn is not None:
            txn.events.append(
                ChangeEvent(type=etype, graph=self.name, data=data, source=txn.source,
                            txn=txn.not_last)
            )  # fmt: skip
        else:
            source = source or self.source
            self._deliver([ChangeEvent(type=etype, graph=self.name, data=data, source=source)])

    def _deliver(self, batch: Sequence[ChangeEvent]) -> None:
        for listener in list(self._listeners):
            listener(batch)

    # ------------------------------------------------------------------ mutations

    def add_node(self, node: Node) -> bool:
        """Add ``node``, or update the node with the same id if it differs.

        Returns True if something changed (one ``node_added`` or ``node_updated`` event).
        """
        old = self._nodes.get(node.id)
        if old is None:
            self._insert_node(node)
            self._record(EventType.NODE_ADDED, {"node": node.to_dict()})
            return True
        if old == node:
            return False
        self._remove_node_indexes(old)
        self._insert_node(node)
        before, after = _node_diff(old, node)
        # The node's kind and file ride along unchanged or not, so that filters by kind or path
        # judge every update exactly without holding the graph.
        data: dict[str, Any] = {"id": node.id, "kind": node.kind.value}
        if node.file is not None:
            data["file"] = node.file
        data["before"], data["after"] = before, after
        self._record(EventType.NODE_UPDATED, data)
        return True

    def remove_node(self, node_id: str) -> bool:
        """Remove the node and, first, every edge touching it (one event each).

        Returns False (and emits nothing) if there is no such node.
        """
        node = self._nodes.get(node_id)
        if node is None:
            return False
        for key in list(self._out.get(node_id, ())) + list(self._in.get(node_id, ())):
            self.remove_edge(key)
        self._out.pop(node_id, None)
        self._in.pop(node_id, None)
        self._remove_node_indexes(node)
        del self._nodes[node_id]
        self._record(EventType.NODE_REMOVED, {"node": node.to_dict()})
        return True

    def add_edge(self, edge: Edge) -> bool:
        """Add ``edge``; both endpoints must exist (``KeyError`` otherwise).

        An edge with the same key but another owner file replaces it as remove + add.
        Returns True if something changed.
        """
        for end in (edge.source, edge.target):
            if end not in self._nodes:
                raise KeyError(f"edge {edge.id} refers to unknown node {end!r}")
        old = self._edges.get(edge.key)
        if old == edge:
            return False
        if old is not None:
            self.remove_edge(old.key)
        self._insert_edge(edge)
        self._record(EventType.EDGE_ADDED, {"edge": edge.to_dict()})
        return True

    def remove_edge(self, key: EdgeKey) -> bool:
        edge = self._edges.pop(key, None)
        if edge is None:
            return False
        self._out[edge.source].discard(key)
        self._in[edge.target].discard(key)
        if edge.file is not None:
            owned = self._edges_by_file[edge.file]
            owned.discard(key)
            if not owned:
                del self._edges_by_file[edge.file]
        self._record(EventType.EDGE_REMOVED, {"edge": edge.to_dict()})
        return True

    def sync(self, nodes: Iterable[Node], edges: Iterable[Edge]) -> int:
        """Make the graph hold exactly ``nodes`` and ``edges``, emitting only the difference.

        Edges whose endpoints are not among ``nodes`` raise ``KeyError`` (nothing is changed
        then if called inside a transaction). Returns the number of events emitted.
        """
        want_nodes = {n.id: n for n in nodes}
        want_edges = {e.key: e for e in edges}
        before = self._emitted
        for key in [k for k in self._edges if k not in want_edges]:
            self.remove_edge(key)
        for node_id in [n for n in self._nodes if n not in want_nodes]:
            self.remove_node(node_id)
        for node in want_nodes.values():
            self.add_node(node)
        for edge in want_edges.values():
            self.add_edge(edge)
        return self._emitted - before

    def clear(self) -> None:
        """Remove everything, emitting one ``graph_reset`` event (if the graph was not empty)."""
        if not self._nodes and not self._edges:
            return
        self._reset_state()
        self._record(EventType.GRAPH_RESET, {})

    # ------------------------------------------------------------------ replay

    def apply(self, event: ChangeEvent) -> None:
        """Apply a mutation event received from elsewhere, without emitting anything.

        Non-mutation events are ignored. Application is idempotent for adds and removals, so a
        duplicate delivery leaves the graph unchanged.
        """
        self._replaying = True
        try:
            self._apply(event)
        finally:
            self._replaying = False

    def apply_all(self, events: Iterable[ChangeEvent]) -> None:
        for event in events:
            self.apply(event)

    def _apply(self, event: ChangeEvent) -> None:
        data = event.data
        t = event.type
        if t is EventType.NODE_ADDED:
            self.add_node(Node.from_dict(data["node"]))
        elif t is EventType.NODE_UPDATED:
            current = self._nodes.get(data["id"])
            if current is None:
                raise KeyError(f"node_updated for unknown node {data['id']!r}")
            merged = current.to_dict()
            for k in data["before"]:
                merged.pop(k, None)
            merged.update(data["after"])
            self.add_node(Node.from_dict(merged))
        elif t is EventType.NODE_REMOVED:
            self.remove_node(data["node"]["id"])
        elif t is EventType.EDGE_ADDED:
            self.add_edge(Edge.from_dict(data["edge"]))
        elif t is EventType.EDGE_REMOVED:
            self.remove_edge(Edge.from_dict(data["edge"]).key)
        elif t is EventType.GRAPH_RESET:
            self._reset_state()

    def _undo(self, events: Sequence[ChangeEvent]) -> None:
        """Revert ``events`` (newest first) without emitting: used to roll back a transaction."""
        self._replaying = True
        try:
            for event in reversed(events):
                d = event.data
                t = event.type
                if t is EventType.NODE_ADDED:
                    self.remove_node(d["node"]["id"])
                elif t is EventType.NODE_UPDATED:
                    merged = self._nodes[d["id"]].to_dict()
                    for k in d["after"]:
                        merged.pop(k, None)
                    merged.update(d["before"])
                    self.add_node(Node.from_dict(merged))
                elif t is EventType.NODE_REMOVED:
                    self.add_node(Node.from_dict(d["node"]))
                elif t is EventType.EDGE_ADDED:
                    self.remove_edge(Edge.from_dict(d["edge"]).key)
                elif t is EventType.EDGE_REMOVED:
                    self.add_edge(Edge.from_dict(d["edge"]))
                elif t is EventType.GRAPH_RESET:
                    raise RuntimeError("a transaction that cleared the graph cannot be undone")
        finally:
            self._replaying = False

    # ------------------------------------------------------------------ snapshots

    def to_dict(self) -> dict[str, Any]:
        """All nodes and edges as JSON-compatible lists (used by bus snapshots)."""
        return {
            "nodes": [n.to_dict() for n in self._nodes.values()],
            "edges": [e.to_dict() for e in self._edges.values()],
        }

    def load_dict(self, d: Mapping[str, Any]) -> None:
        """Replace the content with ``d`` (from :meth:`to_dict`) without emitting events."""
        self._reset_state()
        self._replaying = True
        # Inserted directly (a snapshot holds tens of thousands of edges; the checks and event
        # records of add_node/add_edge were half of loading one); a repeated id or key, which
        # to_dict never writes, goes the checked way.
        nodes, edges = self._nodes, self._edges
        try:
            for n in d.get("nodes", ()):
                node = Node.from_dict(n)
                if node.id in nodes:
                    self.add_node(node)
                else:
                    self._insert_node(node)
            for e in d.get("edges", ()):
                edge = Edge.from_dict(e)
                if edge.source in nodes and edge.target in nodes and edge.key not in edges:
                    self._insert_edge(edge)
                else:
                    self.add_edge(edge)  # KeyError for an unknown endpoint, as documented
        finally:
            self._replaying = False

    def seed(self, nodes: Iterable[Node], edges: Iterable[Edge]) -> None:
        """Insert nodes and edges known to be in the graph elsewhere, without emitting events:
        what a writer keeping only part of a graph in memory (a *working copy*) loads before
        changing it, so that its changes emit the events they would on the whole graph. Ids and
        keys already held are kept as they are; an edge's endpoints must be held
        (``KeyError``)."""
        held_nodes, held_edges = self._nodes, self._edges
        for node in nodes:
            if node.id not in held_nodes:
                self._insert_node(node)
        for edge in edges:
            if edge.key in held_edges:
                continue
            for end in (edge.source, edge.target):
                if end not in held_nodes:
                    raise KeyError(f"edge {edge.id} refers to unknown node {end!r}")
            self._insert_edge(edge)

    def drop_content(self) -> None:
        """Forget every node and edge without emitting events (a working copy about to be
        seeded again; listeners stay)."""
        self._reset_state()

    # ------------------------------------------------------------------ internals

    def _reset_state(self) -> None:
        self._nodes.clear()
        self._edges.clear()
        self._out.clear()
        self._in.clear()
        self._nodes_by_file.clear()
        self._edges_by_file.clear()
        self._by_kind.clear()

    def _insert_node(self, node: Node) -> None:
        self._nodes[node.id] = node
        self._by_kind.setdefault(node.kind, set()).add(node.id)
        if node.file is not None:
            self._nodes_by_file.setdefault(node.file, set()).add(node.id)

    def _remove_node_indexes(self, node: Node) -> None:
        ids = self._by_kind[node.kind]
        ids.discard(node.id)
        if not ids:
            del self._by_kind[node.kind]
        if node.file is not None:
            in_file = self._nodes_by_file[node.file]
            in_file.discard(node.id)
            if not in_file:
                del self._nodes_by_file[node.file]

    def _insert_edge(self, edge: Edge) -> None:
        key = edge.key
        self._edges[key] = edge
        self._out.setdefault(edge.source, set()).add(key)
        self._in.setdefault(edge.target, set()).add(key)
        if edge.file is not None:
            self._edges_by_file.setdefault(edge.file, set()).add(key)


def _node_diff(old: Node, new: Node) -> tuple[dict[str, Any], dict[str, Any]]:
    """Changed fields only, in :meth:`Node.to_dict` form (absent = ``None``/default)."""
    a, b = old.to_dict(), new.to_dict()
    changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    return ({k: a[k] for k in changed if k in a}, {k: b[k] for k in changed if k in b})
