"""The resolver's value tags and types, limits and small records, shared by
:mod:`~graphlive.analysis.resolve` and the solver modules (docs/analysis.md, "The resolution
model").

Values are tuples tagged by their first item (``V_DEF`` … ``V_PAIR``), typed one alias per kind
(:data:`DefValue` … :data:`PairValue`; any of them: :data:`Value`). The solver interns them
(:meth:`~graphlive.analysis.solver_state._SolverState.intern`) and works with their numbers
(:data:`ValueId`; sets of them: :data:`ValueSet`). A variable's key (:data:`VarKey`) maps to its
record (:data:`Variable`), the list ``[values, readers, writers]``. These types are aliases, erased
at run time: values stay plain tuples and variables plain lists, as fast and as compact as before
and pickled the same. The records defined here (classes) are pickled with the solver (the analysis
cache): renaming or moving one needs a new cache format (``graphlive.analysis_cache._FORMAT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from graphlive.analysis.facts import (
    BUILTIN_NAMES,
    K_FUNCTION,
    K_LAMBDA,
    K_METHOD,
    K_MODULE,
    K_PACKAGE,
    Constraint,
    FileFacts,
)
from graphlive.analysis.native import mypyc_attr

if TYPE_CHECKING:
    from graphlive.analysis.solver import _Solver

#: Node ids of builtins are ``<builtin>.name`` (docs/analysis.md).
BUILTIN_PREFIX = "<builtin>."
#: A constraint number no constraint has: "no progress to report".
_NO_MARK = 1 << 62
#: Cap on the number of values one variable may hold (see :mod:`graphlive.analysis.resolve`).
MAX_VALUES = 32

# Value kinds: the first item of a value tuple. ``Final``, so that the type checker reads each as
# its literal value: ``val[0] == V_INST`` narrows a :data:`Value` to an :data:`InstValue`.
V_DEF: Final = 0
V_INST: Final = 1
V_BOUND: Final = 2
V_EXT: Final = 3
V_BUILTIN: Final = 4
V_BINST: Final = 5
V_CONT: Final = 6
V_CMETH: Final = 7
V_GEN: Final = 8
V_SUPER: Final = 9
V_XINST: Final = 10
V_PAIR: Final = 11

# --- types: aliases for the type checker; values and variables stay plain tuples and lists -----

#: The key of a container: ``(file, site)`` of the expression or call that created it, or
#: ``(def_id, "*")``/``(def_id, "**")`` for a function's ``*args``/``**kwargs``.
ContainerKey = tuple[str, int] | tuple[str, str]
#: An element of a container: an ``int`` index, a ``str`` key, ``None`` for "unknown".
Slot = int | str | None
#: A variable's key: a tuple, one of the shapes :mod:`graphlive.analysis.facts` lists
#: (``(scope_id, name)``, ``(def_id, "<return>")``, ``(container_key, slot)``, ...), plus the
#: solver's pseudo-variables ``(container_key, "<slots>")`` and ``("<mod>", base, dotted, name)``.
#: The items differ by shape, so they are left untyped.
VarKey = tuple[Any, ...]

# Values, one alias per kind. The tag's type is the literal value of its ``V_*`` constant (a
# mismatch fails the type check wherever such a value is built).
#: ``(V_DEF, def_id)``: a module, package, namespace package, class, function, method or lambda.
DefValue = tuple[Literal[0], str]
#: ``(V_INST, class_id)``: an instance of an analysed class.
InstValue = tuple[Literal[1], str]
#: ``(V_BOUND, func_id, class_id, is_class)``: a method bound to an instance of ``class_id``
#: (``is_class`` 0) or to the class itself (1, class methods).
BoundValue = tuple[Literal[2], str, str, int]
#: ``(V_EXT, dotted_path)``: a name outside the analysed tree (``os.path.join``).
ExtValue = tuple[Literal[3], str]
#: ``(V_BUILTIN, name)``: a builtin (``"len"``) or an attribute of a builtin type (``"str.join"``).
BuiltinValue = tuple[Literal[4], str]
#: ``(V_BINST, type_name)``: an instance of a builtin type.
BInstValue = tuple[Literal[5], str]
#: ``(V_CONT, container_key, type_name)``: a container created at a site; its elements are the
#: variables ``(container_key, slot)``.
ContValue = tuple[Literal[6], ContainerKey, str]
#: ``(V_CMETH, container_key, type_name, method)``: a method of such a container (``xs.append``).
CMethValue = tuple[Literal[7], ContainerKey, str, str]
#: ``(V_GEN, func_id)``: the generator calling ``func_id`` returns.
GenValue = tuple[Literal[8], str]
#: ``(V_SUPER, class_id, receiver_class_id, on_instance)``: what ``super()`` returns in a method of
#: ``class_id`` called on an instance (``on_instance`` 1) or on the class ``receiver_class_id``.
SuperValue = tuple[Literal[9], str, str, int]
#: ``(V_XINST, dotted_path)``: an instance of an external class (from an annotation).
XInstValue = tuple[Literal[10], str]
#: ``(V_PAIR, container_key)``: a ``(key, element)`` pair from ``dict.items()``/``enumerate()``.
PairValue = tuple[Literal[11], ContainerKey]
#: Any value: a tuple tagged by its first item. The solver interns values
#: (:meth:`~graphlive.analysis.solver_state._SolverState.intern`) and works with their numbers.
Value = (
    DefValue
    | InstValue
    | BoundValue
    | ExtValue
    | BuiltinValue
    | BInstValue
    | ContValue
    | CMethValue
    | GenValue
    | SuperValue
    | XInstValue
    | PairValue
)
#: The number of an interned value (an index of ``_SolverState.vals``).
ValueId = int
#: What a variable or an expression holds: value numbers. A variable's own set may be a shared
#: ``frozenset`` until it first grows; a result may be a live variable set: never mutate it.
ValueSet = set[int] | frozenset[int]
#: Constraints recorded as readers, writers or users of something: ``None``, one constraint
#: number, or a set of them (most have one: a million small sets would cost hundreds of MB).
Members = int | set[int] | None
#: A variable's record, ``[values, readers, writers]``: position 0 its :data:`ValueSet`,
#: 1 and 2 the :data:`Members` that read and wrote it. A plain list (one allocation; read at
#: constant positions on the hottest paths; pickled as it is by the analysis cache), so the
#: checker cannot type its positions: they are ``Any`` to it.
Variable = list[Any]
#: What a lookup on a class is recorded under: the attribute ``name``, ``(name, after)`` for
#: ``super()``, ``("<owner>", name)``, ``("<canon>", method)``, ``("<via>", cls, name)``.
LookupKey = str | tuple[str, ...]
#: How a name resolves in a scope: ``("k", (scope_id, name))``, a variable of an enclosing
#: function or class scope, or ``("g", module_id)``, a module-level lookup.
NameRef = tuple[Literal["k"], tuple[str, str]] | tuple[Literal["g"], str]

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


class _Pending:
    """What a restored solver holds, in place of a constraint's tuple and record of writes,
    for a file whose part of the saved analysis is not loaded yet
    (:mod:`graphlive.analysis.shards`); compared with ``is``, one instance (pickled as a
    reference to :data:`_PENDING`)."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_PENDING"

    def __repr__(self) -> str:
        return "_PENDING"


_PENDING = _Pending()
#: ``(C_DECO, def_id, line, expr)``: a decorator's ``decorates`` edges, evaluated by the solver
#: (a pure reader) so that an update knows when they change.
C_DECO = 5
_BUILTIN_NAMES = BUILTIN_NAMES
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
#: Builtins that call their first argument with the items of the others.
_MAPPERS = frozenset({"map", "filter"})
#: Builtins whose ``key=`` function is called with each item.
_KEYED = frozenset({"sorted", "min", "max"})
#: What methods of builtin ``str`` and ``bytes`` return (``"a b".split()`` is a list, so its
#: ``.pop()`` is ``list.pop``): the builtin type of the result.
_SAME_TYPE_METHODS = [
    "capitalize",
    "casefold",
    "center",
    "expandtabs",
    "format",
    "format_map",
    "join",
    "ljust",
    "lower",
    "lstrip",
    "removeprefix",
    "removesuffix",
    "replace",
    "rjust",
    "rstrip",
    "strip",
    "swapcase",
    "title",
    "translate",
    "upper",
    "zfill",
]
_BUILTIN_RESULTS: dict[str, str] = {
    **{f"str.{m}": "str" for m in _SAME_TYPE_METHODS},
    **{
        f"bytes.{m}": "bytes"
        for m in _SAME_TYPE_METHODS
        if m not in ("casefold", "format", "format_map")
    },
    "str.encode": "bytes",
    "bytes.decode": "str",
    "bytes.hex": "str",
    **{f"{t}.{m}": "list" for t in ("str", "bytes") for m in ("split", "rsplit", "splitlines")},
    **{f"{t}.{m}": "tuple" for t in ("str", "bytes") for m in ("partition", "rpartition")},
    **{f"{t}.{m}": "int" for t in ("str", "bytes") for m in ("find", "rfind", "index", "count")},
}
#: Standard-library mappings modelled as the builtin ``dict`` they subclass, and the position of
#: their initial items argument (``defaultdict(factory, items)``).
_EXTERNAL_DICTS = {"collections.OrderedDict": 0, "collections.defaultdict": 1}
_PAIR_CONTAINERS = frozenset({"dict_items", "enumerate"})


#: Evaluated call arguments: positional ``(is_starred, values)`` and keyword ``(name, values)``.
_Args = tuple[list[tuple[bool, ValueSet]], list[tuple["str | None", ValueSet]]]


#: Static part of a class attribute lookup: classes before the definer, definer, value found
#: beyond the analysed classes.
_Plan = tuple[tuple[str, ...], "str | None", "ValueId | None"]

#: A variable read while binding a property's getter: its record, the value set it held then
#: and that set's size (the memo is valid while the record holds the same set at the same size).
_Read = tuple[Variable, ValueSet, int]

#: What a lookup bound last (per instance/class access): the definer's values, their number,
#: the epoch, the values bound, the methods whose canonical receiver was looked up, and the
#: variables properties read (see :meth:`~graphlive.analysis.solver_classes._Classes._bind_entry`).
_BindMemo = tuple[ValueSet, int, int, ValueSet, tuple[str, ...], tuple[_Read, ...]]


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class _Container:
    """The slots of one container (``(container, slot)`` variables that ever held values):
    their keys in the order the solver always iterated them (a set), their variable records,
    a version incremented whenever one of them grows, the union of their values at a version
    (:meth:`_Solver.all_slots`), and the constraints registered as readers of all of them since
    the last retraction (``epoch``) or new slot."""

    __slots__ = ("epoch", "memo", "records", "seen", "slots", "version")

    def __init__(self) -> None:
        self.slots: set[Slot] = set()
        self.records: dict[Slot, Variable] = {}
        self.version = 0
        self.epoch = -1
        self.memo: tuple[int, set[int]] | None = None
        self.seen: Members = None


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
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
        chain: tuple[Variable, ...],
        definer: Variable | None,
    ) -> None:
        self.cls = cls
        self.name = name
        self.after = after
        self.plan = plan
        #: The constraints registered as users and readers of this lookup in ``epoch``.
        self.seen: Members = None
        self.epoch = -1
        self.chain = chain
        self.definer = definer
        self.bound_inst: _BindMemo | None = None
        self.bound_cls: _BindMemo | None = None


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
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

    def bind(self, func: str, first: ValueId | None) -> None:
        done = self.done
        if done is not None and self.sig is not None:
            key = (func, first)
            if key in done:
                return
            done = self.done = (*done, key)
            self.solver.bound[self.c] = (self.sig, done)
        self.solver._bind(func, first, self.argv)


def _add_reader(var: Variable, cur: int) -> None:
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


def _members(constraints: Members) -> Sequence[int]:
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
