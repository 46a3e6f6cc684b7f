"""Which files are in which language, and their tree-sitter parsers (loaded once per process)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import tree_sitter

__all__ = ["LANGUAGES", "Language", "language_of", "parser_for"]


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


def language_of(path: str) -> str | None:
    """The language of a file by its name (``None``: not one of :data:`LANGUAGES`). Type
    declaration files (``.d.ts``) hold no code to call and are left out."""
    if path.endswith((".d.ts", ".d.mts", ".d.cts")):
        return None
    dot = path.rfind(".")
    return _BY_EXTENSION.get(path[dot:]) if dot >= 0 else None


@functools.cache
def parser_for(path: str) -> tree_sitter.Parser:
    """A parser for ``path``'s grammar (TSX and JSX files get the grammars with JSX)."""
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
