"""Per-file facts: what extraction of one file yields, before any cross-file resolution.

Facts are compact, picklable plain data (tuples of ``str``/``int``) so that worker processes can
send them back cheaply and so that a later incremental run can keep the facts of unchanged files
and re-resolve without re-parsing them. Nothing in here refers to another file's content:
references to other modules are symbolic (absolute dotted names), and everything that needs the
whole program (imports, attribute lookups, the MRO, call targets) is left to
:mod:`graphlive.analysis.resolve`.

Symbolic expressions and constraints
------------------------------------

The value flow of a file is recorded as *constraints* over *variables*. A variable key is a
tuple:

* ``(scope_id, name)`` — every value a name ever holds in a scope (function, class, module,
  lambda, comprehension); class scopes also hold attributes assigned through ``self.x``;
* ``(scope_id, name, version)`` — one assignment of a name in straight-line code of its scope,
  which is what makes ``f = a; f(); f = b`` resolve the first call to ``a`` only;
* ``(def_id, "<return>")``/``(def_id, "<yield>")`` — what a function returns/yields;
* ``(file, site)`` — the result of call/iteration/with site number ``site`` of ``file``;
* ``((file, site), slot)`` or ``((def_id, "*"), slot)`` — element ``slot`` (an ``int`` index, a
  ``str`` key, or ``None`` for "unknown") of a container created at that site, or of a function's
  ``*args``/``**kwargs``;
* ``(class_id, "<base>", i)`` — the values of the ``i``-th base class expression.

An expression (``Expr``) is a tuple whose first item is one of the ``E_*`` tags below; the
resolver evaluates it to a set of abstract values. A constraint is a tuple whose first item is one
of the ``C_*`` tags.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graphlive.analysis.native import mypyc_attr

__all__ = [
    "BUILTIN_NAMES",
    "C_ASSIGN",
    "C_BASES",
    "C_CALL",
    "C_ITER",
    "C_WITH",
    "E_ATTR",
    "E_BINST",
    "E_CONT",
    "E_DEF",
    "E_ELEMS",
    "E_FROM",
    "E_GLOBAL",
    "E_INST",
    "E_MOD",
    "E_NAME",
    "E_STAR",
    "E_SUB",
    "E_SUPER",
    "E_UNION",
    "E_VAR",
    "F_ASYNC",
    "F_CLASSMETHOD",
    "F_DISCARD",
    "F_GENERATOR",
    "F_IMPLICIT",
    "F_PROPERTY",
    "F_RAISE",
    "F_STATIC",
    "K_CLASS",
    "K_FUNCTION",
    "K_LAMBDA",
    "K_METHOD",
    "K_MODULE",
    "K_PACKAGE",
    "T_ATTR",
    "T_NAME",
    "T_SUB",
    "Constraint",
    "DefFact",
    "DiagFact",
    "Expr",
    "FileFacts",
    "FileTask",
    "ImportFact",
    "Params",
    "ScopeFact",
    "file_diag",
]

#: Any expression tuple (``E_*`` tag first). Kept as ``tuple[Any, ...]``: the shapes are
#: documented per tag and checked by the tests; a precise union would not buy safety here.
Expr = tuple[Any, ...]
#: Any constraint tuple (``C_*`` tag first).
Constraint = tuple[Any, ...]

#: Names a module sees as builtins when it does not bind them (dunder names are the module's own,
#: ``__import__`` aside).
BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("__") or n == "__import__")

# --- expression tags ------------------------------------------------------------------------
#: ``(E_VAR, key, key, ...)`` union of the variables.
E_VAR = 0
#: ``(E_GLOBAL, module_id, name)`` module-level lookup: module names, ``*`` imports, builtins;
#: ``(E_GLOBAL, module_id, name, 1)`` for a builtin's name read at module level before the
#: module binds it: the builtin too, even if the module binds the name later.
E_GLOBAL = 1
#: ``(E_ATTR, base_expr, name)``.
E_ATTR = 2
#: ``(E_NAME, scope_id, name)`` a name whose scope is decided from the scopes' local names (free
#: variables of nested functions, names read before their first assignment).
E_NAME = 3
#: ``(E_DEF, def_id)`` a function, class, lambda or module defined in the analysed tree.
E_DEF = 4
#: ``(E_MOD, dotted)`` the module ``import dotted`` refers to.
E_MOD = 5
#: ``(E_FROM, dotted, name)`` what ``from dotted import name`` binds.
E_FROM = 6
#: ``(E_SUB, base_expr, slot)`` ``base[slot]`` (slot ``None`` when not a constant).
E_SUB = 7
#: ``(E_CONT, container_key, type_name)`` a container created at a site; elements are variables.
E_CONT = 8
#: ``(E_INST, expr)`` instances of the classes ``expr`` evaluates to (annotations).
E_INST = 9
#: ``(E_UNION, expr, expr, ...)``.
E_UNION = 10
#: ``(E_SUPER, class_id, self_expr)`` the proxy ``super()`` returns inside a method of class_id.
E_SUPER = 11
#: ``(E_BINST, type_name)`` an instance of a builtin type (``"abc"`` → ``str``).
E_BINST = 12
#: ``(E_ELEMS, expr, dict_values)`` the elements of a container (``*x``; ``**x`` when
#: ``dict_values`` is true).
E_ELEMS = 13
#: ``(E_STAR, expr)`` marks a ``*args`` argument in a call's positional arguments.
E_STAR = 14

# --- assignment target tags (a plain variable key is a target as well) ----------------------
#: ``(T_ATTR, base_expr, name)``: ``base.name = value``.
T_ATTR = 100
#: ``(T_SUB, base_expr, slot)``: ``base[slot] = value``.
T_SUB = 101
#: ``(T_NAME, scope_id, name)``: a ``nonlocal`` name, resolved like :data:`E_NAME`.
T_NAME = 102

# --- constraint tags --------------------------------------------------------------------------
#: ``(C_ASSIGN, expr, targets)``: every target ⊇ values of expr.
C_ASSIGN = 0
#: ``(C_CALL, site, caller_id, line, callee_expr, args, kwargs, flags)``; ``args`` is a tuple of
#: expressions (``None`` for unknown values, ``(E_STAR, e)`` for ``*e``); ``kwargs`` a tuple of
#: ``(name or None for **, expr)``. The result goes to variable ``(file, site)``.
C_CALL = 1
#: ``(C_ITER, site, caller_id, line, iterable_expr, is_async)``: ``for``/comprehension
#: iteration; elements go to ``(file, site)``; ``__iter__``/``__next__`` are implicit calls.
C_ITER = 2
#: ``(C_WITH, site, caller_id, line, context_expr, is_async)``: ``__enter__``'s result goes to
#: ``(file, site)``; ``__enter__``/``__exit__`` are implicit calls.
C_WITH = 3
#: ``(C_BASES, class_id, ((line, expr), ...))``: the base class expressions of a class.
C_BASES = 4

# --- definition kinds (ints for compactness; mapped to NodeKind when building nodes) ----------
K_MODULE = 0
K_PACKAGE = 1
K_CLASS = 2
K_FUNCTION = 3
K_METHOD = 4
K_LAMBDA = 5

# --- definition flags -------------------------------------------------------------------------
F_ASYNC = 1
F_GENERATOR = 2
F_STATIC = 4
F_CLASSMETHOD = 8
F_PROPERTY = 16
#: Call-site flag: an implicit call (decorator application) that is not counted as a call site.
F_IMPLICIT = 1
#: Call-site flag: the call's result is never read (a call statement): not stored.
F_DISCARD = 2
#: Call-site flag: ``raise X`` without a call: instantiates ``X`` if it is a class, and calls
#: nothing otherwise (``raise err`` raises an instance). Always with F_IMPLICIT | F_DISCARD.
F_RAISE = 4


class Params(NamedTuple):
    """A function's parameters: positional (incl. positional-only), ``*name``, keyword-only,
    ``**name``."""

    positional: tuple[str, ...]
    vararg: str | None
    kwonly: tuple[str, ...]
    kwarg: str | None


class DefFact(NamedTuple):
    """A class, function, method or lambda defined in a file."""

    id: str
    kind: int
    name: str
    parent: str
    line: int
    end_line: int
    col: int
    end_col: int
    doc: str | None
    complexity: int | None
    loc: int
    flags: int
    params: Params | None
    #: For methods: the attribute names the body reads or writes on ``self``/``cls`` (and on
    #: ``super()``), or ``None`` when ``self`` escapes (passed on, returned, stored, captured by
    #: a nested function) and its exact class may matter.
    self_attrs: frozenset[str] | None = None
    #: Parameters returned unchanged (``return func``/``return self``): each call gets back
    #: its own argument instead of everything any caller passed.
    returns_params: tuple[str, ...] = ()


class ImportFact(NamedTuple):
    """One ``import``/``from ... import`` statement (``names`` is ``None`` for ``import m``).

    ``module`` is absolute (relative imports are resolved during extraction).
    """

    line: int
    module: str
    names: tuple[str, ...] | None


class ScopeFact(NamedTuple):
    """A def scope: its kind, the scope its free names are looked up in (class scopes are skipped
    as Python does), and the names bound locally."""

    kind: int
    lookup_parent: str | None
    locals: frozenset[str]


class DiagFact(NamedTuple):
    """A diagnostic about a file: ``severity`` is ``error``, ``warning`` or ``info``."""

    file: str
    line: int
    col: int
    severity: str
    code: str
    message: str


def file_diag(rel: str, code: str, message: str, *, severity: str = "warning") -> DiagFact:
    """A diagnostic about the file or folder ``rel`` as a whole (no position in it)."""
    return DiagFact(file=rel, line=0, col=0, severity=severity, code=code, message=message)


class FileTask(NamedTuple):
    """What a worker needs to extract one file."""

    path: str
    rel: str
    module: str
    is_package: bool
    #: Names of the package's submodules (for ``__init__.py``): a top-level definition with such
    #: a name would collide with the submodule's node id.
    submodules: frozenset[str]


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class FileFacts:
    """Everything extraction learnt about one file.

    ``error`` is the code of the diagnostic that stopped extraction (the module node is kept,
    with no children); ``missing`` means the file vanished before it could be read (no node).
    """

    file: str
    module: str
    is_package: bool
    lines: int = 0
    last_col: int = 0
    doc: str | None = None
    loc: int = 0
    error: str | None = None
    missing: bool = False
    defs: list[DefFact] = field(default_factory=list)
    imports: list[ImportFact] = field(default_factory=list)
    star_imports: list[tuple[str, int]] = field(default_factory=list)
    scopes: dict[str, ScopeFact] = field(default_factory=dict)
    #: Names assigned as ``self.name`` in the methods of each class.
    instance_attrs: dict[str, frozenset[str]] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    #: ``(def_id, line, decorator_expr)`` for every decorator.
    decorators: list[tuple[str, int, Expr]] = field(default_factory=list)
    #: Number of explicit call expressions.
    calls: int = 0
    #: Literal ``__all__`` (``None`` when absent or not a literal).
    all_names: tuple[str, ...] | None = None
    diagnostics: list[DiagFact] = field(default_factory=list)
    #: :func:`~graphlive.analysis.source.content_digest` of the bytes the facts were extracted
    #: from (``""`` when the file could not be read).
    digest: str = ""
    #: Every name the constraints and decorators look up by scope (``E_NAME``/``T_NAME``), and
    #: every definition they refer to (``E_DEF``): an update that rebinds names or changes
    #: definitions looks through the file's constraints only when these meet them.
    name_refs: set[str] = field(default_factory=set)
    def_refs: set[str] = field(default_factory=set)
