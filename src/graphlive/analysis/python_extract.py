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
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from graphlive.analysis.facts import (
    C_ASSIGN,
    C_BASES,
    C_CALL,
    C_ITER,
    C_WITH,
    E_ATTR,
    E_BINST,
    E_CONT,
    E_DEF,
    E_ELEMS,
    E_FROM,
    E_GLOBAL,
    E_INST,
    E_MOD,
    E_NAME,
    E_STAR,
    E_SUB,
    E_SUPER,
    E_UNION,
    E_VAR,
    F_ASYNC,
    F_CLASSMETHOD,
    F_DISCARD,
    F_GENERATOR,
    F_IMPLICIT,
    F_PROPERTY,
    F_STATIC,
    K_CLASS,
    K_FUNCTION,
    K_LAMBDA,
    K_METHOD,
    K_MODULE,
    T_ATTR,
    T_NAME,
    T_SUB,
    Constraint,
    DefFact,
    DiagFact,
    Expr,
    FileFacts,
    FileTask,
    ImportFact,
    Params,
    ScopeFact,
)
from graphlive.analysis.metrics import code_line_prefix, doc_summary, loc_between, source_lines
from graphlive.analysis.source import read_source
from graphlive.gc_pause import gc_paused

__all__ = ["K_COMP", "extract_chunk", "extract_file", "extract_source", "gc_paused"]

#: Scope kind of a comprehension (not a node; its variables are still scoped).
K_COMP = 6

_MISSING: Any = object()
_CONST_TYPES: dict[type, Expr] = {
    str: (E_BINST, "str"),
    bytes: (E_BINST, "bytes"),
    int: (E_BINST, "int"),
    float: (E_BINST, "float"),
    complex: (E_BINST, "complex"),
    bool: (E_BINST, "bool"),
}
_STR: Expr = (E_BINST, "str")
_PROPERTY_DECORATORS = frozenset({"property", "cached_property", "setter", "getter", "deleter"})
# Methods whose first parameter is the class even without @classmethod.
_IMPLICIT_CLASSMETHODS = frozenset({"__new__", "__init_subclass__", "__class_getitem__"})
_UNION_ANNOTATIONS = frozenset({"Optional", "Union"})
_WRAPPING_ANNOTATIONS = frozenset({"Annotated", "ClassVar", "Final", "Required", "NotRequired"})


class _Scope:
    """Extraction state of one scope (module, class, function, lambda or comprehension)."""

    __slots__ = (
        "class_scope",
        "cls_name",
        "complexity",
        "def_scope",
        "env",
        "generator",
        "globals",
        "id",
        "kind",
        "locals",
        "lookup_parent",
        "loop",
        "nonlocals",
        "params",
        "parent",
        "passthrough",
        "self_attrs",
        "self_escapes",
        "self_name",
        "stored",
        "versions",
    )

    def __init__(
        self,
        id: str,
        kind: int,
        parent: _Scope | None,
        lookup_parent: str | None,
    ) -> None:
        self.id = id
        self.kind = kind
        self.parent = parent
        self.lookup_parent = lookup_parent
        # Comprehensions attribute calls and complexity to the def they appear in.
        self.def_scope: _Scope = self if kind != K_COMP or parent is None else parent.def_scope
        self.locals: set[str] = set()
        #: name → versions reaching this point, or None for "any value of the scope".
        self.env: dict[str, tuple[int, ...] | None] = {}
        self.versions: dict[str, int] = {}
        self.loop = 0
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.complexity = 1
        self.generator = False
        self.class_scope: _Scope | None = None
        self.self_name: str | None = None
        self.cls_name: str | None = None
        self.self_attrs: set[str] = set()
        self.self_escapes = False
        self.params: frozenset[str] = frozenset()
        #: ``return <param>`` candidates: (name, value to use if it is not a passthrough)
        self.passthrough: list[tuple[str, Expr | None]] = []
        self.stored: set[str] = set()


def _lookup_parent_of(outer: _Scope) -> str | None:
    """Where names free in a scope nested in ``outer`` are looked up: class bodies are skipped."""
    return outer.lookup_parent if outer.kind == K_CLASS else outer.id


def _merge(
    a: dict[str, tuple[int, ...] | None], b: dict[str, tuple[int, ...] | None]
) -> dict[str, tuple[int, ...] | None]:
    """Environment after two branches: versions of either; a name bound in only one branch, or
    read as "any value" in one, becomes "any value"."""
    if a is b:
        return a
    out = dict(a)
    for name, vb in b.items():
        va = out.get(name, _MISSING)
        if va == vb:
            continue
        if va is _MISSING or va is None or vb is None:
            out[name] = None
        else:
            out[name] = tuple(sorted(set(va) | set(vb)))
    for name in a:
        if name not in b:
            out[name] = None
    return out


def _union(parts: Iterable[Expr | None]) -> Expr | None:
    items = [p for p in parts if p is not None]
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return (E_UNION, *items)


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _target_names(node: ast.expr, out: set[str]) -> None:
    if isinstance(node, ast.Name):
        out.add(node.id)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            _target_names(elt, out)
    elif isinstance(node, ast.Starred):
        _target_names(node.value, out)


class _Extractor:
    def __init__(self, task: FileTask, facts: FileFacts, lines: list[str]) -> None:
        self.task = task
        self.facts = facts
        self.file = task.rel
        self.module = task.module
        self.cons: list[Constraint] = facts.constraints
        self.site = 0
        self.interned: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.def_index: dict[str, int] = {}
        self.instance_attrs: dict[str, set[str]] = {}
        self.prefix = code_line_prefix(lines)
        self.all_names: list[str] | None = None
        self.all_dynamic = False
        self.module_scope = _Scope(task.module, K_MODULE, None, None)
        self.scope = self.module_scope
        #: Every scope made, so that :meth:`release` can break their self-references.
        self.made: list[_Scope] = [self.module_scope]

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

    # ------------------------------------------------------------------ helpers

    def _same(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        """One object per distinct key/expression tuple: pickle then writes repeats as
        references, which makes the facts sent back by workers several times smaller."""
        return self.interned.setdefault(value, value)

    def _site(self) -> int:
        self.site += 1
        return self.site

    def _count(self, scope_id: str, what: str) -> int:
        key = (scope_id, what)
        n = self.counters.get(key, 0) + 1
        self.counters[key] = n
        return n

    def _child_id(self, dscope: _Scope, name: str) -> str:
        if dscope.kind == K_MODULE and self.task.is_package and name in self.task.submodules:
            # A top-level definition of pkg/__init__.py named like a submodule would take the
            # submodule's id; it lives in the __init__ namespace instead.
            return f"{dscope.id}.__init__.{name}"
        return f"{dscope.id}.{name}"

    def _reserve(self, def_id: str) -> int:
        """Index for a new definition's fact, or -1 when the id is already defined (a
        redefinition: the first definition keeps the node, later ones share its id)."""
        if def_id in self.def_index:
            return -1
        self.facts.defs.append(None)  # type: ignore[arg-type]  # filled after the body
        index = len(self.facts.defs) - 1
        self.def_index[def_id] = index
        return index

    def _record_scope(self, scope: _Scope) -> None:
        old = self.facts.scopes.get(scope.id)
        names = frozenset(scope.locals)
        if old is not None:
            names |= old.locals
        self.facts.scopes[scope.id] = ScopeFact(scope.kind, scope.lookup_parent, names)

    def _stmts(self, body: Sequence[ast.stmt]) -> None:
        dispatch = _STMT_DISPATCH
        for node in body:
            handler = dispatch.get(type(node))
            if handler is None:
                self._generic_stmt(node)
            else:
                handler(self, node)

    def _generic_stmt(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)
            elif isinstance(child, ast.stmt):
                self._stmts((child,))

    def _nothing(self, node: ast.stmt) -> None:
        return None

    # ------------------------------------------------------------------ names

    def _load(self, name: str) -> Expr:
        s = self.scope
        while s.kind == K_COMP:
            if name in s.locals:
                return self._same((E_VAR, self._same((s.id, name))))
            assert s.parent is not None
            s = s.parent
            if s.kind == K_CLASS:
                # Comprehensions in class bodies do not see the class's names.
                return (E_NAME, s.lookup_parent, name)
        if name in s.globals:
            return self._same((E_GLOBAL, self.module, name))
        if name in s.nonlocals:
            return (E_NAME, s.lookup_parent, name)
        versions = s.env.get(name, _MISSING)
        if versions is not _MISSING:
            if versions is None or s.loop:
                return self._same((E_VAR, self._same((s.id, name))))
            if len(versions) == 1:
                # Version 0 is a parameter as passed: the callers' values, kept in the union.
                key = (s.id, name, versions[0]) if versions[0] else (s.id, name)
                return self._same((E_VAR, self._same(key)))
            return (E_VAR, *((s.id, name, v) if v else (s.id, name) for v in versions))
        if s.kind == K_MODULE:
            return self._same((E_GLOBAL, self.module, name))
        self._captured(s, name)
        return self._same((E_NAME, s.id, name))

    def _captured(self, s: _Scope, name: str) -> None:
        """A nested scope reads ``name`` from outside: if that is a method's ``self``/``cls``,
        the method's receiver escapes."""
        outer = s.parent
        while outer is not None:
            if name in outer.locals or name in outer.env:
                if outer.self_name == name or outer.cls_name == name:
                    outer.self_escapes = True
                return
            outer = outer.parent

    def _receiver_scope(self, name: str) -> _Scope | None:
        """The method whose ``self``/``cls`` parameter ``name`` denotes here, if any."""
        s = self.scope
        while s.kind == K_COMP:
            if name in s.locals:
                return None
            assert s.parent is not None
            s = s.parent
        if (s.self_name == name or s.cls_name == name) and name not in s.globals:
            return s
        return None

    def _receiver_attr(self, base: ast.expr, attr: str) -> Expr | None:
        """Translate the ``base`` of ``base.attr``, noting ``self.attr``/``super().attr`` uses
        without counting them as escapes of ``self``."""
        if isinstance(base, ast.Name):
            method = self._receiver_scope(base.id)
            if method is not None:
                method.self_attrs.add(attr)
                return self._load(base.id)
        elif (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Name)
            and base.func.id == "super"
        ):
            self.scope.def_scope.self_attrs.add(attr)
        return self.expr(base)

    def _store_name(self, name: str, value: Expr | None) -> None:
        s = self.scope
        if s.kind == K_COMP:
            if name in s.locals:
                if value is not None:
                    self.cons.append((C_ASSIGN, value, ((s.id, name),)))
                return
            while s.kind == K_COMP:  # walrus: binds in the enclosing function scope
                assert s.parent is not None
                s = s.parent
        targets: tuple[Any, ...]
        if name in s.globals:
            self.module_scope.locals.add(name)
            targets = ((self.module, name),)
        elif name in s.nonlocals:
            targets = ((T_NAME, s.lookup_parent, name),)
        else:
            s.locals.add(name)
            s.stored.add(name)
            if s.loop:
                s.env[name] = None
                targets = (self._same((s.id, name)),)
            else:
                version = s.versions.get(name, 0) + 1
                s.versions[name] = version
                s.env[name] = (version,)
                targets = (self._same((s.id, name)), self._same((s.id, name, version)))
        if value is not None:
            self.cons.append((C_ASSIGN, value, targets))

    def _store_target(self, target: ast.expr, value: Expr | None) -> None:
        if isinstance(target, ast.Name):
            self._store_name(target.id, value)
        elif isinstance(target, ast.Attribute):
            base = self._receiver_attr(target.value, target.attr)
            self._note_attribute_store(target)
            if base is not None and value is not None:
                self.cons.append((C_ASSIGN, value, ((T_ATTR, base, target.attr),)))
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value)
            slot = self._slot(target.slice)
            if base is not None and value is not None:
                self.cons.append((C_ASSIGN, value, ((T_SUB, base, slot),)))
        elif isinstance(target, (ast.Tuple, ast.List)):
            starred = False
            for i, elt in enumerate(target.elts):
                if isinstance(elt, ast.Starred):
                    starred = True
                    self._store_target(elt.value, None)
                    continue
                sub = None
                if value is not None:
                    # After a starred target the index of the remaining items is unknown.
                    sub = (E_SUB, value, None if starred else i)
                self._store_target(elt, sub)
        elif isinstance(target, ast.Starred):
            self._store_target(target.value, None)
        else:
            self.expr(target)

    def _note_attribute_store(self, target: ast.Attribute) -> None:
        """``self.x = ...`` in a method makes ``x`` an instance attribute of the class;
        ``cls.x = ...`` in a class method a class attribute."""
        base = target.value
        if not isinstance(base, ast.Name):
            return
        s = self.scope.def_scope
        cs = s.class_scope
        if cs is None:
            return
        if base.id == s.self_name:
            self.instance_attrs.setdefault(cs.id, set()).add(target.attr)
        elif base.id == s.cls_name:
            cs.locals.add(target.attr)

    # ------------------------------------------------------------------ definitions

    def _decorate(self, decorators: list[ast.expr], def_id: str) -> int:
        """Record decorator applications (implicit calls, innermost first) and ``decorates``
        facts; return the flags the decorators imply (staticmethod, classmethod, property)."""
        flags = 0
        applied: list[tuple[int, Expr | None]] = []
        for deco in decorators:
            name = _last_name(deco)
            if name == "staticmethod":
                flags |= F_STATIC
            elif name == "classmethod":
                flags |= F_CLASSMETHOD
            elif name in _PROPERTY_DECORATORS:
                flags |= F_PROPERTY
            value: Expr | None
            edge_expr: Expr | None
            if isinstance(deco, ast.Call):
                edge_expr = self.expr(deco.func)
                value = self._call(deco, edge_expr)
            else:
                value = self.expr(deco)
                edge_expr = value
            if edge_expr is not None:
                self.facts.decorators.append((def_id, deco.lineno, edge_expr))
            applied.append((deco.lineno, value))
        arg: Expr = (E_DEF, def_id)
        caller = self.scope.def_scope.id
        for deco_line, applied_value in reversed(applied):
            site = self._site()
            if applied_value is not None:
                self.cons.append(
                    (C_CALL, site, caller, deco_line, applied_value, (arg,), (), F_IMPLICIT)
                )
            arg = (E_VAR, (self.file, site))
        return flags

    def _params(
        self, args: ast.arguments, owner: str, annotate: bool
    ) -> tuple[Params, list[Constraint]]:
        """Translate defaults and annotations (in the current, enclosing scope) and return the
        parameters plus the constraints binding them, to be added once the scope exists."""
        bound: list[Constraint] = []
        positional = [*args.posonlyargs, *args.args]
        first_default = len(positional) - len(args.defaults)
        for i, arg in enumerate(positional):
            self._param(
                arg,
                args.defaults[i - first_default] if i >= first_default else None,
                owner,
                annotate,
                bound,
            )
        if args.vararg is not None:
            self._param(args.vararg, None, owner, False, bound)
            bound.append((C_ASSIGN, (E_CONT, (owner, "*"), "tuple"), ((owner, args.vararg.arg),)))
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=False):
            self._param(arg, default, owner, annotate, bound)
        if args.kwarg is not None:
            self._param(args.kwarg, None, owner, False, bound)
            bound.append((C_ASSIGN, (E_CONT, (owner, "**"), "dict"), ((owner, args.kwarg.arg),)))
        params = Params(
            tuple(a.arg for a in positional),
            args.vararg.arg if args.vararg is not None else None,
            tuple(a.arg for a in args.kwonlyargs),
            args.kwarg.arg if args.kwarg is not None else None,
        )
        return params, bound

    def _param(
        self,
        arg: ast.arg,
        default: ast.expr | None,
        owner: str,
        annotate: bool,
        bound: list[Constraint],
    ) -> None:
        key = (owner, arg.arg)
        if arg.annotation is not None:
            ann = self._annotation(arg.annotation)
            if ann is not None and annotate:
                bound.append((C_ASSIGN, (E_INST, ann), (key,)))
        if default is not None:
            value = self.expr(default)
            if value is not None:
                bound.append((C_ASSIGN, value, (key,)))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.scope
        dscope = outer.def_scope
        fid = self._child_id(dscope, node.name)
        in_class = outer.kind == K_CLASS
        flags = self._decorate(node.decorator_list, fid)
        if isinstance(node, ast.AsyncFunctionDef):
            flags |= F_ASYNC
        params, bound = self._params(node.args, fid, True)
        returns = self._annotation(node.returns) if node.returns is not None else None
        index = self._reserve(fid)
        scope = _Scope(fid, K_FUNCTION, outer, _lookup_parent_of(outer))
        self.made.append(scope)
        scope.params = frozenset(n for n in (*params.positional, *params.kwonly) if n is not None)
        for name in (*params.positional, *params.kwonly):
            scope.locals.add(name)
            scope.env[name] = (0,)
        for extra in (params.vararg, params.kwarg):
            if extra is not None:
                scope.locals.add(extra)
                scope.env[extra] = None
        self.cons.extend(bound)
        if returns is not None:
            self.cons.append((C_ASSIGN, (E_INST, returns), ((fid, "<return>"),)))
        if in_class:
            scope.class_scope = outer
            is_new = node.name == "__new__"
            if is_new:
                flags |= F_STATIC  # implicitly static, but called with the class first
            elif node.name in _IMPLICIT_CLASSMETHODS:
                flags |= F_CLASSMETHOD
            if params.positional and (is_new or not flags & F_STATIC):
                first = params.positional[0]
                if is_new or flags & F_CLASSMETHOD:
                    scope.cls_name = first
                    self.cons.append((C_ASSIGN, (E_DEF, outer.id), ((fid, first),)))
                else:
                    scope.self_name = first
                    self.cons.append((C_ASSIGN, (E_INST, (E_DEF, outer.id)), ((fid, first),)))
        self.scope = scope
        self._stmts(node.body)
        self.scope = outer
        self._record_scope(scope)
        returns_params = self._finish_passthrough(scope)
        if scope.generator:
            flags |= F_GENERATOR
        self._store_name(node.name, (E_DEF, fid))
        if index >= 0:
            self.facts.defs[index] = DefFact(
                id=fid,
                kind=K_METHOD if in_class else K_FUNCTION,
                name=node.name,
                parent=dscope.id,
                line=node.lineno,
                end_line=node.end_lineno or node.lineno,
                col=node.col_offset,
                end_col=node.end_col_offset or 0,
                doc=doc_summary(ast.get_docstring(node)),
                complexity=scope.complexity,
                loc=loc_between(self.prefix, node.lineno, node.end_lineno or node.lineno),
                flags=flags,
                params=params,
                self_attrs=None
                if scope.self_escapes or not in_class
                else frozenset(scope.self_attrs),
                returns_params=returns_params,
            )

    def _class(self, node: ast.ClassDef) -> None:
        outer = self.scope
        dscope = outer.def_scope
        cid = self._child_id(dscope, node.name)
        flags = self._decorate(node.decorator_list, cid)
        bases: list[tuple[int, Expr]] = []
        for base in node.bases:
            value = self.expr(base)
            if value is not None:
                bases.append((base.lineno, value))
        for kw in node.keywords:
            self.expr(kw.value)
        index = self._reserve(cid)
        scope = _Scope(cid, K_CLASS, outer, _lookup_parent_of(outer))
        self.made.append(scope)
        if bases:
            self.cons.append((C_BASES, cid, tuple(bases)))
        self.scope = scope
        self._stmts(node.body)
        self.scope = outer
        self._record_scope(scope)
        self._store_name(node.name, (E_DEF, cid))
        if index >= 0:
            self.facts.defs[index] = DefFact(
                id=cid,
                kind=K_CLASS,
                name=node.name,
                parent=dscope.id,
                line=node.lineno,
                end_line=node.end_lineno or node.lineno,
                col=node.col_offset,
                end_col=node.end_col_offset or 0,
                doc=doc_summary(ast.get_docstring(node)),
                complexity=None,
                loc=loc_between(self.prefix, node.lineno, node.end_lineno or node.lineno),
                flags=flags,
                params=None,
            )

    def _lambda(self, node: ast.Lambda) -> Expr:
        outer = self.scope
        dscope = outer.def_scope
        n = self._count(dscope.id, "lambda")
        name = f"<lambda{n}>"
        lid = f"{dscope.id}.{name}"
        params, bound = self._params(node.args, lid, False)
        index = self._reserve(lid)
        scope = _Scope(lid, K_LAMBDA, outer, _lookup_parent_of(outer))
        self.made.append(scope)
        for pname in (*params.positional, *params.kwonly, params.vararg, params.kwarg):
            if pname is not None:
                scope.locals.add(pname)
                scope.env[pname] = None
        self.cons.extend(bound)
        self.scope = scope
        body = self.expr(node.body)
        self.scope = outer
        returns_params: tuple[str, ...] = ()
        if body is not None:
            if (
                isinstance(node.body, ast.Name)
                and node.body.id in (*params.positional, *params.kwonly)
                and node.body.id not in scope.stored
            ):
                returns_params = (node.body.id,)  # lambda x: x
            else:
                self.cons.append((C_ASSIGN, body, ((lid, "<return>"),)))
        self._record_scope(scope)
        if index >= 0:
            self.facts.defs[index] = DefFact(
                id=lid,
                kind=K_LAMBDA,
                name=name,
                parent=dscope.id,
                line=node.lineno,
                end_line=node.end_lineno or node.lineno,
                col=node.col_offset,
                end_col=node.end_col_offset or 0,
                doc=None,
                complexity=scope.complexity,
                loc=loc_between(self.prefix, node.lineno, node.end_lineno or node.lineno),
                flags=F_GENERATOR if scope.generator else 0,
                params=params,
                returns_params=returns_params,
            )
        return (E_DEF, lid)

    # ------------------------------------------------------------------ statements

    def _return(self, node: ast.Return) -> None:
        if node.value is None:
            return
        s = self.scope.def_scope
        if s.kind != K_FUNCTION or self.scope is not s:
            self.expr(node.value)
            return
        self._return_value(s, node.value)

    def _return_value(self, s: _Scope, node: ast.expr) -> None:
        """Record what ``return node`` gives. A parameter returned unchanged
        (``return func``, ``return self``, ``return x if ok else wrap(x)``) is a *passthrough*:
        each call gets back its own argument rather than every caller's."""
        if isinstance(node, ast.IfExp):
            self._return_value(s, node.body)
            self.expr(node.test)
            s.complexity += 1
            self._return_value(s, node.orelse)
            return
        if isinstance(node, ast.BoolOp):
            s.complexity += len(node.values) - 1
            for operand in node.values:
                self._return_value(s, operand)
            return
        if isinstance(node, ast.Name) and self._is_own_param(s, node.id):
            name = node.id
            self._name(node)  # the load itself (marks ``return self`` as an escape)
            versions = s.env.get(name)
            if s.loop or versions is None:
                s.passthrough.append((name, (E_VAR, (s.id, name))))
                return
            others = tuple((s.id, name, v) for v in versions if v)
            if 0 in versions:
                s.passthrough.append((name, None))
            if others:
                self.cons.append((C_ASSIGN, (E_VAR, *others), ((s.id, "<return>"),)))
            return
        value = self.expr(node)
        if value is not None:
            self.cons.append((C_ASSIGN, value, ((s.id, "<return>"),)))

    def _is_own_param(self, s: _Scope, name: str) -> bool:
        return name in s.params and name not in s.globals and name not in s.nonlocals

    def _finish_passthrough(self, s: _Scope) -> tuple[str, ...]:
        """Passthrough parameters of a finished function. A return read in a loop (``value``
        set) is a passthrough only if the parameter is never reassigned; otherwise it goes to
        the ordinary, merged return value."""
        kept: list[str] = []
        for name, value in s.passthrough:
            if value is not None and name in s.stored:
                self.cons.append((C_ASSIGN, value, ((s.id, "<return>"),)))
            elif name not in kept:
                kept.append(name)
        return tuple(kept)

    def _assign(self, node: ast.Assign) -> None:
        rhs = node.value
        if (
            isinstance(rhs, (ast.Tuple, ast.List))
            and all(
                isinstance(t, (ast.Tuple, ast.List))
                and len(t.elts) == len(rhs.elts)
                and not any(isinstance(e, ast.Starred) for e in t.elts)
                for t in node.targets
            )
            and not any(isinstance(e, ast.Starred) for e in rhs.elts)
        ):
            # a, b = f, g: pair the items instead of mixing every value into every name.
            items = [self.expr(e) for e in rhs.elts]
            for target in node.targets:
                assert isinstance(target, (ast.Tuple, ast.List))
                for elt, value in zip(target.elts, items, strict=False):
                    self._store_target(elt, value)
            return
        value = self.expr(rhs)
        if self.scope is self.module_scope:
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "__all__":
                    self._set_all(rhs, extend=False)
        for target in node.targets:
            self._store_target(target, value)

    def _augassign(self, node: ast.AugAssign) -> None:
        value = self.expr(node.value)
        target = node.target
        if isinstance(target, ast.Name):
            if self.scope is self.module_scope and target.id == "__all__":
                self._set_all(node.value, extend=True)
            # x += [f] keeps the old values and may add the new ones.
            self._store_name(target.id, _union((self._load(target.id), value)))
        else:
            self._store_target(target, None)

    def _annassign(self, node: ast.AnnAssign) -> None:
        ann = self._annotation(node.annotation)
        value = self.expr(node.value) if node.value is not None else None
        if (
            node.value is None
            and isinstance(node.target, ast.Name)
            and self.scope.kind
            not in (
                K_MODULE,
                K_CLASS,
            )
        ):
            # A bare declaration in a function binds nothing; it only types later assignments.
            if ann is not None:
                self._store_name(node.target.id, (E_INST, ann))
            return
        declared = (E_INST, ann) if ann is not None else None
        if (
            isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
            and self.scope is self.module_scope
            and node.value is not None
        ):
            self._set_all(node.value, extend=False)
        self._store_target(node.target, _union((value, declared)))

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        iterable = self.expr(node.iter)
        site = self._site()
        s = self.scope
        if iterable is not None:
            self.cons.append(
                (
                    C_ITER,
                    site,
                    s.def_scope.id,
                    node.lineno,
                    iterable,
                    isinstance(node, ast.AsyncFor),
                )
            )
        s.def_scope.complexity += 1
        s.loop += 1
        self._store_target(
            node.target, (E_VAR, (self.file, site)) if iterable is not None else None
        )
        self._stmts(node.body)
        s.loop -= 1
        self._stmts(node.orelse)

    def _while(self, node: ast.While) -> None:
        s = self.scope
        s.def_scope.complexity += 1
        s.loop += 1
        self.expr(node.test)
        self._stmts(node.body)
        s.loop -= 1
        self._stmts(node.orelse)

    def _if(self, node: ast.If) -> None:
        self.expr(node.test)
        s = self.scope
        s.def_scope.complexity += 1
        if s.loop:
            self._stmts(node.body)
            self._stmts(node.orelse)
            return
        before = s.env
        s.env = dict(before)
        self._stmts(node.body)
        after_body = s.env
        s.env = dict(before)
        self._stmts(node.orelse)
        s.env = _merge(after_body, s.env)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        s = self.scope
        is_async = isinstance(node, ast.AsyncWith)
        for item in node.items:
            ctx = self.expr(item.context_expr)
            site = self._site()
            if ctx is not None:
                line = item.context_expr.lineno
                self.cons.append((C_WITH, site, s.def_scope.id, line, ctx, is_async))
            if item.optional_vars is not None:
                result = (E_VAR, (self.file, site)) if ctx is not None else None
                self._store_target(item.optional_vars, result)
        self._stmts(node.body)

    def _try(self, node: ast.Try) -> None:
        s = self.scope
        before = s.env
        if not s.loop:
            s.env = dict(before)
        self._stmts(node.body)
        after_body = s.env
        # A handler may start after any statement of the body: names the body changed are
        # read as "any value" there.
        at_handler = _merge(before, after_body) if not s.loop else s.env
        ends = []
        for handler in node.handlers:
            s.def_scope.complexity += 1
            if not s.loop:
                s.env = dict(at_handler)
            exc_type = self.expr(handler.type) if handler.type is not None else None
            if handler.name:
                self._store_name(handler.name, (E_INST, exc_type) if exc_type is not None else None)
            self._stmts(handler.body)
            ends.append(s.env)
        if not s.loop:
            s.env = after_body
        self._stmts(node.orelse)
        if not s.loop:
            merged = s.env
            for env in ends:
                merged = _merge(merged, env)
            s.env = merged
        self._stmts(node.finalbody)

    def _match(self, node: Any) -> None:
        subject = self.expr(node.subject)
        s = self.scope
        before = s.env
        ends = [before]
        for case in node.cases:
            s.def_scope.complexity += 1
            if not s.loop:
                s.env = dict(before)
            self._pattern(case.pattern, subject)
            if case.guard is not None:
                self.expr(case.guard)
            self._stmts(case.body)
            ends.append(s.env)
        if not s.loop:
            merged = ends[0]
            for env in ends[1:]:
                merged = _merge(merged, env)
            s.env = merged

    def _pattern(self, pattern: Any, subject: Expr | None) -> None:
        """Bind a ``case`` pattern's captures; only whole-subject captures get values
        (``case x``, ``case Foo() as x`` → instances of Foo)."""
        kind = type(pattern).__name__
        if kind == "MatchAs":
            value = subject
            if pattern.pattern is not None:
                inner = pattern.pattern
                if type(inner).__name__ == "MatchClass":
                    cls = self.expr(inner.cls)
                    value = (E_INST, cls) if cls is not None else None
                    for sub in (*inner.patterns, *inner.kwd_patterns):
                        self._pattern(sub, None)
                else:
                    self._pattern(inner, None)
                    value = None
            if pattern.name:
                self._store_name(pattern.name, value)
            return
        if kind == "MatchStar":
            if pattern.name:
                self._store_name(pattern.name, None)
            return
        if kind == "MatchMapping" and pattern.rest:
            self._store_name(pattern.rest, None)
        for child in ast.iter_child_nodes(pattern):
            if isinstance(child, ast.expr):
                self.expr(child)
            elif type(child).__name__.startswith("Match"):
                self._pattern(child, None)

    def _global(self, node: ast.Global) -> None:
        s = self.scope.def_scope
        s.globals.update(node.names)
        if s is not self.module_scope:
            self.module_scope.locals.update(node.names)
            # This function may rebind the names whenever it runs: module code after its
            # definition must read every value, not the last straight-line assignment.
            for name in node.names:
                self.module_scope.env[name] = None

    def _nonlocal(self, node: ast.Nonlocal) -> None:
        s = self.scope.def_scope
        s.nonlocals.update(node.names)
        for name in node.names:
            owner = s.parent
            while owner is not None and owner.kind != K_MODULE:
                if owner.kind != K_CLASS and name in owner.locals:
                    owner.env[name] = None  # rebound by the nested function at any time
                    break
                owner = owner.parent

    def _expr_stmt(self, node: ast.Expr) -> None:
        value = node.value
        if isinstance(value, ast.Constant):
            return  # docstrings and other bare constants
        if (
            self.scope is self.module_scope
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id == "__all__"
        ):
            if value.func.attr == "extend" and value.args:
                self._set_all(value.args[0], extend=True)
            elif value.func.attr == "append" and value.args:
                self._set_all(ast.List(elts=[value.args[0]]), extend=True)
        if isinstance(value, ast.Call) and not (
            isinstance(value.func, ast.Name) and value.func.id in ("super", "getattr")
        ):
            # A call statement: its result is never read, so the solver need not keep it.
            self._call(value, self.expr(value.func), F_DISCARD)
            return
        self.expr(value)

    def _set_all(self, value: ast.expr, *, extend: bool) -> None:
        names: list[str] = []
        if isinstance(value, (ast.List, ast.Tuple)):
            for elt in value.elts:
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    names.append(elt.value)
                else:
                    self.all_dynamic = True
        else:
            self.all_dynamic = True
        if extend and self.all_names is not None:
            self.all_names.extend(names)
        else:
            self.all_names = names

    # ------------------------------------------------------------------ imports

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.name
            if alias.asname:
                self._store_name(alias.asname, (E_MOD, name))
            else:
                top = name.partition(".")[0]
                self._store_name(top, (E_MOD, top))
            self.facts.imports.append(ImportFact(node.lineno, name, None))

    def _importfrom(self, node: ast.ImportFrom) -> None:
        module = self._absolute(node.module, node.level, node.lineno)
        names = tuple(alias.name for alias in node.names)
        for alias in node.names:
            if alias.name == "*":
                if module is not None:
                    self.facts.star_imports.append((module, node.lineno))
                continue
            bound = alias.asname or alias.name
            self._store_name(bound, (E_FROM, module, alias.name) if module is not None else None)
        if module is not None:
            self.facts.imports.append(ImportFact(node.lineno, module, names))

    def _absolute(self, module: str | None, level: int, line: int) -> str | None:
        if level == 0:
            return module
        own = self.task.module
        package = own if self.task.is_package else own.rpartition(".")[0]
        parts = package.split(".") if package else []
        up = level - 1
        if up >= len(parts) or "/" in own:
            self.facts.diagnostics.append(
                DiagFact(
                    self.file,
                    line,
                    0,
                    "warning",
                    "relative-import-beyond-top",
                    f"relative import with level {level} goes beyond the top-level package",
                )
            )
            return None
        base = ".".join(parts[: len(parts) - up])
        return f"{base}.{module}" if module else base

    # ------------------------------------------------------------------ expressions

    def expr(self, node: ast.expr) -> Expr | None:
        """Translate an expression (recording the calls, lambdas and comprehensions inside it)
        into the symbolic value it evaluates to, or ``None`` when nothing useful is known."""
        handler = _EXPR_DISPATCH.get(type(node))
        if handler is None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
                elif isinstance(child, ast.comprehension):  # pragma: no cover - handled by _comp
                    self.expr(child.iter)
            return None
        return handler(self, node)

    def _name(self, node: ast.Name) -> Expr | None:
        name = node.id
        ds = self.scope.def_scope
        if ds.self_name == name or ds.cls_name == name:
            method = self._receiver_scope(name)
            if method is not None:
                method.self_escapes = True  # used other than as ``self.attr``
        return self._load(name)

    def _attribute(self, node: ast.Attribute) -> Expr | None:
        base = self._receiver_attr(node.value, node.attr)
        return (E_ATTR, base, node.attr) if base is not None else None

    def _constant(self, node: ast.Constant) -> Expr | None:
        return _CONST_TYPES.get(type(node.value))

    def _joinedstr(self, node: ast.JoinedStr) -> Expr | None:
        for value in node.values:
            self.expr(value)
        return _STR

    def _slot(self, node: ast.expr) -> int | str | None:
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) is int and value >= 0:
                return value
            if type(value) is str:
                return value
            return None
        self.expr(node)
        return None

    def _subscript(self, node: ast.Subscript) -> Expr | None:
        base = self.expr(node.value)
        slot = self._slot(node.slice)
        return (E_SUB, base, slot) if base is not None else None

    def _list(self, node: ast.List | ast.Tuple | ast.Set) -> Expr | None:
        type_name = (
            "list"
            if isinstance(node, ast.List)
            else ("tuple" if isinstance(node, ast.Tuple) else "set")
        )
        site = self._site()
        key = (self.file, site)
        any_value = False
        for i, elt in enumerate(node.elts):
            if isinstance(elt, ast.Starred):
                value = self.expr(elt.value)
                if value is not None:
                    self.cons.append((C_ASSIGN, (E_ELEMS, value, False), ((key, None),)))
                    any_value = True
                continue
            value = self.expr(elt)
            if value is not None:
                slot = i if type_name != "set" else None
                self.cons.append((C_ASSIGN, value, ((key, slot),)))
                any_value = True
        if type_name == "tuple" and not any_value:
            return (E_BINST, "tuple")  # immutable and holding nothing we track
        return (E_CONT, key, type_name)

    def _dict(self, node: ast.Dict) -> Expr | None:
        site = self._site()
        key = (self.file, site)
        for k, v in zip(node.keys, node.values, strict=False):
            slot: int | str | None = None
            if k is not None:
                slot = self._slot(k)
            value = self.expr(v)
            if value is None:
                continue
            if k is None:  # {**other}
                self.cons.append((C_ASSIGN, (E_ELEMS, value, True), ((key, None),)))
            else:
                self.cons.append((C_ASSIGN, value, ((key, slot),)))
        return (E_CONT, key, "dict")

    def _comp(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Expr | None:
        outer = self.scope
        dscope = outer.def_scope
        cid = f"{dscope.id}.<comp{self._count(dscope.id, 'comp')}>"
        scope = _Scope(cid, K_COMP, outer, _lookup_parent_of(outer))
        self.made.append(scope)
        for gen in node.generators:
            _target_names(gen.target, scope.locals)
        self.scope = scope
        if isinstance(node, ast.DictComp):
            self.expr(node.key)
            value = self.expr(node.value)
            type_name = "dict"
        else:
            value = self.expr(node.elt)
            type_name = {ast.ListComp: "list", ast.SetComp: "set"}.get(type(node), "generator")
        self.scope = outer
        first = self.expr(node.generators[0].iter)  # evaluated in the enclosing scope
        self.scope = scope
        for i, gen in enumerate(node.generators):
            iterable = first if i == 0 else self.expr(gen.iter)
            site = self._site()
            if iterable is not None:
                self.cons.append(
                    (C_ITER, site, dscope.id, gen.iter.lineno, iterable, bool(gen.is_async))
                )
            self._store_target(
                gen.target, (E_VAR, (self.file, site)) if iterable is not None else None
            )
            dscope.complexity += 1 + len(gen.ifs)
            for cond in gen.ifs:
                self.expr(cond)
        self.scope = outer
        self.facts.scopes[cid] = ScopeFact(K_COMP, scope.lookup_parent, frozenset(scope.locals))
        if value is None:
            return None if type_name == "generator" else (E_BINST, type_name)
        site = self._site()
        key = (self.file, site)
        self.cons.append((C_ASSIGN, value, ((key, None),)))
        return (E_CONT, key, type_name)

    def _ifexp(self, node: ast.IfExp) -> Expr | None:
        a = self.expr(node.body)
        self.expr(node.test)
        b = self.expr(node.orelse)
        self.scope.def_scope.complexity += 1
        return _union((a, b))

    def _boolop(self, node: ast.BoolOp) -> Expr | None:
        self.scope.def_scope.complexity += len(node.values) - 1
        return _union([self.expr(v) for v in node.values])

    def _binop(self, node: ast.BinOp) -> Expr | None:
        left = self.expr(node.left)
        self.expr(node.right)
        if left == _STR and isinstance(node.op, (ast.Add, ast.Mod)):
            return _STR
        return None

    def _namedexpr(self, node: ast.NamedExpr) -> Expr | None:
        value = self.expr(node.value)
        self._store_name(node.target.id, value)
        return value

    def _await(self, node: ast.Await) -> Expr | None:
        # The coroutine is not modelled: awaiting a call yields what the function returns.
        return self.expr(node.value)

    def _yield(self, node: ast.Yield | ast.YieldFrom) -> Expr | None:
        s = self.scope.def_scope
        s.generator = True
        if node.value is None:
            return None
        value = self.expr(node.value)
        if value is not None and s.kind in (K_FUNCTION, K_LAMBDA):
            if isinstance(node, ast.YieldFrom):
                value = (E_ELEMS, value, False)
            self.cons.append((C_ASSIGN, value, ((s.id, "<yield>"),)))
        return None

    def _call_expr(self, node: ast.Call) -> Expr | None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "super":
            proxy, second = self._super(node)
            if proxy is not None:
                self._call(node, self._load("super"), second=second)
                return proxy
            if second is not None:
                return self._call(node, self.expr(func), second=second)
        return self._call(node, self.expr(func))

    def _super(self, node: ast.Call) -> tuple[Expr | None, tuple[Expr | None] | None]:
        """The ``super()`` proxy a call makes (``None`` when unknown), and, when this had to
        translate the second argument of ``super(C, obj)``, that translation (in a 1-tuple):
        the call must reuse it, not record the calls inside ``obj`` a second time."""
        s = self.scope.def_scope
        cs = s.class_scope
        if cs is None:
            return None, None
        if "super" in s.locals or "super" in self.module_scope.locals:
            return None, None  # rebound: not the builtin
        if not node.args:
            first = s.self_name or s.cls_name
            if first is None:
                return None, None
            return (E_SUPER, cs.id, self._load(first)), None
        if (
            len(node.args) == 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == cs.id.rpartition(".")[2]
            and not isinstance(node.args[1], ast.Starred)
        ):
            obj = self.expr(node.args[1])
            return ((E_SUPER, cs.id, obj) if obj is not None else None), (obj,)
        return None, None

    def _call(
        self,
        node: ast.Call,
        callee: Expr | None,
        flags: int = 0,
        second: tuple[Expr | None] | None = None,
    ) -> Expr:
        """Record a call; ``second``: the second positional argument, already translated."""
        args: list[Expr | None] = []
        for i, arg in enumerate(node.args):
            if i == 1 and second is not None:
                args.append(second[0])
            elif isinstance(arg, ast.Starred):
                value = self.expr(arg.value)
                args.append((E_STAR, value) if value is not None else None)
            else:
                args.append(self.expr(arg))
        kwargs: list[tuple[str | None, Expr]] = []
        for kw in node.keywords:
            value = self.expr(kw.value)
            if value is not None:
                kwargs.append((kw.arg, value))
        while args and args[-1] is None:
            args.pop()
        site = self._site()
        self.facts.calls += 1
        result_key = (self.file, site)
        self.cons.append(
            (
                C_CALL,
                site,
                self.scope.def_scope.id,
                node.lineno,
                callee,
                tuple(args),
                tuple(kwargs),
                flags,
            )
        )
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and args
            and args[0] is not None
            and callee is not None
            and callee[0] in (E_GLOBAL, E_NAME)
        ):
            # getattr(obj, "name") with a constant name is plain attribute access.
            self.cons.append((C_ASSIGN, (E_ATTR, args[0], node.args[1].value), (result_key,)))
        return (E_VAR, result_key)

    def _annotation(self, node: ast.expr) -> Expr | None:
        """The classes an annotation names (``Foo``, ``"Foo"``, ``Foo | None``,
        ``Optional[Foo]``, ``Union[A, B]``, ``Annotated[Foo, ...]``); other forms (generics)
        give ``None``. Calls inside annotations are still recorded."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                try:
                    parsed = ast.parse(node.value.strip(), mode="eval").body
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    return None
                return self._string_annotation(parsed)
            return None
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.expr(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return _union((self._annotation(node.left), self._annotation(node.right)))
        if isinstance(node, ast.Subscript):
            head = _last_name(node.value)
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head in _UNION_ANNOTATIONS:
                self.expr(node.value)
                return _union([self._annotation(item) for item in items])
            if head in _WRAPPING_ANNOTATIONS and items:
                self.expr(node.value)
                for extra in items[1:]:
                    self.expr(extra)
                return self._annotation(items[0])
        self.expr(node)
        return None

    def _string_annotation(self, node: ast.expr) -> Expr | None:
        """Like :meth:`_annotation` for a parsed string annotation, which is never evaluated:
        only names and attributes are translated, nothing is recorded."""
        if isinstance(node, ast.Name):
            return self._load(node.id)
        if isinstance(node, ast.Attribute):
            base = self._string_annotation(node.value)
            return (E_ATTR, base, node.attr) if base is not None else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return _union((self._string_annotation(node.left), self._string_annotation(node.right)))
        if isinstance(node, ast.Subscript):
            head = _last_name(node.value)
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head in _UNION_ANNOTATIONS:
                return _union([self._string_annotation(item) for item in items])
            if head in _WRAPPING_ANNOTATIONS and items:
                return self._string_annotation(items[0])
        return None


# Dispatch through the class (plain functions), not bound methods: an extractor holding bound
# methods of itself would be a reference cycle, left for the garbage collector after each file.
_STMT_DISPATCH: dict[type, Callable[[_Extractor, Any], None]] = {
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
    ast.Pass: _Extractor._nothing,
    ast.Break: _Extractor._nothing,
    ast.Continue: _Extractor._nothing,
}
if hasattr(ast, "TryStar"):
    _STMT_DISPATCH[ast.TryStar] = _Extractor._try
if hasattr(ast, "Match"):
    _STMT_DISPATCH[ast.Match] = _Extractor._match
_EXPR_DISPATCH: dict[type, Callable[[_Extractor, Any], Expr | None]] = {
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
