"""Writing analysis results into a :class:`~graphlive.graph.CodeGraph`, one transaction per file.

:class:`GraphWriter` makes the graph's analysed content (Python's and the other languages'
files, :mod:`graphlive.analysis.polyglot`) equal to the outputs it is given and emits only the
difference:

* one ``graph.transaction()`` per file holding that file's node and edge changes (and its
  diagnostics); when an edge of the file points at a node no transaction has added yet (a
  definition in a file written later, an external or a namespace package), that node is added
  in the same transaction, so every transaction is self-contained;
* after a full run, files that disappeared lose their nodes and edges (one transaction each);
  external and namespace nodes nothing points at any more are removed in a final transaction;
* an update's files are written in an order that keeps each transaction about its own file
  (:meth:`GraphWriter.write_order`).

It also keeps the per-file tallies behind the summary counts, so an update re-counts only the
files it writes.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from graphlive.analysis.build import FileOutput, external_node, namespace_node
from graphlive.analysis.facts import DiagFact, FileFacts
from graphlive.analysis.lazy_maps import LazyMap, PackedOutputs
from graphlive.analysis.polyglot.languages import LANGUAGES, language_of
from graphlive.analysis.progress import ProgressCallback, Throttle
from graphlive.events import EventType
from graphlive.graph import CodeGraph, Edge, EdgeKey, Node, NodeKind

__all__ = ["Counts", "GraphWriter"]

#: Updates writing more files than this skip the preferred-order checks (see write_order).
_ORDERED_WRITES_MAX = 500
#: Languages whose external nodes the writer removes once nothing points at them.
_ANALYSED = frozenset({"python", *LANGUAGES})


@dataclass(slots=True)
class _Tally:
    """What one file contributes to the summary counts."""

    nodes: int = 0
    edges: int = 0
    #: Endpoints of its edges that are not definitions (externals, namespace packages).
    refs: tuple[str, ...] = ()
    calls_total: int = 0
    calls_resolved: int = 0
    failed: bool = False
    #: In the totals: the number of failed files.
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Counts:
    """The summary counts of what the graph holds from the analysis."""

    nodes: int
    edges: int
    calls_total: int
    calls_resolved: int
    files_failed: int


class GraphWriter:
    """Writes outputs into ``graph`` (events carry ``source``) and remembers what it wrote.

    ``outputs`` holds the last output written for each file, ``program_ids`` the ids the
    resolved program defines (an edge to one of them without a node is dropped; set it before
    each full write).
    """

    def __init__(self, graph: CodeGraph, source: str) -> None:
        self.graph = graph
        self.source = source
        #: Output of the last run by relative path.
        self.outputs: dict[str, FileOutput] = {}
        self.program_ids: Mapping[str, object] = {}
        #: The other languages' external nodes by id (set with their outputs by
        #: :meth:`use_externals`): an edge endpoint found here is added as this node rather
        #: than as a Python external.
        self.externals: Mapping[str, Node] = {}
        # Ids whose external node changed since the graph was last given them.
        self._externals_changed: set[str] = set()
        #: The other languages' files that could not be read (they count as failed).
        self.failed_other: Set[str] = frozenset()
        #: Node id → file of every definition/module node written.
        self._node_file: dict[str, str] = {}
        self._tallies: dict[str, _Tally] = {}
        self._refs: dict[str, int] = {}
        self._totals = _Tally()
        #: Whether :attr:`graph` is a *working copy*: it holds only what the last update
        #: touched, the whole graph being elsewhere (in Redis, unchanged by anyone else since
        #: this writer's memory was saved). Each update first seeds the copy from this memory
        #: with what its transactions touch (:meth:`_seed`), so that they emit
        #: the events they would on the whole graph.
        self.partial = False
        #: Gives the whole graph when a write needs it (a full run, files whose graph content
        #: this writer does not know, other languages' externals that changed); set with
        #: :attr:`partial`.
        self.require_full: Callable[[], CodeGraph] | None = None

    def use_graph(self, graph: CodeGraph, *, partial: bool = False) -> None:
        """Write into ``graph`` from now on (``partial``: a working copy, see :attr:`partial`)."""
        self.graph = graph
        self.partial = partial

    def _whole_graph(self) -> None:
        """Switch from the working copy to the whole graph (before anything is written)."""
        if not self.partial:
            return
        if self.require_full is None:
            raise RuntimeError("this writer holds a working copy and cannot get the whole graph")
        self.use_graph(self.require_full())

    def export_state(self) -> dict[str, Any]:
        """What the writer remembers (outputs, node owners, tallies), as plain picklable data."""
        return {
            # One pickle per file: a process continuing from it unpickles what it writes.
            "outputs": PackedOutputs(self.outputs),
            "program_ids": self.program_ids,
            "externals": self.externals,
            "failed_other": self.failed_other,
            "node_file": self._node_file,
            "tallies": self._tallies,
            "refs": self._refs,
            "totals": self._totals,
        }

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`export_state` of a writer whose graph held what this one's does."""
        outputs = state["outputs"]
        self.outputs = outputs.restored() if isinstance(outputs, PackedOutputs) else outputs
        self.program_ids = state["program_ids"]
        self.externals = state["externals"]
        self.failed_other = state["failed_other"]
        self._node_file = state["node_file"]
        self._tallies = state["tallies"]
        self._refs = state["refs"]
        self._totals = state["totals"]

    def counts(self) -> Counts:
        totals = self._totals
        return Counts(
            nodes=totals.nodes + len(self._refs),
            edges=totals.edges,
            calls_total=totals.calls_total,
            calls_resolved=totals.calls_resolved,
            files_failed=totals.failures,
        )

    def emit_diagnostic(self, diag: DiagFact) -> None:
        self.graph.emit(
            EventType.DIAGNOSTIC,
            {
                "file": diag.file,
                "line": diag.line,
                "col": diag.col,
                "severity": diag.severity,
                "code": diag.code,
                "message": diag.message,
            },
            source=self.source,
        )

    # ------------------------------------------------------------------ full runs

    def write_all(
        self,
        outputs: list[FileOutput],
        ns_nodes: dict[str, Node],
        facts: Mapping[str, FileFacts],
        progress: ProgressCallback | None,
    ) -> tuple[int, int]:
        """Apply a full run's outputs (every file in order, unchanged ones skipped), remove
        what files no longer produced held, and make them :attr:`outputs`. Returns
        (diagnostics emitted, transactions written); the tallies start afresh."""
        self._whole_graph()
        graph = self.graph
        node_file: dict[str, str] = {}
        by_file: dict[str, FileOutput] = {}
        for out in outputs:
            by_file[out.file] = out
            for node_id in out.nodes:
                node_file[node_id] = out.file
        # Ids that another file produced last time (a source root or a shadowing changed): the
        # old owner's transaction removes the node and with it edges already written into it.
        moved = any(self._node_file.get(n, f) != f for n, f in node_file.items())
        self._node_file = node_file
        self._tallies = {}
        self._refs = {}
        self._totals = _Tally()
        throttle = Throttle("write", len(outputs), graph, self.source, progress)
        diagnostics = 0
        written = 0
        current_files = {out.file for out in outputs}
        for i, out in enumerate(outputs, 1):
            valid = self._valid_edges(out, ns_nodes)
            self._tally(out, valid, facts)
            previous = self.outputs.get(out.file)
            if (
                previous is not None
                and not out.diagnostics
                and previous.nodes == out.nodes
                and previous.edges == out.edges
            ):
                # Unchanged since the last run: nothing to write.
                throttle(i, out.file)
                continue
            diagnostics += self._write_file(out, valid, ns_nodes, by_file)
            written += 1
            throttle(i, out.file)
        # Files analysed before that are gone now.
        stale = sorted(self._stale_files(current_files))
        for file in stale:
            with graph.transaction(source=self.source):
                for key in graph.edges_of_file(file):
                    graph.remove_edge(key)
                for node_id in graph.nodes_in_file(file):
                    graph.remove_node(node_id)
        if stale or moved:
            # Removing a module takes along the edges into it, among them those of unchanged
            # files whose import now leads to an external of the same id, and those into an id
            # that moved to a file written later: put them back.
            for out in outputs:
                valid = self._valid_edges(out, ns_nodes)
                if valid.keys() - graph.edges_of_file(out.file):
                    diagnostics += self._write_file(out, valid, ns_nodes, by_file)
                    written += 1
        # Externals and namespaces nothing refers to any more.
        with graph.transaction(source=self.source):
            for kind in (NodeKind.EXTERNAL, NodeKind.PACKAGE):
                for node_id in sorted(graph.nodes_of_kind(kind)):
                    self._collect(node_id)
            self._refresh_externals()
        self.outputs = by_file
        return diagnostics, written

    def _stale_files(self, current: set[str]) -> set[str]:
        """Analysed files the graph holds (from an earlier run) that this run did not
        produce."""
        return {
            f
            for f in self.graph.files()
            if f not in current and (f.endswith(".py") or language_of(f) is not None)
        }

    # ------------------------------------------------------------------ updates

    def write_changes(
        self,
        outputs: dict[str, FileOutput],
        namespaces: Mapping[str, object],
        facts: Mapping[str, FileFacts],
        progress: ProgressCallback | None,
        *,
        force: Set[str] = frozenset(),
    ) -> tuple[int, list[str]]:
        """Write an update's rebuilt outputs (files gone have empty ones): one transaction per
        file that changed, in :meth:`write_order`; then drop externals and namespaces nothing
        refers to. ``force``: files whose graph content may differ from what this writer
        remembers; they are written (compared with the graph) even if their output did not
        change. Returns (diagnostics emitted, files written in order)."""
        if self.partial:
            if force or self._externals_changed:
                self._whole_graph()
            else:
                self.graph.drop_content()
                self._seed(self.graph, outputs, namespaces)
        graph = self.graph
        previous = {rel: self.outputs.get(rel) for rel in outputs}
        valid = self.adopt(outputs, namespaces, facts)
        order = self.write_order(
            outputs, {rel: None if rel in force else old for rel, old in previous.items()}
        )
        throttle = Throttle("write", len(order), graph, self.source, progress)
        diagnostics = 0
        dropped: set[str] = set()
        for i, rel in enumerate(order, 1):
            before = graph.edges_of_file(rel)
            diagnostics += self._write_file(outputs[rel], valid[rel], namespaces, self.outputs)
            for key in before - valid[rel].keys():
                dropped.update((key[1], key[2]))
            throttle(i, rel)
        with graph.transaction(source=self.source):
            for node_id in sorted(dropped):
                if node_id not in self._node_file:
                    self._collect(node_id)
            self._refresh_externals()
        return diagnostics, order

    def _seed(
        self, graph: CodeGraph, outputs: Mapping[str, FileOutput], namespaces: Mapping[str, object]
    ) -> None:
        """Seed ``graph`` with what writing ``outputs`` touches, from this writer's memory
        (which the whole graph equals): the files' nodes and edges, the nodes at both ends of
        their old and new edges, and the edges of other files into nodes they remove (removing
        a node takes those along). With every file's output as it is remembered, that is the
        whole graph."""
        nodes: dict[str, Node] = {}
        edges: list[Edge] = []
        ends: set[str] = set()
        removed: set[str] = set()
        for rel, out in outputs.items():
            old = self.outputs.get(rel)
            ends.update(end for key in out.edges for end in (key[1], key[2]))
            if old is None:
                continue
            nodes.update(old.nodes)
            held = self._held_edges(old, namespaces)
            edges.extend(held.values())
            ends.update(end for key in held for end in (key[1], key[2]))
            removed.update(old.nodes.keys() - out.nodes.keys())
        if removed:
            for rel, old in self.outputs.items():
                if rel in outputs:
                    continue
                into = {
                    key: e
                    for key, e in old.edges.items()
                    if e.source in removed or e.target in removed
                }
                if into:
                    held = self._held_edges(FileOutput(file=rel, edges=into), namespaces)
                    edges.extend(held.values())
                    ends.update(end for key in held for end in (key[1], key[2]))
        # A node another file owns is only an edge's end here, unless this update writes it
        # (a definition changing files): then its own data is needed.
        written = {node_id for out in outputs.values() for node_id in out.nodes}
        for end in ends - nodes.keys():
            node = self._held_node(end, namespaces, stand_in=end not in written)
            if node is not None:
                nodes[end] = node
        graph.seed(nodes.values(), edges)

    def _held_edges(self, out: FileOutput, namespaces: Mapping[str, object]) -> dict[EdgeKey, Edge]:
        """The edges of ``out`` (as this writer last wrote it) that the whole graph holds: those
        whose ends are nodes of the files written, namespaces or externals it counts. Not
        :meth:`_valid_edges`: the program's ids (:attr:`program_ids`) may be the update's
        already, where an id that was an external when the edge was written is now a definition
        not written yet (a module moved into the tree), and the edge into it is in the graph."""
        node_file = self._node_file
        refs = self._refs

        def held(end: str) -> bool:
            return end in node_file or end in refs or end in namespaces

        return {
            key: edge for key, edge in out.edges.items() if held(edge.source) and held(edge.target)
        }

    def _held_node(
        self, node_id: str, namespaces: Mapping[str, object], *, stand_in: bool = False
    ) -> Node | None:
        """The node the whole graph holds for ``node_id`` as this writer remembers it (before
        the write under way changes its memory), ``None`` if it holds none.

        ``stand_in``: the node is needed only as the end of edges the update writes or removes.
        If its file's output has not been unpickled (a restored writer's outputs come in on
        first read, :class:`~graphlive.analysis.lazy_maps.LazyMap`), a stand-in with its id
        and file is given instead of reading that output: a one-function edit calling into a
        few other files otherwise unpickles each of their outputs for one node. A stand-in is
        never written, compared or emitted: only a transaction of its own file could, and that
        file's nodes are seeded from its output (:meth:`_seed`)."""
        owner = self._node_file.get(node_id)
        if owner is not None:
            outputs = self.outputs
            if stand_in and isinstance(outputs, LazyMap) and outputs.is_pending(owner):
                return _stand_in(node_id, owner)
            return outputs[owner].nodes.get(node_id)
        if node_id in self._refs:
            return self._node(node_id, namespaces, self.outputs)
        return None

    def whole_graph_from_memory(self, graph: CodeGraph, namespaces: Mapping[str, object]) -> None:
        """Seed ``graph`` with everything this writer remembers writing: the whole graph, for
        a writer holding a working copy that must republish it (Redis lost its history)."""
        self._seed(graph, self.outputs, namespaces)

    def adopt(
        self,
        outputs: Mapping[str, FileOutput],
        namespaces: Mapping[str, object],
        facts: Mapping[str, FileFacts],
    ) -> dict[str, dict[EdgeKey, Edge]]:
        """Make ``outputs`` what this writer remembers of their files (node owners, outputs,
        tallies) without writing anything: what :meth:`write_changes` does before writing,
        and all there is to do when the graph holds them already (an update of another
        process wrote them after this writer's memory was saved). Returns each file's valid
        edges."""
        for rel in outputs:
            old = self.outputs.get(rel)
            if old is not None:
                for node_id in old.nodes:
                    if self._node_file.get(node_id) == rel:
                        del self._node_file[node_id]
        for rel, out in outputs.items():
            for node_id in out.nodes:
                self._node_file[node_id] = rel
            if out.nodes or out.edges or out.diagnostics or rel in facts:
                self.outputs[rel] = out
            else:
                self.outputs.pop(rel, None)
        valid = {rel: self._valid_edges(out, namespaces) for rel, out in outputs.items()}
        for rel, out in outputs.items():
            self._tally(out, valid[rel], facts)
        return valid

    @staticmethod
    def write_order(
        outputs: dict[str, FileOutput], previous: dict[str, FileOutput | None]
    ) -> list[str]:
        """The files of an update to write, in the order to write them.

        A file is written when its output changed, or when one of its edges points at a node
        another file removes (the id lives on, e.g. a deleted module's importers now point at
        an external of the same name: the removal takes the edge along, the file puts it
        back). The order keeps each transaction about its own file: a file whose edges need a
        node another file adds comes after it (which adds the node), a file that puts back an
        edge into a removed node comes after the removal, and a file whose old edges point at a
        node another file removes comes before it (removing those edges itself instead of the
        removal cascading). Ties and cycles go by path.
        """

        def old(rel: str) -> FileOutput:
            return previous[rel] or FileOutput(file=rel)

        added_by: dict[str, str] = {}
        removed_by: dict[str, str] = {}
        for rel, out in outputs.items():
            old_nodes = old(rel).nodes
            for node_id in out.nodes.keys() - old_nodes.keys():
                added_by[node_id] = rel
            for node_id in old_nodes.keys() - out.nodes.keys():
                removed_by[node_id] = rel
        after: dict[str, set[str]] = {}  # file → files to write before it
        for rel, out in outputs.items():
            old_edges = old(rel).edges
            deps: set[str] = set()
            readd = False
            for key in out.edges:
                new = key not in old_edges
                for end in (key[1], key[2]):
                    remover = removed_by.get(end)
                    if remover is not None and remover != rel:
                        deps.add(remover)
                        readd = True
                    elif new:
                        adder = added_by.get(end)
                        if adder is not None and adder != rel:
                            deps.add(adder)
            if readd or _changed(previous[rel], out):
                after.setdefault(rel, set()).update(deps)
        # Preference, not need: a file whose old edges point at a node another file removes is
        # written first (its transaction removes them, not the removal's cascade) — unless
        # that would contradict an order needed above (a cycle: then the cascade does it). The
        # cycle checks cost up to quadratic time: big bursts (a checkout) go without.
        for rel in sorted(after) if len(after) <= _ORDERED_WRITES_MAX else ():
            old_edges = old(rel).edges
            for key in old_edges.keys() - outputs[rel].edges.keys():
                for end in (key[1], key[2]):
                    remover = removed_by.get(end)
                    if (
                        remover is not None
                        and remover != rel
                        and remover in after
                        and rel not in after[remover]
                        and not _reaches(after, rel, remover)
                    ):
                        after[remover].add(rel)
        return _topological(after)

    # ------------------------------------------------------------------ one file

    def _write_file(
        self,
        out: FileOutput,
        valid: dict[EdgeKey, Edge],
        namespaces: Mapping[str, object],
        outputs: Mapping[str, FileOutput],
    ) -> int:
        """One file's transaction: make the graph hold exactly its nodes and edges (adding the
        nodes its edges point at when no transaction has added them yet); returns the number of
        diagnostics emitted."""
        graph = self.graph
        with graph.transaction(source=self.source):
            for node in out.nodes.values():
                graph.add_node(node)
            for edge in valid.values():
                for end in (edge.source, edge.target):
                    if end not in graph:
                        graph.add_node(self._node(end, namespaces, outputs))
                graph.add_edge(edge)
            for key in graph.edges_of_file(out.file) - valid.keys():
                graph.remove_edge(key)
            for node_id in graph.nodes_in_file(out.file) - out.nodes.keys():
                graph.remove_node(node_id)
            for diag in out.diagnostics:
                self.emit_diagnostic(diag)
        return len(out.diagnostics)

    def _node(
        self, node_id: str, namespaces: Mapping[str, object], outputs: Mapping[str, FileOutput]
    ) -> Node:
        """The node for an edge endpoint: a definition or module, a namespace, an external."""
        owner = self._node_file.get(node_id)
        if owner is not None:
            return outputs[owner].nodes[node_id]
        other = self.externals.get(node_id)
        if other is not None:
            return other
        if node_id in namespaces:
            return namespace_node(node_id)
        return external_node(node_id, node_id.rpartition(".")[2])

    def _valid_edges(
        self, out: FileOutput, namespaces: Mapping[str, object]
    ) -> dict[EdgeKey, Edge]:
        """The edges of ``out`` whose endpoints are nodes: definitions and modules of the
        result, namespaces, or externals (ids the program does not define). An edge to an id
        the program defines without a node (a definition shadowed by a module id) is dropped."""
        program_ids = self.program_ids
        node_file = self._node_file

        def exists(end: str) -> bool:
            if end in node_file or end in namespaces:
                return True
            # An external: no definition of the program has this id.
            return end not in program_ids

        return {
            key: edge
            for key, edge in out.edges.items()
            if exists(edge.source) and exists(edge.target)
        }

    def _tally(
        self, out: FileOutput, valid: dict[EdgeKey, Edge], facts: Mapping[str, FileFacts]
    ) -> None:
        """Replace the file's contribution to the summary counts."""
        old = self._tallies.pop(out.file, None)
        totals = self._totals
        refs = self._refs
        if old is not None:
            totals.nodes -= old.nodes
            totals.edges -= old.edges
            totals.calls_total -= old.calls_total
            totals.calls_resolved -= old.calls_resolved
            totals.failures -= old.failed
            for ref in old.refs:
                left = refs[ref] - 1
                if left:
                    refs[ref] = left
                else:
                    del refs[ref]
        file_facts = facts.get(out.file)
        if file_facts is None and not out.nodes and not out.edges:
            return  # a file that is gone
        node_file = self._node_file
        ends = {end for edge in valid.values() for end in (edge.source, edge.target)}
        if file_facts is None and language_of(out.file) is not None:
            failed = out.file in self.failed_other
        else:
            failed = file_facts is None or file_facts.error is not None or file_facts.missing
        tally = _Tally(
            nodes=len(out.nodes),
            edges=len(valid),
            refs=tuple(end for end in ends if end not in node_file),
            calls_total=out.calls_total,
            calls_resolved=out.calls_resolved,
            failed=failed,
        )
        self._tallies[out.file] = tally
        totals.nodes += tally.nodes
        totals.edges += tally.edges
        totals.calls_total += tally.calls_total
        totals.calls_resolved += tally.calls_resolved
        totals.failures += tally.failed
        for ref in tally.refs:
            refs[ref] = refs.get(ref, 0) + 1

    def use_externals(self, nodes: Mapping[str, Node]) -> None:
        """Set :attr:`externals` (after the other languages' analyses ran); the next write
        gives the graph's nodes of the ids whose node changed their new value."""
        old = self.externals
        self._externals_changed.update(i for i, node in nodes.items() if old.get(i) != node)
        self.externals = nodes

    def _refresh_externals(self) -> None:
        """Give the other languages' external nodes in the graph what their analyses say now
        (an npm package imported from JavaScript and TypeScript files takes the language of
        the first file referring to it: which one may change with an edit elsewhere). Only
        the ids :meth:`use_externals` found changed are looked at: an update of Python alone
        costs nothing here."""
        graph = self.graph
        for node_id in sorted(self._externals_changed):
            node = self.externals.get(node_id)
            held = graph.get(node_id)
            if node is not None and held is not None and held != node:
                graph.add_node(node)
        self._externals_changed.clear()

    def _collect(self, node_id: str) -> None:
        """Remove an external or namespace node nothing refers to any more."""
        graph = self.graph
        node = graph.get(node_id)
        if (
            node is not None
            and node.file is None
            and node.language in _ANALYSED
            and node.kind in (NodeKind.EXTERNAL, NodeKind.PACKAGE)
            and graph.degree(node_id) == 0
            # A working copy holds only some of the edges: the tallies know them all.
            and not (self.partial and node_id in self._refs)
        ):
            graph.remove_node(node_id)


def _stand_in(node_id: str, file: str) -> Node:
    """A working copy's placeholder for a node of ``file`` (see :meth:`GraphWriter._held_node`):
    its id and file are right, its other fields are not the node's."""
    return Node(id=node_id, kind=NodeKind.FUNCTION, name=node_id.rpartition(".")[2], file=file)


def _topological(after: dict[str, set[str]]) -> list[str]:
    """The files of ``after`` (file → files to write before it) in an order that respects it;
    ties go by path, a cycle is broken at its first path."""
    todo = set(after)
    for deps in after.values():
        deps &= todo
    order: list[str] = []
    waiting = {rel: len(deps) for rel, deps in after.items()}
    dependents: dict[str, list[str]] = {}
    for rel, deps in after.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(rel)
    ready = [rel for rel, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    remaining = set(todo)
    while remaining:
        if not ready:  # a cycle: break it at the first path
            ready.append(min(remaining))
        rel = heapq.heappop(ready)
        if rel not in remaining:
            continue
        remaining.discard(rel)
        order.append(rel)
        for dependent in dependents.get(rel, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0 and dependent in remaining:
                heapq.heappush(ready, dependent)
    return order


def _reaches(after: Mapping[str, set[str]], start: str, goal: str) -> bool:
    """Whether ``goal`` must be written before ``start`` (directly or through others)."""
    pending = [start]
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        for dep in after.get(current, ()):
            if dep == goal:
                return True
            if dep not in seen:
                seen.add(dep)
                pending.append(dep)
    return False


def _changed(previous: FileOutput | None, out: FileOutput) -> bool:
    """Whether a file's transaction must be written (diagnostics are re-emitted each time)."""
    return (
        previous is None
        or bool(out.diagnostics)
        or previous.nodes != out.nodes
        or previous.edges != out.edges
    )
