"""Synthetic code graphs shared by tests and benchmarks."""

from __future__ import annotations

from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind


def layered_graph(name: str, packages: int, modules: int, defs: int) -> CodeGraph:
    """``packages`` x ``modules`` modules (``p{p}/sub/m{m}.py``) of ``defs`` functions each,
    ``contains`` edges, and calls from each function to its namesake one package down."""
    g = CodeGraph(name)
    for p in range(packages):
        for m in range(modules):
            file = f"p{p}/sub/m{m}.py"
            g.add_node(Node.make(f"p{p}.sub.m{m}", NodeKind.MODULE, file=file, line=1))
            for d in range(defs):
                fid = f"p{p}.sub.m{m}.f{d}"
                g.add_node(Node.make(fid, NodeKind.FUNCTION, file=file, line=2 + d))
                g.add_edge(Edge(EdgeKind.CONTAINS, f"p{p}.sub.m{m}", fid, 0, file))
                if p:
                    target = f"p{p - 1}.sub.m{m}.f{d}"
                    g.add_edge(Edge(EdgeKind.CALLS, fid, target, 3, file))
    return g
