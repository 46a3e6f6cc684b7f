"""Cross-file resolution: the whole program's facts → call, import, inheritance and decorator links.

The resolver is a flow-insensitive, context-insensitive points-to analysis (Andersen style) over
the constraints extraction recorded (:mod:`graphlive.analysis.facts`), solved with a worklist:

* every variable holds a set of abstract *values* — definitions (functions, classes, modules),
  instances of classes, bound methods, external names (``os.path.join``), builtins, containers
  created at a site, generators, ``super()`` proxies: tagged tuples, typed per kind in
  :mod:`~graphlive.analysis.solver_values` (:data:`~graphlive.analysis.solver_values.Value`;
  a variable's record is a :data:`~graphlive.analysis.solver_values.Variable`);
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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphlive.analysis.facts import (
    C_ASSIGN,
    C_BASES,
    C_CALL,
    C_ITER,
    C_WITH,
    E_ATTR,
    E_DEF,
    E_FROM,
    E_GLOBAL,
    E_MOD,
    E_NAME,
    E_SUB,
    E_VAR,
    F_IMPLICIT,
    K_CLASS,
    K_MODULE,
    K_PACKAGE,
    Constraint,
    DefFact,
    DiagFact,
    Expr,
    FileFacts,
    Params,
    ScopeFact,
)
from graphlive.analysis.native import mypyc_attr

__all__ = [
    "BUILTIN_PREFIX",
    "MAX_VALUES",
    "PENDING_FACTS",
    "FileLinks",
    "ProgramIndex",
    "Resolution",
    "resolve",
]

from graphlive.analysis.solver import _Solver
from graphlive.analysis.solver_values import (
    _MODULE_KINDS,
    BUILTIN_PREFIX,
    C_DECO,
    MAX_VALUES,
    V_BUILTIN,
    V_DEF,
    V_EXT,
    ValueId,
)

_T = TypeVar("_T")

#: The :attr:`ProgramIndex.files` entry of a file whose saved part is not loaded yet.
PENDING_FACTS = FileFacts(file="", module="", is_package=False, missing=True)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
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
        #: For an index restored in parts (:mod:`graphlive.analysis.shards`): loads the part of
        #: a file number, whose :attr:`files` entry is :data:`PENDING_FACTS` until then (and
        #: whose definitions, parameters and scopes are missing from the tables). ``None`` once
        #: every part is loaded. Read those through :meth:`def_of`, :meth:`params_of`,
        #: :meth:`scope_of` and :meth:`facts_of`.
        self.pending: Any = None
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
            # Another file's scope with one of these ids: only a part owning an id within
            # this module can hold one (above it the ids are other modules' definitions, whose
            # scopes are never inside this module unless they define its id: a clash already).
            if clash or any(
                self._entry(self.scopes, sid, within=facts.module) is not None
                for sid in facts.scopes
            ):
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

    # ------------------------------------------------------------------ restored in parts

    def fill_file(self, number: int, facts: FileFacts) -> None:
        """A restored file's part came in: its facts, and its definitions, parameters and
        scopes in the tables (those it owns: :attr:`def_file` decided them when all files
        were indexed)."""
        self.files[number] = facts
        if facts.missing:
            return
        owners = self.def_file
        for d in facts.defs:
            if owners.get(d.id) == number:
                self.defs[d.id] = d
                if d.params is not None:
                    self.params[d.id] = d.params
        for sid, scope in facts.scopes.items():
            self.scopes.setdefault(sid, scope)

    def _load_owner(self, ident: str, within: str = "") -> bool:
        """Load the part of the file defining ``ident`` or, for a scope that is no definition
        (a comprehension), the nearest enclosing one (with ``within``: one that is ``within``
        or inside it); whether a part was loaded."""
        owners = self.def_file
        inner = within + "."
        while ident and (not within or ident == within or ident.startswith(inner)):
            number = owners.get(ident)
            if number is not None:
                if self.files[number] is PENDING_FACTS:
                    self.pending(number)
                    return True
                return False
            ident = ident.rpartition(".")[0]
        return False

    def _entry(self, table: dict[str, _T], ident: str, within: str = "") -> _T | None:
        """``table[ident]`` (one of the tables filled by :meth:`fill_file`), after loading the
        part of the file that would define it if that part is pending (:meth:`_load_owner`)."""
        found = table.get(ident)
        if found is None and self.pending is not None and self._load_owner(ident, within):
            found = table.get(ident)
        return found

    def def_of(self, ident: str) -> DefFact | None:
        return self._entry(self.defs, ident)

    def params_of(self, ident: str) -> Params | None:
        return self._entry(self.params, ident)

    def scope_of(self, sid: str) -> ScopeFact | None:
        return self._entry(self.scopes, sid)

    def facts_of(self, number: int) -> FileFacts:
        facts = self.files[number]
        if facts is PENDING_FACTS and self.pending is not None:
            self.pending(number)
            facts = self.files[number]
        return facts

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


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
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


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
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
    facts = index.facts_of(file_no)  # (a restored program: loads the file's part)
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


def _is_class_like(solver: _Solver, v: ValueId) -> bool:
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
