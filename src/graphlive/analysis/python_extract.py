"""Extraction: one Python file → :class:`~graphlive.analysis.facts.FileFacts` (stdlib ``ast``).

This runs in worker processes, so it only looks at its own file: definitions (with location,
docstring summary, complexity, lines of code), imports, and the value flow of the file as
symbolic constraints (see :mod:`graphlive.analysis.facts`). Cross-file questions are left to the
resolver.

Name binding follows Python's scoping rules (function locals are decided per function, class
bodies are skipped by nested functions, comprehensions have their own scope, ``global`` and
``nonlocal`` are honoured). Within the straight-line code of a scope each assignment is a
separate *version*, so a read sees only the assignments that can reach it; inside loops and after
``try`` the read falls back to every value the name ever holds in that scope, and reads from
other scopes (nested functions, other modules) always see every value. This keeps
``handler = a; handler(); handler = b`` from inventing a call of ``b`` without a full data-flow
analysis.

Contract of :func:`extract_file`: it never raises for bad input. Unreadable, undecodable, binary
or oversize files and syntax errors yield facts with ``error`` set (the module node is kept) and a
diagnostic; a vanished file yields ``missing=True``.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence

from graphlive.analysis.facts import (
    K_MODULE,
    DiagFact,
    FileFacts,
    FileTask,
    ScopeFact,
)
from graphlive.analysis.source import read_source
from graphlive.analysis.source_metrics import doc_summary, source_lines
from graphlive.gc_pause import gc_paused

__all__ = ["K_COMP", "extract_chunk", "extract_file", "extract_source", "gc_paused"]

from graphlive.analysis.extract_state import (
    _EXPR_DISPATCH,
    _STMT_DISPATCH,
    K_COMP,
)
from graphlive.analysis.extract_statements import _Statements


class _Extractor(_Statements):
    """Extracts one parsed file into its :class:`~graphlive.analysis.facts.FileFacts` (the
    state, expressions and statements of the classes it builds on)."""

    # ------------------------------------------------------------------ entry

    def run(self, tree: ast.Module) -> None:
        self.facts.doc = doc_summary(ast.get_docstring(tree))
        self._stmts(tree.body)
        ms = self.module_scope
        self.facts.scopes[self.module] = ScopeFact(K_MODULE, None, frozenset(ms.locals))
        self.facts.instance_attrs = {k: frozenset(v) for k, v in self.instance_attrs.items()}
        if self.all_names is not None and not self.all_dynamic:
            self.facts.all_names = tuple(self.all_names)
        self.facts.defs = [d for d in self.facts.defs if d is not None]

    def release(self) -> None:
        """Break the scopes' references to themselves (``def_scope``), so that reference
        counting frees the extraction state without the cyclic garbage collector."""
        for scope in self.made:
            if scope.def_scope is scope:
                del scope.def_scope
        self.made = []


# The handlers, now that the class exists (see extract_state._STMT_DISPATCH).
_STMT_DISPATCH.update(
    {
        ast.FunctionDef: _Extractor._function,
        ast.AsyncFunctionDef: _Extractor._function,
        ast.ClassDef: _Extractor._class,
        ast.Return: _Extractor._return,
        ast.Assign: _Extractor._assign,
        ast.AugAssign: _Extractor._augassign,
        ast.AnnAssign: _Extractor._annassign,
        ast.For: _Extractor._for,
        ast.AsyncFor: _Extractor._for,
        ast.While: _Extractor._while,
        ast.If: _Extractor._if,
        ast.With: _Extractor._with,
        ast.AsyncWith: _Extractor._with,
        ast.Try: _Extractor._try,
        ast.Import: _Extractor._import,
        ast.ImportFrom: _Extractor._importfrom,
        ast.Global: _Extractor._global,
        ast.Nonlocal: _Extractor._nonlocal,
        ast.Expr: _Extractor._expr_stmt,
        ast.Raise: _Extractor._raise,
        ast.Pass: _Extractor._nothing,
        ast.Break: _Extractor._nothing,
        ast.Continue: _Extractor._nothing,
    }
)
if hasattr(ast, "TryStar"):
    _STMT_DISPATCH[ast.TryStar] = _Extractor._try
if hasattr(ast, "Match"):
    _STMT_DISPATCH[ast.Match] = _Extractor._match
_EXPR_DISPATCH.update(
    {
        ast.Name: _Extractor._name,
        ast.Attribute: _Extractor._attribute,
        ast.Call: _Extractor._call_expr,
        ast.Constant: _Extractor._constant,
        ast.Subscript: _Extractor._subscript,
        ast.JoinedStr: _Extractor._joinedstr,
        ast.List: _Extractor._list,
        ast.Tuple: _Extractor._list,
        ast.Set: _Extractor._list,
        ast.Dict: _Extractor._dict,
        ast.ListComp: _Extractor._comp,
        ast.SetComp: _Extractor._comp,
        ast.GeneratorExp: _Extractor._comp,
        ast.DictComp: _Extractor._comp,
        ast.Lambda: _Extractor._lambda,
        ast.IfExp: _Extractor._ifexp,
        ast.BoolOp: _Extractor._boolop,
        ast.BinOp: _Extractor._binop,
        ast.NamedExpr: _Extractor._namedexpr,
        ast.Await: _Extractor._await,
        ast.Yield: _Extractor._yield,
        ast.YieldFrom: _Extractor._yield,
    }
)


def _module_facts(task: FileTask) -> FileFacts:
    return FileFacts(file=task.rel, module=task.module, is_package=task.is_package)


def extract_source(task: FileTask, text: str) -> FileFacts:
    """Extract facts from already-decoded source ``text`` (see :func:`extract_file`)."""
    facts = _module_facts(task)
    lines = source_lines(text)
    facts.lines = max(len(lines), 1)
    facts.last_col = len(lines[-1].encode("utf-8")) if lines else 0
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and the like are the user's business, not ours to print.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=task.rel)
    except SyntaxError as exc:
        facts.error = "syntax-error"
        facts.diagnostics.append(
            DiagFact(
                task.rel,
                exc.lineno or 0,
                max((exc.offset or 1) - 1, 0),
                "error",
                "syntax-error",
                exc.msg or "invalid syntax",
            )
        )
        return facts
    except (ValueError, MemoryError, RecursionError) as exc:
        facts.error = "parse-error"
        facts.diagnostics.append(
            DiagFact(task.rel, 0, 0, "error", "parse-error", f"{type(exc).__name__}: {exc}")
        )
        return facts
    extractor = _Extractor(task, facts, lines)
    try:
        extractor.run(tree)
    except RecursionError:
        extractor.release()
        # Pathologically nested code: keep the module node, drop the partial facts.
        fresh = _module_facts(task)
        fresh.lines, fresh.last_col = facts.lines, facts.last_col
        fresh.error = "too-deep"
        fresh.diagnostics.append(
            DiagFact(task.rel, 0, 0, "error", "too-deep", "code nested too deeply to analyse")
        )
        return fresh
    extractor.release()
    facts.loc = extractor.prefix[-1]
    return facts


def extract_file(task: FileTask, max_bytes: int) -> FileFacts:
    """Read ``task.path`` and extract its facts. Never raises for bad input (module docstring)."""
    text, diagnostic, missing, digest = read_source(task.path, task.rel, max_bytes)
    if text is None:
        facts = _module_facts(task)
        facts.missing = missing
        if diagnostic is not None:
            facts.error = diagnostic.code
            facts.diagnostics.append(diagnostic)
    else:
        facts = extract_source(task, text)
    facts.digest = digest
    return facts


def extract_chunk(tasks: Sequence[FileTask], max_bytes: int) -> list[FileFacts]:
    """Extract several files (the unit of work sent to a worker process)."""
    with gc_paused():
        return [extract_file(task, max_bytes) for task in tasks]
