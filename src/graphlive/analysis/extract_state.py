"""Extraction state for one file: scopes, sites, interning and how names resolve in scopes
(:mod:`graphlive.analysis.python_extract` runs it).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from graphlive.analysis.facts import (
    BUILTIN_NAMES,
    C_ASSIGN,
    E_BINST,
    E_GLOBAL,
    E_NAME,
    E_SUB,
    E_UNION,
    E_VAR,
    K_CLASS,
    K_MODULE,
    T_ATTR,
    T_NAME,
    T_SUB,
    Constraint,
    Expr,
    FileFacts,
    FileTask,
    ScopeFact,
)
from graphlive.analysis.source_metrics import code_line_prefix

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

    #: mypyc: allow ``del scope.def_scope`` (see ``_Extractor.release``).
    __deletable__ = ("def_scope",)
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


# Statement and expression handlers by node type. Filled by python_extract once the extractor
# class exists. They are plain functions called with the extractor, not bound methods: an
# extractor holding bound methods of itself would be a reference cycle, left for the garbage
# collector after each file.
_STMT_DISPATCH: dict[type, Callable[[Any, Any], None]] = {}
_EXPR_DISPATCH: dict[type, Callable[[Any, Any], Expr | None]] = {}


class _ExtractorState:
    """One file's extraction state: scopes, counters, interned tuples and name resolution."""

    # Defined by the classes built on this one (the extractor is one object).

    def expr(self, node: ast.expr) -> Expr | None:
        raise NotImplementedError

    def _slot(self, node: ast.expr) -> int | str | None:
        raise NotImplementedError

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
                self.facts.name_refs.add(name)
                return (E_NAME, s.lookup_parent, name)
        if name in s.globals:
            return self._same((E_GLOBAL, self.module, name))
        if name in s.nonlocals:
            self.facts.name_refs.add(name)
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
            if name in BUILTIN_NAMES and not self.facts.star_imports:
                # Read before the module binds it (``str = str`` in a compatibility module):
                # the builtin as well as whatever the module binds by the time it runs.
                return self._same((E_GLOBAL, self.module, name, 1))
            return self._same((E_GLOBAL, self.module, name))
        self._captured(s, name)
        self.facts.name_refs.add(name)
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
            self.facts.name_refs.add(name)
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
