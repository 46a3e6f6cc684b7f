"""Questions people ask of a code graph, answered on a :class:`~graphlive.graph.CodeGraph`.

Tabular answers are pandas DataFrames with documented columns (empty frames keep the columns);
every traversal is linear in the part of the graph it visits. Unknown node ids raise
``KeyError`` naming the id. :class:`graphlive.live.LiveGraph` exposes these as methods.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind

if TYPE_CHECKING:
    import pandas

__all__ = [
    "callees",
    "callers",
    "definitions",
    "ego",
    "hotspots",
    "import_cycles",
    "module_of",
    "module_stats",
    "references",
    "shortest_path",
    "unresolved_calls",
]

_NODE_COLUMNS = ["id", "kind", "name", "file", "line"]
_CONTAINERS = (NodeKind.MODULE, NodeKind.PACKAGE, NodeKind.CELL)
#: Node kinds :func:`module_stats` counts as ``classes``: a module's types, interfaces included.
_TYPES = (NodeKind.CLASS, NodeKind.INTERFACE)
_DEFINITIONS = (*_TYPES, NodeKind.FUNCTION, NodeKind.METHOD)


def _frame(rows: list[dict[str, object]], columns: list[str]) -> pandas.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def _require(graph: CodeGraph, node_id: str) -> Node:
    node = graph.get(node_id)
    if node is None:
        raise KeyError(f"no node {node_id!r} in graph {graph.name!r}")
    return node


def _node_row(node: Node) -> dict[str, object]:
    return {"id": node.id, "kind": node.kind.value, "name": node.name, "file": node.file,
            "line": node.line}  # fmt: skip


def _walk_calls(
    graph: CodeGraph, start: str, depth: int, forward: bool
) -> Iterator[tuple[str, int, Edge]]:
    """Breadth-first over ``calls`` edges: yields (node id, depth, the edge that reached it)."""
    if depth < 1:
        raise ValueError("depth must be >= 1")
    seen = {start}
    frontier = deque([(start, 0)])
    while frontier:
        current, d = frontier.popleft()
        if d == depth:
            continue
        edges = (
            graph.out_edges(current, EdgeKind.CALLS)
            if forward
            else graph.in_edges(current, EdgeKind.CALLS)
        )
        for edge in sorted(edges, key=lambda e: (e.line, e.target, e.source)):
            nxt = edge.target if forward else edge.source
            if nxt in seen:
                continue
            seen.add(nxt)
            yield nxt, d + 1, edge
            frontier.append((nxt, d + 1))


def _call_frame(graph: CodeGraph, node_id: str, depth: int, forward: bool) -> pandas.DataFrame:
    _require(graph, node_id)
    rows = []
    for nid, d, edge in _walk_calls(graph, node_id, depth, forward):
        row = _node_row(graph.node(nid))
        row.update(depth=d, via=edge.source if forward else edge.target, call_line=edge.line)
        rows.append(row)
    return _frame(rows, [*_NODE_COLUMNS, "depth", "via", "call_line"])


def callers(graph: CodeGraph, node_id: str, depth: int = 1) -> pandas.DataFrame:
    """Who calls ``node_id``, up to ``depth`` calls away (each caller once, at its least depth).

    Columns: id, kind, name, file, line, depth, via (the callee it calls), call_line.
    """
    return _call_frame(graph, node_id, depth, forward=False)


def callees(graph: CodeGraph, node_id: str, depth: int = 1) -> pandas.DataFrame:
    """What ``node_id`` calls, up to ``depth`` calls away. Columns as :func:`callers` (``via`` is
    the caller)."""
    return _call_frame(graph, node_id, depth, forward=True)


def definitions(graph: CodeGraph, name: str) -> pandas.DataFrame:
    """Nodes defining ``name``: an exact id, or every node whose short name is ``name`` or whose
    id ends with ``.name`` (for dotted names such as ``Class.method``).
    Columns: id, kind, name, file, line."""
    exact = graph.get(name)
    if exact is not None:
        return _frame([_node_row(exact)], _NODE_COLUMNS)
    suffix = "." + name
    found = [
        n
        for n in graph.nodes()
        if (n.name == name or n.id.endswith(suffix)) and n.kind is not NodeKind.EXTERNAL
    ]
    rows = [_node_row(n) for n in sorted(found, key=lambda n: n.id)]
    return _frame(rows, _NODE_COLUMNS)


def references(graph: CodeGraph, name: str) -> pandas.DataFrame:
    """Every place that refers to the node(s) :func:`definitions` finds for ``name`` (or to the
    external node with that id): incoming calls, imports, inherits, decorates and implements
    edges (so an interface's references include the types implementing it). For a class,
    instantiations count too (they are calls of its ``__init__``).
    Columns: target, kind (edge kind), source, file, line."""
    targets = list(definitions(graph, name)["id"])
    if not targets and name in graph:
        targets = [name]
    targets += [
        f"{t}.__init__"
        for t in list(targets)
        if graph.node(t).kind is NodeKind.CLASS and f"{t}.__init__" in graph
    ]
    edges = [e for t in targets for e in graph.in_edges(t) if e.kind is not EdgeKind.CONTAINS]
    edges.sort(key=lambda e: (e.file or "", e.line, e.source, e.target))
    rows: list[dict[str, object]] = [
        {"target": e.target, "kind": e.kind.value, "source": e.source, "file": e.file,
         "line": e.line}
        for e in edges
    ]  # fmt: skip
    return _frame(rows, ["target", "kind", "source", "file", "line"])


def shortest_path(
    graph: CodeGraph,
    source: str,
    target: str,
    kinds: Iterable[EdgeKind] = (EdgeKind.CALLS,),
    directed: bool = True,
) -> list[str] | None:
    """The shortest chain of node ids from ``source`` to ``target`` over edges of ``kinds``
    (``None`` when there is none). ``directed=False`` also follows edges backwards."""
    _require(graph, source)
    _require(graph, target)
    allowed = set(kinds)
    parent: dict[str, str | None] = {source: None}
    frontier = deque([source])
    while frontier:
        current = frontier.popleft()
        if current == target:
            path = [current]
            while (prev := parent[path[-1]]) is not None:
                path.append(prev)
            return path[::-1]
        steps = [e.target for e in graph.out_edges(current) if e.kind in allowed]
        if not directed:
            steps += [e.source for e in graph.in_edges(current) if e.kind in allowed]
        for nxt in sorted(steps):
            if nxt not in parent:
                parent[nxt] = current
                frontier.append(nxt)
    return None


def module_of(graph: CodeGraph, node_id: str) -> str | None:
    """The innermost module/package/cell containing ``node_id`` (itself if it is one)."""
    current: str | None = node_id
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        node = graph.get(current)
        if node is None:
            return None
        if node.kind in _CONTAINERS:
            return current
        parents = graph.in_edges(current, EdgeKind.CONTAINS)
        current = parents[0].source if parents else None
    return None


def _import_adjacency(graph: CodeGraph) -> dict[str, set[str]]:
    adj: dict[str, set[str]] = {}
    cache: dict[str, str | None] = {}

    def mod(nid: str) -> str | None:
        if nid not in cache:
            cache[nid] = module_of(graph, nid)
        return cache[nid]

    for edge in graph.edges():
        if edge.kind is not EdgeKind.IMPORTS:
            continue
        a, b = mod(edge.source), mod(edge.target)
        if a is not None and b is not None:
            adj.setdefault(a, set()).add(b)
    return adj


def _strongly_connected(adj: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (deep import chains must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, iter(sorted(adj.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(adj.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                out.append(sorted(component))
    return out


def import_cycles(graph: CodeGraph) -> pandas.DataFrame:
    """Groups of modules that import each other (strongly connected components of the
    module-level import graph with more than one module, or a module importing itself).

    Linear in the graph: cycles are reported as components, never enumerated one by one.
    Columns: cycle (number), size, modules (sorted list).
    """
    adj = _import_adjacency(graph)
    cycles = [c for c in _strongly_connected(adj) if len(c) > 1 or c[0] in adj.get(c[0], ())]
    cycles.sort(key=lambda c: (-len(c), c))
    rows: list[dict[str, object]] = [
        {"cycle": i, "size": len(c), "modules": c} for i, c in enumerate(cycles, 1)
    ]
    return _frame(rows, ["cycle", "size", "modules"])


def hotspots(graph: CodeGraph, top: int = 20) -> pandas.DataFrame:
    """The most complex functions and methods: by cyclomatic complexity, then lines of code.

    Columns: id, kind, name, file, line, complexity, loc, callers, callees.
    """
    funcs = [
        n
        for n in graph.nodes()
        if n.kind in (NodeKind.FUNCTION, NodeKind.METHOD) and n.complexity is not None
    ]
    funcs.sort(key=lambda n: (-(n.complexity or 0), -(n.loc or 0), n.id))
    rows = []
    for n in funcs[:top]:
        row = _node_row(n)
        row.update(
            complexity=n.complexity,
            loc=n.loc,
            callers=len({e.source for e in graph.in_edges(n.id, EdgeKind.CALLS)}),
            callees=len({e.target for e in graph.out_edges(n.id, EdgeKind.CALLS)}),
        )
        rows.append(row)
    return _frame(rows, [*_NODE_COLUMNS, "complexity", "loc", "callers", "callees"])


def module_stats(graph: CodeGraph) -> pandas.DataFrame:
    """One row per module/package with a file: definitions, size, complexity and coupling.

    Columns: module, file, classes (interfaces included: both are types), functions (incl.
    methods), loc, complexity (sum over functions), max_complexity, imports (modules it
    imports), imported_by (modules importing it).
    """
    modules = {
        n.id: n for n in graph.nodes() if n.kind in (NodeKind.MODULE, NodeKind.PACKAGE) and n.file
    }
    counts = {
        m: {"classes": 0, "functions": 0, "loc": n.loc or 0, "complexity": 0, "max_complexity": 0}
        for m, n in modules.items()
    }
    for node in graph.nodes():
        if node.kind not in _DEFINITIONS:
            continue
        owner = module_of(graph, node.id)
        if owner not in counts:
            continue
        c = counts[owner]
        if node.kind in _TYPES:
            c["classes"] += 1
            continue
        c["functions"] += 1
        c["complexity"] += node.complexity or 0
        c["max_complexity"] = max(c["max_complexity"], node.complexity or 0)
    adj = _import_adjacency(graph)
    imported_by: dict[str, int] = {}
    for a, targets in adj.items():
        for b in targets - {a}:
            imported_by[b] = imported_by.get(b, 0) + 1
    rows: list[dict[str, object]] = [
        {
            "module": m,
            "file": modules[m].file,
            **counts[m],
            "imports": len(adj.get(m, set()) - {m}),
            "imported_by": imported_by.get(m, 0),
        }
        for m in sorted(counts)
    ]
    return _frame(
        rows,
        ["module", "file", "classes", "functions", "loc", "complexity", "max_complexity",
         "imports", "imported_by"],
    )  # fmt: skip


def unresolved_calls(graph: CodeGraph, node_id: str | None = None) -> pandas.DataFrame:
    """Calls the analysis could not resolve (it draws no edge for them and guesses none), from
    each caller's ``extra["unresolved_calls"]``; only those of ``node_id`` when given.

    Columns: caller, file, line, callee (the callee as written, shortened: ``obj.process``,
    ``handlers[...]``, ``make(...)`` for the result of a call). Sorted by file and line."""
    nodes = [_require(graph, node_id)] if node_id is not None else graph.nodes()
    rows: list[dict[str, object]] = []
    for node in nodes:
        calls = dict(node.extra).get("unresolved_calls") if node.extra else None
        for line, callee in calls or ():
            rows.append({"caller": node.id, "file": node.file, "line": line, "callee": callee})
    rows.sort(key=lambda r: (str(r["file"]), r["line"], str(r["caller"])))
    return _frame(rows, ["caller", "file", "line", "callee"])


def ego(
    graph: CodeGraph,
    node_id: str,
    depth: int = 1,
    kinds: Iterable[EdgeKind] | None = None,
) -> CodeGraph:
    """The subgraph within ``depth`` hops of ``node_id`` (edges in both directions, of ``kinds``
    or all kinds), as a new ``CodeGraph`` named ``<graph>-ego``. Used by the view's ego mode."""
    _require(graph, node_id)
    if depth < 0:
        raise ValueError("depth must be >= 0")
    allowed = set(kinds) if kinds is not None else set(EdgeKind)
    dist = {node_id: 0}
    frontier = deque([node_id])
    while frontier:
        current = frontier.popleft()
        if dist[current] == depth:
            continue
        for e in graph.out_edges(current) + graph.in_edges(current):
            if e.kind not in allowed:
                continue
            other = e.target if e.source == current else e.source
            if other not in dist:
                dist[other] = dist[current] + 1
                frontier.append(other)
    sub = CodeGraph(f"{graph.name}-ego"[:128])
    for nid in dist:
        sub.add_node(graph.node(nid))
    for nid in dist:
        for e in graph.out_edges(nid):
            if e.kind in allowed and e.target in dist:
                sub.add_edge(e)
    return sub
