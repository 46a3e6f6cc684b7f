"""The resolver's value tags, limits and small records, shared by :mod:`~graphlive.analysis.resolve`
and the solver modules (docs/analysis.md, "The resolution model").

Values are tuples tagged by their first item (``V_DEF`` … ``V_PAIR``); a variable holds value
numbers (see :meth:`~graphlive.analysis.solver_state._SolverState.intern`). The records defined
here are pickled with the solver (the analysis cache): renaming or moving one needs a new cache
format (``graphlive.analysis_cache._FORMAT``).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphlive.analysis.facts import (
    K_FUNCTION,
    K_LAMBDA,
    K_METHOD,
    K_MODULE,
    K_PACKAGE,
    Constraint,
    FileFacts,
)

if TYPE_CHECKING:
    from graphlive.analysis.solver import _Solver

#: Node ids of builtins are ``<builtin>.name`` (docs/analysis.md).
BUILTIN_PREFIX = "<builtin>."
#: A constraint number no constraint has: "no progress to report".
_NO_MARK = 1 << 62
#: Cap on the number of values one variable may hold (see :mod:`graphlive.analysis.resolve`).
MAX_VALUES = 32

# Value kinds (first item of a value tuple).
V_DEF = 0  # (V_DEF, def_id): module, package, namespace, class, function, method, lambda
V_INST = 1  # (V_INST, class_id)
V_BOUND = 2  # (V_BOUND, func_id, class_id, is_class): method bound to an instance (or class)
V_EXT = 3  # (V_EXT, dotted_path)
V_BUILTIN = 4  # (V_BUILTIN, "len" | "str.join")
V_BINST = 5  # (V_BINST, builtin_type_name)
V_CONT = 6  # (V_CONT, container_key, type_name)
V_CMETH = 7  # (V_CMETH, container_key, type_name, method)
V_GEN = 8  # (V_GEN, func_id): generator returned by calling func
V_SUPER = 9  # (V_SUPER, class_id, receiver_class_id, on_instance)
V_XINST = 10  # (V_XINST, dotted_path): instance of an external class (from an annotation)
V_PAIR = 11  # (V_PAIR, container_key): (key, element) pair from dict.items()/enumerate()

_FUNCTION_KINDS = frozenset({K_FUNCTION, K_METHOD, K_LAMBDA})
_MODULE_KINDS = frozenset({K_MODULE, K_PACKAGE})
_EMPTY: frozenset[int] = frozenset()
_EMPTY_NAMES: frozenset[str] = frozenset()
_DEAD = -2  # the epoch of a lookup entry dropped from _Solver.plans (never current)
#: Kinds of values whose attributes read no variable: at most one value, always the same.
_PURE_ATTR_KINDS = frozenset(
    {V_EXT, V_XINST, V_BUILTIN, V_BINST, V_CONT, V_CMETH, V_BOUND, V_GEN, V_PAIR}
)
_SLOTS = "<slots>"  # pseudo-slot read to be woken when a container gains a slot
_MODULE_WATCH = "<mod>"  # ("<mod>", id): pseudo-variable read by lookups of module ``id``


class _Many:
    """First item of a constraint's record of several written variables, compared with ``is``.

    One instance, also after pickling (the analysis cache saves the solver): it pickles as a
    reference to this module's :data:`_MANY`, where a plain string would come back as another
    object and the record would no longer be recognised (nothing it wrote would be retracted).
    """

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_MANY"

    def __repr__(self) -> str:
        return "_MANY"


_MANY = _Many()
#: ``(C_DECO, def_id, line, expr)``: a decorator's ``decorates`` edges, evaluated by the solver
#: (a pure reader) so that an update knows when they change.
C_DECO = 5
_BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("__") or n == "__import__")
# Bases that only mark a protocol: lookups continue past them as if they were ``object``.
_MARKER_BASES = frozenset(
    {
        "typing.Generic",
        "typing.Protocol",
        "typing_extensions.Protocol",
        "abc.ABC",
        "typing.NamedTuple",
    }
)
#: External ids have at most this many dots (deeper chains come from loops over unknown data).
_MAX_EXTERNAL_DEPTH = 6
_CONTAINER_BUILTINS = frozenset({"list", "tuple", "set", "frozenset", "sorted", "reversed", "iter"})
_PAIR_CONTAINERS = frozenset({"dict_items", "enumerate"})


#: Evaluated call arguments: positional ``(is_starred, values)`` and keyword ``(name, values)``.
_Args = tuple[
    list[tuple[bool, "set[int] | frozenset[int]"]],
    list[tuple["str | None", "set[int] | frozenset[int]"]],
]


#: Static part of a class attribute lookup: classes before the definer, definer, value found
#: beyond the analysed classes.
_Plan = tuple[tuple[str, ...], "str | None", "int | None"]


class _Container:
    """The slots of one container (``(container, slot)`` variables that ever held values):
    their keys in the order the solver always iterated them (a set), their variable records,
    a version incremented whenever one of them grows, the union of their values at a version
    (:meth:`_Solver.all_slots`), and the constraints registered as readers of all of them since
    the last retraction (``epoch``) or new slot."""

    __slots__ = ("epoch", "memo", "records", "seen", "slots", "version")

    def __init__(self) -> None:
        self.slots: set[Any] = set()
        self.records: dict[Any, list[Any]] = {}
        self.version = 0
        self.epoch = -1
        self.memo: tuple[int, set[int]] | None = None
        self.seen: int | set[int] | None = None


class _Lookup:
    """One attribute lookup ``(name, after)`` on a class: its plan (classes before the definer,
    definer, value beyond the analysed classes), the variable records it reads (one per class
    before the definer, then the definer's; records are never replaced, so holding them saves
    a dict lookup per read), and the last binding of the definer's values to the class itself,
    per instance/class access: ``(values set, its size, epoch, result, canonical lookups)``;
    and which constraints are already registered as its users and readers (:attr:`seen`)."""

    __slots__ = (
        "after",
        "bound_cls",
        "bound_inst",
        "chain",
        "cls",
        "definer",
        "epoch",
        "name",
        "plan",
        "seen",
    )

    def __init__(
        self,
        cls: str,
        name: str,
        after: str | None,
        plan: _Plan,
        chain: tuple[list[Any], ...],
        definer: list[Any] | None,
    ) -> None:
        self.cls = cls
        self.name = name
        self.after = after
        self.plan = plan
        #: The constraints registered as users and readers of this lookup in ``epoch``.
        self.seen: int | set[int] | None = None
        self.epoch = -1
        self.chain = chain
        self.definer = definer
        self.bound_inst: tuple[Any, ...] | None = None
        self.bound_cls: tuple[Any, ...] | None = None


class _Binder:
    """Binds one call site's evaluated arguments to the parameters of its targets, skipping
    targets already bound with argument sets of the same sizes (sets only grow, so equal sizes
    mean equal sets): a site re-run because its callee gained a target binds only that one."""

    __slots__ = ("argv", "c", "done", "sig", "solver")

    def __init__(
        self,
        solver: _Solver,
        argv: _Args,
        c: int,
        sig: tuple[int, ...] | None,
        done: tuple[tuple[str, int | None], ...] | None,
    ) -> None:
        self.solver = solver
        self.argv = argv
        self.c = c
        self.sig = sig
        self.done = done

    def bind(self, func: str, first: int | None) -> None:
        done = self.done
        if done is not None and self.sig is not None:
            key = (func, first)
            if key in done:
                return
            done = self.done = (*done, key)
            self.solver.bound[self.c] = (self.sig, done)
        self.solver._bind(func, first, self.argv)


def _add_reader(var: list[Any], cur: int) -> None:
    """Record constraint ``cur`` as a reader of variable record ``var`` (``None``, one
    constraint number, or a set of them; see :attr:`_Solver.vars`). :meth:`_Solver.read` does
    the same inline, being the hottest path of the solver."""
    readers = var[1]
    if readers is None:
        var[1] = cur
    elif type(readers) is int:
        if readers != cur:
            var[1] = {readers, cur}
    else:
        readers.add(cur)


def _members(constraints: int | set[int] | None) -> Sequence[int]:
    """A reader/writer record (``None``, one constraint number, or a set) as a sequence."""
    if constraints is None:
        return ()
    if type(constraints) is int:
        return (constraints,)
    return tuple(constraints)  # type: ignore[arg-type]


def _c3(seqs: list[list[int]]) -> list[int] | None:
    """C3 merge; ``None`` when the hierarchy admits no consistent order."""
    pending = [list(s) for s in seqs if s]
    out: list[int] = []
    while pending:
        head = None
        for seq in pending:
            candidate = seq[0]
            if not any(candidate in other[1:] for other in pending):
                head = candidate
                break
        if head is None:
            return None
        out.append(head)
        pending = [seq[1:] if seq[0] == head else seq for seq in pending]
        pending = [seq for seq in pending if seq]
    return out


def decorator_checks(facts: FileFacts) -> list[Constraint]:
    """The :data:`C_DECO` constraints of a file's decorators."""
    return [(C_DECO, def_id, line, e) for def_id, line, e in facts.decorators]
