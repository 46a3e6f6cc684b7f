"""Extraction of expressions: calls, attributes, containers, comprehensions, lambdas."""

from __future__ import annotations

import ast

from graphlive.analysis.extract_state import (
    _CONST_TYPES,
    _EXPR_DISPATCH,
    _STR,
    _UNION_ANNOTATIONS,
    _WRAPPING_ANNOTATIONS,
    K_COMP,
    _ExtractorState,
    _last_name,
    _lookup_parent_of,
    _Scope,
    _target_names,
    _union,
)
from graphlive.analysis.facts import (
    C_ASSIGN,
    C_CALL,
    C_ITER,
    E_ATTR,
    E_BINST,
    E_CONT,
    E_ELEMS,
    E_GLOBAL,
    E_NAME,
    E_STAR,
    E_SUB,
    E_SUPER,
    E_VAR,
    K_FUNCTION,
    K_LAMBDA,
    Expr,
    ScopeFact,
)


class _Expressions(_ExtractorState):
    """Expressions → the abstract expressions (``E_*``) constraints are made of."""

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
