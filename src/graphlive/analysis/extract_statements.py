"""Extraction of definitions, statements and imports."""

from __future__ import annotations

import ast
from typing import Any

from graphlive.analysis.extract_expressions import _Expressions
from graphlive.analysis.extract_state import (
    _IMPLICIT_CLASSMETHODS,
    _PROPERTY_DECORATORS,
    _last_name,
    _lookup_parent_of,
    _merge,
    _Scope,
    _union,
)
from graphlive.analysis.facts import (
    C_ASSIGN,
    C_BASES,
    C_CALL,
    C_ITER,
    C_WITH,
    E_CONT,
    E_DEF,
    E_FROM,
    E_INST,
    E_MOD,
    E_VAR,
    F_ASYNC,
    F_CLASSMETHOD,
    F_DISCARD,
    F_GENERATOR,
    F_IMPLICIT,
    F_PROPERTY,
    F_RAISE,
    F_STATIC,
    K_CLASS,
    K_FUNCTION,
    K_LAMBDA,
    K_METHOD,
    K_MODULE,
    Constraint,
    DefFact,
    DiagFact,
    Expr,
    ImportFact,
    Params,
)
from graphlive.analysis.source_metrics import doc_summary, loc_between


class _Statements(_Expressions):
    """Definitions, statements and imports → defs, scopes and constraints."""

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
        self.facts.def_refs.add(def_id)
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
                self.facts.def_refs.add(outer.id)
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
        self.facts.def_refs.add(fid)
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
        self.facts.def_refs.add(cid)
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
                and (node.body.id in params.positional or node.body.id in params.kwonly)
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
        self.facts.def_refs.add(lid)
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
        self._narrow(node.test)
        self._stmts(node.body)
        after_body = s.env
        s.env = dict(before)
        self._stmts(node.orelse)
        s.env = _merge(after_body, s.env)

    def _narrow(self, test: ast.expr) -> None:
        """In the body of ``if isinstance(name, T):`` the name holds instances of ``T`` (a
        class, or a tuple of them): a new version of the name for the body."""
        if (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance"
            and len(test.args) == 2
            and not test.keywords
            and isinstance(test.args[0], ast.Name)
            # The builtin, unless this module or scope binds the name itself.
            and "isinstance" not in self.module_scope.locals
            and "isinstance" not in self.scope.locals
        ):
            classes = self.expr(test.args[1])
            if classes is not None:
                self._store_name(test.args[0].id, (E_INST, classes))

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

    def _raise(self, node: ast.Raise) -> None:
        exc = node.exc
        if exc is not None and not isinstance(exc, ast.Call):
            # ``raise A`` instantiates A when it is a class: an implicit call, not a call site
            # (``raise err`` with an instance calls nothing and must not count as unresolved).
            callee = self.expr(exc)
            if callee is not None:
                self.cons.append(
                    (
                        C_CALL,
                        self._site(),
                        self.scope.def_scope.id,
                        node.lineno,
                        callee,
                        (),
                        (),
                        F_IMPLICIT | F_DISCARD | F_RAISE,
                    )
                )
        elif exc is not None:
            self.expr(exc)
        if node.cause is not None:
            self.expr(node.cause)

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
