"""``%load_ext graphlive``: the notebook's own code as a live graph, updated as cells run.

After every executed cell, the code of all cells run so far is analysed as the kernel's
``__main__`` module, the way Python sees it: a later definition of a name replaces the earlier
one. The result is synced into the notebook's graph (one transaction per cell, only the
difference is published):

* the module node ``__main__`` contains one ``cell`` node per executed cell
  (``__main__.<cell{n}>``, ``n`` its execution count), which contains the cell's top-level
  functions and classes and is the caller of its top-level calls;
* redefining a function in a later cell *updates* ``__main__.f`` (its location, docstring,
  complexity, calls) and moves it to the later cell — it is never duplicated;
* calls into imported packages keep their import path (``shop.cart.Cart.add``), the ids the
  package's own graph uses; builtins are ``<builtin>.len``.

Node lines are relative to their cell; ``extra["cell"]`` holds the execution count.

Magics: ``%graphlive`` shows the notebook graph's live view; ``%graphlive on|off`` switches the
automatic analysis; ``%graphlive status``; ``%%graphlive`` runs a cell and analyses it even when
automatic analysis is off. A cell that does not parse is skipped with a ``diagnostic`` event.
Analysis problems never break the user's cell: they are logged.
"""

from __future__ import annotations

import ast
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graphlive.events import EventType
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.live import LiveGraph, graph_name_for

__all__ = [
    "NotebookGraph",
    "load_ipython_extension",
    "notebook_graph",
    "unload_ipython_extension",
]

log = logging.getLogger(__name__)

MODULE_ID = "__main__"
#: Cells kept in the graph (oldest dropped first): a long session stays bounded.
MAX_CELLS = 500


def cell_id(count: int) -> str:
    return f"{MODULE_ID}.<cell{count}>"


@dataclass(frozen=True, slots=True)
class Cell:
    count: int
    code: str


class NotebookGraph:
    """The graph of a notebook's executed cells (usable without IPython, e.g. in tests)."""

    def __init__(self, live: LiveGraph) -> None:
        self.live = live
        self.cells: list[Cell] = []
        self._workdir = Path(tempfile.mkdtemp(prefix="graphlive-nb-"))

    def add_cell(self, count: int, code: str) -> int:
        """Record an executed cell and update the graph; returns the events emitted.

        A cell that does not parse is not recorded; a ``diagnostic`` event says why.
        """
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            self.live.graph.emit(
                EventType.DIAGNOSTIC,
                {"file": f"<cell{count}>", "line": exc.lineno or 0, "severity": "error",
                 "code": "syntax-error", "message": f"cell {count} not analysed: {exc.msg}"},
            )  # fmt: skip
            self.live.flush()
            return 0
        if _only_magics(tree):
            return 0
        if self.cells and count <= self.cells[-1].count:
            # Not stored in history (execution count unchanged): keep cell ids unique.
            count = self.cells[-1].count + 1
        self.cells.append(Cell(count, code))
        del self.cells[:-MAX_CELLS]
        nodes, edges = self._analyse()
        with self.live.lock, self.live.graph.transaction(source="graphlive/notebook"):
            changed = self.live.graph.sync(nodes, edges)
        self.live.flush()
        return changed

    def close(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)
        self.live.close()

    # ------------------------------------------------------------------ analysis

    def _compose(self) -> tuple[str, list[tuple[int, int, Cell]]]:
        """The module as Python would hold it: every cell in execution order, with top-level
        definitions that a later cell (or later statement) redefines blanked out (line numbers
        kept). Returns the source and each cell's (first line, last line, cell)."""
        trees = [ast.parse(c.code) for c in self.cells]
        last_def: dict[str, tuple[int, int]] = {}
        for ci, tree in enumerate(trees):
            for si, stmt in enumerate(tree.body):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    last_def[stmt.name] = (ci, si)
        lines: list[str] = []
        spans: list[tuple[int, int, Cell]] = []
        for ci, (cell, tree) in enumerate(zip(self.cells, trees, strict=True)):
            cell_lines = cell.code.splitlines() or [""]
            for si, stmt in enumerate(tree.body):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (
                    last_def[stmt.name] != (ci, si)
                ):
                    first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
                    end = stmt.end_lineno or stmt.lineno
                    for i in range(first - 1, end):
                        cell_lines[i] = ""
            start = len(lines) + 1
            lines.extend(cell_lines)
            spans.append((start, len(lines), cell))
        return "\n".join(lines) + "\n", spans

    def _analyse(self) -> tuple[list[Node], list[Edge]]:
        from graphlive.analysis.engine import Analyzer

        source, spans = self._compose()
        (self._workdir / "__main__.py").write_text(source, encoding="utf-8")
        scratch = CodeGraph("scratch")
        Analyzer(self._workdir, scratch, workers=1).run()

        def cell_at(line: int) -> tuple[int, Cell]:
            for start, end, cell in spans:
                if start <= line <= end:
                    return start, cell
            return spans[-1][0], spans[-1][2]

        nodes: dict[str, Node] = {}
        offsets: dict[str, tuple[int, Cell]] = {}
        for node in scratch.nodes():
            if node.id == MODULE_ID:
                nodes[MODULE_ID] = replace(node, name="notebook", file=None, line=None,
                                           end_line=None, col=None, end_col=None)  # fmt: skip
                continue
            if node.file is None:  # external / builtin
                nodes[node.id] = node
                continue
            start, cell = cell_at(node.line or 1)
            offsets[node.id] = (start, cell)
            nodes[node.id] = _relocated(node, start, cell.count)
        for start, end, cell in spans:
            nodes[cell_id(cell.count)] = Node.make(
                cell_id(cell.count), NodeKind.CELL, name=f"In [{cell.count}]", line=1,
                end_line=end - start + 1, loc=sum(1 for ln in cell.code.splitlines() if ln.strip()),
                extra={"cell": cell.count},
            )  # fmt: skip
        edges: dict[tuple[Any, ...], Edge] = {}

        def put(edge: Edge) -> None:
            edges[edge.key] = edge

        for _, _, cell in spans:
            put(Edge(EdgeKind.CONTAINS, MODULE_ID, cell_id(cell.count)))
        for edge in scratch.edges():
            source, line = edge.source, edge.line
            if source == MODULE_ID:
                if edge.kind is EdgeKind.CONTAINS:
                    start, cell = offsets[edge.target]
                    put(Edge(EdgeKind.CONTAINS, cell_id(cell.count), edge.target))
                    continue
                start, cell = cell_at(line)
                source = cell_id(cell.count)
            elif line:
                start, _ = offsets.get(source, cell_at(line))
            else:
                start = 1
            put(Edge(edge.kind, source, edge.target, line - start + 1 if line else 0))
        return list(nodes.values()), list(edges.values())


def _only_magics(tree: ast.Module) -> bool:
    """True for cells that only run magics (``%load_ext …``): nothing to show in the graph."""

    def is_magic(stmt: ast.stmt) -> bool:
        if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
            return False
        func = stmt.value.func
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "get_ipython"
        )

    return all(is_magic(stmt) for stmt in tree.body)


def _relocated(node: Node, start: int, count: int) -> Node:
    """``node`` with lines relative to its cell and the cell's number in ``extra``."""
    shift = start - 1
    extra = dict(node.extra)
    extra["cell"] = count
    return replace(
        node,
        file=None,
        line=node.line - shift if node.line else node.line,
        end_line=node.end_line - shift if node.end_line else node.end_line,
        extra=tuple(sorted(extra.items())),
    )


# ---------------------------------------------------------------------- IPython glue

_ACTIVE: dict[int, _Extension] = {}


class _Extension:
    def __init__(self, ip: Any, graph: str) -> None:
        self.ip = ip
        self.auto = True
        self.notebook = NotebookGraph(LiveGraph(graph))
        #: Set by ``%%graphlive``, which analyses its cell itself.
        self.skip_next = False

    def post_run_cell(self, result: Any) -> None:
        if self.skip_next:
            self.skip_next = False
            return
        if not self.auto:
            return
        info = result.info
        if result.error_before_exec is not None or info is None or not info.raw_cell.strip():
            return
        self.analyse(result.execution_count or len(self.notebook.cells) + 1, info.raw_cell)

    def analyse(self, count: int, raw_cell: str) -> None:
        try:
            self.notebook.add_cell(count, self.ip.transform_cell(raw_cell))
        except Exception:
            log.warning("graphlive: could not analyse cell %s", count, exc_info=True)


def notebook_graph(ip: Any = None) -> LiveGraph:
    """The LiveGraph of the notebook's cells (``%load_ext graphlive`` must have run).

    Raises ``RuntimeError`` if the extension is not loaded in this shell.
    """
    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
    ext = _ACTIVE.get(id(ip))
    if ext is None:
        raise RuntimeError("graphlive's IPython extension is not loaded: run %load_ext graphlive")
    return ext.notebook.live


def _default_graph_name() -> str:
    # jupyter_server tells kernels which notebook they run for.
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        return "nb-" + graph_name_for(Path(Path(session).stem))[:120]
    return "notebook"


def load_ipython_extension(ip: Any) -> None:
    """Entry point of ``%load_ext graphlive``."""
    from IPython.core.magic import Magics, line_cell_magic, magics_class

    if id(ip) in _ACTIVE:
        return
    ext = _Extension(ip, _default_graph_name())
    _ACTIVE[id(ip)] = ext
    ip.events.register("post_run_cell", ext.post_run_cell)

    @magics_class
    class GraphliveMagics(Magics):
        @line_cell_magic
        def graphlive(self, line: str, cell: str | None = None) -> Any:
            """%graphlive [on|off|status]: show the notebook graph's view, or switch automatic
            analysis. %%graphlive: run the cell and analyse it (even when automatic analysis
            is off)."""
            if cell is not None:
                shell: Any = self.shell  # IPython's shell methods are untyped
                ext.skip_next = True
                shell.ex(shell.transform_cell(cell))
                ext.analyse(shell.execution_count, cell)
                return None
            arg = line.strip()
            if arg == "on":
                ext.auto = True
            elif arg == "off":
                ext.auto = False
            elif arg == "status":
                g = ext.notebook.live
                return (
                    f"graph {g.name!r}: {g.graph.node_count} nodes, {g.graph.edge_count} edges, "
                    f"{len(ext.notebook.cells)} cells; automatic analysis "
                    f"{'on' if ext.auto else 'off'}"
                )
            elif arg:
                raise ValueError(f"%graphlive: unknown argument {arg!r} (use on, off or status)")
            else:
                return ext.notebook.live.view()
            return None

    ip.register_magics(GraphliveMagics(ip))


def unload_ipython_extension(ip: Any) -> None:
    ext = _ACTIVE.pop(id(ip), None)
    if ext is not None:
        ip.events.unregister("post_run_cell", ext.post_run_cell)
        ext.notebook.close()
