"""The analyses of a tree's files in the languages besides Python, as the Analyzer runs them.

Files come in *groups* analysed together, because resolution crosses their files:
JavaScript and TypeScript (they import each other) are one group, Go, Java and Rust one each.
:meth:`OtherLanguages.analyse` is handed the tree's files of these languages (discovery's
``others``: path → language) and which of them changed; it runs the analysis of every group
holding a changed file again, over all of that group's files (an export renamed in one file
changes its importers' edges), and returns each of those files' output, an empty one for a file
that is gone. Groups without a change are not read. The Analyzer writes the outputs that differ
from what it wrote before, so the events are the minimal diff whatever the group's size.

What is kept between runs (and saved with the analysis) is small: each group's files, the
external nodes its edges point at, and its files that could not be read.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Container, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphlive.analysis.build import FileOutput
from graphlive.analysis.manifest import Stamp, stat_files
from graphlive.analysis.polyglot.facts import SourceFacts
from graphlive.analysis.polyglot.languages import language_of, read_by
from graphlive.analysis.polyglot.outputs import LanguageAnalysis, read_all
from graphlive.analysis.source import content_digest
from graphlive.graph import Node

__all__ = ["GROUPS", "OtherLanguages", "analyze_group", "group_of", "to_write"]

#: Language → the group it is analysed with.
GROUPS: dict[str, str] = {
    "javascript": "scripts",
    "typescript": "scripts",
    "go": "go",
    "java": "java",
    "rust": "rust",
}


def group_of(rel: str) -> str | None:
    """The group whose analysis reads the file ``rel`` (``None``: none does)."""
    language = read_by(rel)
    return GROUPS.get(language) if language is not None else None


@dataclass(frozen=True, slots=True)
class _Group:
    #: (path, bytes, size limit) → the file's facts.
    extract: Callable[[str, bytes, int], SourceFacts]
    #: The facts of a file that could not be read.
    empty: Callable[[str], SourceFacts]
    #: (root, facts by path, the group's other files discovery listed — ``go.mod`` —, or
    #: ``None`` when there was no discovery) → outputs and externals.
    resolve: Callable[[Path, Mapping[str, Any], Sequence[str] | None], LanguageAnalysis]


@functools.cache
def _groups() -> dict[str, _Group]:
    # Imported on first use: they load tree-sitter and the grammars.
    from graphlive.analysis.polyglot.facts import ScriptFacts
    from graphlive.analysis.polyglot.go import GoFacts, extract_go
    from graphlive.analysis.polyglot.java import JavaFacts, extract_java
    from graphlive.analysis.polyglot.javascript import extract_script
    from graphlive.analysis.polyglot.resolve_go import listed_modules, read_modules, resolve_go
    from graphlive.analysis.polyglot.resolve_java import resolve_java
    from graphlive.analysis.polyglot.resolve_js import resolve_scripts
    from graphlive.analysis.polyglot.resolve_rust import resolve_rust
    from graphlive.analysis.polyglot.rust import RustFacts, extract_rust

    return {
        "scripts": _Group(
            lambda rel, data, limit: extract_script(rel, data, max_bytes=limit),
            lambda rel: ScriptFacts(file=rel, language=language_of(rel) or "javascript"),
            lambda root, facts, configs: resolve_scripts(facts),
        ),
        "go": _Group(
            lambda rel, data, limit: extract_go(rel, data, max_bytes=limit),
            lambda rel: GoFacts(file=rel),
            lambda root, facts, configs: resolve_go(
                facts,
                read_modules(root, list(facts))
                if configs is None
                else listed_modules(root, configs),
            ),
        ),
        "java": _Group(
            lambda rel, data, limit: extract_java(rel, data, max_bytes=limit),
            lambda rel: JavaFacts(file=rel),
            lambda root, facts, configs: resolve_java(facts),
        ),
        "rust": _Group(
            lambda rel, data, limit: extract_rust(rel, data, max_bytes=limit),
            lambda rel: RustFacts(file=rel),
            lambda root, facts, configs: resolve_rust(facts),
        ),
    }


def analyze_group(
    group: str,
    root: Path,
    rels: Sequence[str],
    *,
    max_bytes: int = 1_000_000,
    on_read: Callable[[str, bytes], None] | None = None,
) -> LanguageAnalysis:
    """Extract and resolve the files ``rels`` (paths relative to ``root``, all of ``group``);
    files over ``max_bytes`` are not parsed (a diagnostic). ``on_read(rel, data)`` sees each
    file read."""
    spec = _groups()[group]
    facts = read_all(
        root, rels, lambda rel, data: spec.extract(rel, data, max_bytes), spec.empty, on_read
    )
    return spec.resolve(root, facts, None)


def to_write(
    fresh: Mapping[str, FileOutput], changed: Set[str], kept: Mapping[str, FileOutput]
) -> dict[str, FileOutput]:
    """Of an update's ``fresh`` outputs, those to write: the changed files', and those whose
    nodes or edges differ from what was written (``kept``). The group's other files are left
    alone, so their diagnostics are not published again."""
    out: dict[str, FileOutput] = {}
    for rel, new in fresh.items():
        old = kept.get(rel)
        if rel in changed or old is None or old.nodes != new.nodes or old.edges != new.edges:
            out[rel] = new
    return out


@dataclass(slots=True)
class OtherLanguages:
    """The Analyzer's memory of the other languages' analyses (module docstring)."""

    #: Group → the files its last analysis read (``go.mod`` files included).
    files: dict[str, set[str]] = field(default_factory=dict)
    #: Group → the facts of each of its source files: an update extracts only the files that
    #: changed, then resolves the group from these.
    facts: dict[str, dict[str, SourceFacts]] = field(default_factory=dict)
    #: Group → the external nodes its last analysis's edges point at.
    externals: dict[str, dict[str, Node]] = field(default_factory=dict)
    #: Files the last :meth:`analyse` found gone since discovery listed them.
    vanished: set[str] = field(default_factory=set)

    def external_nodes(self) -> dict[str, Node]:
        """Every group's external nodes (their ids never clash: each starts with its
        language's prefix)."""
        out: dict[str, Node] = {}
        for nodes in self.externals.values():
            out.update(nodes)
        return out

    def failed_files(self) -> set[str]:
        """The files that could not be read (their facts say so)."""
        return {
            rel
            for facts in self.facts.values()
            for rel, f in facts.items()
            if any(d.code == "unreadable" for d in f.diagnostics)
        }

    def groups_touched(self, changed: Iterable[str]) -> set[str]:
        """The groups whose analysis reads one of the paths ``changed``."""
        return {g for g in map(group_of, changed) if g is not None}

    def plan(
        self, others: Mapping[str, str], changed: Set[str] | None, kept: Container[str]
    ) -> tuple[set[str] | None, int]:
        """What to hand :meth:`analyse` as ``changed``, and how many files it will read: the
        groups with a file in ``changed`` (every group when ``None``) and any group with a
        source file ``kept`` (the outputs written) lacks: new, or restored without the
        writer's memory (such a file counts as changed)."""
        todo = None
        if changed is not None:
            todo = set(changed)
            todo.update(rel for rel in others if rel not in kept and language_of(rel))
        groups = self.groups_touched(todo) if todo is not None else None
        total = 0
        for rel in others:
            group = group_of(rel)
            if language_of(rel) is None or group is None:
                continue
            if groups is None or (group in groups and _stale(rel, todo, self.facts.get(group, {}))):
                total += 1
        return todo, total

    def analyse(
        self,
        root: Path,
        others: Mapping[str, str],
        changed: Set[str] | None,
        stamps: dict[str, Stamp],
        *,
        max_bytes: int,
        on_file: Callable[[str], None] | None = None,
    ) -> dict[str, FileOutput]:
        """Analyse again each group with a file in ``changed`` (every group with files now or
        before when ``None``), given the tree's files ``others`` (path → language, as
        discovery lists them): the files in ``changed`` (every file when ``None``) and those
        without kept facts are read and extracted again, then the whole group is resolved.
        Returns the outputs of those groups' source files, an empty one for each that is gone.
        ``stamps`` gets the stamps of the files read (stat'ed before they are read) and loses
        those of files gone. ``on_file(rel)``: after each file read."""
        by_group: dict[str, list[str]] = {}
        for rel in sorted(others):
            group = group_of(rel)
            if group is not None:
                by_group.setdefault(group, []).append(rel)
        todo = set(by_group) | set(self.files) if changed is None else self.groups_touched(changed)
        outputs: dict[str, FileOutput] = {}
        self.vanished = set()
        for group in sorted(todo):
            rels = by_group.get(group, [])
            outputs.update(
                self._analyse_group(group, root, rels, changed, stamps, max_bytes, on_file)
            )
        return outputs

    def _analyse_group(
        self,
        group: str,
        root: Path,
        rels: list[str],
        changed: Set[str] | None,
        stamps: dict[str, Stamp],
        max_bytes: int,
        on_file: Callable[[str], None] | None,
    ) -> dict[str, FileOutput]:
        spec = _groups()[group]
        kept = self.facts.get(group, {})
        sources = [rel for rel in rels if language_of(rel) is not None]
        # Read again: what changed and what has no kept facts; go.mod files (read by the
        # resolution itself) are stamped again when they changed.
        reread = [rel for rel in rels if _stale(rel, changed, kept)]
        stats = stat_files((rel, str(root / rel)) for rel in reread)
        digests: dict[str, str] = {}

        def read(rel: str, data: bytes) -> None:
            digests[rel] = content_digest(data)
            if on_file is not None:
                on_file(rel)

        fresh = read_all(
            root,
            [rel for rel in reread if language_of(rel) is not None],
            lambda rel, data: spec.extract(rel, data, max_bytes),
            spec.empty,
            read,
        )
        for rel in reread:
            if rel not in digests and language_of(rel) is None:
                with contextlib.suppress(OSError):  # unreadable: no stamp, read again next time
                    digests[rel] = content_digest((root / rel).read_bytes())
            st, digest = stats.get(rel), digests.get(rel)
            if st is None or digest is None:
                stamps.pop(rel, None)
            else:
                stamps[rel] = (st[0], st[1], digest)
        # Gone since discovery listed them (not read, and not there now): gone for the graph
        # too, whether the stat or the read failed.
        vanished = {rel for rel in fresh if rel not in digests and not (root / rel).exists()}
        self.vanished |= vanished
        facts = {rel: fresh.get(rel) or kept[rel] for rel in sources if rel not in vanished}
        configs = [rel for rel in rels if language_of(rel) is None and rel not in vanished]
        analysis = spec.resolve(root, facts, configs)
        outputs = {out.file: out for out in analysis.outputs}
        for rel in vanished:
            outputs[rel] = FileOutput(file=rel)
        rels = [rel for rel in rels if rel not in vanished]
        known = self.files.get(group, set())
        if changed is not None:  # named as changed, gone, maybe never seen by this memory
            known = known | {rel for rel in changed if group_of(rel) == group}
        for rel in known - set(rels) - vanished:
            stamps.pop(rel, None)
            if language_of(rel) is not None:
                outputs[rel] = FileOutput(file=rel)  # gone: its transaction removes its nodes
        if rels:
            self.files[group] = set(rels)
            self.facts[group] = facts
            self.externals[group] = analysis.externals
        else:
            for memory in (self.files, self.facts, self.externals):
                memory.pop(group, None)
        return outputs


def _stale(rel: str, changed: Set[str] | None, kept: Mapping[str, SourceFacts]) -> bool:
    """Whether a group's file is read again: it changed, or (a source file) has no kept
    facts."""
    if changed is None or rel in changed:
        return True
    return language_of(rel) is not None and rel not in kept
