"""Small source metrics shared by the extractors: docstring summaries and lines of code.

Definitions (documented here because views show them):

* **Docstring summary**: the first paragraph of the cleaned docstring (lines up to the first blank
  line) joined with single spaces, cut to :data:`MAX_SUMMARY` characters with an ellipsis.
* **Lines of code (loc)**: lines of the node's span (``line``..``end_line``) that are neither blank
  nor comment-only. Lines inside multi-line strings count (docstrings included): telling them
  apart would need tokenizing every file, which costs as much as parsing it.
* **Cyclomatic complexity** (computed by the extractor while it walks the tree): 1 plus one for
  each ``if``/``elif``, conditional expression, ``for``/``while`` loop (async included),
  comprehension ``for`` clause and each of its ``if`` filters, ``except`` clause, ``case`` of a
  ``match``, and each extra operand of ``and``/``or``. Nested functions, lambdas and classes are
  not counted in their parent: they have their own.
"""

from __future__ import annotations

__all__ = ["MAX_SUMMARY", "code_line_prefix", "doc_summary", "loc_between", "source_lines"]

#: Longest docstring summary kept on a node.
MAX_SUMMARY = 240


def doc_summary(doc: str | None) -> str | None:
    """First paragraph of ``doc`` on one line, or ``None`` when there is no text."""
    if not doc:
        return None
    words: list[str] = []
    started = False
    for raw in doc.splitlines():
        line = raw.strip()
        if not line:
            if started:
                break
            continue
        started = True
        words.append(line)
    if not words:
        return None
    text = " ".join(words)
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 1].rstrip() + "…"
    return text


def source_lines(text: str) -> list[str]:
    """The lines of ``text`` numbered as the parser numbers them (``\\n``, ``\\r\\n`` and ``\\r``
    end a line; ``str.splitlines`` would also split at form feeds and shift line numbers)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def code_line_prefix(lines: list[str]) -> list[int]:
    """``prefix[i]`` = number of code lines among lines ``1..i`` (``prefix[0] == 0``)."""
    prefix = [0]
    count = 0
    append = prefix.append
    for line in lines:
        stripped = line.lstrip()
        if stripped and stripped[0] != "#":
            count += 1
        append(count)
    return prefix


def loc_between(prefix: list[int], first: int, last: int) -> int:
    """Code lines in the 1-based inclusive range ``first..last`` (clamped to the file)."""
    n = len(prefix) - 1
    last = min(last, n)
    if first < 1:
        first = 1
    if last < first:
        return 0
    return prefix[last] - prefix[first - 1]
