"""What a notebook asks of a live graph's code: the query methods of
:class:`~graphlive.live.LiveGraph`, thin wrappers over :mod:`graphlive.queries` and networkx on
its :attr:`~graphlive.live.LiveGraph.graph`, and Cypher on its FalkorDB copy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from graphlive import queries
from graphlive.graph import CodeGraph, EdgeKind

if TYPE_CHECKING:
    import networkx
    import pandas

    from graphlive.bus.bus import Bus

__all__ = ["GraphQueries"]


class _HasGraph(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def graph(self) -> CodeGraph: ...

    @property
    def bus(self) -> Bus | None: ...

    def flush(self) -> bool: ...


class GraphQueries:
    """Mixin of :class:`~graphlive.live.LiveGraph`: questions about its graph (read from Redis
    when first needed)."""

    def to_networkx(self: _HasGraph) -> networkx.MultiDiGraph:
        """A ``networkx.MultiDiGraph``: nodes are ids with their attributes (``kind``, ``file``,
        ``line``, …); edges are keyed by edge id and carry ``kind``, ``line`` and ``file``."""
        import networkx as nx

        g: nx.MultiDiGraph = nx.MultiDiGraph(name=self.name)
        for node in self.graph.nodes():
            attrs = node.to_dict()
            del attrs["id"]
            g.add_node(node.id, **attrs)
        for edge in self.graph.edges():
            g.add_edge(
                edge.source, edge.target, key=edge.id, kind=edge.kind.value, line=edge.line,
                file=edge.file,
            )  # fmt: skip
        return g

    # ------------------------------------------------------------------ queries (see queries.py)

    def callers(self: _HasGraph, node_id: str, depth: int = 1) -> pandas.DataFrame:
        """Who calls ``node_id`` within ``depth`` calls (:func:`graphlive.queries.callers`)."""
        return queries.callers(self.graph, node_id, depth)

    def callees(self: _HasGraph, node_id: str, depth: int = 1) -> pandas.DataFrame:
        """What ``node_id`` calls within ``depth`` calls (:func:`graphlive.queries.callees`)."""
        return queries.callees(self.graph, node_id, depth)

    def definition(self: _HasGraph, name: str) -> pandas.DataFrame:
        """Where ``name`` is defined (:func:`graphlive.queries.definitions`)."""
        return queries.definitions(self.graph, name)

    def references(self: _HasGraph, name: str) -> pandas.DataFrame:
        """Every call, import, base class or decorator use of ``name``."""
        return queries.references(self.graph, name)

    def shortest_path(
        self: _HasGraph, source: str, target: str, kinds: Iterable[EdgeKind] = (EdgeKind.CALLS,)
    ) -> list[str] | None:
        """The shortest chain of ids from ``source`` to ``target`` over edges of ``kinds``."""
        return queries.shortest_path(self.graph, source, target, kinds)

    def import_cycles(self: _HasGraph) -> pandas.DataFrame:
        """Groups of mutually importing modules (strongly connected components)."""
        return queries.import_cycles(self.graph)

    def hotspots(self: _HasGraph, top: int = 20) -> pandas.DataFrame:
        """The most complex functions and methods."""
        return queries.hotspots(self.graph, top)

    def module_stats(self: _HasGraph) -> pandas.DataFrame:
        """Per-module definitions, size, complexity and import coupling."""
        return queries.module_stats(self.graph)

    def unresolved_calls(self: _HasGraph, node_id: str | None = None) -> pandas.DataFrame:
        """Calls left unresolved, where they are (:func:`graphlive.queries.unresolved_calls`)."""
        return queries.unresolved_calls(self.graph, node_id)

    def ego(self: _HasGraph, node_id: str, depth: int = 1) -> CodeGraph:
        """The subgraph within ``depth`` hops of ``node_id``."""
        return queries.ego(self.graph, node_id, depth)

    def cypher(
        self: _HasGraph, query: str, params: Mapping[str, Any] | None = None, *, sync: bool = True
    ) -> pandas.DataFrame:
        """Run a read-only Cypher query on this graph's FalkorDB copy, as a DataFrame.

        With ``sync=True`` the copy (kept by the sink in the embedded Redis' FalkorDB module,
        the same one ``graphlive sink NAME --to falkordb://`` maintains) is first brought up to
        date with every published event. Needs Redis (``publish=True``).
        """
        from graphlive.sinks import Sink
        from graphlive.sinks.falkordb import FalkorDBTarget, cypher

        if self.bus is None:
            raise RuntimeError("LiveGraph.cypher needs Redis: create the graph with publish=True")
        self.flush()
        client = self.bus.client
        if sync:
            target = FalkorDBTarget(client, self.name, where="graphlive-redis")
            with Sink(self.name, target, client=client) as sink:
                sink.run(until_caught_up=True)
        return cypher(query, params, graph=self.name, client=client)
