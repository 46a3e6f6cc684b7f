"""Classes: C3 MROs over the analysed classes, attribute lookups and what each lookup bound."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from graphlive.analysis.facts import (
    F_CLASSMETHOD,
    F_PROPERTY,
    F_STATIC,
    K_CLASS,
    K_LAMBDA,
    K_METHOD,
    DefFact,
)
from graphlive.analysis.native import mypyc_attr
from graphlive.analysis.solver_eval import _Evaluation
from graphlive.analysis.solver_values import (
    _DEAD,
    _EMPTY,
    _EMPTY_NAMES,
    _MARKER_BASES,
    V_BINST,
    V_BOUND,
    V_BUILTIN,
    V_CONT,
    V_DEF,
    V_EXT,
    V_INST,
    V_SUPER,
    V_XINST,
    LookupKey,
    ValueId,
    ValueSet,
    Variable,
    VarKey,
    _add_reader,
    _Binder,
    _c3,
    _Lookup,
    _members,
    _Plan,
    _Read,
)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class _Classes(_Evaluation):
    """Classes: MROs, attribute lookups through them, their plans and what they bound."""

    # Defined by the classes built on this one (the solver is one object).

    def retract(self, seeds: Iterable[int]) -> set[int]:
        raise NotImplementedError

    def returns(
        self, func: str, binder: _Binder | None = None, first: int | None = None
    ) -> ValueSet:
        raise NotImplementedError

    def _getter_returns(
        self,
        d: DefFact,
        first: int,
        read: list[_Read],
    ) -> ValueSet:
        raise NotImplementedError

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

    def _value_order(self, v: ValueId) -> tuple[int, str]:
        val = self.vals[v]
        return (val[0], str(val[1]))

    def _use(self, cls: str, lookup: LookupKey) -> None:
        """Record that the running constraint made ``lookup`` on class ``cls``."""
        users = self.lookup_users.get(cls)
        if users is None:
            self.lookup_users[cls] = {lookup: self.cur}
            return
        known: Any = users.get(lookup)  # Members
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
        if self.shards is not None:
            self._load_classes(affected)
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
        plans: dict[LookupKey, _Lookup],
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
            d = self.index.def_of(method)
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
        if self.shards is not None:
            self._load_classes(affected)
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

    def _load_classes(self, classes: Iterable[str]) -> None:
        """Load the saved parts holding these classes' lookups (a restored solver): their
        answers before the change are what the change is compared with."""
        for cls in classes:
            if self.shards is None:
                return
            self._load_part_of((cls,))

    def relink(self, entry: _Lookup) -> None:
        """Point a lookup restored from a saved part at the live records of the variables it
        reads (the part's pickle held copies of other files' ones), and forget what it bound
        (memos holding records too, and of an older epoch anyway)."""
        entry.chain, entry.definer = self._plan_records(entry.plan, entry.name)
        entry.bound_inst = None
        entry.bound_cls = None

    def _record(self, key: VarKey) -> Variable:
        """The record of variable ``key``, created without a reader if there is none (as a new
        lookup creates the records it reads)."""
        var = self.vars.get(key)
        if var is None and self.shards is not None:
            var = self._fault(key)
        if var is None:
            var = self.vars[key] = [_EMPTY, None, None]
        return var

    def _defines(self, cls: str, name: str) -> bool:
        return name in self.index.class_names.get(cls, _EMPTY_NAMES) or name in (
            self.index.instance_attrs.get(cls, _EMPTY_NAMES)
        )

    def class_attr(
        self, cls: str, name: str, on_instance: bool, receiver: str, after: str | None = None
    ) -> ValueSet:
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

    def _register_lookup(
        self, cls: str, lookup: LookupKey, entry: _Lookup, cur: int
    ) -> set[int] | None:
        """Record constraint ``cur`` as a user of the lookup and a reader of its variables (as
        :meth:`_use` and :meth:`read` do); returns the values of the classes before the definer
        (assigned from outside: ``obj.x = ...`` where no class of the MRO defines x)."""
        users = self.lookup_users.get(cls)
        if users is None:
            self.lookup_users[cls] = {lookup: cur}
        else:
            known: Any = users.get(lookup)  # Members
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
        chain, definer = self._plan_records(plan, name)
        return _Lookup(cls, name, after, plan, chain, definer)

    def _plan_records(self, plan: _Plan, name: str) -> tuple[tuple[Variable, ...], Variable | None]:
        """The records a lookup of ``name`` with ``plan`` reads: the classes before the
        definer, then the definer's."""
        chain, definer, _terminal = plan
        records = tuple(self._record((owner, name)) for owner in chain)
        return records, self._record((definer, name)) if definer is not None else None

    def _bind_entry(
        self,
        entry: _Lookup,
        found: ValueSet,
        receiver: str | None,
        on_instance: bool,
    ) -> ValueSet:
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
                hit: ValueSet = memo[3]
                return hit
        log: list[str] = []
        read: list[_Read] = []
        bound = self._bind_all(found, entry.cls, on_instance, log, read)
        memo = (found, len(found), self.epoch, bound, tuple(log), tuple(read))
        if on_instance:
            entry.bound_inst = memo
        else:
            entry.bound_cls = memo
        return bound

    def _plan(self, cls: str, name: str, after: str | None) -> _Plan:
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
        found: ValueSet,
        receiver: str,
        on_instance: bool,
        log: list[str] | None,
        read: list[_Read] | None,
    ) -> ValueSet:
        """The values found, methods bound to ``receiver``. ``log`` (when given) receives the
        methods whose canonical receiver was looked up, ``read`` the variables read for
        properties (record, values, size)."""
        out: set[int] | None = None
        for v in tuple(found):
            val = self.vals[v]
            if val[0] != V_DEF:
                continue
            d = self.index.def_of(val[1])
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

    def super_value(self, cls: str, receivers: ValueSet) -> frozenset[int]:
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

    def instances(self, classes: ValueSet, _seen: set[int] | None = None) -> set[int]:
        """Instances of the classes among ``classes``, and of the classes held by containers
        among them (``except (A, B) as e``, ``isinstance(x, (A, B))``; a container holding
        itself is visited once)."""
        out: set[int] = set()
        for v in tuple(classes):
            val = self.vals[v]
            if val[0] == V_DEF and self.kinds.get(val[1]) == K_CLASS:
                out.add(self.intern((V_INST, val[1])))
            elif val[0] == V_BUILTIN and isinstance(getattr(builtins, val[1], None), type):
                out.add(self.intern((V_BINST, val[1])))
            elif val[0] == V_EXT:
                out.add(self.intern((V_XINST, val[1])))
            elif val[0] == V_CONT:
                seen = _seen if _seen is not None else set()
                if v not in seen:
                    seen.add(v)
                    out |= self.instances(self.all_slots(val[1]), seen)
        return out
