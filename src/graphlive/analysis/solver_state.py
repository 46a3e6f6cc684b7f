"""The resolver's state: values, variables and the reads and writes recorded between them.

:class:`_SolverState` is the base of the solver (:class:`~graphlive.analysis.solver._Solver`):
it owns every attribute; the classes built on it add evaluation
(:mod:`~graphlive.analysis.solver_eval`), classes and lookups
(:mod:`~graphlive.analysis.solver_classes`), and constraints and retraction
(:mod:`~graphlive.analysis.solver`).
"""

from __future__ import annotations

import builtins
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from graphlive.analysis.native import mypyc_attr
from graphlive.analysis.solver_values import (
    _EMPTY,
    _MANY,
    _NO_MARK,
    _PENDING,
    _SLOTS,
    MAX_VALUES,
    V_DEF,
    ContainerKey,
    LookupKey,
    Members,
    NameRef,
    Slot,
    Value,
    ValueId,
    ValueSet,
    Variable,
    VarKey,
    _add_reader,
    _Container,
    _Lookup,
    _members,
)

if TYPE_CHECKING:
    from graphlive.analysis.resolve import ProgramIndex


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class _SolverState:
    """Besides values, the solver records for every variable the constraints that read it and
    those that wrote it, and for every constraint the variables it wrote: that is what
    :meth:`~graphlive.analysis.solver._Solver.retract` needs to take derived facts back (see
    :mod:`graphlive.analysis.resolve`)."""

    def __init__(self, index: ProgramIndex) -> None:
        self.index = index
        self.kinds = index.kinds
        #: variable key → [values, constraints that read it, constraints that wrote it]; one
        #: record so that a read or a write costs a single dict lookup. Values start out shared
        #: (``_EMPTY``), readers absent (``None``); writers are ``None``, one constraint number,
        #: or a set of them: most variables have a single writer, and a million small sets
        #: would cost hundreds of MB.
        self.vars: dict[VarKey, Variable] = {}
        #: Interned values by number, and the number of each (see :meth:`intern`).
        self.vals: list[Value] = []
        self.vid: dict[Value, int] = {}
        #: Values a restored solver looked for in :attr:`vals` while :attr:`vid` was partial.
        self.vid_scans = 0
        #: Constraints by number; ``None`` for a constraint of an older version of a file,
        #: :data:`_PENDING` for one whose file's saved part is not loaded (:attr:`shards`).
        #: Typed ``Any``: the compiled build checks the type of what is read from a typed list,
        #: and the sentinel is no constraint.
        self.cons: list[Any] = []
        self.cfile: list[int] = []
        #: Per constraint: the variables it wrote (each once): ``None`` before its first write,
        #: the key itself after one (most constraints write one variable), ``(_MANY, key, ...)``
        #: after more (tuples of strings are not tracked by the garbage collector, lists are);
        #: :data:`_PENDING` as in :attr:`cons` (hence ``Any``).
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
        self.watch_index: dict[str, list[VarKey]] | None = None
        self.targets: dict[int, set[str]] = {}
        self.externals: dict[str, str] = {}
        #: Container key → its slots, once it has one (see :class:`_Container`).
        self.slots: dict[ContainerKey, _Container] = {}
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
        self.lookup_users: dict[str, dict[LookupKey, Members]] = {}
        #: class → attribute → the class :meth:`attr_owner` found.
        self.owner_memo: dict[str, dict[str, str]] = {}
        #: scope → name → how the name resolves there (see :meth:`resolve_name`).
        self.name_memo: dict[str, dict[str, NameRef]] = {}
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
        self.plans: dict[str, dict[LookupKey, _Lookup]] = {}
        #: Incremented by every :meth:`retract`: what was memoised before is not trusted after
        #: (values were taken back, the index may have been patched).
        self.epoch = 0
        #: Per call site: argument-set sizes at the last binding and the targets bound then.
        self.bound: dict[int, tuple[tuple[int, ...], tuple[tuple[str, int | None], ...]]] = {}
        self.star_sources: dict[str, list[str]] = {}
        self.ext_star: dict[str, list[str]] = {}
        #: A restored solver's parts not loaded yet (:class:`~graphlive.analysis.shards.
        #: Shards`; ``None`` once every part is in). While there are some, a variable, a
        #: container or a constraint not found in the tables may be in one: the part that
        #: owns it is loaded first (:meth:`load_shard`).
        self.shards: Any = None

    # ------------------------------------------------------------------ saved parts

    def load_shard(self, number: int) -> None:
        """Merge the saved part of file ``number`` into the tables (nothing if it is loaded).

        Nothing in a pending part can be in the tables already: every miss loads the part
        that owns the key before anything is created under it."""
        shards = self.shards
        if shards is None:
            return
        part = shards.take(number)
        if part is None:
            return
        self.vars.update(part["vars"])
        self.slots.update(part["slots"])
        cons = self.cons
        cwrites = self.cwrites
        targets = self.targets
        bound = self.bound
        # A file's live constraints in number order are what file_cons holds for it, but for
        # those synthesised for its star imports (star_cons, in the core).
        stars = self.star_cons.get(number)
        cids: list[int] = []
        for c, con, written, hit, last in part["cons"]:
            if stars is None or c not in stars:
                cids.append(c)
            cons[c] = con
            cwrites[c] = written
            if hit is not None:
                targets[c] = hit
            if last is not None:
                bound[c] = last
        self.file_cons[number] = cids
        self.index.fill_file(number, part["facts"])
        users = self.lookup_users
        for cls, saved in part["users"].items():
            made = users.get(cls)
            if made is None:
                users[cls] = saved
                continue
            # Lookups made since the restore, by constraints of loaded parts: both count.
            for lookup, who in saved.items():
                made[lookup] = _joined(made.get(lookup), who)
        plans = self.plans
        for cls, entries in part["plans"].items():
            live = plans.get(cls)
            if live is None:
                live = plans[cls] = {}
            for lookup, entry in entries.items():
                # A lookup made since the restore is as good (the same program state).
                if lookup not in live:
                    self.relink(entry)
                    live[lookup] = entry
        if not shards.blobs:
            self.shards = None
            self.index.pending = None

    def relink(self, entry: _Lookup) -> None:
        raise NotImplementedError  # graphlive.analysis.solver_classes

    def load_all(self) -> None:
        """Load every part still pending (before a pass over a whole table)."""
        shards = self.shards
        while shards is not None and shards.blobs:
            self.load_shard(next(iter(shards.blobs)))
        self.shards = None
        self.index.pending = None

    def _load_part_of(self, key: VarKey) -> bool:
        """Load the pending part that owns ``key`` (a variable's, or ``(container,)``,
        ``(class,)``); whether there was one."""
        shards = self.shards
        if shards is None:
            return False
        number = shards.owner(key)
        if number is None or number not in shards.blobs:
            return False
        self.load_shard(number)
        return True

    def _fault(self, key: VarKey) -> Variable | None:
        """The record of variable ``key`` after loading the part that owns it, if pending."""
        return self.vars.get(key) if self._load_part_of(key) else None

    def _load_constraint(self, c: int) -> None:
        """Load the part holding constraint ``c`` if it is pending."""
        if self.cons[c] is _PENDING:
            self.load_shard(self.cfile[c])

    # ------------------------------------------------------------------ values

    def intern(self, value: Value) -> ValueId:
        """The number of ``value``, interned on first sight (values are compared by equality)."""
        vid = self.vid.get(value)
        if vid is None and len(self.vid) != len(self.vals):
            # A restored solver: the numbers are not saved (shards.py). A one-function update
            # interns a value or two: looked for in the list (at C speed) for the first few,
            # the map rebuilt after that.
            if self.vid_scans < _VID_SCANS:
                self.vid_scans += 1
                with contextlib.suppress(ValueError):  # (a new value)
                    vid = self.vid[value] = self.vals.index(value)
            else:
                self.vid = dict(zip(self.vals, range(len(self.vals)), strict=True))
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

    def read(self, key: VarKey) -> ValueSet:
        """Values of a variable; the running constraint is re-run when it grows."""
        var = self.vars.get(key)
        cur = self.cur
        if var is None and self.shards is not None:
            var = self._fault(key)
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
        values: ValueSet = var[0]
        return values

    def peek(self, key: VarKey) -> ValueSet:
        """Values of a variable without recording a dependency."""
        var = self.vars.get(key)
        if var is None and self.shards is not None:
            var = self._fault(key)
        if var is None:
            return _EMPTY
        values: ValueSet = var[0]
        return values

    def write(self, key: VarKey, values: ValueSet) -> None:
        if not values:
            return
        cur = self.cur
        var = self.vars.get(key)
        if var is None and self.shards is not None:
            var = self._fault(key)
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

    def _wrote(self, c: int, key: VarKey) -> None:
        if c < 0:
            return
        written = self.cwrites[c]
        if written is None:
            self.cwrites[c] = key
        elif written[0] is _MANY:
            self.cwrites[c] = (*written, key)
        else:
            self.cwrites[c] = (_MANY, written, key)

    def written(self, c: int) -> Sequence[VarKey]:
        """The variables constraint ``c`` wrote."""
        written = self.cwrites[c]
        if written is None:
            return ()
        return written[1:] if written[0] is _MANY else (written,)

    def readers(self, key: VarKey) -> Sequence[int]:
        """The constraints that read variable ``key`` (``-1`` for reads outside a constraint)."""
        var = self.vars.get(key)
        if var is None and self.shards is not None:
            var = self._fault(key)
        return _members(var[1]) if var is not None else ()

    def _wake(self, key: VarKey) -> None:
        var = self.vars.get(key)
        if var is None and self.shards is not None:
            var = self._fault(key)
        if var is not None and var[1] is not None:
            queued = self.queued
            work = self.work
            for c in _members(var[1]):
                if c >= 0 and not queued[c]:
                    queued[c] = 1
                    work.append(c)

    def _note_slot(self, key: tuple[ContainerKey, Slot], var: Variable) -> None:
        """A slot variable ``key`` of a container gained its first values (again)."""
        container, slot = key[0], key[1]
        box = self._container(container)
        if box is None:
            box = self.slots[container] = _Container()
        box.version += 1
        if slot in box.records:
            return
        box.slots.add(slot)
        box.records[slot] = var
        box.seen = None  # the readers of all slots must now read this one too
        self._wake((container, _SLOTS))

    def _container(self, container: ContainerKey) -> _Container | None:
        box = self.slots.get(container)
        if box is None and self.shards is not None and self._load_part_of((container,)):
            box = self.slots.get(container)
        return box

    def all_slots(self, container: ContainerKey) -> ValueSet:
        """The values of every slot of a container (the running constraint reads them all,
        and the container's slot list, to be woken when a slot grows or appears)."""
        box = self._container(container)
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


#: How many values a restored solver looks for in its list before it rebuilds the map.
_VID_SCANS = 4


def _joined(live: Members, saved: Members) -> Members:
    """The constraints of two records of the same lookup (one made since a restore, one
    saved): every one of either."""
    if live is None:
        return saved
    if saved is None:
        return live
    if type(live) is int and type(saved) is int:
        return live if live == saved else {live, saved}
    return set(_members(live)) | set(_members(saved))
