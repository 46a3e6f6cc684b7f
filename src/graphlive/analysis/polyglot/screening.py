"""What every tree-sitter extractor checks before and after parsing a file.

* :func:`screen`: files over ``max_bytes``, and minified or generated ones (lines averaging over
  300 characters, from 5 kB on), are not parsed: a ``generated-file`` diagnostic says why, and
  the caller keeps only the module node.
* :func:`syntax_errors`: tree-sitter recovers from syntax errors; the first five error or
  missing nodes become ``syntax-error`` diagnostics and the caller keeps what parsed.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node as TsNode

from graphlive.analysis.facts import DiagFact, file_diag
from graphlive.analysis.polyglot.facts import SourceFacts
from graphlive.analysis.polyglot.languages import parser_for

__all__ = ["line_count", "node_text", "parse_screened", "screen", "syntax_errors"]

#: At most this many syntax errors are reported per file.
MAX_SYNTAX_DIAGS = 5
#: Lines this long on average (in files at least this large) are generated or minified code.
MINIFIED_LINE = 300
MINIFIED_MIN_BYTES = 5_000


def line_count(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def screen(rel: str, data: bytes, lines: int, max_bytes: int) -> DiagFact | None:
    """Why ``data`` is not parsed (a ``generated-file`` diagnostic), or ``None`` to parse it."""
    if len(data) > max_bytes:
        return file_diag(
            rel, "generated-file", f"{len(data):,} bytes, over {max_bytes:,}: not read"
        )
    if len(data) >= MINIFIED_MIN_BYTES and len(data) / max(lines, 1) > MINIFIED_LINE:
        return file_diag(rel, "generated-file", "minified or generated code (very long lines)")
    return None


def syntax_errors(rel: str, root: TsNode, out: list[DiagFact]) -> None:
    """Append the first :data:`MAX_SYNTAX_DIAGS` syntax errors under ``root`` to ``out``."""
    found = 0
    stack = [root]
    while stack and found < MAX_SYNTAX_DIAGS:
        node = stack.pop()
        if node.is_error or node.is_missing:
            row, col = node.start_point
            what = f"missing {node.type}" if node.is_missing else "cannot be parsed"
            out.append(
                DiagFact(rel, row + 1, col, "error", "syntax-error", f"{what}; kept the rest")
            )
            found += 1
            continue
        if node.has_error:
            stack.extend(reversed(node.children))


def parse_screened(
    facts: SourceFacts,
    data: bytes,
    max_bytes: int,
    generated: Callable[[bytes], DiagFact | None] | None = None,
) -> TsNode | None:
    """The syntax tree of ``data``, the content of ``facts.file`` (whose line count it sets);
    ``None`` for a file :func:`screen` (or the language's own ``generated`` check) skips, with
    the reason in ``facts.diagnostics``; syntax errors are added there too."""
    rel, diagnostics = facts.file, facts.diagnostics
    facts.lines = lines = line_count(data)
    skipped = screen(rel, data, lines, max_bytes)
    if skipped is None and generated is not None:
        skipped = generated(data)
    if skipped is not None:
        diagnostics.append(skipped)
        return None
    root = parser_for(rel).parse(data).root_node
    if root.has_error:
        syntax_errors(rel, root, diagnostics)
    return root


def node_text(data: bytes, node: TsNode | None) -> str:
    """The source text of ``node`` (``""`` for none), undecodable bytes replaced."""
    if node is None:
        return ""
    return data[node.start_byte : node.end_byte].decode("utf-8", "replace")
