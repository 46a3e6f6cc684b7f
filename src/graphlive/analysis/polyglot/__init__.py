"""Analysis of the languages besides Python, on tree-sitter's official grammars (issue 21).

Step 1, this package: JavaScript and TypeScript files parsed with ``tree-sitter-javascript`` /
``tree-sitter-typescript`` into :class:`~graphlive.analysis.polyglot.facts.ScriptFacts`
(definitions, imports, exports, call sites; :mod:`.javascript`), then resolved across the files
of a tree into the same per-file outputs the Python analysis writes
(:class:`~graphlive.analysis.build.FileOutput`; :mod:`.resolve_js`). :func:`analyze_scripts`
runs both over a list of files. Not yet wired into :class:`~graphlive.analysis.engine.Analyzer`
(discovery, incremental updates, the analysis cache, the watcher and the view come next); the
Go, Java and Rust grammars follow the same shape.

Node ids (stable across re-analysis, never clashing with Python's dotted ids since they hold a
``/`` or a ``:``): a module is its file path relative to the root (``web/app.ts``); a definition
is ``<file>:<qualified name>`` (``web/app.ts:Cart.total``, ``web/app.ts:main.helper`` for a
function nested in ``main``); an import of a package (not a relative path) is an external node
``npm:<specifier>`` and a name taken from it ``npm:<specifier>:<name>``.
"""

from __future__ import annotations

from graphlive.analysis.polyglot.languages import LANGUAGES, language_of
from graphlive.analysis.polyglot.resolve_js import analyze_scripts

__all__ = ["LANGUAGES", "analyze_scripts", "language_of"]
