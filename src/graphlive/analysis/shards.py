"""A resolved program saved in parts, one per file, unpickled when an update first needs them.

A one-file edit reaches a handful of the solver's variables (5 to 50 of Django's 170,000 for a
function added or changed), yet unpickling the whole saved program costs a new process most of
a second there. So :class:`~graphlive.analysis.incremental.Program` pickles (:func:`cut`) as a
small *core* plus one *part* per file, each part pickled on its own into bytes, and a restored
program (:func:`attach`) unpickles a part when something in it is first needed:

* a file's part holds its facts (from which the index's definitions, parameters and scopes are
  filled again), its constraints with their records (variables written, call targets, last
  binding), and the variables and containers the file *owns*;
* the owner of a variable is a function of its key alone (:meth:`Shards.owner`), computed with
  the index's id → file map as it was when the parts were cut: the file named by the key's head
  (call results and containers are keyed by their file), else the file defining the head or
  its longest dotted prefix that is a definition. Keys with no owner (import watches) are in the
  core. Which file owns what only decides how much is loaded; that the same function cuts and
  finds is what makes it correct;
* the solver, the index and the analyzer look a missing variable, container, constraint,
  definition, scope or file's facts up in the pending parts before concluding it does not exist
  (``_SolverState.load_shard``, ``ProgramIndex.def_of`` and the like): a pending part's keys can
  never be created in the live tables, since the miss that would create one loads the part
  first;
* a class's attribute lookups (the solver's ``plans``: what each found, which a change of the
  class is compared with) are in the part of the file defining the class. They hold the
  records of the variables they read, some in other files: a loaded lookup is pointed at the
  live records (``_Classes.relink``, which may load those files' parts), and forgets what it
  bound. A lookup made since the restore is kept over the saved one (the same program state
  answers both). Before a class change drops the lookups of the class and of its subclasses,
  their parts are loaded (``_Classes._load_classes``); so are the records of which constraints
  made each lookup (``lookup_users``), read only then: entries made since the restore are
  merged with the saved ones when the part comes in. Memos (``attr_memo``, ``name_memo``,
  ``def_singletons``, the value numbers) are not saved: recomputed on first use.

Cutting a restored program loads its pending parts first. The core keeps what every update
reads (the index's id maps, values, constraint files, class hierarchy memos, lookup users), in
as few pickle opcodes as it can: a new process unpickles all of it before its first update, so
the constraint-file list travels as a packed array, the pending constraint lists are rebuilt
from a mask, each file's list of its constraints comes with its part (the part's constraints,
in order), and each file's links stay pickled until read
(:meth:`~graphlive.analysis.incremental.Program.links_of`).
"""

from __future__ import annotations

import copy
import pickle
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphlive.analysis.blobs import Blob, pickled
from graphlive.analysis.resolve import PENDING_FACTS
from graphlive.analysis.solver_values import _PENDING, VarKey, _Lookup

if TYPE_CHECKING:
    from graphlive.analysis.incremental import Program

__all__ = ["Shards", "attach", "cut"]


class Shards:
    """The pending parts of a restored program: pickled parts by file number, and the maps
    ownership was decided with."""

    __slots__ = ("blobs", "files", "owners")

    def __init__(self, blobs: dict[int, Blob], owners: dict[str, int], files: dict[str, int]):
        self.blobs = blobs
        #: Definition and module id → file number, when the parts were cut.
        self.owners = owners
        #: File name → file number, when the parts were cut.
        self.files = files

    def owner(self, key: VarKey) -> int | None:
        """The file whose part holds variable ``key`` (or container ``key[0]`` when called
        with ``(container,)``), ``None`` for the core."""
        head: Any = key[0] if key else None
        while type(head) is tuple:
            head = head[0] if head else None
        if type(head) is not str:
            return None
        number = self.files.get(head)
        if number is not None:
            return number
        owners = self.owners
        ident: str = head
        while ident:
            number = owners.get(ident)
            if number is not None:
                return number
            ident = ident.rpartition(".")[0]
        return None

    def take(self, number: int) -> dict[str, Any] | None:
        """Unpickle and forget file ``number``'s part (``None`` if it is loaded already)."""
        blob = self.blobs.pop(number, None)
        return None if blob is None else pickle.loads(blob.read())


def cut(program: Program) -> dict[str, Any]:
    """``program``'s pickled state: the core (a thinned copy of the solver and of its index)
    and one part per file. ``program`` itself is left as it was (but fully loaded)."""
    solver = program.solver
    solver.load_all()
    # Built now, so that a restored program needs no file's facts to answer them.
    star_modules = set(program.star_modules)
    # A restored table no update read is still what was saved: passed on without unpickling.
    importers = program._importers_saved
    if importers is None or program._importers is not None:
        importers = pickled(program.importers)
    index = solver.index
    shards = Shards({}, dict(index.def_file), dict(index.file_numbers))
    count = len(index.files)
    parts: list[dict[str, Any]] = [
        {"vars": {}, "slots": {}, "cons": [], "plans": {}, "users": {}, "facts": facts}
        for facts in index.files
    ]
    core_vars: dict[Any, Any] = {}
    part_vars = [part["vars"] for part in parts]
    # The owner depends on the key's head alone: found once per head (a million variables of
    # the stdlib have a tenth as many heads).
    owners: dict[Any, int | None] = {}
    for key, var in solver.vars.items():
        head = key[0]
        number = owners.get(head, -1)
        if number == -1:
            number = owners[head] = shards.owner(key)
        if number is None or number >= count:
            core_vars[key] = var
        else:
            part_vars[number][key] = var

    def route(
        table: dict[Any, Any], field: str, saved: Callable[[Any], Any] = _same
    ) -> dict[Any, Any]:
        """Put each entry of ``table`` (keyed by a container or a class) in the part of the file
        owning its key, or in the core (returned)."""
        core: dict[Any, Any] = {}
        for key, value in table.items():
            number = shards.owner((key,))
            if number is None or number >= count:
                core[key] = saved(value)
            else:
                parts[number][field][key] = saved(value)
        return core

    core_slots = route(solver.slots, "slots")
    core_plans = route(
        solver.plans, "plans", lambda entries: {k: _bare(e) for k, e in entries.items()}
    )
    # Who made each lookup goes with the class's lookups: read only when the class changes,
    # after its part is loaded (_Classes._load_classes).
    core_users = route(solver.lookup_users, "users")
    total = len(solver.cons)
    pending = bytearray(total)
    cfile = solver.cfile
    cwrites = solver.cwrites
    targets_of = solver.targets.get
    bound_of = solver.bound.get
    part_cons = [part["cons"] for part in parts]
    for c, con in enumerate(solver.cons):
        if con is not None:  # (a removed one has nothing to load: None in the core)
            part_cons[cfile[c]].append((c, con, cwrites[c], targets_of(c), bound_of(c)))
            pending[c] = 1
    targets = {c: hit for c, hit in solver.targets.items() if not pending[c]}
    bound = {c: last for c, last in solver.bound.items() if not pending[c]}
    thin_index = copy.copy(index)
    thin_index.files = []
    thin_index.defs = {}
    thin_index.params = {}
    thin_index.scopes = {}
    thin_index.pending = None
    thin = copy.copy(solver)
    thin.index = thin_index
    thin.vars = core_vars
    thin.slots = core_slots
    # Rebuilt by attach from the mask and the packed files: lists of a few thousand Nones and
    # small ints are most of the core's pickle opcodes, and what a new process unpickles first.
    thin.cons = []
    thin.cwrites = []
    thin.cfile = []
    thin.file_cons = {}
    thin.targets = targets
    thin.bound = bound
    thin.on_file = None
    thin.shards = None
    thin.vid = {}  # rebuilt from the values when first needed (intern)
    thin.vid_scans = 0
    thin.plans = core_plans  # relinked by attach: they hold records of other parts' variables
    thin.lookup_users = core_users
    # Memos, recomputed on first use (module docstring).
    thin.attr_memo = {}
    thin.name_memo = {}
    thin.def_singletons = {}
    parts_saved = {number: pickled(part) for number, part in enumerate(parts)}
    # The index's map goes in as the shards' own (one copy in the pickle; attach copies it).
    thin_index.def_file = shards.owners
    return {
        "solver": thin,
        "cfile": array("I", solver.cfile).tobytes(),
        # Each file's links pickled on their own: an update reads those of the files it writes.
        "links": [links if type(links) is Blob else pickled(links) for links in program.links],
        "fallback": program.fallback,
        "star_modules": star_modules,
        "importers": importers,  # read by updates that change imports
        "files": count,
        "pending": bytes(pending),
        "parts": parts_saved,
        "owners": shards.owners,
        "names": shards.files,
    }


def _same(value: Any) -> Any:
    return value


def _bare(entry: _Lookup) -> _Lookup:
    """A copy of a lookup without the variable records it holds (and its binding memos, which
    hold more): :meth:`~graphlive.analysis.solver_classes._Classes.relink` finds them again
    from its plan. Pickled with them, a part would carry copies of other files' variables."""
    bare = copy.copy(entry)
    bare.chain = ()
    bare.definer = None
    bare.bound_inst = None
    bare.bound_cls = None
    return bare


def attach(program: Program, state: dict[str, Any]) -> None:
    """Set ``program`` up from :func:`cut`'s state: every file's part pending."""
    solver = state["solver"]
    index = solver.index
    index.files = [PENDING_FACTS] * state["files"]
    mask = state["pending"]
    # Every constraint is pending but the removed ones (None): few, found at C speed.
    cons: list[Any] = [_PENDING] * len(mask)
    removed = mask.find(0)
    while removed != -1:
        cons[removed] = None
        removed = mask.find(0, removed + 1)
    solver.cons = cons
    solver.cwrites = list(cons)
    solver.cfile = array("I", state["cfile"]).tolist()
    # Each file's constraint list is its part's (load_shard): no file is read before its part.
    solver.file_cons = {}
    index.def_file = dict(index.def_file)  # updates change it; the shards' owners stay as cut
    shards = Shards(state["parts"], state["owners"], state["names"])
    if shards.blobs:
        solver.shards = shards
        index.pending = solver.load_shard
    program.solver = solver
    program.index = index
    program.links = state["links"]
    program.fallback = state["fallback"]
    program._star_modules = state["star_modules"]
    program._importers = None
    program._importers_saved = state["importers"]
    for entries in solver.plans.values():
        for entry in entries.values():
            solver.relink(entry)
