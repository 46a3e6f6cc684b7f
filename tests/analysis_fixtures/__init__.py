"""Helpers for the analysis tests: write a small source tree, analyse it, query the result."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from graphlive.analysis import AnalysisSummary, Analyzer
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, EdgeKind


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``files`` (relative path → source; ``str`` is dedented) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


@dataclass
class Run:
    """An analysis run: the graph, the summary and every event batch the graph emitted."""

    graph: CodeGraph
    summary: AnalysisSummary
    batches: list[list[ChangeEvent]] = field(default_factory=list)

    @property
    def events(self) -> list[ChangeEvent]:
        return [e for batch in self.batches for e in batch]

    def of_type(self, etype: EventType) -> list[ChangeEvent]:
        return [e for e in self.events if e.type is etype]

    def diagnostics(self, code: str | None = None) -> list[dict[str, object]]:
        return [
            dict(e.data)
            for e in self.of_type(EventType.DIAGNOSTIC)
            if code is None or e.data["code"] == code
        ]

    def edges(self, kind: EdgeKind, source: str | None = None) -> set[tuple[str, str]]:
        """``(source, target)`` pairs of the edges of ``kind`` (from ``source`` only)."""
        return {
            (e.source, e.target)
            for e in self.graph.edges()
            if e.kind is kind and (source is None or e.source == source)
        }

    def calls(self, caller: str) -> set[str]:
        """Targets called by ``caller``."""
        return {t for _, t in self.edges(EdgeKind.CALLS, caller)}

    def call_lines(self, caller: str) -> set[tuple[str, int]]:
        return {
            (e.target, e.line)
            for e in self.graph.edges()
            if e.kind is EdgeKind.CALLS and e.source == caller
        }


def analyze(
    root: Path,
    files: Mapping[str, str | bytes] | None = None,
    *,
    workers: int = 1,
    **kwargs: object,
) -> Run:
    """Write ``files`` under ``root`` (if given) and run a full analysis into a fresh graph."""
    if files is not None:
        write_tree(root, files)
    graph = CodeGraph("test")
    batches: list[list[ChangeEvent]] = []
    graph.listen(lambda batch: batches.append(list(batch)))
    summary = Analyzer(root, graph, workers=workers, **kwargs).run()  # type: ignore[arg-type]
    return Run(graph, summary, batches)


def ids(run: Run, prefix: str = "") -> set[str]:
    return {n.id for n in run.graph.nodes() if n.id.startswith(prefix)}


def sorted_edges(run: Run, kinds: Sequence[EdgeKind] = tuple(EdgeKind)) -> list[tuple[str, ...]]:
    return sorted(
        (e.kind.value, e.source, e.target, str(e.line), e.file or "")
        for e in run.graph.edges()
        if e.kind in kinds
    )
