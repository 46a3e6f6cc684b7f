"""Analysis of the languages besides Python, on tree-sitter's official grammars (issue 21).

Per language, extraction into plain facts from tree-sitter's syntax tree, then resolution
across the files of a tree into the same per-file outputs the Python analysis writes
(:class:`~graphlive.analysis.build.FileOutput`), with the external nodes they point at:

* JavaScript and TypeScript: :mod:`.javascript`, :mod:`.resolve_js`;
* Go: :mod:`.go`, :mod:`.resolve_go`;
* Java: :mod:`.java`, :mod:`.resolve_java`;
* Rust: :mod:`.rust`, :mod:`.resolve_rust`.

:mod:`.screening` holds the checks every extractor shares (generated files, syntax errors).
:mod:`.analyses` runs them: :func:`~.analyses.analyze_group` for one group of files,
:class:`~.analyses.OtherLanguages` inside :class:`~graphlive.analysis.engine.Analyzer`
(discovery lists a tree's files of these languages beside its Python files, and an update
re-runs the analysis of the languages whose files changed, writing only the files whose
output differs).

Node ids (stable across re-analysis, never clashing with Python's dotted ids since they hold a
``/`` or a ``:``): a module is its file path relative to the root (``web/app.ts``); a definition
is ``<file>:<qualified name>`` (``web/app.ts:Cart.total``, ``web/app.ts:main.helper`` for a
function nested in ``main``; Java methods add their arity, ``Cart.java:Cart.add/1``); what
comes from outside the tree is an external node named by language (``npm:react:useState``,
``go:fmt:Println``, ``java:java.util.List.add``, ``rust:std::collections::HashMap::new``).
"""

from __future__ import annotations

# Only the language tables here: discovery and the watcher import this package, and the
# analyses load tree-sitter and its grammars.
from graphlive.analysis.polyglot.languages import LANGUAGES, language_of

__all__ = ["LANGUAGES", "language_of"]
