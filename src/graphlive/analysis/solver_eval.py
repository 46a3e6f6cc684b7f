"""Evaluation: expressions → values, name and module lookups, container elements."""

from __future__ import annotations

from typing import Any

from graphlive.analysis.facts import (
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
    E_SUB,
    E_SUPER,
    E_UNION,
    E_VAR,
    K_CLASS,
    K_MODULE,
    K_PACKAGE,
    Expr,
)
from graphlive.analysis.native import mypyc_attr
from graphlive.analysis.solver_state import _SolverState
from graphlive.analysis.solver_values import (
    _BUILTIN_NAMES,
    _EMPTY,
    _MAX_EXTERNAL_DEPTH,
    _MODULE_WATCH,
    _PAIR_CONTAINERS,
    _PURE_ATTR_KINDS,
    V_BINST,
    V_BUILTIN,
    V_CMETH,
    V_CONT,
    V_DEF,
    V_EXT,
    V_GEN,
    V_INST,
    V_PAIR,
    V_SUPER,
    V_XINST,
    LookupKey,
    NameRef,
    Slot,
    ValueId,
    ValueSet,
    VarKey,
    _add_reader,
    _Lookup,
)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class _Evaluation(_SolverState):
    """Evaluating expressions to values, names and module attributes, containers."""

    # Defined by the classes built on this one (the solver is one object).

    def super_value(self, cls: str, receivers: ValueSet) -> frozenset[int]:
        raise NotImplementedError

    def _use(self, cls: str, lookup: LookupKey) -> None:
        raise NotImplementedError

    def class_attr(
        self, cls: str, name: str, on_instance: bool, receiver: str, after: str | None = None
    ) -> ValueSet:
        raise NotImplementedError

    def instances(self, classes: ValueSet) -> set[int]:
        raise NotImplementedError

    # ------------------------------------------------------------------ evaluation

    def ev(self, e: Expr) -> ValueSet:
        """Values of an expression. The result may be a live variable set: never mutate it."""
        tag = e[0]
        if tag == E_VAR:
            if len(e) == 2:
                # read(), inlined: this is the hottest path of the solver.
                var = self.vars.get(e[1])
                cur = self.cur
                if var is None and self.shards is not None:
                    var = self._fault(e[1])
                if var is None:
                    self.vars[e[1]] = [_EMPTY, cur, None]
                    return _EMPTY
                _add_reader(var, cur)
                values: ValueSet = var[0]
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
            if len(e) > 3:
                return self._early_global(e[1], e[2])
            return self.global_lookup(e[1], e[2])
        if tag == E_NAME:
            ref = self.resolve_name(e[1], e[2])
            if ref[0] == "k":
                return self.read(ref[1])
            return self.global_lookup(ref[1], e[2])
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

    def _attr_many(self, base: ValueSet, name: str) -> set[int]:
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
            if val[0] == V_INST and name == "__class__":
                (memo_of[v],) = found  # the class itself: no lookup, no variable read
            elif val[0] == V_INST or (val[0] == V_DEF and self.kinds.get(val[1]) == K_CLASS):
                memo_of[v] = self.plans[val[1]][name]
            elif val[0] in _PURE_ATTR_KINDS:
                if found:
                    (memo_of[v],) = found
                else:
                    memo_of[v] = -1
        return out

    def resolve_name(self, scope: str, name: str) -> NameRef:
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
        result: NameRef | None = None
        while current is not None:
            sf = self.index.scope_of(current)
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
            # (through a typed local: assigned directly, mypy keeps ``result`` narrowed to None)
            fallback: NameRef = ("g", self.index.files[self.cur_file].module)
            result = fallback
        memo[name] = result
        return result

    def global_lookup(self, module: str, name: str) -> ValueSet:
        names = self.index.module_names.get(module)
        if names is not None and name in names:
            return self.read((module, name))
        if name in _BUILTIN_NAMES:
            # Registered as a reader all the same: if the module starts defining the name, the
            # lookup must be redone (see Program.update).
            self.read((module, name))
            return frozenset((self.intern((V_BUILTIN, name)),))
        return self._dynamic_module_attr(module, name)

    def _early_global(self, module: str, name: str) -> ValueSet:
        """A builtin's name (extraction marks only those) read at module level before the
        module binds it: the builtin, and what the module binds (in a loop the same read runs
        again after the binding)."""
        values = self.global_lookup(module, name)
        builtin = self.intern((V_BUILTIN, name))
        if builtin in values:
            return values
        return {builtin, *values}

    def _dynamic_module_attr(self, module: str, name: str) -> ValueSet:
        out = self.read((module, name))
        if not out:
            ext = self.ext_star.get(module)
            if ext is not None and len(ext) == 1:
                # The name can only come from the one external ``from m import *``.
                return frozenset((self.intern((V_EXT, f"{ext[0]}.{name}")),))
        return out

    def module_attr(self, module: str, name: str) -> ValueSet:
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
        self, index: dict[str, list[VarKey]], key: tuple[str, str | None, str, str | None]
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

    def module_value(self, dotted: str) -> ValueSet:
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
        values: ValueSet = self.def_value(head)
        for part in rest.split(".") if rest else ():
            nxt: set[int] = set()
            for v in tuple(values):
                nxt |= self.attr(v, part)
            values = nxt
        return values

    def from_value(self, dotted: str, name: str) -> ValueSet:
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

    def attr(self, v: ValueId, name: str) -> ValueSet:
        val = self.vals[v]
        # Tested on val[0] each time (no local for the tag): that is what narrows ``val`` to the
        # value type of the kind for the checker.
        if val[0] == V_INST:
            if name == "__class__":
                return frozenset((self.intern((V_DEF, val[1])),))
            return self.class_attr(val[1], name, True, val[1])
        if val[0] == V_DEF:
            ident = val[1]
            dk = self.kinds.get(ident)
            if dk in (K_MODULE, K_PACKAGE):
                return self.module_attr(ident, name)
            if dk == K_CLASS:
                return self.class_attr(ident, name, False, ident)
            return self.read((ident, name))
        if val[0] in (V_EXT, V_XINST):
            return self._ext_attr(val[1], name)
        if val[0] in (V_BUILTIN, V_BINST):
            # Only attributes of builtin types and their instances (``str.join``), not of
            # builtin functions or methods: those chains name nothing useful.
            if "." not in val[1] and self.builtin_has(val[1], name):
                return frozenset((self.intern((V_BUILTIN, f"{val[1]}.{name}")),))
            return _EMPTY
        if val[0] == V_CONT:
            if self.builtin_has(val[2], name):
                return frozenset((self.intern((V_CMETH, val[1], val[2], name)),))
            return _EMPTY
        if val[0] == V_SUPER:
            return self.class_attr(val[2], name, bool(val[3]), val[2], after=val[1])
        return _EMPTY

    def classes_of(self, values: ValueSet) -> set[int]:
        """The classes of instances among ``values`` (what ``type(x)`` gives)."""
        out: set[int] = set()
        for v in tuple(values):
            val = self.vals[v]
            if val[0] == V_INST:
                out.add(self.intern((V_DEF, val[1])))
            elif val[0] == V_XINST:
                out.add(self.intern((V_EXT, val[1])))
            elif val[0] == V_BINST:
                out.add(self.intern((V_BUILTIN, val[1])))
        return out

    def _ext_attr(self, path: str, name: str) -> frozenset[int]:
        """``path.name`` for an external value, unless that would grow a chain in a loop
        (``node = node.next`` must not produce ``x.next.next.next...``)."""
        if path.endswith("." + name) or path.count(".") >= _MAX_EXTERNAL_DEPTH:
            return _EMPTY
        return frozenset((self.intern((V_EXT, f"{path}.{name}")),))

    # ------------------------------------------------------------------ containers

    def elements(self, values: ValueSet, dict_values: bool) -> set[int]:
        """What iterating (or ``*``/``**``-unpacking) the values yields, without implicit calls."""
        out: set[int] = set()
        for v in tuple(values):
            val = self.vals[v]
            if val[0] == V_CONT:
                type_name = val[2]
                if type_name == "dict" and not dict_values:
                    continue  # iterating a dict yields its keys, which are not tracked
                if type_name in _PAIR_CONTAINERS:
                    out.add(self.intern((V_PAIR, val[1])))
                else:
                    out |= self.all_slots(val[1])
            elif val[0] == V_GEN:
                out |= self.read((val[1], "<yield>"))
            elif val[0] == V_PAIR:
                out |= self.all_slots(val[1])
        return out

    def subscript(self, values: ValueSet, slot: Slot) -> set[int]:
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
