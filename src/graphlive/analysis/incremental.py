"""Incremental resolution: keep the solved program and re-solve only what an edit affects.

A :class:`Program` holds the resolver's index and solver state after a full solve
(:meth:`Program.solve`) and applies changed files to it (:meth:`Program.update`):

1. **Diff the facts.** For each changed file the new constraints are matched against the old
   ones (equal tuples are the same constraint and keep their number); unmatched old ones are
   *removed*, unmatched new ones *added*. Changes to what the solver looks up outside
   variables — the *static* facts — are found by comparing old and new facts:

   * a module added or removed: readers of the pseudo-variables ``("<mod>", id)`` (every import
     lookup registers on the names it may resolve to) and of ``(package, name)``;
   * a module-level name added or removed: readers of ``(module, name)`` (builtin fallbacks
     register as readers too);
   * a class whose own names or ``self.x`` attributes changed: the constraints whose lookups
     through it or a subclass now find something else (``lookup_users``); all of them when it
     appeared, vanished or its number of bases changed;
   * a definition whose kind, flags, parameters, parent, ``self`` attributes or returned
     parameters changed: the file's constraints that mention it (``E_DEF``), from which all
     its values flow;
   * scopes whose local names changed: the file's constraints that look names up by scope.

2. **Retract** (:meth:`~graphlive.analysis.solver._Solver.retract`) the removed constraints and
   the ones whose static inputs changed, with everything derived from them; patch the index;
   add the new constraints; run the work list to the fixpoint again.

3. **Relink** the files whose constraints were evaluated (their targets or base classes may have
   changed) plus the changed files and the importers of added/removed modules.

The result equals a full solve of the new program (the property tests check this on random edit
sequences) with one exception: a variable holding :data:`~graphlive.analysis.resolve.MAX_VALUES`
values keeps the first ones that reached it, which depends on the order of evaluation — in a full
solve as in an update (adding a file changes a full solve's order too). So with saturated
variables, their values (and what flows from them) after an update may differ from a fresh
solve's choice. Solving everything again would not make updates exact either (the next fresh
solve's order differs again), and it would cost seconds per edit on large trees, where
saturation is common (4% of the variables of the whole stdlib): updates stay incremental, and
:attr:`UpdateStats.saturated` says when one touched such a variable.

:meth:`Program.update` returns ``None`` — the caller must then solve from scratch — when the
change is one it does not handle incrementally: a file taking part in ``from m import *`` whose
module-level names, ``__all__`` or star imports change (they feed other modules' names), or an id
defined by two files at once.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphlive.analysis.blobs import Blob
from graphlive.analysis.facts import (
    C_BASES,
    C_CALL,
    C_ITER,
    C_WITH,
    E_DEF,
    E_NAME,
    K_CLASS,
    K_LAMBDA,
    K_METHOD,
    K_MODULE,
    T_NAME,
    Constraint,
    DefFact,
    FileFacts,
)
from graphlive.analysis.resolve import (
    FileLinks,
    IndexConflict,
    ProgramIndex,
    Resolution,
    file_links,
    star_modules,
)
from graphlive.analysis.shards import attach, cut
from graphlive.analysis.solver_values import C_DECO, decorator_checks

__all__ = ["FileChange", "Program", "UpdateStats"]


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file's new facts (``None`` when it is gone) and the namespace directory it lives in
    (its script directory for imports, ``None`` inside a package)."""

    facts: FileFacts | None
    script_dir: str | None = None


@dataclass(slots=True)
class UpdateStats:
    """What an incremental update did: files whose links were recomputed, constraints evaluated
    and the files they belong to, constraints retracted."""

    relinked: set[str] = field(default_factory=set)
    evaluated: int = 0
    files_solved: set[str] = field(default_factory=set)
    retracted: int = 0
    #: Whether the update cleared or filled a variable at the value cap (see the module
    #: docstring: the values it keeps then depend on evaluation order).
    saturated: bool = False


def _def_signature(d: DefFact) -> tuple[Any, ...]:
    """The parts of a definition the solver uses (not its location or docstring)."""
    return (d.kind, d.parent, d.flags, d.params, d.self_attrs, d.returns_params)


def _class_shape(facts: FileFacts) -> dict[str, tuple[Any, ...]]:
    """Per class: its own names, ``self.x`` attributes and number of bases."""
    bases: dict[str, int] = {}
    for con in facts.constraints:
        if con[0] == C_BASES:
            bases[con[1]] = max(bases.get(con[1], 0), len(con[2]))
    out: dict[str, tuple[Any, ...]] = {}
    for d in facts.defs:
        if d.kind == K_CLASS:
            scope = facts.scopes.get(d.id)
            out[d.id] = (
                scope.locals if scope is not None else frozenset(),
                facts.instance_attrs.get(d.id, frozenset()),
                bases.get(d.id, 0),
            )
    return out


def _module_names(facts: FileFacts | None) -> frozenset[str]:
    if facts is None:
        return frozenset()
    scope = facts.scopes.get(facts.module)
    return scope.locals if scope is not None and scope.kind == K_MODULE else frozenset()


def _mentions(node: Any, defs: set[str], names: set[str] | None) -> bool:
    """Whether a constraint or expression refers to one of ``defs`` (``E_DEF``) or looks one
    of ``names`` up by scope (``E_NAME``/``T_NAME``; ``names=None`` means any name)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if type(item) is not tuple or not item:
            continue
        head = item[0]
        if type(head) is int and len(item) >= 2 and type(item[1]) is str:
            if head == E_DEF and len(item) == 2 and item[1] in defs:
                return True
            if head in (E_NAME, T_NAME) and len(item) == 3 and (names is None or item[2] in names):
                return True
        stack.extend(item)
    return False


def _may_mention(facts: FileFacts | None, defs: set[str], names: set[str] | None) -> bool:
    """Whether any constraint of ``facts`` (the kept ones are among them) may mention one of
    ``defs`` or look one of ``names`` up (:func:`_mentions`), from the references extraction
    recorded: a look through every constraint only when they meet."""
    if names is None:
        return True
    if facts is None:
        return bool(defs or names)
    return not defs.isdisjoint(facts.def_refs) or not names.isdisjoint(facts.name_refs)


def _without_lines(con: Constraint) -> Constraint:
    """A constraint with its source lines blanked (see :meth:`Program._moved`)."""
    tag = con[0]
    if tag in (C_CALL, C_ITER, C_WITH):
        return (*con[:3], None, *con[4:])
    if tag == C_BASES:
        return (tag, con[1], tuple((None, e) for _line, e in con[2]))
    if tag == C_DECO:
        return (*con[:2], None, *con[3:])
    return con


def _rebound_names(old: FileFacts | None, new: FileFacts | None) -> set[str] | None:
    """Names whose scope-based lookup (``E_NAME``) may resolve differently now: those bound or
    unbound in a function scope (module names are looked up through variables, class scopes
    are skipped). ``None`` when a scope moved (any name may resolve differently)."""
    old_scopes = old.scopes if old is not None else {}
    new_scopes = new.scopes if new is not None else {}
    out: set[str] = set()
    for sid in old_scopes.keys() & new_scopes.keys():
        before, after = old_scopes[sid], new_scopes[sid]
        if before == after:
            continue
        if before.kind != after.kind or before.lookup_parent != after.lookup_parent:
            return None
        if before.kind not in (K_MODULE, K_CLASS):
            out |= before.locals ^ after.locals
    return out


def _import_keys(index: ProgramIndex, number: int, facts: FileFacts | None) -> set[str]:
    """Every module id a file's imports could resolve to or pass through (each imported name and
    its dotted prefixes, also below the file's import bases): a module added or removed under
    one of these ids may change where the imports lead."""
    out: set[str] = set()
    if facts is None or facts.missing:
        return out
    bases = ["", *index.import_bases(number)]
    for imp in facts.imports:
        targets = [imp.module]
        if imp.names:
            targets.extend(f"{imp.module}.{n}" for n in imp.names)
        for base in bases:
            for target in targets:
                prefix = base
                for part in target.split("."):
                    prefix = f"{prefix}.{part}" if prefix else part
                    out.add(prefix)
    return out


class Program:
    """The resolved program: index, solver state and links per file number."""

    def __init__(self, resolution: Resolution) -> None:
        solver = resolution.solver
        self.solver = solver
        self.index: ProgramIndex = solver.index
        #: Links per file number; a restored program holds each file's pickled (a Blob) until
        #: :meth:`links_of` reads it.
        self.links: list[FileLinks | Blob] = list(resolution.links)
        #: Why the last :meth:`update` returned ``None``: ``"star-import"``, ``"id-clash"`` or
        #: ``"module-id"``.
        self.fallback: str | None = None
        # Built by the first update (a full run that is never updated does not pay for them).
        #: Modules taking part in star imports (see :func:`star_modules`).
        self._star_modules: set[str] | None = None
        #: Module id → files with an import that may resolve to it or below it.
        self._importers: dict[str, set[int]] | None = None
        #: A restored program's saved :attr:`importers`, unpickled when first read (an update
        #: whose files import what they imported before never reads them).
        self._importers_saved: Blob | None = None

    @property
    def star_modules(self) -> set[str]:
        if self._star_modules is None:
            self._star_modules = star_modules(self.index)
        return self._star_modules

    @property
    def importers(self) -> dict[str, set[int]]:
        if self._importers is None and self._importers_saved is not None:
            saved, self._importers_saved = self._importers_saved, None
            self._importers = pickle.loads(saved.read())
        if self._importers is None:
            self._importers = {}
            for number, facts in enumerate(self.index.files):
                for key in _import_keys(self.index, number, facts):
                    self._importers.setdefault(key, set()).add(number)
        return self._importers

    # ------------------------------------------------------------------ saved in parts

    def __getstate__(self) -> dict[str, Any]:
        """Pickled in parts, one per file (:mod:`graphlive.analysis.shards`): a process
        continuing the analysis unpickles only the parts its updates reach."""
        return cut(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        attach(self, state)

    def load_all(self) -> None:
        """Load every part of a restored program still pending."""
        self.solver.load_all()

    def links_of(self, name: str) -> FileLinks:
        number = self.index.file_numbers.get(name)
        if number is None:
            return FileLinks()
        links = self.links[number]
        if isinstance(links, Blob):
            decoded: FileLinks = pickle.loads(links.read())
            self.links[number] = decoded
            return decoded
        return links

    def update(self, changes: Mapping[str, FileChange]) -> UpdateStats | None:
        """Apply changed files (by relative path) and re-solve what they affect.

        Returns what was done, or ``None`` when the change must be solved from scratch (see the
        module docstring; :attr:`fallback` says why); the program must not be used after
        ``None``.
        """
        index = self.index
        solver = self.solver
        if index.conflicts:
            self.fallback = "id-clash"
            return None
        if solver.shards is not None:
            # A restored program: the changed files' parts are compared and patched below.
            for name in changes:
                number = index.file_numbers.get(name)
                if number is not None:
                    solver.load_shard(number)
        plans: list[tuple[str, int | None, FileFacts | None, FileChange]] = []
        for name, change in sorted(changes.items()):
            number = index.file_numbers.get(name)
            old: FileFacts | None = index.files[number] if number is not None else None
            if old is not None and old.missing:
                old = None
            new = change.facts if change.facts is not None and not change.facts.missing else None
            if old is None and new is None:
                continue
            for facts in (old, new):
                stars = facts is not None and (
                    facts.star_imports or facts.module in self.star_modules
                )
                if stars and not self._star_stable(old, new):
                    self.fallback = "star-import"
                    return None
            if old is not None and new is not None and old.module != new.module:
                self.fallback = "module-id"
                return None
            plans.append((name, number, old, FileChange(new, change.script_dir)))
        if self._clashes(plans):
            self.fallback = "id-clash"
            return None
        saturated = solver.saturated

        seeds: list[int] = []
        removed: list[int] = []
        added: dict[str, list[Constraint]] = {}
        kept: dict[str, list[int]] = {}
        modules_changed: set[str] = set()
        #: class → its names that changed (``None``: kind, bases, added or removed)
        classes_changed: dict[str, set[str] | None] = {}
        methods_changed = False
        for name, number, old, change in plans:
            new = change.facts
            old_module = old.module if old is not None else None
            new_module = new.module if new is not None else None
            if old is None or new is None or old.is_package != new.is_package:
                modules_changed.add(str(new_module or old_module))
            # Module-level names whose lookups change.
            old_names, new_names = _module_names(old), _module_names(new)
            for module, names in (
                (old_module, old_names - new_names),
                (new_module, new_names - old_names),
            ):
                for n in names:
                    seeds.extend(self._readers((module, n)))
            # Classes and definitions.
            old_shapes = _class_shape(old) if old is not None else {}
            new_shapes = _class_shape(new) if new is not None else {}
            for cls in old_shapes.keys() | new_shapes.keys():
                before_shape, after_shape = old_shapes.get(cls), new_shapes.get(cls)
                if before_shape == after_shape:
                    continue
                if before_shape is None or after_shape is None or before_shape[2] != after_shape[2]:
                    classes_changed[cls] = None
                    continue
                known = classes_changed.get(cls, set())
                if known is not None:
                    names = (before_shape[0] ^ after_shape[0]) | (before_shape[1] ^ after_shape[1])
                    classes_changed[cls] = known | names
            old_defs = {d.id: d for d in old.defs} if old is not None else {}
            new_defs = {d.id: d for d in new.defs} if new is not None else {}
            changed_defs: set[str] = set()
            for ident in old_defs.keys() | new_defs.keys():
                before, after = old_defs.get(ident), new_defs.get(ident)
                if (
                    before is not None
                    and after is not None
                    and _def_signature(before) == _def_signature(after)
                ):
                    continue
                changed_defs.add(ident)
                for d in (before, after):
                    if d is None:
                        continue
                    if d.kind in (K_METHOD, K_LAMBDA):
                        methods_changed = True
                    elif d.kind == K_CLASS:
                        classes_changed[ident] = None
            rebound = _rebound_names(old, new)
            # Constraints: equal tuples are the same constraint.
            previous = solver.file_cons.get(number, []) if number is not None else []
            by_tuple: dict[Constraint, list[int]] = {}
            for c in previous:
                by_tuple.setdefault(solver.cons[c], []).append(c)
            keep: list[int] = []
            unmatched: list[Constraint] = []
            if new is not None:
                for con in (*new.constraints, *decorator_checks(new)):
                    bucket = by_tuple.get(con)
                    if bucket:
                        keep.append(bucket.pop(0))
                    else:
                        unmatched.append(con)
            fresh = self._moved(by_tuple, unmatched, keep)
            for bucket in by_tuple.values():
                removed.extend(bucket)
            if _may_mention(new, changed_defs, rebound):
                for c in keep:
                    if _mentions(solver.cons[c], changed_defs, rebound):
                        seeds.append(c)
            kept[name] = keep
            added[name] = fresh
        for module in modules_changed:
            if any(index.facts_of(n).star_imports for n in self.importers.get(module, ())):
                # A star import now leads elsewhere: the names it brings change.
                self.fallback = "star-import"
                return None
            seeds.extend(solver.module_watchers(module))
            package, _, last = module.rpartition(".")
            if package:
                seeds.extend(self._readers((package, last)))
        seeds.extend(removed)
        old_keys = {
            name: _import_keys(index, number, old)
            for name, number, old, _change in plans
            if number is not None
        }
        for name, _number, old, _change in plans:
            if old is not None:
                index.clear_file(name)
        try:
            for _name, _number, _old, change in plans:
                if change.facts is not None:
                    index.set_file(change.facts, change.script_dir)
                    # Names ``from m import *`` brought in (unchanged: see _star_stable).
                    starred = solver.star_names.get(change.facts.module)
                    if starred:
                        index.module_names[change.facts.module] |= starred
        except IndexConflict:
            self.fallback = "id-clash"  # not foreseen by _clashes (scope ids)
            return None
        if modules_changed:
            index.refresh_roots()
        for _name, _number, old, change in plans:
            # Name lookups are resolved within a file's own scopes: forget the changed files'.
            for facts in (old, change.facts):
                for sid in facts.scopes if facts is not None else ():
                    solver.name_memo.pop(sid, None)
        # Class lookups are compared with what the new index answers.
        for cls, changed_names in sorted(classes_changed.items()):
            seeds.extend(solver.forget_class(cls, changed_names))
        if methods_changed:
            # Canonical receivers depend on the methods' ``self`` attributes; the memo is
            # cheap to rebuild.
            solver.canonical_memo.clear()
        # Retraction only follows recorded reads and writes: the index patch does not matter.
        suspect = solver.retract(seeds)
        solver.remove(removed)
        fresh_cids: list[int] = []
        touched: set[int] = set()
        for name, _number, _old, change in plans:
            number = index.file_numbers[name]
            touched.add(number)
            cids = solver.add(number, added[name])
            fresh_cids.extend(cids)
            solver.file_cons[number] = kept[name] + cids
            new_keys = _import_keys(index, number, change.facts)
            imported = old_keys.get(name, set())
            if imported != new_keys:  # (imports as they were: the table is not even read)
                importers = self.importers
                for key in imported - new_keys:
                    importers.get(key, set()).discard(number)
                for key in new_keys:
                    importers.setdefault(key, set()).add(number)
        solver.enqueue(fresh_cids)
        ran: set[int] = set()
        solver.ran = ran
        try:
            solver.resume()
        finally:
            solver.ran = None

        cfile = solver.cfile
        solved = {cfile[c] for c in ran}
        relink = solved | {cfile[c] for c in suspect} | touched
        for module in modules_changed:
            relink |= self.importers.get(module, set())
        while len(self.links) < len(index.files):
            self.links.append(FileLinks())
        for number in relink:
            self.links[number] = file_links(solver, number)
        file_names = index.file_names
        return UpdateStats(
            relinked={file_names[n] for n in relink},
            evaluated=len(ran),
            files_solved={file_names[n] for n in solved},
            retracted=len(suspect),
            saturated=solver.saturated != saturated,
        )

    def _moved(
        self, by_tuple: dict[Constraint, list[int]], unmatched: list[Constraint], keep: list[int]
    ) -> list[Constraint]:
        """Match constraints that only moved to other lines (an edit above them): the solver
        never reads a constraint's line, only :func:`file_links` does, so such a constraint keeps
        its number and what it derived, and takes its new tuple (the file is relinked anyway).
        Without this, a line added at the top of a module would retract every call below it and
        everything those calls derived, in other files too. Matched numbers go to ``keep`` and
        leave ``by_tuple``; returns the constraints still unmatched (to be added)."""
        if not unmatched:
            return unmatched
        cons = self.solver.cons
        by_shape: dict[Constraint, list[int]] = {}
        for bucket in by_tuple.values():
            for c in bucket:
                by_shape.setdefault(_without_lines(cons[c]), []).append(c)
        if not by_shape:
            return unmatched
        fresh: list[Constraint] = []
        for con in unmatched:
            moved = by_shape.get(_without_lines(con))
            if not moved:
                fresh.append(con)
                continue
            c = moved.pop(0)
            by_tuple[cons[c]].remove(c)
            cons[c] = con
            keep.append(c)
        return fresh

    def _star_stable(self, old: FileFacts | None, new: FileFacts | None) -> bool:
        """Whether a file taking part in ``from m import *`` changed nothing star imports depend
        on, so that the names it exports and the assignments its own star imports were turned
        into stay valid: the same star imports and ``__all__``, and no module-level name added
        or removed that it exports (without ``__all__``, its public names) or that shadows, or
        stopped shadowing, a name its star imports bring in."""
        if old is None or new is None or old.module != new.module:
            return False
        if [m for m, _line in old.star_imports] != [m for m, _line in new.star_imports]:
            return False
        if old.all_names != new.all_names:
            return False
        changed = _module_names(old) ^ _module_names(new)
        if not changed:
            return True
        module = new.module
        solver = self.solver
        sources = {src for srcs in solver.star_sources.values() for src in srcs}
        public = any(not n.startswith("_") for n in changed)
        if module in sources and new.all_names is None and public:
            return False
        if new.star_imports:
            brought = set(solver.star_names.get(module, ()))
            for src in solver.star_sources.get(module, ()):
                brought |= self.index.module_names.get(src, set())
                number = self.index.modules.get(src)
                if number is not None and self.index.facts_of(number).all_names:
                    brought.update(self.index.facts_of(number).all_names or ())
            if changed & brought:
                return False
        return True

    def _readers(self, key: Any) -> Iterable[int]:
        return self.solver.readers(key)

    def _clashes(self, plans: list[tuple[str, int | None, FileFacts | None, FileChange]]) -> bool:
        """Whether the new facts define an id that a file outside the change (or another new
        file) defines: the index would then depend on file order."""
        changing = {name for name, *_ in plans}
        owners = self.index.def_file
        names = self.index.file_names
        claimed: set[str] = set()
        for _name, _number, _old, change in plans:
            new = change.facts
            if new is None:
                continue
            for ident in (new.module, *(d.id for d in new.defs)):
                owner = owners.get(ident)
                if ident in claimed or (owner is not None and names[owner] not in changing):
                    return True
                claimed.add(ident)
        return False
