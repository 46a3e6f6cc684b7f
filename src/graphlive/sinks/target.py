"""Graph-database targets of a sink: the interface and the ``--to`` URL.

A :class:`Target` runs Cypher :class:`~graphlive.sinks.cypher.Statement` objects against one
database. Concrete targets: :class:`graphlive.sinks.falkordb.FalkorDBTarget` (``falkordb://``)
and :class:`graphlive.sinks.bolt.BoltTarget` (``bolt://``, ``neo4j://``, ``memgraph://``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from graphlive.bus.reader import Position
from graphlive.graph import CodeGraph, Edge, Node
from graphlive.sinks.cypher import (
    NODE_COLUMNS,
    Flavor,
    Statement,
    cursor_statement,
    node_from_props,
    read_edges_statement,
    read_nodes_statement,
    schema_statements,
)

__all__ = ["Cursor", "SinkError", "Target", "open_target"]


class SinkError(RuntimeError):
    """A sink cannot work with its target or source (the message says what to change)."""


@dataclass(frozen=True)
class Cursor:
    """The target's record of what it holds: the last applied position and who applied it.

    ``position.epoch`` starting with ``rebuild:`` marks a rebuild in progress (not a position).
    """

    position: Position
    consumer: str

    @property
    def rebuilding(self) -> bool:
        return self.position.epoch.startswith(REBUILD_PREFIX)


#: Epoch prefix of the cursor while the graph is being rebuilt from a snapshot.
REBUILD_PREFIX = "rebuild:"


class Target(abc.ABC):
    """One graph database. Not thread-safe; one per sink."""

    flavor: Flavor
    #: Exceptions of this target's driver that mean "try again later" (connection lost, leader
    #: changed, deadlock detected); the sink retries them instead of stopping.
    transient: tuple[type[BaseException], ...] = ()

    @abc.abstractmethod
    def describe(self) -> str:
        """Where this target is, without credentials (safe to log and to name a group after)."""

    @abc.abstractmethod
    def write(self, statement: Statement) -> list[list[Any]]:
        """Run a write statement atomically; returns its rows. Raises on database errors."""

    @abc.abstractmethod
    def read(self, statement: Statement) -> list[list[Any]]:
        """Run a read-only statement; returns its rows."""

    @abc.abstractmethod
    def run_schema(self, text: str) -> None:
        """Run one DDL statement, ignoring "already exists" errors."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ shared helpers

    def ensure_schema(self) -> None:
        """Create the indexes and constraints the sink relies on (idempotent)."""
        for text in schema_statements(self.flavor):
            self.run_schema(text)

    def cursor(self, graph: str) -> Cursor | None:
        """The cursor of ``graph``, or None when the target has never held it."""
        rows = self.read(cursor_statement(graph))
        if not rows:
            return None
        epoch, seq, consumer = rows[0]
        return Cursor(Position(_text(epoch), int(seq or 0)), _text(consumer))

    def read_graph(self, graph: str) -> CodeGraph:
        """The stored graph read back as a :class:`CodeGraph` (for checks and exports).

        Raises ``ValueError`` if a node's kind label disagrees with its ``kind`` property.
        """
        from graphlive.sinks.cypher import EDGE_TYPES, NODE_LABELS

        g = CodeGraph(graph)
        for row in self.read(read_nodes_statement(graph)):
            labels = {_text(x) for x in row[0]}
            props = {k: _plain(v) for k, v in zip(NODE_COLUMNS, row[1:], strict=True)}
            node = node_from_props(props)
            expected = NODE_LABELS.get(node["kind"])
            if expected not in labels or len(labels & set(NODE_LABELS.values())) != 1:
                raise ValueError(f"node {node['id']!r} has labels {sorted(labels)}")
            g.add_node(Node.from_dict(node))
        for row in self.read(read_edges_statement(graph)):
            rtype, source, target, _eid, kind, line, file = (_plain(v) for v in row)
            if EDGE_TYPES.get(kind) != rtype:
                raise ValueError(f"edge {_eid!r} of kind {kind!r} has type {rtype!r}")
            g.add_edge(Edge.from_dict(
                {"kind": kind, "source": source, "target": target, "line": line, "file": file}
            ))  # fmt: skip
        return g

    def counts(self, graph: str) -> tuple[int, int]:
        """``(nodes, relationships)`` of ``graph`` as stored, duplicates included."""
        nodes = self.read(Statement("MATCH (n:CodeNode {graph: $graph}) RETURN count(n)",
                                    {"graph": graph}))  # fmt: skip
        edges = self.read(
            Statement("MATCH (:CodeNode {graph: $graph})-[e]->() RETURN count(e)", {"graph": graph})
        )
        return (int(nodes[0][0]) if nodes else 0), (int(edges[0][0]) if edges else 0)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _plain(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def open_target(url: str, *, graph: str, redis_url: str | None = None) -> Target:
    """Open the target named by a ``--to`` URL for graphlive graph ``graph``.

    * ``falkordb://`` (``falkordb:///NAME``) — the FalkorDB module of graphlive's own Redis
      (``redis_url``, else ``GRAPHLIVE_REDIS_URL``, else the embedded server); ``NAME`` is the
      FalkorDB graph key, default ``graph``.
    * ``falkordb://[user:password@]host[:port]/NAME`` — another Redis with FalkorDB (TCP);
      ``falkordbs://`` for TLS. ``falkordb:///path/to/redis.sock/NAME`` — a unix socket.
    * ``bolt://``, ``bolt+s://``, ``neo4j://``, ``neo4j+s://`` … ``[user:password@]host:port
      [/database]`` — Neo4j or Memgraph over Bolt (``?flavor=memgraph`` or ``memgraph://`` to
      skip detection).

    Raises ``ValueError`` for an unsupported URL.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("falkordb", "falkordbs"):
        from graphlive.sinks.falkordb import FalkorDBTarget

        return FalkorDBTarget.from_url(url, default_graph=graph, redis_url=redis_url)
    from graphlive.sinks.bolt import BOLT_SCHEMES

    if scheme in BOLT_SCHEMES:
        from graphlive.sinks.bolt import BoltTarget

        return BoltTarget.from_url(url)
    from graphlive.bus.connection import redact

    accepted = ", ".join(f"{s}://" for s in ("falkordb", "falkordbs", *BOLT_SCHEMES))
    raise ValueError(f"unsupported sink target {redact(url)!r}: use one of {accepted}")
