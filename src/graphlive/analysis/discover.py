"""Finding the source files under a root and naming their Python modules.

Contract:

* :func:`discover` never raises for problems inside the tree (unreadable directories, symlink
  loops, broken symlinks, special files named ``.py``): each becomes a :class:`DiagFact` and the
  walk goes on. It raises ``FileNotFoundError``/``NotADirectoryError`` only for a missing root.
* The result is deterministic: files are ordered by module path, a package's ``__init__.py``
  before its children.
* Files of the other languages graphlive reads (:mod:`graphlive.analysis.polyglot.languages`:
  JavaScript, TypeScript, Go, Java, Rust, and Go's ``go.mod``) are listed in
  :attr:`Discovery.others` under the same rules (skipped folders, ``.gitignore``, symlinks);
  they take no part in naming Python modules, so adding or removing one never changes the
  tree's structure.
* ``languages`` limits the files listed to those languages (``None``: all; without
  ``"python"`` no Python file is listed): what an analysis limited to them reads.
* Skipped directories: hidden ones (``.git``, ``.venv``, ...), ``__pycache__``, ``node_modules``,
  ``site-packages``/``dist-packages``, ``*.egg-info``, any virtualenv (a directory holding
  ``pyvenv.cfg``), and ``build``/``dist``/``venv``/``env`` unless they are Python packages
  (hold an ``__init__.py``), since a package may legitimately be called ``build``.
* With ``rules`` (:class:`graphlive.ignore.IgnoreRules`, the rules the file watcher follows),
  files and directories that ``.gitignore`` excludes are skipped as well, so that a full
  analysis, an incremental update and the watcher agree on what belongs to the project.
* Symlinks are followed only when they stay inside the root (analysis triggered from a server
  must not read outside the folder it was given); a directory reached twice (loop or alias) is
  walked once. Diagnostics name paths relative to the root only: a symlink that leads out of the
  root is reported by its own path, never by its target's.

Module ids are import names: the dotted path relative to the *source root* a file lies under
(:mod:`graphlive.analysis.roots`: the analysed root, project folders, ``src``/``lib`` folders and
the package folders a ``pyproject.toml`` declares; the innermost wins), ``src/pkg/mod.py`` →
``pkg.mod``; files under no other source root are named relative to the analysed root. A package
is its directory, ``pkg/__init__.py`` → ``pkg`` (one node of kind ``package`` whose file is the
``__init__.py``; there is no separate module node for ``__init__``). When the root itself is a
package (or lies inside one), ids start with that package's dotted name, found by walking up
while ``__init__.py`` exists: analysing ``.../email`` yields ``email.parser``, and relative imports
that climb out of the root become imports of external modules; no source root is looked for
inside a package. File paths stay relative to the root. Directories without ``__init__.py`` that
contain modules become namespace packages.

When two files get the same id, one keeps it and the other gets its relative path as id (a
``shadowed-module`` diagnostic): a package beats a module (Python imports the package), then the
file under the shallower source root wins (the analysed root comes first on ``sys.path``), then
the first in path order.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from graphlive.analysis.facts import DiagFact, file_diag
from graphlive.analysis.polyglot.languages import read_by
from graphlive.analysis.roots import LAYOUT_ROOT_NAMES, PROJECT_FILES, project_roots
from graphlive.ignore import IgnoreRules

__all__ = ["Discovery", "SourceFile", "discover", "package_prefix", "refresh", "same_structure"]

_ALWAYS_SKIP = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})
_SKIP_UNLESS_PACKAGE = frozenset({"build", "dist", "venv", "env", "virtualenv"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One ``.py`` file: absolute ``path``, ``rel`` path from the root (``/`` separators), its
    module ``id``, the id of the package or directory containing it (``None`` at the top), and
    whether that container is a namespace directory (no ``__init__.py``)."""

    path: str
    rel: str
    id: str
    is_package: bool
    parent: str | None
    parent_is_namespace: bool
    size: int


@dataclass(slots=True)
class Discovery:
    """The files to analyse plus what the walk found out about the tree."""

    root: Path
    prefix: str
    files: list[SourceFile] = field(default_factory=list)
    #: Namespace directories holding modules: id → parent id (``None`` at the top).
    namespaces: dict[str, str | None] = field(default_factory=dict)
    diagnostics: list[DiagFact] = field(default_factory=list)
    #: Directories walked: relative path (``""`` for the root) → (id, is a package).
    dirs: dict[str, tuple[str, bool]] = field(default_factory=dict)
    #: The files by relative path and by module id.
    by_rel: dict[str, SourceFile] = field(default_factory=dict)
    by_id: dict[str, SourceFile] = field(default_factory=dict)
    #: Ignore rules the walk honoured (``None``: only the built-in skips).
    rules: IgnoreRules | None = None
    #: Source roots the walk applied below the analysed root: relative path → the dotted
    #: prefix of the ids below it (``""``: a ``sys.path`` entry, its children are top-level).
    roots: dict[str, str] = field(default_factory=dict)
    #: Ids more than one file claimed (the others got their paths as ids): removing the file
    #: that kept one hands it to another, which only a new walk decides.
    contested: set[str] = field(default_factory=set)
    #: Files of the other languages: relative path → language (``go.mod`` files: ``"go"``).
    others: dict[str, str] = field(default_factory=dict)
    #: The languages listed (``None``: all); :func:`refresh` keeps to them.
    languages: frozenset[str] | None = None
    #: :func:`~graphlive.analysis.manifest.structure_key`'s memo (a warm run asks for it up to
    #: four times; ~2 ms each on Django). :func:`refresh`, the only change after the walk,
    #: clears it.
    structure_memo: str | None = field(default=None, compare=False, repr=False)

    def wants(self, language: str) -> bool:
        """Whether files of ``language`` belong to this discovery."""
        return self.languages is None or language in self.languages

    def index(self) -> None:
        """Rebuild :attr:`by_rel`/:attr:`by_id` from :attr:`files`."""
        self.by_rel = {sf.rel: sf for sf in self.files}
        self.by_id = {sf.id: sf for sf in self.files}


def package_prefix(directory: Path) -> list[str]:
    """Dotted-name parts of the package ``directory`` is (empty if it is not a package)."""
    parts: list[str] = []
    current = directory
    while (current / "__init__.py").is_file():
        parts.append(current.name)
        if current.parent == current:
            break
        current = current.parent
    parts.reverse()
    return parts


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _inside(root_real: str, real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def discover(
    root: Path, rules: IgnoreRules | None = None, languages: frozenset[str] | None = None
) -> Discovery:
    """Walk ``root`` (a directory, or a single source file) and name every module; ``rules``
    adds ``.gitignore`` exclusions, ``languages`` limits the languages listed (see the module
    docstring)."""
    root = Path(os.path.abspath(root))
    if root.is_file():
        return _discover_single(root, languages)
    if not root.exists():
        raise FileNotFoundError(f"analysis root {str(root)!r} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"analysis root {str(root)!r} is not a directory")
    prefix_parts = package_prefix(root)
    disc = Discovery(root=root, prefix=".".join(prefix_parts), rules=rules, languages=languages)
    walker = _Walker(disc)
    walker.walk()
    disc.roots = walker.roots_applied
    disc.others = dict(sorted(walker.others.items()))
    found = sorted(walker.found, key=_order_key)
    claims: dict[str, list[SourceFile]] = {}
    for sf in found:
        claims.setdefault(sf.id, []).append(sf)
    ids: dict[str, SourceFile] = {}
    for mid, claimants in claims.items():
        if len(claimants) == 1:
            ids[mid] = claimants[0]
            continue
        keeper = min(claimants, key=lambda sf: _claim_key(disc, sf))
        ids[mid] = keeper
        disc.contested.add(mid)
        # The others keep a node under their path as id, so nothing is lost.
        for shadowed in claimants:
            if shadowed is keeper:
                continue
            disc.diagnostics.append(
                file_diag(
                    shadowed.rel,
                    "shadowed-module",
                    f"module id {mid!r} also names {keeper.rel}; this file gets the id "
                    f"{shadowed.rel!r}",
                )
            )
            ids[shadowed.rel] = replace(shadowed, id=shadowed.rel)
    disc.files = sorted(ids.values(), key=_order_key)
    # Namespace directories: every non-package directory on the way up from a module, up to
    # the first package or the top. A module whose id equals a directory's wins.
    for sf in disc.files:
        current = sf.parent if sf.parent_is_namespace else None
        while current is not None and current not in disc.namespaces and current not in ids:
            is_pkg, up = walker.dirs[current]
            if is_pkg:
                break
            disc.namespaces[current] = up
            current = up
    disc.index()
    return disc


def _claim_key(disc: Discovery, sf: SourceFile) -> tuple[bool, int, list[str]]:
    """Order of precedence among files claiming one id (module docstring)."""
    return (not sf.is_package, _root_depth(disc.roots, sf.rel), _order_key(sf))


def _root_depth(roots: dict[str, str], rel: str) -> int:
    """Number of path parts of the innermost source root holding ``rel`` (0: the analysed
    root)."""
    parts = rel.split("/")[:-1]
    for depth in range(len(parts), 0, -1):
        if "/".join(parts[:depth]) in roots:
            return depth
    return 0


class _Walker:
    """Iterative directory walk (no recursion limit, deterministic order)."""

    def __init__(self, disc: Discovery) -> None:
        self.disc = disc
        self.root_real = os.path.realpath(disc.root)
        self.found: list[SourceFile] = []
        #: dir id → (is package, parent dir id or None)
        self.dirs: dict[str, tuple[bool, str | None]] = {}
        self.seen: set[tuple[int, int]] = set()
        #: Source roots declared by the project files seen so far (relative path → prefix).
        self.roots_declared: dict[str, str] = {}
        #: Source roots the walk applied (relative path → prefix).
        self.roots_applied: dict[str, str] = {}
        #: Files of the other languages (relative path → language).
        self.others: dict[str, str] = {}

    def walk(self) -> None:
        disc = self.disc
        root_is_pkg = bool(disc.prefix)
        with contextlib.suppress(OSError):
            st = os.stat(self.root_real)
            self.seen.add((st.st_dev, st.st_ino))
        if disc.prefix:
            self.dirs[disc.prefix] = (True, None)
        # (path as walked, rel dir, name, parent dir id, dir is a package, whether source roots
        # may start here: not inside a package, nor inside a src/lib or declared source root)
        stack: list[tuple[str, str, str, str, bool, bool]] = [
            (str(disc.root), "", "", "", root_is_pkg, not root_is_pkg)
        ]
        python = disc.wants("python")
        while stack:
            dpath, drel, name, parent, dpkg, may_root = stack.pop()
            entries = self._scan(dpath, drel)
            if entries is None:
                continue
            rules = self.disc.rules
            if rules is not None and not any(e[0] == ".gitignore" for e in entries):
                rules.no_gitignore(drel)  # known from the listing: not looked for again
            markers: set[str] = set()
            if may_root and not dpkg:
                markers = {e[0] for e in entries if not e[2] and e[0] in PROJECT_FILES}
                if markers:
                    roots, diags = project_roots(dpath, drel, markers)
                    for rel, prefix in roots.items():
                        self.roots_declared.setdefault(rel, prefix)
                    disc.diagnostics.extend(diags)
            top = drel == ""
            did = disc.prefix if top else self._name_dir(drel, name, parent, dpkg, may_root)
            disc.dirs[drel] = (did, dpkg)
            # Below a package nothing is a source root; inside a src/lib or declared folder the
            # names are packages and namespaces; a plain or project folder may hold more roots.
            sub_may_root = (
                may_root and not dpkg and (drel not in self.roots_applied or bool(markers))
            )
            subdirs: list[tuple[str, str, str, str, bool, bool]] = []
            for ename, epath, is_dir, size, key in entries:
                erel = f"{drel}/{ename}" if drel else ename
                if is_dir:
                    sub = self._enter(ename, epath, erel, key)
                    if sub is not None:
                        subdirs.append((epath, erel, ename, did, sub, sub_may_root))
                elif ename.endswith(".py"):
                    rules = self.disc.rules
                    # (Parent folders were checked on the way down; their verdicts are cached.)
                    if python and (rules is None or not rules.is_ignored(erel)):
                        self._add_file(ename, epath, erel, size, drel, did, dpkg)
                else:
                    language = read_by(ename)
                    rules = self.disc.rules
                    if (
                        language is not None
                        and self.disc.wants(language)
                        and (rules is None or not rules.is_ignored(erel))
                    ):
                        self.others[erel] = language
            # Reversed so that popping yields directories in name order.
            stack.extend(reversed(subdirs))

    def _name_dir(self, drel: str, name: str, parent: str, is_pkg: bool, may_root: bool) -> str:
        """The id of the folder ``drel`` (``""`` for a source root that is a ``sys.path``
        entry), recording the source roots applied."""
        prefix = self._root_prefix(name, drel, is_pkg) if may_root else None
        if prefix is None:
            did = _join(parent, name)
            self.dirs.setdefault(did, (is_pkg, parent or None))
            return did
        self.roots_applied[drel] = prefix
        if prefix:
            self.dirs.setdefault(prefix, (is_pkg, prefix.rpartition(".")[0] or None))
        return prefix

    def _root_prefix(self, name: str, drel: str, is_pkg: bool) -> str | None:
        """The id prefix of the folder ``drel`` when it is a source root, else ``None``. A
        package is never a ``sys.path`` entry: it keeps its name unless declared as another."""
        prefix = self.roots_declared.get(drel)
        if prefix is not None:
            return None if (is_pkg and not prefix) else prefix
        if name in LAYOUT_ROOT_NAMES and not is_pkg:
            return ""
        return None

    def _enter(self, name: str, epath: str, erel: str, key: tuple[int, int]) -> bool | None:
        """Whether the folder is a package; ``None`` when it is not walked. ``key``: its
        device and inode (from the listing's stat)."""
        if _skip_dir(name, epath):
            return None
        rules = self.disc.rules
        if rules is not None:
            rules.not_a_virtualenv(erel)  # _skip_dir looked for pyvenv.cfg
            if rules.skips_folder(erel):
                return None
        if key in self.seen:
            self.disc.diagnostics.append(
                file_diag(erel, "symlink-loop", "directory already visited (symlink loop or alias)")
            )
            return None
        self.seen.add(key)
        return os.path.isfile(os.path.join(epath, "__init__.py"))

    def _add_file(
        self, name: str, epath: str, erel: str, size: int, drel: str, did: str, dpkg: bool
    ) -> None:
        if name == "__init__.py":
            if not dpkg:
                return
            mid = did
            parent = None if drel == "" else (self.dirs[did][1] if did in self.dirs else None)
            parent_ns = parent is not None and not self.dirs.get(parent, (True, None))[0]
            is_package = True
        else:
            mid = _join(did, name[:-3])
            parent = did or None
            parent_ns = parent is not None and not dpkg
            is_package = False
        self.found.append(
            SourceFile(
                path=epath,
                rel=erel,
                id=mid,
                is_package=is_package,
                parent=parent,
                parent_is_namespace=parent_ns,
                size=size,
            )
        )

    def _scan(
        self, dpath: str, drel: str
    ) -> list[tuple[str, str, bool, int, tuple[int, int]]] | None:
        """Entries of one directory as ``(name, path, is_dir, size, (device, inode))`` sorted
        by name (symlinks followed); ``None`` when the directory cannot be read (a diagnostic
        is recorded)."""
        disc = self.disc
        try:
            with os.scandir(dpath) as it:
                raw = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            disc.diagnostics.append(
                file_diag(drel or ".", "unreadable", f"cannot list directory: {_reason(exc)}")
            )
            return None
        out: list[tuple[str, str, bool, int, tuple[int, int]]] = []
        for entry in raw:
            name = entry.name
            erel = f"{drel}/{name}" if drel else name
            try:
                if entry.is_symlink() and not self._follow(entry.path, name, erel):
                    continue
                st = entry.stat()
            except OSError as exc:
                if read_by(name):
                    disc.diagnostics.append(
                        file_diag(erel, "unreadable", f"cannot stat: {_reason(exc)}")
                    )
                continue
            if stat.S_ISDIR(st.st_mode):
                out.append((name, entry.path, True, 0, (st.st_dev, st.st_ino)))
            elif stat.S_ISREG(st.st_mode):
                out.append((name, entry.path, False, st.st_size, _NO_KEY))
            elif read_by(name):
                disc.diagnostics.append(
                    file_diag(
                        erel, "not-a-regular-file", "not a regular file (FIFO, socket, device)"
                    )
                )
        return out

    def _follow(self, path: str, name: str, erel: str) -> bool:
        """Whether a symlink may be followed; records why not."""
        try:
            real = os.path.realpath(path, strict=True)
        except OSError as exc:
            loop = getattr(exc, "errno", None) == errno.ELOOP
            code = "symlink-loop" if loop else "broken-symlink"
            if loop or read_by(name):
                self.disc.diagnostics.append(
                    file_diag(erel, code, f"cannot follow symlink: {_reason(exc)}")
                )
            return False
        if not _inside(self.root_real, real):
            if not (read_by(name) or os.path.isdir(real)):
                return False  # not something we would have analysed anyway
            self.disc.diagnostics.append(
                file_diag(
                    erel,
                    "symlink-outside-root",
                    # Its own path only: the target is none of the subscribers' business.
                    "symlink whose target is outside the analysed root; not followed",
                    severity="info",
                )
            )
            return False
        return True


def _discover_single(path: Path, languages: frozenset[str] | None) -> Discovery:
    directory = path.parent
    prefix_parts = package_prefix(directory)
    disc = Discovery(root=directory, prefix=".".join(prefix_parts), languages=languages)
    if not path.name.endswith(".py") or not disc.wants("python"):
        language = read_by(path.name)
        if language is not None and disc.wants(language):
            disc.others[path.name] = language
        return disc
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    mid = _join(disc.prefix, path.name[:-3]) if path.name != "__init__.py" else disc.prefix
    disc.files.append(
        SourceFile(
            path=str(path),
            rel=path.name,
            id=mid or path.name,
            is_package=path.name == "__init__.py" and bool(prefix_parts),
            parent=None,
            parent_is_namespace=False,
            size=size,
        )
    )
    disc.index()
    return disc


def refresh(disc: Discovery, paths: Iterable[str]) -> set[str] | None:
    """Patch ``disc`` for changed ``paths`` (relative to the root, ``/``-separated) without
    walking the tree again.

    Returns the relative paths of the files that changed, appeared or disappeared, Python's
    and the other languages' (paths that discovery skips, e.g. in a virtualenv or a
    git-ignored folder, are dropped), or ``None``
    when a path may change the tree's *structure* — a folder, a ``.gitignore``, an
    ``__init__.py``, a symlink, a folder not walked before, a module appearing or vanishing in
    a namespace directory or beside a same-named package — and the tree must be walked again
    with :func:`discover`. ``disc`` is only modified when the result is not ``None``.
    """
    if not disc.dirs:
        return None  # a single-file root
    pending: list[tuple[str, SourceFile | None, SourceFile | None]] = []
    others: dict[str, str | None] = {}  # another language's file → its language, None: gone
    claimed: set[str] = set()
    for rel in paths:
        folder, _, name = rel.rpartition("/")
        language = read_by(name)
        if language is not None and not disc.wants(language):
            continue  # a language this analysis leaves out
        if language == "python":
            language = None
        if language is not None:
            found = _other_file(disc, rel, folder)
            if found is False:
                return None
            if found:
                others[rel] = language
            elif rel in disc.others:
                others[rel] = None
            continue
        if not name.endswith(".py") or name == "__init__.py" or name in PROJECT_FILES:
            return None  # (project files may declare or make source roots)
        known = disc.by_rel.get(rel)
        here = disc.dirs.get(folder)
        if here is None:
            if known is None and _skipped(disc, folder):
                continue  # never part of the analysis
            return None
        try:
            st: os.stat_result | None = os.lstat(os.path.join(disc.root, rel))
        except FileNotFoundError:
            st = None
        except OSError:
            return None
        if st is not None and not stat.S_ISREG(st.st_mode):
            return None  # a symlink or something odd: the walk knows the rules
        present = st is not None and not (disc.rules is not None and disc.rules.is_ignored(rel))
        if present and st is not None:
            if known is not None:
                if known.size != st.st_size:
                    pending.append((rel, known, replace(known, size=st.st_size)))
                else:
                    pending.append((rel, known, known))
                continue
            did, is_pkg = here
            if folder and not is_pkg and disc.roots.get(folder) != "":
                return None  # a namespace directory (not a sys.path entry): namespaces may change
            mid = _join(did, name[:-3])
            if mid in disc.by_id or mid in disc.namespaces or mid in claimed:
                return None  # shadowing: ids of other files may change
            claimed.add(mid)
            sf = SourceFile(
                path=os.path.join(str(disc.root), rel),
                rel=rel,
                id=mid,
                is_package=False,
                parent=did or None,
                parent_is_namespace=False,
                size=st.st_size,
            )
            pending.append((rel, None, sf))
        elif known is not None:
            if known.parent_is_namespace or known.id == known.rel or known.is_package:
                return None
            if known.id in disc.contested:
                return None  # a file it shadowed takes the id over
            pending.append((rel, known, None))
    disc.structure_memo = None
    changed: set[str] = set(others)
    for rel, language in others.items():
        if language is None:
            del disc.others[rel]
        else:
            disc.others[rel] = language
    for rel, before, after in pending:
        changed.add(rel)
        if before is not None:
            i = bisect.bisect_left(disc.files, _order_key(before), key=_order_key)
            del disc.files[i]
            del disc.by_rel[rel]
            del disc.by_id[before.id]
        if after is not None:
            bisect.insort(disc.files, after, key=_order_key)
            disc.by_rel[rel] = after
            disc.by_id[after.id] = after
    return changed


def _other_file(disc: Discovery, rel: str, folder: str) -> bool | None:
    """For :func:`refresh`: whether another language's file ``rel`` is now part of the
    analysis (``None``: it is not, nor was it ever; ``False``: only a walk can tell)."""
    if folder not in disc.dirs:
        return None if rel not in disc.others and _skipped(disc, folder) else False
    try:
        st = os.lstat(os.path.join(disc.root, rel))
    except FileNotFoundError:
        return None
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False  # a symlink or something odd: the walk knows the rules
    if disc.rules is not None and disc.rules.is_ignored(rel):
        return None
    return True


def same_structure(old: Discovery, new: Discovery) -> bool:
    """Whether two walks of a tree name things alike: same package prefix, source roots and
    namespaces, and every file present in both with the same id, package-ness and parent."""
    if old.prefix != new.prefix or old.roots != new.roots or old.namespaces != new.namespaces:
        return False
    for rel, sf in new.by_rel.items():
        before = old.by_rel.get(rel)
        if before is not None and (
            before.id,
            before.is_package,
            before.parent,
            before.parent_is_namespace,
        ) != (sf.id, sf.is_package, sf.parent, sf.parent_is_namespace):
            return False
    return True


def _skipped(disc: Discovery, folder: str) -> bool:
    """Whether ``folder`` (not walked) lies in a directory discovery skips."""
    parts = folder.split("/")
    for depth in range(1, len(parts) + 1):
        rel = "/".join(parts[:depth])
        if rel in disc.dirs:
            continue
        name = parts[depth - 1]
        if _skip_dir(name, os.path.join(str(disc.root), rel)):
            return True
        return disc.rules is not None and disc.rules.skips_folder(rel)
    return False


def _order_key(sf: SourceFile) -> list[str]:
    parts = sf.rel.split("/")
    if parts[-1] == "__init__.py":
        parts[-1] = ""
    return parts


def _reason(exc: OSError) -> str:
    """What went wrong, without the file names ``str(exc)`` carries: they are absolute, and for
    a symlink they may name its target outside the root."""
    return exc.strerror or type(exc).__name__


_NO_KEY = (0, 0)


def _skip_dir(name: str, path: str) -> bool:
    if name.startswith(".") or name in _ALWAYS_SKIP or name.endswith(".egg-info"):
        return True
    if os.path.isfile(os.path.join(path, "pyvenv.cfg")):
        return True
    return name in _SKIP_UNLESS_PACKAGE and not os.path.isfile(os.path.join(path, "__init__.py"))
