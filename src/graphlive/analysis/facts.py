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

import bisect
import marshal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
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
    "decode_facts",
    "encode_facts",
]

#: Any expression tuple (``E_*`` tag first). Kept as ``tuple[Any, ...]``: the shapes are
#: documented per tag and checked by the tests; a precise union would not buy safety here.
Expr = tuple[Any, ...]
#: Any constraint tuple (``C_*`` tag first).
Constraint = tuple[Any, ...]

# --- expression tags ------------------------------------------------------------------------
#: ``(E_VAR, key, key, ...)`` union of the variables.
E_VAR = 0
#: ``(E_GLOBAL, module_id, name)`` module-level lookup: module names, ``*`` imports, builtins.
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


class FileTask(NamedTuple):
    """What a worker needs to extract one file."""

    path: str
    rel: str
    module: str
    is_package: bool
    #: Names of the package's submodules (for ``__init__.py``): a top-level definition with such
    #: a name would collide with the submodule's node id.
    submodules: frozenset[str]


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

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        blob = encode_facts(self)
        if blob is not None:
            return decode_facts, (blob,)
        # A frozenset whose iteration order cannot be rebuilt: plain field-by-field pickling
        # (equal facts, possibly another set order).
        return _facts_from_fields, tuple(getattr(self, name) for name in _FIELDS)


_FIELDS = tuple(FileFacts.__dataclass_fields__)


def _facts_from_fields(*values: Any) -> FileFacts:
    return FileFacts(*values)


# --- compact transfer -------------------------------------------------------------------------
#
# Facts go from worker processes back to the parent as one ``marshal`` blob of plain tuples
# (NamedTuples become tuples, rebuilt on load): several times cheaper than pickling the objects.
# The resolver's results depend on the iteration order of the facts' frozensets, and a frozenset
# rebuilt from its items (as pickle and marshal do) often iterates in another order than the
# original, whose table was sized and filled by a different history. So each frozenset is sent as
# an *insertion order* that rebuilds it, through ``frozenset(dict.fromkeys(order))``, with the
# same iteration order and table size; the order is found by simulating CPython's set probing
# and checked by building the set. When no such order is found (rare: tables sized by a union),
# :func:`encode_facts` returns ``None`` and the caller re-extracts the file locally.

_MASK64 = (1 << 64) - 1
_LINEAR_PROBES = 9
_PERTURB_SHIFT = 5
_SEARCH_BUDGET = 400


class _Inexact(Exception):
    pass


def _rebuild(order: Iterable[str]) -> frozenset[str]:
    return frozenset(dict.fromkeys(order))


def _probe(occupied: dict[int, int], h: int, mask: int) -> int:
    """The slot CPython's set insertion picks for hash ``h`` (``setobject.c``)."""
    i = h & mask
    perturb = h
    while True:
        top = i + _LINEAR_PROBES if i + _LINEAR_PROBES <= mask else i
        for j in range(i, top + 1):
            if j not in occupied:
                return j
        perturb >>= _PERTURB_SHIFT
        i = (i * 5 + 1 + perturb) & mask


def _search_order(items: list[str], size: int) -> list[str] | None:
    """An insertion order that puts ``items`` into a clean table of ``size`` slots in that
    iteration order (depth-first, pruned by the room left between placed items)."""
    n = len(items)
    mask = size - 1
    hashes = [hash(x) & _MASK64 for x in items]
    occupied: dict[int, int] = {}
    slots: list[int] = []
    out: list[str] = []
    used = [False] * n
    nodes = 0

    def fits(s: int, r: int) -> bool:
        k = bisect.bisect_left(slots, s)
        if k > 0:
            ps = slots[k - 1]
            pr = occupied[ps]
            if pr >= r or s - ps < r - pr:
                return False
        elif s < r:
            return False
        if k < len(slots):
            ns = slots[k]
            nr = occupied[ns]
            if nr <= r or ns - s < nr - r:
                return False
        elif mask - s < n - 1 - r:
            return False
        return True

    def dfs() -> bool:
        nonlocal nodes
        if len(out) == n:
            return True
        nodes += 1
        if nodes > _SEARCH_BUDGET:
            return False
        for r in range(n):
            if used[r]:
                continue
            s = _probe(occupied, hashes[r], mask)
            if not fits(s, r):
                continue
            used[r] = True
            occupied[s] = r
            bisect.insort(slots, s)
            out.append(items[r])
            if dfs():
                return True
            used[r] = False
            del occupied[s]
            slots.remove(s)
            out.pop()
        return False

    return out if dfs() else None


def _set_order(fs: frozenset[str]) -> tuple[str, ...]:
    """An insertion order from which :func:`_rebuild` gives ``fs`` back (same order and size)."""
    items = tuple(fs)
    rebuilt = _rebuild(items)
    size = sys.getsizeof(fs)
    if sys.getsizeof(rebuilt) == size and tuple(rebuilt) == items:
        return items
    if sys.getsizeof(rebuilt) == size:
        n = len(items)
        slots = 8
        if n >= 5:
            while slots <= 2 * n:
                slots <<= 1
        order = _search_order(list(items), slots)
        if order is not None:
            rebuilt = _rebuild(order)
            if sys.getsizeof(rebuilt) == size and tuple(rebuilt) == items:
                return tuple(order)
    raise _Inexact


def encode_facts(facts: FileFacts) -> bytes | None:
    """``facts`` as a compact blob for :func:`decode_facts`, or ``None`` when a frozenset's
    iteration order cannot be reproduced."""
    try:
        defs = tuple(
            (
                *d[:12],
                None if d.params is None else tuple(d.params),
                None if d.self_attrs is None else _set_order(d.self_attrs),
                d.returns_params,
            )
            for d in facts.defs
        )
        scopes = tuple(
            (k, v.kind, v.lookup_parent, _set_order(v.locals)) for k, v in facts.scopes.items()
        )
        attrs = tuple((k, _set_order(v)) for k, v in facts.instance_attrs.items())
    except _Inexact:
        return None
    data: Any = (
        facts.file,
        facts.module,
        facts.is_package,
        facts.lines,
        facts.last_col,
        facts.doc,
        facts.loc,
        facts.error,
        facts.missing,
        defs,
        tuple(tuple(i) for i in facts.imports),
        facts.star_imports,
        scopes,
        attrs,
        facts.constraints,
        facts.decorators,
        facts.calls,
        facts.all_names,
        tuple(tuple(d) for d in facts.diagnostics),
    )
    try:
        return marshal.dumps(data)
    except ValueError:  # a value marshal cannot write (not plain data): pickle the object
        return None


def decode_facts(blob: bytes) -> FileFacts:
    """The :class:`FileFacts` :func:`encode_facts` wrote."""
    (
        file,
        module,
        is_package,
        lines,
        last_col,
        doc,
        loc,
        error,
        missing,
        defs,
        imports,
        star_imports,
        scopes,
        attrs,
        constraints,
        decorators,
        calls,
        all_names,
        diagnostics,
    ) = marshal.loads(blob)
    return FileFacts(
        file,
        module,
        is_package,
        lines,
        last_col,
        doc,
        loc,
        error,
        missing,
        [
            DefFact._make(
                (
                    *d[:12],
                    None if d[12] is None else Params(*d[12]),
                    None if d[13] is None else _rebuild(d[13]),
                    d[14],
                )
            )
            for d in defs
        ],
        [ImportFact(*i) for i in imports],
        star_imports,
        {k: ScopeFact(kind, parent, _rebuild(names)) for k, kind, parent, names in scopes},
        {k: _rebuild(v) for k, v in attrs},
        constraints,
        decorators,
        calls,
        all_names,
        [DiagFact(*d) for d in diagnostics],
    )
