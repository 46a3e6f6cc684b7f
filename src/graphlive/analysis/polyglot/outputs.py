"""The parts of a file's output every language's resolver builds the same way."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from graphlive.analysis.build import FileOutput
from graphlive.analysis.facts import file_diag
from graphlive.analysis.polyglot.facts import SourceFacts
from graphlive.graph import Edge, EdgeKind, Node, NodeKind

__all__ = [
    "LanguageAnalysis",
    "add_call",
    "add_edge",
    "add_external",
    "def_id",
    "def_node",
    "module_output",
    "note_unresolved",
    "read_all",
]


@dataclass(slots=True)
class LanguageAnalysis:
    """What a language's resolver gives: per-file outputs (same order as the files given) and
    the external nodes their edges point at."""

    outputs: list[FileOutput]
    externals: dict[str, Node] = field(default_factory=dict)


def def_id(rel: str, qualname: str) -> str:
    """The id of the definition ``qualname`` of the file ``rel`` (package docstring)."""
    return f"{rel}:{qualname}"


def def_node(
    ident: str,
    rel: str,
    kind: NodeKind,
    name: str,
    lines: tuple[int, int],
    language: str,
    extra: tuple[tuple[str, Any], ...] = (),
) -> Node:
    """The node of the definition ``ident`` (:func:`def_id`) of ``rel`` spanning ``lines``
    (first, last)."""
    return Node(
        id=ident,
        kind=kind,
        name=name,
        file=rel,
        line=lines[0],
        end_line=lines[1],
        language=language,
        extra=extra,
    )


def add_external(externals: dict[str, Node], ident: str, name: str, language: str) -> str:
    """``ident``, with its external node in ``externals`` (made at the first use)."""
    if ident not in externals:
        externals[ident] = Node(id=ident, kind=NodeKind.EXTERNAL, name=name, language=language)
    return ident


F = TypeVar("F", bound=SourceFacts)


def read_all(
    root: Path,
    rels: Sequence[str],
    extract: Callable[[str, bytes], F],
    empty: Callable[[str], F],
    on_read: Callable[[str, bytes], None] | None = None,
) -> dict[str, F]:
    """``extract(rel, data)`` of every file of ``rels`` under ``root``; a file that cannot be
    read (gone since it was listed, no permission) gets ``empty(rel)`` with an ``unreadable``
    diagnostic, so the analysis of the others goes on. ``on_read(rel, data)`` sees every file
    read (the analysis stamps it)."""
    facts: dict[str, F] = {}
    for rel in rels:
        try:
            data = (root / rel).read_bytes()
        except OSError as exc:
            lost = empty(rel)
            # The reason only: the exception's text holds the absolute path.
            reason = exc.strerror or type(exc).__name__
            lost.diagnostics.append(file_diag(rel, "unreadable", f"cannot be read: {reason}"))
            facts[rel] = lost
            continue
        if on_read is not None:
            on_read(rel, data)
        facts[rel] = extract(rel, data)
    return facts


def module_output(
    facts: SourceFacts, extra: tuple[tuple[str, Any], ...] = (), *, name: str | None = None
) -> FileOutput:
    """The output of the file ``facts`` describe, opened with its diagnostics and the node of
    the file itself (its id is its path; its name the file's stem unless given)."""
    rel = facts.file
    out = FileOutput(file=rel, diagnostics=list(facts.diagnostics))
    out.nodes[rel] = Node(
        id=rel,
        kind=NodeKind.MODULE,
        name=name if name is not None else posixpath.splitext(posixpath.basename(rel))[0],
        file=rel,
        line=1,
        end_line=max(facts.lines, 1),
        language=facts.language,
        extra=extra,
    )
    return out


def add_edge(out: FileOutput, kind: EdgeKind, source: str, target: str, line: int) -> None:
    """An edge owned by ``out``'s file."""
    edge = Edge(kind, source, target, line, out.file)
    out.edges[edge.key] = edge


def note_unresolved(out: FileOutput, unresolved: dict[str, list[tuple[int, str]]]) -> None:
    """Give each caller the calls it makes that resolved to nothing, as
    ``extra["unresolved_calls"]``: ``((line, callee as written), ...)`` in line order."""
    for caller, calls in unresolved.items():
        node = out.nodes.get(caller)
        if node is not None:
            extra = (*node.extra, ("unresolved_calls", tuple(sorted(calls))))
            out.nodes[caller] = replace(node, extra=tuple(sorted(extra)))


def add_call(
    out: FileOutput,
    unresolved: dict[str, list[tuple[int, str]]],
    caller: str,
    targets: Sequence[str] | None,
    line: int,
    text: str,
) -> None:
    """Count one call site of ``out``'s file: a ``calls`` edge to each target, or, with none,
    an entry for :func:`note_unresolved`."""
    out.calls_total += 1
    if not targets:
        unresolved.setdefault(caller, []).append((line, text))
        return
    out.calls_resolved += 1
    for target in targets:
        add_edge(out, EdgeKind.CALLS, caller, target, line)
