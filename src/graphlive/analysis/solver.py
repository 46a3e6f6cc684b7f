"""The worklist solver: running constraints to a fixpoint, retracting what removed constraints
derived, binding calls, and node ids of values.
"""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Callable, Iterable

from graphlive.analysis.facts import (
    C_ASSIGN,
    C_BASES,
    C_CALL,
    C_ITER,
    C_WITH,
    E_STAR,
    F_DISCARD,
    F_GENERATOR,
    F_RAISE,
    K_CLASS,
    T_ATTR,
    T_NAME,
    T_SUB,
    Constraint,
    DefFact,
    Expr,
    FileFacts,
)
from graphlive.analysis.native import mypyc_attr
from graphlive.analysis.solver_classes import _Classes
from graphlive.analysis.solver_values import (
    _BUILTIN_RESULTS,
    _CONTAINER_BUILTINS,
    _EMPTY,
    _EXTERNAL_DICTS,
    _FUNCTION_KINDS,
    _KEYED,
    _MANY,
    _MAPPERS,
    _NO_MARK,
    _PENDING,
    BUILTIN_PREFIX,
    C_DECO,
    MAX_VALUES,
    V_BINST,
    V_BOUND,
    V_BUILTIN,
    V_CMETH,
    V_CONT,
    V_DEF,
    V_EXT,
    V_GEN,
    V_INST,
    V_XINST,
    CMethValue,
    Value,
    ValueId,
    ValueSet,
    Variable,
    VarKey,
    _Args,
    _Binder,
    _members,
    _Read,
    decorator_checks,
)
from graphlive.analysis.stdlib_classes import is_stdlib_class


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class _Solver(_Classes):
    """The worklist solver (:mod:`graphlive.analysis.resolve` describes the analysis): the state
    of :class:`~graphlive.analysis.solver_state._SolverState`, evaluation and class lookups from
    the classes in between, and here running constraints, retracting them and binding calls."""

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
                if con is _PENDING:  # a restored solver's file not loaded yet
                    self.load_shard(cfile[c])
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
        cleared: dict[VarKey, Variable | None] = {}
        stack = [c for c in seeds if c >= 0]
        push = stack.append
        while stack:
            c = stack.pop()
            if c < 0 or c in suspect:
                continue
            suspect.add(c)
            if self.shards is not None:
                self._load_constraint(c)
            written = cwrites[c]
            if written is not None:
                for key in written[1:] if written[0] is _MANY else (written,):
                    if key in cleared:
                        var = cleared[key]
                    else:
                        var = vars_get(key)
                        if var is None and self.shards is not None:
                            var = self._fault(key)
                        cleared[key] = var
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
                if self.shards is not None and writers >= 0:
                    self._load_constraint(writers)
                bound.pop(writers, None)
            elif writers:
                requeue |= writers
                for w in writers:
                    if self.shards is not None and w >= 0:
                        self._load_constraint(w)
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
                ref = self.resolve_name(target[1], target[2])
                self.write(ref[1] if ref[0] == "k" else (ref[1], target[2]), values)

    def _store_attr(self, b: ValueId, name: str, values: ValueSet) -> None:
        val = self.vals[b]
        cls: str | None = None
        if val[0] == V_INST:
            cls = val[1]
        elif val[0] == V_DEF:
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
        self, func: str, binder: _Binder | None = None, first: ValueId | None = None
    ) -> ValueSet:
        """What calling ``func`` yields; parameters it returns unchanged give back this call's
        own argument (``binder``'s, or ``first`` for the receiver) when known."""
        d = self.index.def_of(func)
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
        first: ValueId,
        read: list[_Read],
    ) -> ValueSet:
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
            params = self.index.params_of(func)
            if params is not None and params.positional and params.positional[0] == param:
                merged |= frozenset((first,))
            else:
                merged |= self._read_logged((func, param), read)
        return merged

    def _read_logged(self, key: VarKey, read: list[_Read]) -> ValueSet:
        values = self.read(key)
        read.append((self.vars[key], values, len(values)))
        return values

    def _argument(
        self, func: str, param: str, binder: _Binder | None, first: ValueId | None
    ) -> ValueSet:
        """The values one call passes for ``param`` (every caller's, when not determinable)."""
        params = self.index.params_of(func)
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
        first: ValueId | None,
        argv: _Args,
    ) -> None:
        params = self.index.params_of(func)
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
        if flags & F_RAISE:
            self._raise(c, fvals, targets)
            return
        # Arguments are evaluated only for callees that use them, so that a call of an external
        # function is not re-run every time one of its arguments learns a value.
        binder: _Binder | None = None
        out: set[int] = set()
        result_key = (self.cur_name, site)
        for v in tuple(fvals):
            val = self.vals[v]
            if val[0] == V_DEF or val[0] == V_BOUND or val[0] == V_INST:
                binder = self._call_callable(c, val, binder, args, kwargs, targets, out)
            elif val[0] == V_EXT:
                path = val[1]
                targets.add(path)
                self.externals.setdefault(path, path.rpartition(".")[2])
                if path == "functools.partial" and args and args[0] is not None:
                    # Calling the partial object calls the wrapped function.
                    first_arg = args[0]
                    if first_arg[0] != E_STAR:
                        out |= self.ev(first_arg)
                elif path == "functools.reduce" and len(args) >= 2:
                    if binder is None:
                        binder = self._binder(c, args, kwargs)
                    self._reduce(c, binder.argv, targets)
                elif path in _EXTERNAL_DICTS:
                    if binder is None:
                        binder = self._binder(c, args, kwargs)
                    self._external_dict(path, binder.argv, out, result_key)
                elif is_stdlib_class(path):
                    # An instance of a standard-library class: its methods are external nodes.
                    out.add(self.intern((V_XINST, path)))
            elif val[0] == V_BUILTIN:
                if binder is None:
                    binder = self._binder(c, args, kwargs)
                self._call_builtin(c, val[1], targets, binder.argv, out, result_key)
            elif val[0] == V_CMETH:
                if binder is None:
                    binder = self._binder(c, args, kwargs)
                self._call_container_method(c, val, targets, binder.argv, out)
        if out and not flags & F_DISCARD:
            self.write(result_key, out)

    def _call_callable(
        self,
        c: int,
        val: Value,
        binder: _Binder | None,
        args: tuple[Expr | None, ...],
        kwargs: tuple[tuple[str | None, Expr], ...],
        targets: set[str],
        out: set[int] | None,
    ) -> _Binder | None:
        """Call one function, class, bound method or instance (its ``__call__``): add the
        targets, bind the arguments, add what the call returns to ``out`` (``None``: the result
        is not used, and not read either). The binder is made
        from ``args`` and ``kwargs`` when first needed (an external callee never evaluates
        them); returns it for the next callee of the site."""
        if val[0] == V_DEF:
            ident = val[1]
            dk = self.kinds.get(ident)
            if dk in _FUNCTION_KINDS:
                targets.add(ident)
                if binder is None:
                    binder = self._binder(c, args, kwargs)
                binder.bind(ident, None)
                if out is not None:
                    out |= self.returns(ident, binder)
            elif dk == K_CLASS:
                if binder is None:
                    binder = self._binder(c, args, kwargs)
                self._instantiate(ident, targets, binder, out if out is not None else set())
        elif val[0] == V_BOUND:
            targets.add(val[1])
            first = self.intern((V_DEF, val[2]) if val[3] else (V_INST, val[2]))
            if binder is None:
                binder = self._binder(c, args, kwargs)
            binder.bind(val[1], first)
            if out is not None:
                out |= self.returns(val[1], binder, first)
        elif val[0] == V_INST:
            for m in tuple(self.class_attr(val[1], "__call__", True, val[1])):
                mval = self.vals[m]
                if mval[0] == V_BOUND:
                    targets.add(mval[1])
                    if binder is None:
                        binder = self._binder(c, args, kwargs)
                    receiver = self.intern((V_INST, mval[2]))
                    binder.bind(mval[1], receiver)
                    if out is not None:
                        out |= self.returns(mval[1], binder, receiver)
        return binder

    def _binder(
        self, c: int, args: tuple[Expr | None, ...], kwargs: tuple[tuple[str | None, Expr], ...]
    ) -> _Binder:
        ev = self.ev
        pos: list[tuple[bool, ValueSet]] = []
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
        kws: list[tuple[str | None, ValueSet]] = []
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
        plan = self.plans[cls]["__init__"].plan
        if plan[1] is None:
            # No __init__ in the analysed classes of the MRO: the constructor is object's (or an
            # external/builtin base's), so the edge goes to the class itself. Decided from the
            # MRO, not from the values found so far, which may still be growing.
            targets.add(cls)
            beyond = plan[2]
            if beyond is not None:
                bval = self.vals[beyond]
                if bval[0] == V_EXT:
                    # An external base's __init__ runs (``ext.Base.__init__``).
                    targets.add(bval[1])
                    self.externals.setdefault(bval[1], "__init__")
        out.add(instance)

    def _raise(self, c: int, fvals: ValueSet, targets: set[str]) -> None:
        """``raise X``: instantiate the classes among X's values (instances call nothing)."""
        binder: _Binder | None = None
        for v in tuple(fvals):
            val = self.vals[v]
            if val[0] == V_DEF and self.kinds.get(val[1]) == K_CLASS:
                if binder is None:
                    binder = _Binder(self, ([], []), c, None, None)
                self._instantiate(val[1], targets, binder, set())

    def _call_passed(self, c: int, fvals: ValueSet, argv: _Args, targets: set[str]) -> None:
        """Call the callables in ``fvals`` with ``argv``: functions passed to a higher-order
        builtin or helper (``map(f, xs)``, ``sorted(xs, key=f)``, ``reduce(f, xs)``). Their
        results are not followed."""
        binder = _Binder(self, argv, c, None, None)
        for v in tuple(fvals):
            val = self.vals[v]
            if val[0] == V_DEF or val[0] == V_BOUND or val[0] == V_INST:
                self._call_callable(c, val, binder, (), (), targets, None)
            elif val[0] == V_EXT:
                targets.add(val[1])
                self.externals.setdefault(val[1], val[1].rpartition(".")[2])
            elif val[0] == V_BUILTIN:
                node_id = BUILTIN_PREFIX + val[1]
                targets.add(node_id)
                self.externals.setdefault(node_id, val[1].rpartition(".")[2])

    def _call_key(self, c: int, argv: _Args, items: ValueSet, targets: set[str]) -> None:
        """A ``key=`` function is called with each item."""
        for kw, values in argv[1]:
            if kw == "key" and values:
                self._call_passed(c, values, ([(False, items)], []), targets)

    def _reduce(self, c: int, argv: _Args, targets: set[str]) -> None:
        """``functools.reduce(f, xs[, initial])`` calls ``f(accumulated, item)``."""
        pos = argv[0]
        if len(pos) < 2 or pos[0][0] or pos[1][0]:
            return
        items = self.elements(pos[1][1], False)
        first: ValueSet = items
        if len(pos) > 2 and not pos[2][0]:
            first = set(items) | set(pos[2][1])
        self._call_passed(c, pos[0][1], ([(False, first), (False, items)], []), targets)

    def _external_dict(
        self, path: str, argv: _Args, out: set[int], site_key: tuple[str, int]
    ) -> None:
        """``OrderedDict(...)``, ``defaultdict(...)``: a dict created at the site."""
        out.add(self.intern((V_CONT, site_key, "dict")))
        pos = argv[0]
        at = _EXTERNAL_DICTS[path]
        if len(pos) > at and not pos[at][0]:
            self.write((site_key, None), self.elements(pos[at][1], True))
        for kw, values in argv[1]:
            if kw is not None:
                self.write((site_key, kw), values)

    def _call_builtin(
        self,
        c: int,
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
        if name in _MAPPERS:
            # map(f, xs, ys) calls f(x, y); filter(f, xs) calls f(x).
            if len(pos) >= 2 and not any(star for star, _ in pos):
                iterables: list[tuple[bool, ValueSet]] = [
                    (False, self.elements(values, False)) for _, values in pos[1:]
                ]
                self._call_passed(c, pos[0][1], (iterables, []), targets)
        elif name in _KEYED and argv[1]:
            if len(pos) == 1 and not pos[0][0]:
                items: ValueSet = self.elements(pos[0][1], False)
            else:  # min(a, b, key=f): the arguments are the items
                items = set().union(*(values for star, values in pos if not star))
            self._call_key(c, argv, items, targets)
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
        if name == "type" and len(pos) == 1 and not pos[0][0]:
            # type(x): the class of x.
            out |= self.classes_of(pos[0][1])
            return
        obj = getattr(builtins, name, None)
        if isinstance(obj, type):
            out.add(self.intern((V_BINST, name)))
        else:
            result = _BUILTIN_RESULTS.get(name)
            if result is not None:
                out.add(self.intern((V_BINST, result)))

    def _call_container_method(
        self,
        c: int,
        val: CMethValue,
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
        elif method == "sort" and argv[1]:
            self._call_key(c, argv, self.all_slots(container), targets)
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

    def node_id(self, v: ValueId) -> str | None:
        """Node id a value stands for as the end of an edge (``None`` if it is not a node)."""
        val = self.vals[v]
        if val[0] == V_DEF:
            return str(val[1])
        if val[0] == V_BOUND:
            return str(val[1])
        if val[0] == V_EXT:
            path = str(val[1])
            self.externals.setdefault(path, path.rpartition(".")[2])
            return path
        if val[0] == V_BUILTIN:
            node_id = BUILTIN_PREFIX + str(val[1])
            self.externals.setdefault(node_id, str(val[1]).rpartition(".")[2])
            return node_id
        return None

    def file_dependencies(self) -> dict[str, set[str]]:
        self.load_all()
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

    def _owner_file(self, key: VarKey) -> int | None:
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
