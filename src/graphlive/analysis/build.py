"""Turning facts and resolved links into graph nodes and edges, grouped by the file that
owns them.

Ownership (every edge has exactly one owner file, ``Edge.file``):

* a file owns its module/package node, its definitions, the ``contains`` edges to them (the one
  from the parent package or namespace directory included), and every ``calls``, ``imports``,
  ``inherits`` and ``decorates`` edge whose call site, import statement, class or decorated
  definition is in it;
* namespace-package nodes (directories without ``__init__.py``) and external nodes (imports from
  outside the tree, builtins) have ``file=None``; the ``contains`` edge from one namespace
  directory to another is owned by the first file (in analysis order) below the child directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from graphlive.analysis.facts import (
    F_ASYNC,
    F_CLASSMETHOD,
    F_GENERATOR,
    F_PROPERTY,
    F_STATIC,
    K_CLASS,
    K_FUNCTION,
    K_LAMBDA,
    K_METHOD,
    DiagFact,
    FileFacts,
)
from graphlive.analysis.resolve import FileLinks
from graphlive.graph import Edge, EdgeKey, EdgeKind, Node, NodeKind

__all__ = [
    "FileOutput",
    "build_file",
    "build_outputs",
    "external_node",
    "namespace_node",
    "namespace_owners",
]

_DEF_KINDS = {
    K_CLASS: NodeKind.CLASS,
    K_FUNCTION: NodeKind.FUNCTION,
    K_METHOD: NodeKind.METHOD,
    K_LAMBDA: NodeKind.LAMBDA,
}


@dataclass(slots=True)
class FileOutput:
    """The nodes located in one file and the edges it owns (keyed for cheap diffing)."""

    file: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[EdgeKey, Edge] = field(default_factory=dict)
    diagnostics: list[DiagFact] = field(default_factory=list)
    calls_total: int = 0
    calls_resolved: int = 0


def external_node(node_id: str, name: str) -> Node:
    """Node for something outside the tree (``os.path.join``, ``<builtin>.len``)."""
    return Node(id=node_id, kind=NodeKind.EXTERNAL, name=name)


def namespace_node(node_id: str) -> Node:
    """Node for a directory without ``__init__.py`` that holds modules."""
    return Node(
        id=node_id,
        kind=NodeKind.PACKAGE,
        name=node_id.rpartition(".")[2],
        extra=(("namespace", True),),
    )


def _module_node(facts: FileFacts) -> Node:
    mid = facts.module
    name = mid.rpartition(".")[2] if "/" not in mid else mid.rpartition("/")[2][:-3]
    extra: tuple[tuple[str, object], ...] = (("error", facts.error),) if facts.error else ()
    return Node(
        id=mid,
        kind=NodeKind.PACKAGE if facts.is_package else NodeKind.MODULE,
        name=name,
        file=facts.file,
        line=1,
        end_line=max(facts.lines, 1),
        col=0,
        end_col=facts.last_col,
        doc=facts.doc,
        loc=facts.loc,
        extra=extra,
    )


def _def_extra(flags: int) -> tuple[tuple[str, object], ...]:
    extra: list[tuple[str, object]] = []
    if flags & F_ASYNC:
        extra.append(("async", True))
    if flags & F_CLASSMETHOD:
        extra.append(("classmethod", True))
    if flags & F_GENERATOR:
        extra.append(("generator", True))
    if flags & F_PROPERTY:
        extra.append(("property", True))
    if flags & F_STATIC:
        extra.append(("staticmethod", True))
    return tuple(extra)


def namespace_owners(
    files: Sequence[FileFacts],
    parents: Sequence[str | None],
    namespaces: dict[str, str | None],
) -> dict[str, list[str]]:
    """Which file owns the ``contains`` edge into each namespace directory: the first file (in
    the order given) below it. Returns file → namespaces it owns the edges of."""
    owned: set[str] = set()
    out: dict[str, list[str]] = {}
    for facts, parent in zip(files, parents, strict=True):
        if facts.missing:
            continue
        current = parent
        while current is not None and current in namespaces and current not in owned:
            owned.add(current)
            out.setdefault(facts.file, []).append(current)
            current = namespaces.get(current)
    return out


def build_file(
    facts: FileFacts,
    link: FileLinks,
    parent: str | None,
    owned_namespaces: Sequence[str],
    module_ids: set[str] | frozenset[str],
    namespaces: dict[str, str | None],
) -> FileOutput:
    """The output of one file. ``parent`` is the package or namespace containing it,
    ``owned_namespaces`` the namespaces whose incoming ``contains`` edge it owns (see
    :func:`namespace_owners`), ``module_ids`` every module id of the program."""
    out = FileOutput(file=facts.file)
    out.diagnostics.extend(facts.diagnostics)
    if facts.missing:
        return out
    rel = facts.file
    module = _module_node(facts)
    out.nodes[module.id] = module
    edges = out.edges
    if parent is not None and (parent in module_ids or parent in namespaces):
        edge = Edge(EdgeKind.CONTAINS, parent, module.id, 0, rel)
        edges[edge.key] = edge
    for current in owned_namespaces:
        up = namespaces.get(current)
        if up is not None and (up in namespaces or up in module_ids):
            edge = Edge(EdgeKind.CONTAINS, up, current, 0, rel)
            edges[edge.key] = edge
    for d in facts.defs:
        if d.id in module_ids:
            out.diagnostics.append(
                DiagFact(
                    rel,
                    d.line,
                    d.col,
                    "warning",
                    "id-collision",
                    f"{d.id!r} is also the id of a module; the definition is not shown",
                )
            )
            continue
        out.nodes[d.id] = Node(
            id=d.id,
            kind=_DEF_KINDS[d.kind],
            name=d.name,
            file=rel,
            line=d.line,
            end_line=d.end_line,
            col=d.col,
            end_col=d.end_col,
            doc=d.doc,
            complexity=d.complexity,
            loc=d.loc,
            extra=_def_extra(d.flags),
        )
    for d in facts.defs:
        if d.id in out.nodes and d.parent in out.nodes:
            edge = Edge(EdgeKind.CONTAINS, d.parent, d.id, 0, rel)
            edges[edge.key] = edge
    for kind, triples in (
        (EdgeKind.IMPORTS, link.imports),
        (EdgeKind.CALLS, link.calls),
        (EdgeKind.INHERITS, link.inherits),
        (EdgeKind.DECORATES, link.decorates),
    ):
        for source, target, line in triples:
            edge = Edge(kind, source, target, line, rel)
            edges[edge.key] = edge
    _note_unresolved(out.nodes, link.unresolved)
    out.diagnostics.extend(link.diagnostics)
    out.calls_total = link.calls_total
    out.calls_resolved = link.calls_resolved
    return out


def _note_unresolved(nodes: dict[str, Node], unresolved: Sequence[tuple[str, int, str]]) -> None:
    """Give each caller the calls it makes that resolved to nothing, as
    ``extra["unresolved_calls"]``: ``((line, callee as written), ...)`` in line order (no
    edge is guessed for them; this says where they are)."""
    by_caller: dict[str, list[tuple[int, str]]] = {}
    for caller, line, text in unresolved:
        by_caller.setdefault(caller, []).append((line, text))
    for caller, calls in by_caller.items():
        node = nodes.get(caller)
        if node is not None:
            extra = (*node.extra, ("unresolved_calls", tuple(sorted(calls))))
            nodes[caller] = replace(node, extra=tuple(sorted(extra)))


def build_outputs(
    files: Sequence[FileFacts],
    links: Sequence[FileLinks],
    parents: Sequence[str | None],
    namespaces: dict[str, str | None],
) -> tuple[list[FileOutput], dict[str, Node]]:
    """Per-file outputs (same order as ``files``) and the namespace nodes.

    ``parents[i]`` is the package or namespace id containing file ``i`` (``None`` at the top);
    ``namespaces`` maps each namespace id to its parent id.
    """
    module_ids = {f.module for f in files if not f.missing}
    owners = namespace_owners(files, parents, namespaces)
    outputs = [
        build_file(facts, link, parent, owners.get(facts.file, ()), module_ids, namespaces)
        for facts, link, parent in zip(files, links, parents, strict=True)
    ]
    return outputs, {ns: namespace_node(ns) for ns in namespaces}
