"""Cross-file resolution: the whole program's facts → call, import, inheritance and decorator links.

The resolver is a flow-insensitive, context-insensitive points-to analysis (Andersen style) over
the constraints extraction recorded (:mod:`graphlive.analysis.facts`), solved with a worklist:

* every variable holds a set of abstract *values* — definitions (functions, classes, modules),
  instances of classes, bound methods, external names (``os.path.join``), builtins, containers
  created at a site, generators, ``super()`` proxies;
* a constraint is re-evaluated only when a variable it read has grown (reads are recorded while it
  runs), so the fixpoint costs roughly one evaluation per constraint plus one per new fact;
* calls bind arguments to parameters (positional, keyword, ``*args``/``**kwargs``), flow return
  values back, turn class instantiation into a call of ``__init__`` found through the MRO (C3
  linearisation over the analysed classes), and bind ``self``/``cls`` for methods.

What is *not* guessed: a call whose callee evaluates to nothing (e.g. a method of an object whose
origin is unknown) stays unresolved and is counted; no edge is made by matching names. Calls of
external objects produce external nodes named by import path; the results of external calls are
unknown. Iteration over an instance calls its ``__iter__``/``__next__``; ``with`` calls
``__enter__``/``__exit__``; property access, operators and ``__getitem__`` are not modelled as
calls.

Set sizes are capped at :data:`MAX_VALUES` per variable to bound pathological cases; the cap is
hit deterministically because constraints are processed in file order. A variable at the cap
mostly holds what imprecise flows merged (a call site with 33+ candidate callees says little),
yet every value in it is carried to every reader: the cap sets much of the solver's cost (32
rather than 128 halves django's resolution and takes a third off the stdlib's, for 0.4% fewer
resolved calls; docs/analysis.md).

Incremental use: :class:`Resolution` exposes which files each file's results were computed from
(:meth:`Resolution.file_dependencies`), derived from the reads the solver recorded.
"""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    K_PACKAGE,
    T_ATTR,
    T_NAME,
    T_SUB,
    Constraint,
    DefFact,
    DiagFact,
    Expr,
    FileFacts,
    Params,
    ScopeFact,
)

__all__ = ["BUILTIN_PREFIX", "MAX_VALUES", "FileLinks", "ProgramIndex", "Resolution", "resolve"]

#: Node ids of builtins are ``<builtin>.name`` (docs/analysis.md).
BUILTIN_PREFIX = "<builtin>."
#: A constraint number no constraint has: "no progress to report".
_NO_MARK = 1 << 62
#: Cap on the number of values one variable may hold (see the module docstring).
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


class ProgramIndex:
    """Lookup tables over every file's facts, plus module-name mapping for imports.

    ``files`` are in analysis order; the index of a file in it is its *file number*.
    ``namespaces`` are namespace-package ids; ``script_dirs[i]`` is the namespace directory file
    ``i`` lives in (Python puts a script's directory on ``sys.path``). Module ids are import
    names already (discovery names files relative to their source root), so an absolute import
    needs no other base.

    The index can be patched file by file (:meth:`set_file`, :meth:`clear_file`) for incremental
    resolution. File numbers are stable: a removed file keeps its number (its slot holds facts
    marked ``missing``) and a path that comes back gets it again. Patching refuses (raises
    :class:`IndexConflict`) when a file would add an id another file already defines or remove
    one another file also defines: which definition wins then depends on the file order, which
    only a full rebuild reproduces.
    """

    def __init__(
        self,
        files: Sequence[FileFacts],
        *,
        namespaces: Iterable[str] = (),
        script_dirs: Sequence[str | None] | None = None,
    ) -> None:
        self.files: list[FileFacts] = []
        self.file_names: list[str] = []
        self.file_numbers: dict[str, int] = {}
        self.kinds: dict[str, int] = {}
        self.defs: dict[str, DefFact] = {}
        self.def_file: dict[str, int] = {}
        self.scopes: dict[str, ScopeFact] = {}
        self.modules: dict[str, int] = {}
        self.namespaces = frozenset(namespaces)
        self.module_names: dict[str, set[str]] = {}
        self.class_names: dict[str, frozenset[str]] = {}
        self.instance_attrs: dict[str, frozenset[str]] = {}
        self.params: dict[str, Params] = {}
        self.nbases: dict[str, int] = {}
        self.script_dirs: list[str | None] = []
        #: Outermost analysed module/namespace ids: a dotted name is in the tree when it is one
        #: of them or below one (``pkg``; ``outer.mylib`` when the root is a nested package).
        self.roots: set[str] = set()
        #: Whether some file defines an id another file defines too (see the class docstring).
        self.conflicts = False
        for ns in self.namespaces:
            self.kinds.setdefault(ns, K_PACKAGE)
        dirs = list(script_dirs) if script_dirs is not None else [None] * len(files)
        for facts, script_dir in zip(files, dirs, strict=True):
            self._append(facts, script_dir)
            self._index(len(self.files) - 1, facts, check=False)
        self._module_map: dict[tuple[str, str | None], tuple[str, str]] = {}
        self.refresh_roots()

    # ------------------------------------------------------------------ patching

    def _append(self, facts: FileFacts, script_dir: str | None) -> int:
        number = len(self.files)
        self.files.append(facts)
        self.file_names.append(facts.file)
        self.file_numbers[facts.file] = number
        self.script_dirs.append(script_dir)
        return number

    def _index(self, i: int, facts: FileFacts, *, check: bool) -> None:
        if facts.missing:
            return
        owners = self.def_file
        if check:
            clash = facts.module in owners or any(d.id in owners for d in facts.defs)
            if clash or any(sid in self.scopes for sid in facts.scopes):
                raise IndexConflict(facts.file)
        elif facts.module in owners or any(d.id in owners for d in facts.defs):
            self.conflicts = True
        self.modules[facts.module] = i
        self.kinds[facts.module] = K_PACKAGE if facts.is_package else K_MODULE
        owners[facts.module] = i
        for d in facts.defs:
            self.kinds[d.id] = d.kind
            self.defs[d.id] = d
            owners[d.id] = i
            if d.params is not None:
                self.params[d.id] = d.params
        for sid, scope in facts.scopes.items():
            self.scopes[sid] = scope
            if scope.kind == K_CLASS:
                self.class_names[sid] = scope.locals
            elif scope.kind == K_MODULE:
                self.module_names[sid] = set(scope.locals)
        self.instance_attrs.update(facts.instance_attrs)
        for con in facts.constraints:
            if con[0] == C_BASES:
                self.nbases[con[1]] = max(self.nbases.get(con[1], 0), len(con[2]))

    def _unindex(self, facts: FileFacts) -> None:
        if facts.missing:
            return
        for ident in (facts.module, *(d.id for d in facts.defs)):
            self.kinds.pop(ident, None)
            self.def_file.pop(ident, None)
            self.defs.pop(ident, None)
            self.params.pop(ident, None)
        if facts.module in self.namespaces:  # pragma: no cover - discovery never does this
            self.kinds[facts.module] = K_PACKAGE
        self.modules.pop(facts.module, None)
        for sid in facts.scopes:
            self.scopes.pop(sid, None)
            self.class_names.pop(sid, None)
            self.module_names.pop(sid, None)
        for cls in facts.instance_attrs:
            self.instance_attrs.pop(cls, None)
        for con in facts.constraints:
            if con[0] == C_BASES:
                self.nbases.pop(con[1], None)

    def set_file(self, facts: FileFacts, script_dir: str | None) -> int:
        """Add or replace the file ``facts.file``; returns its file number. Raises
        :class:`IndexConflict` (leaving the index unchanged) on an id clash."""
        number = self.file_numbers.get(facts.file)
        old = self.files[number] if number is not None else None
        if old is not None:
            self._unindex(old)
        try:
            if number is None:
                self._index(len(self.files), facts, check=True)
                number = self._append(facts, script_dir)
            else:
                self._index(number, facts, check=True)
                self.files[number] = facts
                self.script_dirs[number] = script_dir
        except IndexConflict:
            if old is not None:
                self._index(self.file_numbers[facts.file], old, check=False)
            raise
        return number

    def clear_file(self, name: str) -> int | None:
        """Forget the file ``name`` (it keeps its number, with facts marked ``missing``)."""
        number = self.file_numbers.get(name)
        if number is None:
            return None
        old = self.files[number]
        self._unindex(old)
        self.files[number] = FileFacts(file=name, module=old.module, is_package=False, missing=True)
        return number

    def refresh_roots(self) -> None:
        """Recompute :attr:`roots` and forget cached import mappings (after modules changed)."""
        self._module_map.clear()
        self.roots = set()
        containers = set(self.modules) | self.namespaces
        for ident in containers:
            if "/" in ident:
                continue  # a shadowed module keeps its path as id: not importable
            if ident.rpartition(".")[0] not in containers:
                self.roots.add(ident)

    # ------------------------------------------------------------------ queries

    def in_tree(self, dotted: str) -> bool:
        """Whether ``dotted`` names something at or below an analysed package or module."""
        prefix = ""
        for part in dotted.split("."):
            prefix = f"{prefix}.{part}" if prefix else part
            if prefix in self.roots:
                return True
        return False

    def map_module(self, dotted: str, file_no: int) -> tuple[str, str]:
        """Where ``import dotted`` in file ``file_no`` leads: ``("in", id)`` for a module or
        namespace of the tree (``id`` may name a missing submodule of an analysed package, then
        the import is unresolved), or ``("ext", dotted)`` for anything outside the tree."""
        script_dir = self.script_dirs[file_no] if file_no < len(self.script_dirs) else None
        key = (dotted, script_dir)
        hit = self._module_map.get(key)
        if hit is not None:
            return hit
        top = dotted.partition(".")[0]
        result: tuple[str, str]
        if self.in_tree(dotted):
            result = ("in", dotted)
        else:
            result = ("ext", dotted)
            for base in self.import_bases(file_no):
                prefixed = f"{base}.{top}"
                if prefixed in self.kinds:
                    result = ("in", f"{base}.{dotted}")
                    break
        self._module_map[key] = result
        return result

    def import_bases(self, file_no: int) -> list[str]:
        """Namespace ids an absolute import in file ``file_no`` may be relative to besides the
        top: the file's own script directory."""
        script_dir = self.script_dirs[file_no] if file_no < len(self.script_dirs) else None
        return [script_dir] if script_dir else []

    def is_module(self, ident: str) -> bool:
        return self.kinds.get(ident) in _MODULE_KINDS


class IndexConflict(Exception):
    """A patch of :class:`ProgramIndex` would make two files define the same id."""


@dataclass(slots=True)
class FileLinks:
    """Resolved links owned by one file, as node-id tuples ``(source, target, line)``."""

    calls: list[tuple[str, str, int]] = field(default_factory=list)
    imports: list[tuple[str, str, int]] = field(default_factory=list)
    inherits: list[tuple[str, str, int]] = field(default_factory=list)
    decorates: list[tuple[str, str, int]] = field(default_factory=list)
    calls_total: int = 0
    calls_resolved: int = 0
    diagnostics: list[DiagFact] = field(default_factory=list)
    #: Calls left unresolved: ``(caller, line, callee as written)``, see :func:`callee_text`.
    unresolved: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass(slots=True)
class Resolution:
    """The resolver's output: links per file (same order as the input), plus the external ids
    referenced (id → display name)."""

    links: list[FileLinks]
    externals: dict[str, str]
    solver: _Solver

    def file_dependencies(self) -> dict[str, set[str]]:
        """For each file, the other files whose facts its links were computed from: a change in
        one of those may change this file's links; a change elsewhere cannot."""
        return self.solver.file_dependencies()


class _Solver:
    """The worklist solver. Besides values, it records for every variable the constraints that
    read it and those that wrote it, and for every constraint the variables it wrote: that is
    what :meth:`retract` needs to take derived facts back (see the module docstring)."""

    def __init__(self, index: ProgramIndex) -> None:
        self.index = index
        self.kinds = index.kinds
        #: variable key → [values, constraints that read it, constraints that wrote it]; one
        #: record so that a read or a write costs a single dict lookup. Values start out shared
        #: (``_EMPTY``), readers absent (``None``); writers are ``None``, one constraint number,
        #: or a set of them: most variables have a single writer, and a million small sets
        #: would cost hundreds of MB.
        self.vars: dict[Any, list[Any]] = {}
        self.vals: list[tuple[Any, ...]] = []
        self.vid: dict[tuple[Any, ...], int] = {}
        #: Constraints by number; ``None`` for a constraint of an older version of a file.
        self.cons: list[Constraint | None] = []
        self.cfile: list[int] = []
        #: Per constraint: the variables it wrote (each once): ``None`` before its first write,
        #: the key itself after one (most constraints write one variable), ``(_MANY, key, ...)``
        #: after more (tuples of strings are not tracked by the garbage collector, lists are).
        self.cwrites: list[Any] = []
        #: Per file number: its constraints (the file's own, then its decorator checks).
        self.file_cons: dict[int, list[int]] = {}
        #: Per file number: constraints synthesised for its ``from m import *`` statements.
        self.star_cons: dict[int, list[int]] = {}
        #: Classes whose base-class values changed: their MRO is checked once the work list is
        #: empty, and what was looked up through an MRO that turned out different is retracted.
        self.mro_dirty: set[str] = set()
        #: Variables that reached :data:`MAX_VALUES` (which values they keep depends on the
        #: order values arrive in).
        self.saturated = 0
        #: When not ``None``, every constraint evaluated is added (incremental runs).
        self.ran: set[int] | None = None
        #: Module id → the names its ``from m import *`` statements added to it.
        self.star_names: dict[str, set[str]] = {}
        #: Module id → the import-watch pseudo-variables it may concern (see watch_module);
        #: built on first use (by incremental updates), kept up to date from then on.
        self.watch_index: dict[str, list[Any]] | None = None
        self.targets: dict[int, set[str]] = {}
        self.externals: dict[str, str] = {}
        #: Container key → its slots, once it has one (see :class:`_Container`).
        self.slots: dict[Any, _Container] = {}
        self.cur = -1
        self.cur_file = 0
        self.cur_name = ""
        self.queued = bytearray()
        self.work: deque[int] = deque()
        #: First-pass progress of :meth:`run`: constraint numbers ending each file, ascending,
        #: the next one to reach, and whom to tell (see :meth:`_reached`).
        self.milestones: list[tuple[int, int]] = []
        self.next_milestone = 0
        self.mark = _NO_MARK
        self.on_file: Callable[[int, int], None] | None = None
        self.mro_cache: dict[str, tuple[int, ...]] = {}
        self.mro_rdeps: dict[str, set[str]] = {}
        #: class → lookup → constraints that made it: ``name`` (``(name, after)`` for
        #: ``super()``) for attribute lookups (the key of :attr:`plans`), ``("<owner>", name)``
        #: for :meth:`attr_owner`,
        #: ``("<canon>", method)`` for :meth:`_canonical`, ``("<via>", cls, name)`` for a
        #: ``super()`` lookup through this class's MRO from another class. When an MRO or a
        #: class's names change, only the users of lookups whose answer changed are retracted.
        self.lookup_users: dict[str, dict[Any, Any]] = {}
        #: class → attribute → the class :meth:`attr_owner` found.
        self.owner_memo: dict[str, dict[str, str]] = {}
        #: scope → name → how the name resolves there (see :meth:`resolve_name`).
        self.name_memo: dict[str, dict[str, tuple[str, Any]]] = {}
        self.builtin_attr_memo: dict[tuple[str, str], bool] = {}
        #: name → value → the one value its attribute ``name`` is (-1: none) for values whose
        #: attributes read no variable, the lookup entry for instances and classes (see
        #: :meth:`_attr_many`; an entry dropped from :attr:`plans` is marked dead).
        self.attr_memo: dict[str, dict[int, int | _Lookup]] = {}
        self.def_singletons: dict[str, frozenset[int]] = {}
        #: receiver class → method id → canonical receiver
        self.canonical_memo: dict[str, dict[str, str]] = {}
        #: class → ``name`` (``(name, after)`` for ``super()``) → the lookup: its plan (see
        #: :meth:`_plan`), the variables it reads and what it bound last (see :class:`_Lookup`)
        self.plans: dict[str, dict[Any, _Lookup]] = {}
        #: Incremented by every :meth:`retract`: what was memoised before is not trusted after
        #: (values were taken back, the index may have been patched).
        self.epoch = 0
        #: Per call site: argument-set sizes at the last binding and the targets bound then.
        self.bound: dict[int, tuple[tuple[int, ...], tuple[tuple[str, int | None], ...]]] = {}
        self.star_sources: dict[str, list[str]] = {}
        self.ext_star: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ values

    def intern(self, value: tuple[Any, ...]) -> int:
        vid = self.vid.get(value)
        if vid is None:
            vid = len(self.vals)
            self.vals.append(value)
            self.vid[value] = vid
        return vid

    def def_value(self, ident: str) -> frozenset[int]:
        single = self.def_singletons.get(ident)
        if single is None:
            single = frozenset((self.intern((V_DEF, ident)),))
            self.def_singletons[ident] = single
        return single

    def builtin_has(self, type_name: str, name: str) -> bool:
        key = (type_name, name)
        hit = self.builtin_attr_memo.get(key)
        if hit is None:
            obj: Any = builtins
            for part in type_name.split("."):
                obj = getattr(obj, part, None)
                if obj is None:
                    break
            hit = obj is not None and hasattr(obj, name)
            self.builtin_attr_memo[key] = hit
        return hit

    # ------------------------------------------------------------------ variables

    def read(self, key: Any) -> set[int] | frozenset[int]:
        """Values of a variable; the running constraint is re-run when it grows."""
        var = self.vars.get(key)
        cur = self.cur
        if var is None:
            self.vars[key] = [_EMPTY, cur, None]
            return _EMPTY
        readers = var[1]  # _add_reader(var, cur), inline: this is the solver's hottest path
        if readers is None:
            var[1] = cur
        elif type(readers) is int:
            if readers != cur:
                var[1] = {readers, cur}
        else:
            readers.add(cur)
        values: set[int] | frozenset[int] = var[0]
        return values

    def peek(self, key: Any) -> set[int] | frozenset[int]:
        """Values of a variable without recording a dependency."""
        var = self.vars.get(key)
        if var is None:
            return _EMPTY
        values: set[int] | frozenset[int] = var[0]
        return values

    def write(self, key: Any, values: set[int] | frozenset[int]) -> None:
        if not values:
            return
        cur = self.cur
        var = self.vars.get(key)
        if var is None:
            if len(values) > MAX_VALUES:
                values = frozenset(sorted(values)[:MAX_VALUES])
                self.saturated += 1
            # A frozenset is kept as it is (often a shared singleton): the variable copies it
            # when it first grows. Fewer objects, and fewer for the garbage collector to visit.
            var = [values if type(values) is frozenset else set(values), None, cur]
            self.vars[key] = var
            if cur >= 0:
                self._wrote(cur, key)
            if type(key[0]) is tuple:
                self._note_slot(key, var)
            return
        writers = var[2]
        if writers != cur:  # (an int equal to cur: already recorded, the common case)
            if writers is None:
                var[2] = cur
                self._wrote(cur, key)
            elif type(writers) is int:
                var[2] = {writers, cur}
                self._wrote(cur, key)
            elif cur not in writers:
                writers.add(cur)
                self._wrote(cur, key)
        current = var[0]
        if type(current) is not set:
            current = var[0] = set(current)
        before = len(current)
        if before >= MAX_VALUES:
            return
        if before + len(values) > MAX_VALUES:
            self.saturated += 1
            # The new values in increasing order, up to the cap (adding a value already there
            # changes nothing, so only the new ones are sorted; same insertion order).
            fresh = values - current
            if before + len(fresh) <= MAX_VALUES:
                current.update(sorted(fresh))
            else:
                current.update(sorted(fresh)[: MAX_VALUES - before])
        else:
            current |= values
        if len(current) == before:
            return
        if type(key[0]) is tuple:
            if before:
                self.slots[key[0]].version += 1
            else:
                self._note_slot(key, var)
        readers = var[1]
        if readers is not None:
            queued = self.queued
            if type(readers) is int:
                if readers >= 0 and not queued[readers]:
                    queued[readers] = 1
                    self.work.append(readers)
                return
            work = self.work
            for c in readers:
                if c >= 0 and not queued[c]:
                    queued[c] = 1
                    work.append(c)

    def _wrote(self, c: int, key: Any) -> None:
        if c < 0:
            return
        written = self.cwrites[c]
        if written is None:
            self.cwrites[c] = key
        elif written[0] is _MANY:
            self.cwrites[c] = (*written, key)
        else:
            self.cwrites[c] = (_MANY, written, key)

    def written(self, c: int) -> Sequence[Any]:
        """The variables constraint ``c`` wrote."""
        written = self.cwrites[c]
        if written is None:
            return ()
        return written[1:] if written[0] is _MANY else (written,)

    def readers(self, key: Any) -> Sequence[int]:
        """The constraints that read variable ``key`` (``-1`` for reads outside a constraint)."""
        var = self.vars.get(key)
        return _members(var[1]) if var is not None else ()

    def _wake(self, key: Any) -> None:
        var = self.vars.get(key)
        if var is not None and var[1] is not None:
            queued = self.queued
            work = self.work
            for c in _members(var[1]):
                if c >= 0 and not queued[c]:
                    queued[c] = 1
                    work.append(c)

    def _note_slot(self, key: tuple[Any, Any], var: list[Any]) -> None:
        """A slot variable ``key`` of a container gained its first values (again)."""
        container, slot = key[0], key[1]
        box = self.slots.get(container)
        if box is None:
            box = self.slots[container] = _Container()
        box.version += 1
        if slot in box.records:
            return
        box.slots.add(slot)
        box.records[slot] = var
        box.seen = None  # the readers of all slots must now read this one too
        self._wake((container, _SLOTS))

    def all_slots(self, container: Any) -> set[int] | frozenset[int]:
        """The values of every slot of a container (the running constraint reads them all,
        and the container's slot list, to be woken when a slot grows or appears)."""
        box = self.slots.get(container)
        if box is None:
            self.read((container, _SLOTS))
            return _EMPTY
        cur = self.cur
        if box.epoch != self.epoch:
            box.epoch = self.epoch
            box.seen = None
            box.memo = None
        seen: Any = box.seen
        if seen is None or (seen != cur if type(seen) is int else cur not in seen):
            # Not registered since the last retraction or the last new slot: read them all.
            self.read((container, _SLOTS))
            records = box.records
            for slot in box.slots:
                var = records[slot]
                _add_reader(var, cur)
            if seen is None:
                box.seen = cur
            elif type(seen) is int:
                box.seen = {seen, cur}
            else:
                seen.add(cur)
        memo = box.memo
        if memo is not None and memo[0] == box.version:
            hit: set[int] = memo[1]
            return hit
        out: set[int] = set()
        records = box.records
        for slot in box.slots:
            out |= records[slot][0]
        box.memo = (box.version, out)
        return out

    # ------------------------------------------------------------------ evaluation

    def ev(self, e: Expr) -> set[int] | frozenset[int]:
        """Values of an expression. The result may be a live variable set: never mutate it."""
        tag = e[0]
        if tag == E_VAR:
            if len(e) == 2:
                # read(), inlined: this is the hottest path of the solver.
                var = self.vars.get(e[1])
                cur = self.cur
                if var is None:
                    self.vars[e[1]] = [_EMPTY, cur, None]
                    return _EMPTY
                _add_reader(var, cur)
                values: set[int] | frozenset[int] = var[0]
                return values
            out: set[int] = set()
            for key in e[1:]:
                out |= self.read(key)
            return out
        if tag == E_ATTR:
            base = self.ev(e[1])
            if not base:
                return _EMPTY
            name = e[2]
            if len(base) == 1:
                for v in base:
                    return self.attr(v, name)
            return self._attr_many(base, name)
        if tag == E_GLOBAL:
            return self.global_lookup(e[1], e[2])
        if tag == E_NAME:
            kind, where = self.resolve_name(e[1], e[2])
            if kind == "k":
                return self.read(where)
            return self.global_lookup(where, e[2])
        if tag == E_DEF:
            return self.def_value(e[1])
        if tag == E_MOD:
            return self.module_value(e[1])
        if tag == E_FROM:
            return self.from_value(e[1], e[2])
        if tag == E_SUB:
            return self.subscript(self.ev(e[1]), e[2])
        if tag == E_CONT:
            return frozenset((self.intern((V_CONT, e[1], e[2])),))
        if tag == E_INST:
            return self.instances(self.ev(e[1]))
        if tag == E_UNION:
            out = set()
            for part in e[1:]:
                out |= self.ev(part)
            return out
        if tag == E_SUPER:
            return self.super_value(e[1], self.ev(e[2]))
        if tag == E_BINST:
            return frozenset((self.intern((V_BINST, e[1])),))
        if tag == E_ELEMS:
            return self.elements(self.ev(e[1]), e[2])
        raise ValueError(f"unknown expression tag {tag!r}")  # pragma: no cover

    def _attr_many(self, base: set[int] | frozenset[int], name: str) -> set[int]:
        """The union of :meth:`attr` over several values, in the order of ``base``, with two
        short cuts that give what :meth:`attr` would. Per name, :attr:`attr_memo` maps a value
        whose attribute reads no variable (external, builtin, container, ...) to that attribute
        (at most one value, interned when first computed; -1 for none), and an instance or
        class to its lookup entry: a lookup the running constraint already made in this epoch
        (so it is a user and reader of it already) whose binding memo still holds is answered
        as :meth:`class_attr` answers it, without the calls. Most of ``x.name`` over a
        many-valued ``x``."""
        out: set[int] = set()
        vals = self.vals
        epoch = self.epoch
        cur = self.cur
        memo_of = self.attr_memo.get(name)
        if memo_of is None:
            memo_of = self.attr_memo[name] = {}
        for v in tuple(base):
            hit: Any = memo_of.get(v)  # None, an int or a _Lookup
            if type(hit) is int:
                if hit >= 0:
                    out.add(hit)
                continue
            if hit is not None and hit.epoch == epoch:
                entry: _Lookup = hit
                seen: Any = entry.seen
                if seen is not None and (seen == cur if type(seen) is int else cur in seen):
                    dynamic: set[int] | None = None
                    for var in entry.chain:
                        found = var[0]
                        if found:
                            dynamic = set(found) if dynamic is None else dynamic | found
                    definer = entry.definer
                    if definer is None:
                        terminal = entry.plan[2]
                        if terminal is not None:
                            out |= {terminal} if dynamic is None else dynamic | {terminal}
                        elif dynamic is not None:
                            out |= dynamic
                        continue
                    memo = entry.bound_inst if vals[v][0] == V_INST else entry.bound_cls
                    if (
                        memo is not None
                        and memo[0] is definer[0]
                        and memo[1] == len(definer[0])
                        and memo[2] == epoch
                    ):
                        deps = memo[5]
                        for var, values, size in deps:
                            if var[0] is not values or len(values) != size:
                                break
                        else:
                            for did in memo[4]:
                                self._use(entry.cls, ("<canon>", did))
                            for var, _values, _size in deps:
                                _add_reader(var, cur)
                            out |= memo[3] if dynamic is None else dynamic | memo[3]
                            continue
            found = self.attr(v, name)
            out |= found
            val = vals[v]
            kind = val[0]
            if kind == V_INST or (kind == V_DEF and self.kinds.get(val[1]) == K_CLASS):
                memo_of[v] = self.plans[val[1]][name]
            elif kind in _PURE_ATTR_KINDS:
                if found:
                    (memo_of[v],) = found
                else:
                    memo_of[v] = -1
        return out

    def resolve_name(self, scope: str, name: str) -> tuple[str, Any]:
        """``("k", key)`` for a variable of an enclosing function/class scope, or
        ``("g", module_id)`` for a module-level lookup."""
        memo = self.name_memo.get(scope)
        if memo is None:
            memo = self.name_memo[scope] = {}
        else:
            hit = memo.get(name)
            if hit is not None:
                return hit
        current: str | None = scope
        result: tuple[str, Any] | None = None
        while current is not None:
            sf = self.index.scopes.get(current)
            if sf is None:
                break
            if sf.kind == K_MODULE:
                result = ("g", current)
                break
            if name in sf.locals:
                result = ("k", (current, name))
                break
            current = sf.lookup_parent
        if result is None:
            result = ("g", self.index.files[self.cur_file].module)
        memo[name] = result
        return result

    def global_lookup(self, module: str, name: str) -> set[int] | frozenset[int]:
        names = self.index.module_names.get(module)
        if names is not None and name in names:
            return self.read((module, name))
        if name in _BUILTIN_NAMES:
            # Registered as a reader all the same: if the module starts defining the name, the
            # lookup must be redone (see Program.update).
            self.read((module, name))
            return frozenset((self.intern((V_BUILTIN, name)),))
        return self._dynamic_module_attr(module, name)

    def _dynamic_module_attr(self, module: str, name: str) -> set[int] | frozenset[int]:
        out = self.read((module, name))
        if not out:
            ext = self.ext_star.get(module)
            if ext is not None and len(ext) == 1:
                # The name can only come from the one external ``from m import *``.
                return frozenset((self.intern((V_EXT, f"{ext[0]}.{name}")),))
        return out

    def module_attr(self, module: str, name: str) -> set[int] | frozenset[int]:
        names = self.index.module_names.get(module)
        if names is not None and name in names:
            return self.read((module, name))
        sub = f"{module}.{name}"
        if self.index.is_module(sub) or sub in self.index.namespaces:
            self.read((module, name))  # a reader, in case the submodule goes away
            return self.def_value(sub)
        return self._dynamic_module_attr(module, name)

    def watch_module(self, dotted: str, name: str | None = None) -> None:
        """Register the running constraint as depending on which modules exist under the ids
        ``import dotted`` (or ``from dotted import name``) may resolve to: it reads the
        pseudo-variable ``("<mod>", file's import bases, dotted, name)``, never written, and
        :meth:`module_watchers` finds it from any of those ids. Adding or removing such a
        module retracts what the constraint derived."""
        key = (_MODULE_WATCH, self.index.script_dirs[self.cur_file], dotted, name)
        if self.watch_index is not None and key not in self.vars:
            self._index_watch(self.watch_index, key)
        self.read(key)

    def _index_watch(
        self, index: dict[str, list[Any]], key: tuple[str, str | None, str, str | None]
    ) -> None:
        _, script_dir, dotted, name = key
        full = f"{dotted}.{name}" if name is not None else dotted
        bases = [""] + ([script_dir] if script_dir else [])
        for base in bases:
            prefix = base
            for part in full.split("."):
                prefix = f"{prefix}.{part}" if prefix else part
                index.setdefault(prefix, []).append(key)

    def module_watchers(self, module: str) -> list[int]:
        """Constraints whose import lookups may resolve to (or through) module id ``module``."""
        index = self.watch_index
        if index is None:
            index = self.watch_index = {}
            for key in self.vars:
                if key[0] == _MODULE_WATCH:
                    self._index_watch(index, key)
        out: list[int] = []
        for key in index.get(module, ()):
            out.extend(self.readers(key))
        return out

    def module_value(self, dotted: str) -> set[int] | frozenset[int]:
        self.watch_module(dotted)
        where, target = self.index.map_module(dotted, self.cur_file)
        if where == "ext":
            return frozenset((self.intern((V_EXT, target)),))
        if target in self.kinds:
            return self.def_value(target)
        # ``import a.b`` where a.b is not a module of its own: an attribute of ``a``.
        head, _, rest = target.partition(".")
        if head not in self.kinds:
            return _EMPTY
        values: set[int] | frozenset[int] = self.def_value(head)
        for part in rest.split(".") if rest else ():
            nxt: set[int] = set()
            for v in tuple(values):
                nxt |= self.attr(v, part)
            values = nxt
        return values

    def from_value(self, dotted: str, name: str) -> set[int] | frozenset[int]:
        self.watch_module(dotted, name)
        where, target = self.index.map_module(dotted, self.cur_file)
        if where == "ext":
            return frozenset((self.intern((V_EXT, f"{target}.{name}")),))
        sub = f"{target}.{name}"
        if sub in self.kinds and (self.index.is_module(sub) or sub in self.index.namespaces):
            return self.def_value(sub)
        if self.index.is_module(target):
            return self.module_attr(target, name)
        out: set[int] = set()
        for v in tuple(self.module_value(dotted)):
            out |= self.attr(v, name)
        return out

    def attr(self, v: int, name: str) -> set[int] | frozenset[int]:
        val = self.vals[v]
        kind = val[0]
        if kind == V_INST:
            return self.class_attr(val[1], name, True, val[1])
        if kind == V_DEF:
            ident = val[1]
            dk = self.kinds.get(ident)
            if dk in (K_MODULE, K_PACKAGE):
                return self.module_attr(ident, name)
            if dk == K_CLASS:
                return self.class_attr(ident, name, False, ident)
            return self.read((ident, name))
        if kind in (V_EXT, V_XINST):
            return self._ext_attr(val[1], name)
        if kind in (V_BUILTIN, V_BINST):
            # Only attributes of builtin types and their instances (``str.join``), not of
            # builtin functions or methods: those chains name nothing useful.
            if "." not in val[1] and self.builtin_has(val[1], name):
                return frozenset((self.intern((V_BUILTIN, f"{val[1]}.{name}")),))
            return _EMPTY
        if kind == V_CONT:
            if self.builtin_has(val[2], name):
                return frozenset((self.intern((V_CMETH, val[1], val[2], name)),))
            return _EMPTY
        if kind == V_SUPER:
            return self.class_attr(val[2], name, bool(val[3]), val[2], after=val[1])
        return _EMPTY

    def _ext_attr(self, path: str, name: str) -> frozenset[int]:
        """``path.name`` for an external value, unless that would grow a chain in a loop
        (``node = node.next`` must not produce ``x.next.next.next...``)."""
        if path.endswith("." + name) or path.count(".") >= _MAX_EXTERNAL_DEPTH:
            return _EMPTY
        return frozenset((self.intern((V_EXT, f"{path}.{name}")),))

    # ------------------------------------------------------------------ classes

    def mro(self, cls: str) -> tuple[int, ...]:
        """Linearisation of ``cls``: class definitions, then external/builtin bases as leaves."""
        hit = self.mro_cache.get(cls)
        if hit is not None:
            return hit
        own = self.intern((V_DEF, cls))
        self.mro_cache[cls] = (own,)  # cycle guard for nonsense like class A(B), class B(A)
        self.mro_rdeps.setdefault(cls, set()).add(cls)
        seqs: list[list[int]] = []
        direct: list[int] = []
        for i in range(self.index.nbases.get(cls, 0)):
            # Ordered by value, not by value number: numbers depend on the order values were
            # first seen, and the MRO must not.
            bases = self.peek((cls, "<base>", i))
            for vid in sorted(bases, key=self._value_order) if len(bases) > 1 else bases:
                val = self.vals[vid]
                if val[0] == V_DEF and self.kinds.get(val[1]) == K_CLASS:
                    base = val[1]
                    seqs.append(list(self.mro(base)))
                    for dep in self.mro_cache[base]:
                        dval = self.vals[dep]
                        if dval[0] == V_DEF:
                            self.mro_rdeps.setdefault(dval[1], set()).add(cls)
                    direct.append(vid)
                elif val[0] == V_EXT or val[0] == V_BUILTIN:
                    seqs.append([vid])
                    direct.append(vid)
        merged = _c3([*seqs, direct]) if direct else []
        if merged is None:
            merged = []
            for seq in seqs:
                for vid in seq:
                    if vid not in merged:
                        merged.append(vid)
        result = (own, *(m for m in merged if m != own))
        self.mro_cache[cls] = result
        return result

    def _value_order(self, v: int) -> tuple[int, str]:
        val = self.vals[v]
        return (val[0], str(val[1]))

    def _use(self, cls: str, lookup: Any) -> None:
        """Record that the running constraint made ``lookup`` on class ``cls``."""
        users = self.lookup_users.get(cls)
        if users is None:
            self.lookup_users[cls] = {lookup: self.cur}
            return
        known = users.get(lookup)
        cur = self.cur
        if known is None:
            users[lookup] = cur
        elif type(known) is int:
            if known != cur:
                users[lookup] = {known, cur}
        else:
            known.add(cur)

    def _with_subclasses(self, pending: list[str]) -> set[str]:
        """The classes of ``pending`` and every class whose MRO goes through one of them."""
        affected: set[str] = set()
        while pending:
            cls = pending.pop()
            if cls in affected:
                continue
            affected.add(cls)
            pending.extend(self.mro_rdeps.get(cls, ()))
        return affected

    def _check_mros(self) -> None:
        """Recompute the MRO of every class whose bases changed (and of its subclasses), and
        where it differs from the one lookups used, every lookup made through it; retract what
        was derived from the lookups whose answer changed, so that the fixpoint never depends
        on the order in which base classes became known."""
        affected = self._with_subclasses(list(self.mro_dirty))
        self.mro_dirty = set()
        before = {
            cls: (
                self.mro_cache.pop(cls, None),
                self.plans.pop(cls, {}),
                self.owner_memo.pop(cls, {}),
                self.canonical_memo.pop(cls, {}),
            )
            for cls in affected
        }
        for _mro, plans, _owners, _canonical in before.values():
            for entry in plans.values():
                entry.epoch = _DEAD  # no longer in self.plans: attr_memo must not use it
        seeds: list[int] = []
        for cls in sorted(affected):
            old_mro, plans, owners, canonical = before[cls]
            if old_mro is None or self.mro(cls) == old_mro:
                continue  # lookups give the same answers (recomputed when needed)
            seeds.extend(self._changed_lookups(cls, plans, owners, canonical, None))
        if seeds:
            self.retract(seeds)

    def _changed_lookups(
        self,
        cls: str,
        plans: dict[Any, _Lookup],
        owners: dict[str, str],
        canonical: dict[str, str],
        names: set[str] | frozenset[str] | None,
    ) -> list[int]:
        """Users of the lookups on ``cls`` (of ``names`` only, unless ``None``) whose answer
        now differs from the one remembered."""
        users = self.lookup_users.get(cls)
        if not users:
            return []
        seeds: list[int] = []
        for key, entry in plans.items():
            name = entry.name
            if names is not None and name not in names:
                continue
            if self._plan(cls, name, entry.after) != entry.plan:
                seeds.extend(_members(users.get(key)))
        for name, owner in owners.items():
            if (names is None or name in names) and self.attr_owner(cls, name) != owner:
                seeds.extend(_members(users.get(("<owner>", name))))
        for method, receiver in canonical.items():
            d = self.index.defs.get(method)
            attrs = d.self_attrs if d is not None else None
            if names is not None and attrs is not None and not attrs & names:
                continue
            if d is None or self._canonical(d, cls) != receiver:
                seeds.extend(_members(users.get(("<canon>", method))))
        for lookup, who in users.items():
            if (
                type(lookup) is tuple
                and lookup[0] == "<via>"
                and (names is None or lookup[2] in names)
            ):
                seeds.extend(_members(who))
        return seeds

    def forget_class(self, cls: str, names: set[str] | frozenset[str] | None) -> list[int]:
        """After the own names of ``cls`` changed (``names``; ``None``: its kind or bases, or it
        was added or removed): drop what is cached about it and its subclasses, and return the
        constraints whose lookups through them now find something else."""
        affected = self._with_subclasses([cls])
        before = {
            current: (
                self.plans.pop(current, {}),
                self.owner_memo.pop(current, {}),
                self.canonical_memo.pop(current, {}),
            )
            for current in affected
        }
        for plans, _owners, _canonical in before.values():
            for entry in plans.values():
                entry.epoch = _DEAD  # no longer in self.plans: attr_memo must not use it
        if names is None:
            if cls in self.mro_cache:
                self.mro_dirty.add(cls)
            users: list[int] = []
            for current in affected:
                for who in self.lookup_users.get(current, {}).values():
                    users.extend(_members(who))
            return users
        seeds: list[int] = []
        for current in sorted(affected):
            plans, owners, canonical = before[current]
            seeds.extend(self._changed_lookups(current, plans, owners, canonical, names))
        return seeds

    def _defines(self, cls: str, name: str) -> bool:
        return name in self.index.class_names.get(cls, _EMPTY_NAMES) or name in (
            self.index.instance_attrs.get(cls, _EMPTY_NAMES)
        )

    def class_attr(
        self, cls: str, name: str, on_instance: bool, receiver: str, after: str | None = None
    ) -> set[int] | frozenset[int]:
        """Attribute ``name`` looked up through the MRO of ``cls`` (starting after class
        ``after`` for ``super()``), functions bound to ``receiver`` as Python binds them."""
        lookup = name if after is None else (name, after)
        cur = self.cur
        plans = self.plans.get(cls)
        if plans is None:
            plans = self.plans[cls] = {}
        entry = plans.get(lookup)
        if entry is None:
            entry = plans[lookup] = self._lookup(cls, name, after)
        # The running constraint must be a user of the lookup and a reader of the variables it
        # reads. It already is when it made this lookup before in this epoch (readers are
        # only taken away by a retraction, which starts a new epoch).
        seen: Any = entry.seen
        if entry.epoch != self.epoch:
            entry.epoch = self.epoch
            seen = entry.seen = None
        dynamic: set[int] | None = None
        if seen is not None and (seen == cur if type(seen) is int else cur in seen):
            for var in entry.chain:
                found = var[0]
                if found:
                    dynamic = set(found) if dynamic is None else dynamic | found
        else:
            if seen is None:
                entry.seen = cur
            elif type(seen) is int:
                entry.seen = {seen, cur}
            else:
                seen.add(cur)
            dynamic = self._register_lookup(cls, lookup, entry, cur)
        definer = entry.definer
        if definer is not None:
            bound = self._bind_entry(
                entry, definer[0], receiver if receiver != cls else None, on_instance
            )
            return bound if dynamic is None else dynamic | bound
        terminal = entry.plan[2]
        if terminal is not None:
            return {terminal} if dynamic is None else dynamic | {terminal}
        return dynamic if dynamic is not None else _EMPTY

    def _register_lookup(self, cls: str, lookup: Any, entry: _Lookup, cur: int) -> set[int] | None:
        """Record constraint ``cur`` as a user of the lookup and a reader of its variables (as
        :meth:`_use` and :meth:`read` do); returns the values of the classes before the definer
        (assigned from outside: ``obj.x = ...`` where no class of the MRO defines x)."""
        users = self.lookup_users.get(cls)
        if users is None:
            self.lookup_users[cls] = {lookup: cur}
        else:
            known = users.get(lookup)
            if known is None:
                users[lookup] = cur
            elif type(known) is int:
                if known != cur:
                    users[lookup] = {known, cur}
            else:
                known.add(cur)
        dynamic: set[int] | None = None
        for var in entry.chain:
            _add_reader(var, cur)
            found = var[0]
            if found:
                dynamic = set(found) if dynamic is None else dynamic | found
        definer = entry.definer
        if definer is not None:
            _add_reader(definer, cur)
        return dynamic

    def _lookup(self, cls: str, name: str, after: str | None) -> _Lookup:
        """A new lookup entry: the plan, and the records of the variables it reads (created
        as :meth:`read` would, without a reader yet)."""
        plan = self._plan(cls, name, after)
        chain, definer, _terminal = plan
        vars_ = self.vars
        records: list[list[Any]] = []
        for owner in (*chain, definer) if definer is not None else chain:
            key = (owner, name)
            var = vars_.get(key)
            if var is None:
                var = vars_[key] = [_EMPTY, None, None]
            records.append(var)
        if definer is not None:
            return _Lookup(cls, name, after, plan, tuple(records[:-1]), records[-1])
        return _Lookup(cls, name, after, plan, tuple(records), None)

    def _bind_entry(
        self,
        entry: _Lookup,
        found: set[int] | frozenset[int],
        receiver: str | None,
        on_instance: bool,
    ) -> set[int] | frozenset[int]:
        """:meth:`_bind_all` of the definer's values for a lookup, bound to the lookup's own
        class (``receiver`` ``None``) or another class. For its own class, the result is
        memoised with the definer's value set: the same set object (a retraction replaces it)
        of the same size (sets only grow) in the same epoch binds to the same values; the
        lookups of canonical receivers that binding made are registered again for the running
        constraint. Properties read variables (what the getter returns): the memo holds those
        too (their records, value sets and sizes), checked and read again the same way."""
        if receiver is not None:
            return self._bind_all(found, receiver, on_instance, None, None)
        memo = entry.bound_inst if on_instance else entry.bound_cls
        if (
            memo is not None
            and memo[0] is found
            and memo[1] == len(found)
            and memo[2] == self.epoch
        ):
            deps = memo[5]
            for var, values, size in deps:
                if var[0] is not values or len(values) != size:
                    break
            else:
                cls = entry.cls
                for did in memo[4]:
                    self._use(cls, ("<canon>", did))
                cur = self.cur
                for var, _values, _size in deps:
                    _add_reader(var, cur)
                hit: set[int] | frozenset[int] = memo[3]
                return hit
        log: list[str] = []
        read: list[tuple[list[Any], set[int] | frozenset[int], int]] = []
        bound = self._bind_all(found, entry.cls, on_instance, log, read)
        memo = (found, len(found), self.epoch, bound, tuple(log), tuple(read))
        if on_instance:
            entry.bound_inst = memo
        else:
            entry.bound_cls = memo
        return bound

    def _plan(
        self, cls: str, name: str, after: str | None
    ) -> tuple[tuple[str, ...], str | None, int | None]:
        """The static part of a lookup: classes passed before the first one that defines
        ``name``, that class (``None`` if none does), and the value found beyond the analysed
        classes (an external or builtin base's attribute, or ``object``'s)."""
        mro = self.mro(cls)
        start = 0
        if after is not None:
            after_vid = self.intern((V_DEF, after))
            if after_vid in mro:
                start = mro.index(after_vid) + 1
            else:
                mro = self.mro(after)
                start = 1
                self._use(after, ("<via>", cls, name))
        chain: list[str] = []
        for i in range(start, len(mro)):
            val = self.vals[mro[i]]
            if val[0] == V_DEF:
                owner = str(val[1])
                if self._defines(owner, name):
                    return tuple(chain), owner, None
                chain.append(owner)
            elif val[0] == V_EXT:
                if val[1] in _MARKER_BASES:
                    continue
                ext = self._ext_attr(val[1], name)
                return tuple(chain), None, next(iter(ext)) if ext else None
            elif val[0] == V_BUILTIN:
                if self.builtin_has(val[1], name):
                    return tuple(chain), None, self.intern((V_BUILTIN, f"{val[1]}.{name}"))
                if val[1] != "object":
                    return tuple(chain), None, None  # unknown attribute of a builtin base
        if self.builtin_has("object", name):
            return tuple(chain), None, self.intern((V_BUILTIN, f"object.{name}"))
        return tuple(chain), None, None

    def _bind_all(
        self,
        found: set[int] | frozenset[int],
        receiver: str,
        on_instance: bool,
        log: list[str] | None,
        read: list[tuple[list[Any], set[int] | frozenset[int], int]] | None,
    ) -> set[int] | frozenset[int]:
        """The values found, methods bound to ``receiver``. ``log`` (when given) receives the
        methods whose canonical receiver was looked up, ``read`` the variables read for
        properties (record, values, size)."""
        out: set[int] | None = None
        for v in tuple(found):
            val = self.vals[v]
            if val[0] != V_DEF:
                continue
            d = self.index.defs.get(val[1])
            if d is None or not self._is_method(d):
                continue
            if out is None:
                out = set(found)
            out.discard(v)
            flags = d.flags
            if flags & F_STATIC:
                out.add(v)
            elif flags & F_CLASSMETHOD:
                out.add(self.intern((V_BOUND, d.id, self._canonical(d, receiver, log), 1)))
            elif flags & F_PROPERTY:
                if on_instance:
                    first = self.intern((V_INST, receiver))
                    if read is None:
                        out |= self.returns(d.id, None, first)
                    else:
                        out |= self._getter_returns(d, first, read)
                else:
                    out.add(v)
            elif on_instance:
                out.add(self.intern((V_BOUND, d.id, self._canonical(d, receiver, log), 0)))
            else:
                out.add(v)
        return found if out is None else out

    def _canonical(self, d: DefFact, receiver: str, log: list[str] | None = None) -> str:
        """The receiver class to bind method ``d`` to: the first class of the receiver's MRO that
        defines an attribute the method uses on ``self`` (or the method's own class). Lookups
        inside the method resolve the same for both, and this keeps e.g. ``TestCase`` methods
        from being analysed once per test class. Without that knowledge (``self`` escapes), the
        receiver itself."""
        attrs = d.self_attrs
        if attrs is None or receiver == d.parent:
            return receiver
        self._use(receiver, ("<canon>", d.id))
        if log is not None:
            log.append(d.id)
        memo = self.canonical_memo.get(receiver)
        if memo is None:
            memo = self.canonical_memo[receiver] = {}
        hit = memo.get(d.id)
        if hit is not None:
            return hit
        result = receiver
        for vid in self.mro(receiver):
            val = self.vals[vid]
            if val[0] != V_DEF:
                break
            cls = val[1]
            if cls == d.parent or any(self._defines(cls, a) for a in attrs):
                result = str(cls)
                break
        memo[d.id] = result
        return result

    def _is_method(self, d: DefFact) -> bool:
        if d.kind == K_METHOD:
            return True
        return d.kind == K_LAMBDA and self.kinds.get(d.parent) == K_CLASS

    def attr_owner(self, cls: str, name: str) -> str:
        """The class whose namespace ``cls_instance.name = ...`` writes (first definer)."""
        self._use(cls, ("<owner>", name))
        memo = self.owner_memo.get(cls)
        if memo is None:
            memo = self.owner_memo[cls] = {}
        hit = memo.get(name)
        if hit is not None:
            return hit
        result = cls
        for vid in self.mro(cls):
            val = self.vals[vid]
            if val[0] == V_DEF and self._defines(val[1], name):
                result = str(val[1])
                break
        memo[name] = result
        return result

    def super_value(self, cls: str, receivers: set[int] | frozenset[int]) -> frozenset[int]:
        out: set[int] = set()
        for v in tuple(receivers):
            val = self.vals[v]
            if val[0] == V_INST:
                out.add(self.intern((V_SUPER, cls, val[1], 1)))
            elif val[0] == V_DEF and self.kinds.get(val[1]) == K_CLASS:
                out.add(self.intern((V_SUPER, cls, val[1], 0)))
        if not out:
            out.add(self.intern((V_SUPER, cls, cls, 1)))
        return frozenset(out)

    def instances(self, classes: set[int] | frozenset[int]) -> set[int]:
        out: set[int] = set()
        for v in tuple(classes):
            val = self.vals[v]
            kind = val[0]
            if kind == V_DEF and self.kinds.get(val[1]) == K_CLASS:
                out.add(self.intern((V_INST, val[1])))
            elif kind == V_BUILTIN and isinstance(getattr(builtins, val[1], None), type):
                out.add(self.intern((V_BINST, val[1])))
            elif kind == V_EXT:
                out.add(self.intern((V_XINST, val[1])))
            elif kind == V_CONT:  # except (A, B) as e
                out |= self.instances(self.all_slots(val[1]))
        return out

    # ------------------------------------------------------------------ containers

    def elements(self, values: set[int] | frozenset[int], dict_values: bool) -> set[int]:
        """What iterating (or ``*``/``**``-unpacking) the values yields, without implicit calls."""
        out: set[int] = set()
        for v in tuple(values):
            val = self.vals[v]
            kind = val[0]
            if kind == V_CONT:
                type_name = val[2]
                if type_name == "dict" and not dict_values:
                    continue  # iterating a dict yields its keys, which are not tracked
                if type_name in _PAIR_CONTAINERS:
                    out.add(self.intern((V_PAIR, val[1])))
                else:
                    out |= self.all_slots(val[1])
            elif kind == V_GEN:
                out |= self.read((val[1], "<yield>"))
            elif kind == V_PAIR:
                out |= self.all_slots(val[1])
        return out

    def subscript(self, values: set[int] | frozenset[int], slot: Any) -> set[int]:
        out: set[int] = set()
        for v in tuple(values):
            val = self.vals[v]
            if val[0] == V_CONT:
                if slot is None:
                    out |= self.all_slots(val[1])
                else:
                    out |= self.read((val[1], slot))
                    out |= self.read((val[1], None))
            elif val[0] == V_PAIR and slot != 0:
                out |= self.all_slots(val[1])
        return out

    # ------------------------------------------------------------------ constraints

    def run(self, on_file: Callable[[int, int], None] | None = None) -> None:
        """Evaluate every constraint to the fixpoint (a full solve).

        ``on_file(files_done, file_no)`` is called as the first pass over the constraints (in
        number order, so file by file in loading order) finishes files: ``file_no`` is the last
        one finished. Re-evaluations after the first pass report nothing."""
        n = len(self.cons)
        self.queued = bytearray(b"\x01") * n
        self.work = deque(range(n))
        if on_file is not None:
            # file_cons is in loading order; a file without constraints is done with the one
            # before it.
            end = -1
            self.milestones = []
            for f, cids in self.file_cons.items():
                end = cids[-1] if cids else end
                self.milestones.append((end, f))
            self.next_milestone = 0
            self.on_file = on_file
            self.mark = self.milestones[0][0] if self.milestones else _NO_MARK
        self.resume()
        self.on_file = None
        self.milestones = []
        self.mark = _NO_MARK  # updates (resume() alone) report nothing

    def _reached(self, c: int) -> int:
        """Constraint ``c`` is being evaluated: report the files whose constraints the first
        pass has all visited by now; returns the next constraint number worth a report."""
        milestones = self.milestones
        i = self.next_milestone
        while i < len(milestones) and milestones[i][0] <= c:
            i += 1
        self.next_milestone = i
        if self.on_file is not None and i:
            self.on_file(i, milestones[i - 1][1])
        return milestones[i][0] if i < len(milestones) else _NO_MARK

    def enqueue(self, constraints: Iterable[int]) -> None:
        """Queue constraints for :meth:`resume` (in increasing order, so that a file's
        constraints run in source order, as in a full solve)."""
        queued = self.queued
        if len(queued) < len(self.cons):
            queued.extend(bytes(len(self.cons) - len(queued)))
        work = self.work
        for c in sorted(constraints):
            if not queued[c] and self.cons[c] is not None:
                queued[c] = 1
                work.append(c)

    def resume(self) -> None:
        """Run the work list to the fixpoint, checking changed MROs whenever it empties."""
        work = self.work
        queued = self.queued
        cons = self.cons
        cfile = self.cfile
        names = self.index.file_names
        ran = self.ran
        # Only the first pass of run() has milestones: its constraints come off the work list
        # in increasing order, so one comparison per evaluation finds them.
        mark = self.mark
        while True:
            while work:
                c = work.popleft()
                queued[c] = 0
                if c >= mark:
                    mark = self.mark = self._reached(c)
                con = cons[c]
                if con is None:
                    continue  # retracted and removed since it was queued
                self.cur = c
                file_no = self.cur_file = cfile[c]
                self.cur_name = names[file_no]
                if ran is not None:
                    ran.add(c)
                tag = con[0]
                if tag == C_ASSIGN:
                    self._assign(con)
                elif tag == C_CALL:
                    self._call(c, con)
                elif tag == C_ITER:
                    self._iter(c, con)
                elif tag == C_WITH:
                    self._with(c, con)
                elif tag == C_BASES:
                    self._bases(con)
                elif tag == C_DECO:
                    self._deco(c, con)
            self.cur = -1
            if not self.mro_dirty:
                break
            self._check_mros()

    # ------------------------------------------------------------------ retraction

    def retract(self, seeds: Iterable[int]) -> set[int]:
        """Take back everything derived from the constraints ``seeds`` (delete and re-derive).

        Over-delete: the seeds, every variable they wrote, every constraint that read one of
        those, and so on; each such *suspect* constraint loses its targets and the record of
        its writes, each such variable its values and readers (all of which are suspect).
        Re-derive: queue the suspect constraints still alive and every other writer of a
        cleared variable (their contribution is still valid, but was cleared with the rest).
        Returns the suspect constraints. Call :meth:`resume` to reach the fixpoint again.
        """
        self.epoch += 1
        vars_get = self.vars.get
        cwrites = self.cwrites
        targets = self.targets
        bound = self.bound
        suspect: set[int] = set()
        #: cleared variable key → its record (``None`` if there is none)
        cleared: dict[Any, list[Any] | None] = {}
        stack = [c for c in seeds if c >= 0]
        push = stack.append
        while stack:
            c = stack.pop()
            if c < 0 or c in suspect:
                continue
            suspect.add(c)
            written = cwrites[c]
            if written is not None:
                for key in written[1:] if written[0] is _MANY else (written,):
                    if key in cleared:
                        var = cleared[key]
                    else:
                        var = cleared[key] = vars_get(key)
                        if var is None:
                            continue
                        readers = var[1]
                        if type(readers) is int:
                            if readers >= 0 and readers not in suspect:
                                push(readers)
                        elif readers is not None:
                            stack.extend(readers)  # (-1 and suspects are skipped when popped)
                    if var is None:
                        continue
                    # c's contribution is taken back (its writes are re-derived if it lives).
                    writers = var[2]
                    if type(writers) is int:
                        if writers == c:
                            var[2] = None
                    elif writers is not None:
                        writers.discard(c)
                cwrites[c] = None
            targets.pop(c, None)
            bound.pop(c, None)
        requeue = set(suspect)
        for key, var in cleared.items():
            if var is None:
                continue
            if len(var[0]) >= MAX_VALUES:
                self.saturated += 1
            var[0] = _EMPTY
            var[1] = None
            head = key[0]
            writers = var[2]
            if type(writers) is int:
                requeue.add(writers)
                bound.pop(writers, None)
            elif writers:
                requeue |= writers
                for w in writers:
                    bound.pop(w, None)
            if len(key) == 3 and key[1] == "<base>" and head in self.mro_cache:
                self.mro_dirty.add(head)
        requeue.discard(-1)
        self.enqueue(requeue)
        return suspect

    def remove(self, constraints: Iterable[int]) -> None:
        """Drop constraints for good (after :meth:`retract` took back what they derived)."""
        for c in constraints:
            self.cons[c] = None
            self.cwrites[c] = None

    def add(self, file_no: int, constraints: Iterable[Constraint]) -> list[int]:
        """Append constraints of file ``file_no``; returns their numbers (not yet queued)."""
        first = len(self.cons)
        self.cons.extend(constraints)
        added = len(self.cons) - first
        self.cfile.extend([file_no] * added)
        self.cwrites.extend([None] * added)
        return list(range(first, first + added))

    def load_file(self, file_no: int, facts: FileFacts) -> list[int]:
        """Append the constraints of one file (plus one :data:`C_DECO` check per decorator)."""
        cids = self.add(file_no, facts.constraints)
        cids += self.add(file_no, decorator_checks(facts))
        self.file_cons[file_no] = cids
        return cids

    def _assign(self, con: Constraint) -> None:
        values = self.ev(con[1])
        if not values:
            return
        for target in con[2]:
            head = target[0]
            if type(head) is not int:
                self.write(target, values)
            elif head == T_ATTR:
                for b in tuple(self.ev(target[1])):
                    self._store_attr(b, target[2], values)
            elif head == T_SUB:
                for b in tuple(self.ev(target[1])):
                    bval = self.vals[b]
                    if bval[0] == V_CONT:
                        self.write((bval[1], target[2]), values)
            elif head == T_NAME:
                kind, where = self.resolve_name(target[1], target[2])
                self.write(where if kind == "k" else (where, target[2]), values)

    def _store_attr(self, b: int, name: str, values: set[int] | frozenset[int]) -> None:
        val = self.vals[b]
        kind = val[0]
        cls: str | None = None
        if kind == V_INST:
            cls = val[1]
        elif kind == V_DEF:
            ident = val[1]
            dk = self.kinds.get(ident)
            if dk == K_CLASS:
                cls = ident
            elif dk is not None:
                self.write((ident, name), values)
        if cls is None:
            return
        self.write((self.attr_owner(cls, name), name), values)

    def _bases(self, con: Constraint) -> None:
        cls = con[1]
        changed = False
        for i, (_line, e) in enumerate(con[2]):
            key = (cls, "<base>", i)
            before = len(self.peek(key))
            self.write(key, self.ev(e))
            if len(self.peek(key)) != before:
                changed = True
        if changed and cls in self.mro_cache:
            # Only a class whose MRO was already used needs checking (a subclass's MRO is
            # never computed before its bases').
            self.mro_dirty.add(cls)

    def returns(
        self, func: str, binder: _Binder | None = None, first: int | None = None
    ) -> set[int] | frozenset[int]:
        """What calling ``func`` yields; parameters it returns unchanged give back this call's
        own argument (``binder``'s, or ``first`` for the receiver) when known."""
        d = self.index.defs.get(func)
        if d is None:
            return self.read((func, "<return>"))
        if d.flags & F_GENERATOR:
            return frozenset((self.intern((V_GEN, func)),))
        out = self.read((func, "<return>"))
        if not d.returns_params:
            return out
        merged = set(out)
        for param in d.returns_params:
            merged |= self._argument(func, param, binder, first)
        return merged

    def _getter_returns(
        self,
        d: DefFact,
        first: int,
        read: list[tuple[list[Any], set[int] | frozenset[int], int]],
    ) -> set[int] | frozenset[int]:
        """``returns(d.id, None, first)``, appending the variables it reads to ``read``."""
        func = d.id
        if d.flags & F_GENERATOR:
            return frozenset((self.intern((V_GEN, func)),))
        out = self._read_logged((func, "<return>"), read)
        if not d.returns_params:
            return out
        merged = set(out)
        for param in d.returns_params:
            # _argument(func, param, None, first)
            params = self.index.params.get(func)
            if params is not None and params.positional and params.positional[0] == param:
                merged |= frozenset((first,))
            else:
                merged |= self._read_logged((func, param), read)
        return merged

    def _read_logged(
        self, key: Any, read: list[tuple[list[Any], set[int] | frozenset[int], int]]
    ) -> set[int] | frozenset[int]:
        values = self.read(key)
        read.append((self.vars[key], values, len(values)))
        return values

    def _argument(
        self, func: str, param: str, binder: _Binder | None, first: int | None
    ) -> set[int] | frozenset[int]:
        """The values one call passes for ``param`` (every caller's, when not determinable)."""
        params = self.index.params.get(func)
        if params is None:
            return self.read((func, param))
        positional = params.positional
        if first is not None and positional and positional[0] == param:
            return frozenset((first,))
        if binder is None:
            return self.read((func, param))
        pos, kws = binder.argv
        if param in positional:
            index = positional.index(param) - (1 if first is not None else 0)
            if 0 <= index < len(pos) and not any(star for star, _ in pos[: index + 1]):
                return pos[index][1]
        for name, values in kws:
            if name == param:
                return values
        # Not passed (default value) or passed through */**: every caller's values.
        return self.read((func, param))

    def _bind(
        self,
        func: str,
        first: int | None,
        argv: _Args,
    ) -> None:
        params = self.index.params.get(func)
        if params is None:
            return
        positional = params.positional
        i = 0
        if first is not None:
            if not positional:
                return
            self.write((func, positional[0]), frozenset((first,)))
            i = 1
        pos, kws = argv
        for star, values in pos:
            if star:
                items = self.elements(values, False)
                for p in positional[i:]:
                    self.write((func, p), items)
                if params.vararg is not None:
                    self.write(((func, "*"), None), items)
                break
            if i < len(positional):
                self.write((func, positional[i]), values)
            elif params.vararg is not None:
                self.write(((func, "*"), i - len(positional)), values)
            i += 1
        for name, values in kws:
            if name is None:
                items = self.elements(values, True)
                for p in (*positional[i:], *params.kwonly):
                    self.write((func, p), items)
                if params.kwarg is not None:
                    self.write(((func, "**"), None), items)
            elif name in positional or name in params.kwonly:
                self.write((func, name), values)
            elif params.kwarg is not None:
                self.write(((func, "**"), name), values)

    def _call(self, c: int, con: Constraint) -> None:
        _, site, _caller, _line, callee, args, kwargs, flags = con
        if callee is None:
            return
        fvals = self.ev(callee)
        if not fvals:
            return
        targets = self.targets.get(c)
        if targets is None:
            targets = self.targets[c] = set()
        # Arguments are evaluated only for callees that use them, so that a call of an external
        # function is not re-run every time one of its arguments learns a value.
        binder: _Binder | None = None
        out: set[int] = set()
        result_key = (self.cur_name, site)
        for v in tuple(fvals):
            val = self.vals[v]
            kind = val[0]
            if kind == V_DEF:
                ident = val[1]
                dk = self.kinds.get(ident)
                if dk in _FUNCTION_KINDS:
                    targets.add(ident)
                    if binder is None:
                        binder = self._binder(c, args, kwargs)
                    binder.bind(ident, None)
                    out |= self.returns(ident, binder)
                elif dk == K_CLASS:
                    if binder is None:
                        binder = self._binder(c, args, kwargs)
                    self._instantiate(ident, targets, binder, out)
            elif kind == V_BOUND:
                targets.add(val[1])
                first = self.intern((V_DEF, val[2]) if val[3] else (V_INST, val[2]))
                if binder is None:
                    binder = self._binder(c, args, kwargs)
                binder.bind(val[1], first)
                out |= self.returns(val[1], binder, first)
            elif kind == V_INST:
                for m in tuple(self.class_attr(val[1], "__call__", True, val[1])):
                    mval = self.vals[m]
                    if mval[0] == V_BOUND:
                        targets.add(mval[1])
                        if binder is None:
                            binder = self._binder(c, args, kwargs)
                        receiver = self.intern((V_INST, mval[2]))
                        binder.bind(mval[1], receiver)
                        out |= self.returns(mval[1], binder, receiver)
            elif kind == V_EXT:
                path = val[1]
                targets.add(path)
                self.externals.setdefault(path, path.rpartition(".")[2])
                if path == "functools.partial" and args and args[0] is not None:
                    # Calling the partial object calls the wrapped function.
                    first_arg = args[0]
                    if first_arg[0] != E_STAR:
                        out |= self.ev(first_arg)
            elif kind == V_BUILTIN:
                if binder is None:
                    binder = self._binder(c, args, kwargs)
                self._call_builtin(val[1], targets, binder.argv, out, result_key)
            elif kind == V_CMETH:
                if binder is None:
                    binder = self._binder(c, args, kwargs)
                self._call_container_method(val, targets, binder.argv, out)
        if out and not flags & F_DISCARD:
            self.write(result_key, out)

    def _binder(
        self, c: int, args: tuple[Any, ...], kwargs: tuple[tuple[str | None, Expr], ...]
    ) -> _Binder:
        ev = self.ev
        pos: list[tuple[bool, set[int] | frozenset[int]]] = []
        sig: list[int] = []
        unpacked = False
        for a in args:
            if a is None:
                pos.append((False, _EMPTY))
                sig.append(0)
            elif a[0] == E_STAR:
                pos.append((True, ev(a[1])))
                unpacked = True
            else:
                values = ev(a)
                pos.append((False, values))
                sig.append(len(values))
        kws: list[tuple[str | None, set[int] | frozenset[int]]] = []
        for name, e in kwargs:
            values = ev(e)
            kws.append((name, values))
            if name is None:
                unpacked = True
            sig.append(len(values))
        argv = (pos, kws)
        if unpacked:
            # Unpacked arguments can grow without their own sets growing: always rebind.
            return _Binder(self, argv, c, None, None)
        key = tuple(sig)
        prev = self.bound.get(c)
        if prev is not None and prev[0] == key:
            return _Binder(self, argv, c, key, prev[1])
        # A tuple, not a set: almost every site has one or two targets, and a million small
        # sets cost hundreds of MB on a large tree (tuples of ints and strings are not even
        # tracked by the garbage collector).
        self.bound[c] = (key, ())
        return _Binder(self, argv, c, key, ())

    def _instantiate(
        self,
        cls: str,
        targets: set[str],
        binder: _Binder,
        out: set[int],
    ) -> None:
        instance = self.intern((V_INST, cls))
        for iv in tuple(self.class_attr(cls, "__init__", True, cls)):
            ival = self.vals[iv]
            if ival[0] == V_BOUND:
                targets.add(ival[1])
                binder.bind(ival[1], self.intern((V_INST, ival[2])))
        if self.plans[cls]["__init__"].plan[1] is None:
            # No __init__ in the analysed classes of the MRO: the constructor is object's (or an
            # external/builtin base's), so the edge goes to the class itself. Decided from the
            # MRO, not from the values found so far, which may still be growing.
            targets.add(cls)
        out.add(instance)

    def _call_builtin(
        self,
        name: str,
        targets: set[str],
        argv: _Args,
        out: set[int],
        site_key: tuple[str, int],
    ) -> None:
        node_id = BUILTIN_PREFIX + name
        targets.add(node_id)
        self.externals.setdefault(node_id, name.rpartition(".")[2])
        pos = argv[0]
        if name in _CONTAINER_BUILTINS or name in ("dict", "enumerate"):
            type_name = name if name in ("list", "tuple", "set", "frozenset", "dict") else "list"
            if name == "enumerate":
                type_name = "enumerate"
            container = self.intern((V_CONT, site_key, type_name))
            out.add(container)
            if pos:
                items = self.elements(pos[0][1], name == "dict")
                self.write((site_key, None), items)
            if name == "dict":
                for kw, values in argv[1]:
                    if kw is not None:
                        self.write((site_key, kw), values)
            return
        if name in ("next", "anext") and pos:
            out |= self.elements(pos[0][1], False)
            return
        obj = getattr(builtins, name, None)
        if isinstance(obj, type):
            out.add(self.intern((V_BINST, name)))

    def _call_container_method(
        self,
        val: tuple[Any, ...],
        targets: set[str],
        argv: _Args,
        out: set[int],
    ) -> None:
        _, container, type_name, method = val
        node_id = f"{BUILTIN_PREFIX}{type_name}.{method}"
        targets.add(node_id)
        self.externals.setdefault(node_id, method)
        pos = argv[0]
        if method in ("append", "add") and pos:
            self.write((container, None), pos[0][1])
        elif method == "insert" and len(pos) > 1:
            self.write((container, None), pos[1][1])
        elif method in ("extend", "update"):
            if pos:
                self.write((container, None), self.elements(pos[0][1], type_name == "dict"))
            for kw, values in argv[1]:
                if kw is not None:
                    self.write((container, kw), values)
        elif method == "setdefault" and len(pos) > 1:
            self.write((container, None), pos[1][1])
        if method in ("pop", "get", "setdefault", "popitem"):
            out |= self.all_slots(container)
        elif method == "copy":
            out.add(self.intern((V_CONT, container, type_name)))
        elif method == "values":
            out.add(self.intern((V_CONT, container, "dict_values")))
        elif method == "items":
            out.add(self.intern((V_CONT, container, "dict_items")))

    def _iter(self, c: int, con: Constraint) -> None:
        _, site, _caller, _line, e, is_async = con
        values = self.ev(e)
        if not values:
            return
        out = self.elements(values, False)
        targets: set[str] | None = None
        iter_name, next_name = ("__aiter__", "__anext__") if is_async else ("__iter__", "__next__")
        for v in tuple(values):
            val = self.vals[v]
            if val[0] != V_INST:
                continue
            for it in tuple(self.class_attr(val[1], iter_name, True, val[1])):
                ival = self.vals[it]
                if ival[0] != V_BOUND:
                    continue
                if targets is None:
                    targets = self.targets.setdefault(c, set())
                targets.add(ival[1])
                receiver = self.intern((V_INST, ival[2]))
                for r in tuple(self.returns(ival[1], None, receiver)):
                    rval = self.vals[r]
                    if rval[0] == V_INST:
                        for nx in tuple(self.class_attr(rval[1], next_name, True, rval[1])):
                            nval = self.vals[nx]
                            if nval[0] == V_BOUND:
                                targets.add(nval[1])
                                next_receiver = self.intern((V_INST, nval[2]))
                                out |= self.returns(nval[1], None, next_receiver)
                    else:
                        out |= self.elements(frozenset((r,)), False)
        if out:
            self.write((self.cur_name, site), out)

    def _deco(self, c: int, con: Constraint) -> None:
        values = self.ev(con[3])
        if not values:
            return
        targets = self.targets.get(c)
        if targets is None:
            targets = self.targets[c] = set()
        for v in tuple(values):
            target = self.node_id(v)
            if target is not None:
                targets.add(target)

    def _with(self, c: int, con: Constraint) -> None:
        _, site, _caller, _line, e, is_async = con
        values = self.ev(e)
        if not values:
            return
        enter, leave = ("__aenter__", "__aexit__") if is_async else ("__enter__", "__exit__")
        out: set[int] = set()
        for v in tuple(values):
            val = self.vals[v]
            if val[0] == V_GEN:
                # A @contextmanager-style generator: ``as`` receives what it yields.
                out |= self.read((val[1], "<yield>"))
            elif val[0] == V_INST:
                for name in (enter, leave):
                    for m in tuple(self.class_attr(val[1], name, True, val[1])):
                        mval = self.vals[m]
                        if mval[0] == V_BOUND:
                            self.targets.setdefault(c, set()).add(mval[1])
                            if name == enter:
                                receiver = self.intern((V_INST, mval[2]))
                                out |= self.returns(mval[1], None, receiver)
        if out:
            self.write((self.cur_name, site), out)

    # ------------------------------------------------------------------ results

    def node_id(self, v: int) -> str | None:
        """Node id a value stands for as the end of an edge (``None`` if it is not a node)."""
        val = self.vals[v]
        kind = val[0]
        if kind == V_DEF:
            return str(val[1])
        if kind == V_BOUND:
            return str(val[1])
        if kind == V_EXT:
            path = str(val[1])
            self.externals.setdefault(path, path.rpartition(".")[2])
            return path
        if kind == V_BUILTIN:
            node_id = BUILTIN_PREFIX + str(val[1])
            self.externals.setdefault(node_id, str(val[1]).rpartition(".")[2])
            return node_id
        return None

    def file_dependencies(self) -> dict[str, set[str]]:
        names = self.index.file_names
        out: dict[str, set[str]] = {name: set() for name in names}
        for key, (_values, readers, _writers) in self.vars.items():
            if readers is None:
                continue
            owner = self._owner_file(key)
            if owner is None:
                continue
            owner_name = names[owner]
            for c in _members(readers):
                if c < 0:
                    continue
                reader = names[self.cfile[c]]
                if reader != owner_name:
                    out[reader].add(owner_name)
        return out

    def _owner_file(self, key: Any) -> int | None:
        head = key[0]
        while type(head) is tuple:
            head = head[0]
        if not isinstance(head, str):
            return None
        hit = self.index.def_file.get(head)
        if hit is not None:
            return hit
        # Scopes of comprehensions and files (call results) are not definitions.
        if head in self.index.scopes:
            base = head
            while base and base not in self.index.def_file:
                base = base.rpartition(".")[0]
            return self.index.def_file.get(base)
        return self.index.file_numbers.get(head)


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


def _star_setup(solver: _Solver, index: ProgramIndex) -> None:
    """Turn ``from m import *`` into one assignment per exported name (``__all__`` when it is a
    literal, else the public names), transitively."""
    for i, facts in enumerate(index.files):
        for dotted, _line in facts.star_imports:
            where, target = index.map_module(dotted, i)
            if where == "in" and index.is_module(target):
                solver.star_sources.setdefault(facts.module, []).append(target)
            elif where == "ext":
                solver.ext_star.setdefault(facts.module, []).append(target)
    if not solver.star_sources:
        return
    exported: dict[str, frozenset[str]] = {}
    for module, sources in solver.star_sources.items():
        file_no = index.modules[module]
        own = index.module_names.setdefault(module, set())
        static = set(own)
        synthesised: list[Constraint] = []
        for src in sources:
            for name in sorted(_exports(solver, index, exported, src, set())):
                if name in static:
                    continue  # a later local definition wins (flow-insensitive approximation)
                own.add(name)
                solver.star_names.setdefault(module, set()).add(name)
                synthesised.append((C_ASSIGN, (E_FROM, src, name), ((module, name),)))
        solver.star_cons[file_no] = solver.add(file_no, synthesised)


def _exports(
    solver: _Solver,
    index: ProgramIndex,
    exported: dict[str, frozenset[str]],
    module: str,
    visiting: set[str],
) -> frozenset[str]:
    """The names ``from module import *`` brings (memoised in ``exported``). A module-level
    function, not a closure: a recursive closure refers to itself through its cell, a cycle
    that would keep the solver alive until the cyclic garbage collector finds it."""
    hit = exported.get(module)
    if hit is not None:
        return hit
    facts = index.files[index.modules[module]]
    if facts.all_names is not None:
        names: set[str] = set(facts.all_names)
    else:
        names = {n for n in index.module_names.get(module, ()) if not n.startswith("_")}
        visiting.add(module)
        for src in solver.star_sources.get(module, ()):
            if src not in visiting:
                exports = _exports(solver, index, exported, src, visiting)
                names |= {n for n in exports if not n.startswith("_")}
        visiting.discard(module)
    result = frozenset(names)
    exported[module] = result
    return result


def star_modules(index: ProgramIndex) -> set[str]:
    """Modules taking part in ``from m import *`` (importers and in-tree sources): their
    names feed other modules' names, so an update touching them resolves the whole program."""
    out: set[str] = set()
    for i, facts in enumerate(index.files):
        if facts.missing or not facts.star_imports:
            continue
        out.add(facts.module)
        for dotted, _line in facts.star_imports:
            where, target = index.map_module(dotted, i)
            if where == "in":
                out.add(target)
    return out


def decorator_checks(facts: FileFacts) -> list[Constraint]:
    """The :data:`C_DECO` constraints of a file's decorators."""
    return [(C_DECO, def_id, line, e) for def_id, line, e in facts.decorators]


def resolve(index: ProgramIndex, on_file: Callable[[int, int], None] | None = None) -> Resolution:
    """Solve the whole program and return the links of every file. ``on_file(files_done,
    file_no)`` follows the first pass over the files (see :meth:`_Solver.run`)."""
    solver = _Solver(index)
    for i in _dependency_order(index):
        solver.load_file(i, index.files[i])
    _star_setup(solver, index)
    solver.run(on_file)
    links = [file_links(solver, i) for i in range(len(index.files))]
    return Resolution(links=links, externals=dict(solver.externals), solver=solver)


def file_links(solver: _Solver, file_no: int) -> FileLinks:
    """The links of one file from the solver's current state."""
    index = solver.index
    facts = index.files[file_no]
    link = FileLinks()
    if facts.missing:
        return link
    cons = solver.cons
    sites: dict[int, Expr] | None = None  # callee of each call site, once one is unresolved
    for c in solver.file_cons.get(file_no, ()):
        con = cons[c]
        if con is None:  # pragma: no cover - a file's list holds only live constraints
            continue
        tag = con[0]
        if tag == C_CALL:
            targets = solver.targets.get(c)
            if not con[7] & F_IMPLICIT:
                link.calls_total += 1
                if targets:
                    link.calls_resolved += 1
                else:
                    if sites is None:
                        sites = _call_sites(solver, file_no)
                    link.unresolved.append((con[2], con[3], callee_text(con[4], sites)))
            if targets:
                caller, line = con[2], con[3]
                link.calls.extend((caller, t, line) for t in sorted(targets))
        elif tag in (C_ITER, C_WITH):
            targets = solver.targets.get(c)
            if targets:
                link.calls.extend((con[2], t, con[3]) for t in sorted(targets))
        elif tag == C_BASES:
            cls = con[1]
            for i, (line, _e) in enumerate(con[2]):
                for v in sorted(solver.peek((cls, "<base>", i))):
                    target = solver.node_id(v)
                    if target is not None and target != cls and _is_class_like(solver, v):
                        link.inherits.append((cls, target, line))
        elif tag == C_DECO:
            targets = solver.targets.get(c)
            if targets:
                link.decorates.extend((t, con[1], con[2]) for t in sorted(targets))
    _import_links(index, file_no, facts, link, solver.externals)
    return link


def _call_sites(solver: _Solver, file_no: int) -> dict[int, Expr]:
    """The callee expression of each call site of a file."""
    out: dict[int, Expr] = {}
    for c in solver.file_cons.get(file_no, ()):
        con = solver.cons[c]
        if con is not None and con[0] == C_CALL:
            out[con[1]] = con[4]
    return out


#: Longest callee text kept for an unresolved call.
_CALLEE_TEXT_MAX = 80


def callee_text(e: Expr | None, sites: dict[int, Expr], depth: int = 0) -> str:
    """A short rendering of a callee expression as the source wrote it, for reporting a call
    left unresolved: ``obj.process``, ``data['key'].process``, ``getattr(...)`` (the callee of
    a call's result: ``sites`` maps the file's call sites to their callees), ``...`` for what
    has no short form."""
    text = _callee_text(e, sites, depth)
    return text if len(text) <= _CALLEE_TEXT_MAX else "..." + text[-(_CALLEE_TEXT_MAX - 3) :]


def _callee_text(e: Expr | None, sites: dict[int, Expr], depth: int) -> str:
    if e is None or depth > 8:
        return "..."
    tag = e[0]
    if tag == E_VAR and len(e) == 2:
        key = e[1]
        if type(key[1]) is str:
            return str(key[1])  # (scope, name) or (scope, name, version)
        inner = sites.get(key[1]) if type(key[1]) is int else None  # (file, site): a result
        return f"{_callee_text(inner, sites, depth + 1)}(...)" if inner is not None else "..."
    if tag == E_ATTR:
        return f"{_callee_text(e[1], sites, depth + 1)}.{e[2]}"
    if tag in (E_NAME, E_GLOBAL, E_FROM):
        return str(e[2])
    if tag == E_DEF:
        return str(e[1]).rpartition(".")[2]
    if tag == E_MOD:
        return str(e[1])
    if tag == E_SUB:
        slot = e[2]
        return f"{_callee_text(e[1], sites, depth + 1)}[{'...' if slot is None else repr(slot)}]"
    return "..."


def _dependency_order(index: ProgramIndex) -> list[int]:
    """File numbers with imported modules before their importers (depth-first post-order over
    the import graph, cycles broken arbitrarily but deterministically). Solving in this order
    means most constraints see their inputs on the first evaluation: fewer re-runs."""
    order: list[int] = []
    state = [0] * len(index.files)  # 0 new, 1 in progress, 2 done
    for start in range(len(index.files)):
        if state[start]:
            continue
        stack: list[tuple[int, list[int]]] = [(start, _imported_files(index, start))]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            if pending:
                nxt = pending.pop()
                if not state[nxt]:
                    state[nxt] = 1
                    stack.append((nxt, _imported_files(index, nxt)))
                continue
            stack.pop()
            state[node] = 2
            order.append(node)
    return order


def _imported_files(index: ProgramIndex, file_no: int) -> list[int]:
    out: list[int] = []
    facts = index.files[file_no]
    for imp in facts.imports:
        where, target = index.map_module(imp.module, file_no)
        if where != "in":
            continue
        candidates = [target]
        if imp.names:
            candidates.extend(f"{target}.{name}" for name in imp.names)
        for cand in candidates:
            hit = index.modules.get(cand)
            if hit is not None and hit != file_no:
                out.append(hit)
    out.reverse()  # popped from the end: visit in source order
    return out


def _is_class_like(solver: _Solver, v: int) -> bool:
    val = solver.vals[v]
    if val[0] == V_DEF:
        return solver.kinds.get(val[1]) == K_CLASS
    return val[0] in (V_EXT, V_BUILTIN)


def _import_links(
    index: ProgramIndex,
    file_no: int,
    facts: FileFacts,
    link: FileLinks,
    externals: dict[str, str],
) -> None:
    source = facts.module
    seen: set[tuple[str, int]] = set()
    for imp in facts.imports:
        where, target = index.map_module(imp.module, file_no)
        found: list[str] = []
        if where == "ext":
            found.append(target)
            externals.setdefault(target, target.rpartition(".")[2])
        elif target in index.kinds and (index.is_module(target) or target in index.namespaces):
            if imp.names is None:
                found.append(target)
            else:
                for name in imp.names:
                    sub = f"{target}.{name}"
                    if index.is_module(sub):
                        found.append(sub)
                    else:
                        found.append(target)
        else:
            link.diagnostics.append(
                DiagFact(
                    facts.file,
                    imp.line,
                    0,
                    "warning",
                    "unresolved-import",
                    f"module {imp.module!r} is not in the analysed tree",
                )
            )
            continue
        for t in found:
            if (t, imp.line) in seen or t == source:
                continue
            seen.add((t, imp.line))
            link.imports.append((source, t, imp.line))
