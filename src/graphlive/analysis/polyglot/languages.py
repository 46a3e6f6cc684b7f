"""Which files are in which language, and their tree-sitter parsers (loaded once per process)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tree_sitter

__all__ = [
    "ALL_LANGUAGES",
    "GO_MODULE_FILE",
    "LANGUAGES",
    "Language",
    "language_of",
    "parser_for",
    "read_by",
    "selection",
]

#: Go's module file: not source, but what Go's import paths are resolved against.
GO_MODULE_FILE = "go.mod"


@dataclass(frozen=True, slots=True)
class Language:
    """A language graphlive reads: its name (``Node.language``) and file name endings."""

    name: str
    extensions: tuple[str, ...]


LANGUAGES: dict[str, Language] = {
    "javascript": Language("javascript", (".js", ".mjs", ".cjs", ".jsx")),
    "typescript": Language("typescript", (".ts", ".mts", ".cts", ".tsx")),
    "go": Language("go", (".go",)),
    "java": Language("java", (".java",)),
    "rust": Language("rust", (".rs",)),
}

_BY_EXTENSION = {ext: lang.name for lang in LANGUAGES.values() for ext in lang.extensions}
#: Every language an analysis reads, Python first.
ALL_LANGUAGES = ("python", *LANGUAGES)


def selection(names: Iterable[str] | None) -> frozenset[str] | None:
    """The languages an analysis is limited to (``None``: all of :data:`ALL_LANGUAGES`).
    Raises ``ValueError`` naming the known languages for an unknown or empty selection."""
    if names is None:
        return None
    chosen = frozenset(n.strip().lower() for n in names if n.strip())
    unknown = sorted(chosen - set(ALL_LANGUAGES))
    if unknown or not chosen:
        what = f"unknown language {', '.join(map(repr, unknown))}" if unknown else "no language"
        raise ValueError(f"{what}: choose among {', '.join(ALL_LANGUAGES)}")
    return None if chosen == set(ALL_LANGUAGES) else chosen


def language_of(path: str) -> str | None:
    """The language of a file by its name (``None``: not one of :data:`LANGUAGES`). Type
    declaration files (``.d.ts``) hold no code to call and are left out."""
    if path.endswith((".d.ts", ".d.mts", ".d.cts")):
        return None
    dot = path.rfind(".")
    return _BY_EXTENSION.get(path[dot:]) if dot >= 0 else None


def read_by(path: str) -> str | None:
    """The language whose analysis reads ``path`` (``None``: none does): ``"python"`` for a
    ``.py`` file, another source file's (:func:`language_of`), or Go's for a ``go.mod`` (it
    names the module the folder's import paths start with)."""
    if path.endswith(".py"):
        return "python"
    if path == GO_MODULE_FILE or path.endswith("/" + GO_MODULE_FILE):
        return "go"
    return language_of(path)


@functools.cache
def parser_for(path: str) -> tree_sitter.Parser:
    """A parser for ``path``'s grammar (TSX and JSX files get the grammars with JSX)."""
    # Imported here: discovery and the watcher use this module's tables in every process,
    # parsers only when there is something to parse.
    import tree_sitter

    if path.endswith(".tsx"):
        import tree_sitter_typescript

        return tree_sitter.Parser(tree_sitter.Language(tree_sitter_typescript.language_tsx()))
    language = language_of(path)
    if language == "go":
        import tree_sitter_go

        return tree_sitter.Parser(tree_sitter.Language(tree_sitter_go.language()))
    if language == "java":
        import tree_sitter_java

        return tree_sitter.Parser(tree_sitter.Language(tree_sitter_java.language()))
    if language == "rust":
        import tree_sitter_rust

        return tree_sitter.Parser(tree_sitter.Language(tree_sitter_rust.language()))
    if language == "typescript":
        import tree_sitter_typescript

        grammar = tree_sitter_typescript.language_typescript()
        return tree_sitter.Parser(tree_sitter.Language(grammar))
    import tree_sitter_javascript

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_javascript.language()))
