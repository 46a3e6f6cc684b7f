"""Source roots: the folders of a tree whose contents Python imports as top-level names.

A source root is a folder that would be an entry of ``sys.path`` when the project runs: node ids
below it are dotted paths relative to it, so that ids are import names (``src/requests/api.py``
→ ``requests.api``). Discovery (:mod:`graphlive.analysis.discover`) asks this module about the
folders it walks; this module only reads project files, it never walks.

Which folders are source roots (none of them inside a package: a folder holding
``__init__.py`` and everything below it keep their package names; nor inside a ``src``/``lib``
or declared folder unless a project file starts a project there):

* the analysed root itself (the fallback: files under no other source root are named relative
  to it);
* every *project folder*, one holding ``pyproject.toml``, ``setup.py`` or ``setup.cfg`` (a flat
  layout: the project's packages sit in it);
* every folder named ``src`` or ``lib`` that is not a package (the src layout);
* the folders a project file declares, relative to its project folder (see
  :func:`declared_roots`).

A declared folder may also map to a package name other than its own (setuptools
``package-dir = {"name" = "folder"}``, hatch ``sources = {"folder" = "name"}``): it is then the
package ``name`` rather than a ``sys.path`` entry; :func:`declared_roots` returns such folders
with their dotted prefix.

``pyproject.toml`` is read with :mod:`tomllib` (Python 3.11+) or, on Python 3.10, ``tomli``
when it is installed; without either, its declarations are skipped with an ``info`` diagnostic
(``pyproject-not-read``) and only the layout rules above apply. Nothing a project file says can
name a folder outside its project folder: such declarations are ignored with a diagnostic that
does not repeat the path.
"""

from __future__ import annotations

import configparser
import importlib
import os
import posixpath
from collections.abc import Callable
from typing import Any

from graphlive.analysis.facts import DiagFact, file_diag

__all__ = [
    "LAYOUT_ROOT_NAMES",
    "PROJECT_FILES",
    "declared_roots",
    "project_roots",
]

#: Files that make their folder a project folder (and a source root).
PROJECT_FILES = frozenset({"pyproject.toml", "setup.py", "setup.cfg"})
#: Names of folders that are source roots by convention when they are not packages.
LAYOUT_ROOT_NAMES = frozenset({"src", "lib"})


def _toml_loads() -> Callable[[str], dict[str, Any]] | None:
    for name in ("tomllib", "tomli"):
        try:
            loads: Callable[[str], dict[str, Any]] = importlib.import_module(name).loads
        except ModuleNotFoundError:
            continue
        return loads
    return None


#: How ``pyproject.toml`` is parsed; ``None`` when no TOML parser is available (Python 3.10
#: without ``tomli``).
toml_loads = _toml_loads()


def project_roots(folder: str, rel: str, files: set[str]) -> tuple[dict[str, str], list[DiagFact]]:
    """Source roots a project folder contributes: ``folder`` is its path on disk, ``rel`` its
    path relative to the analysed root (``""`` for the root itself), ``files`` the names of the
    :data:`PROJECT_FILES` it holds.

    Returns (folder relative to the analysed root → dotted prefix, ``""`` for a ``sys.path``
    entry) and diagnostics about unreadable or refused declarations. The project folder itself
    is included unless it is the analysed root.
    """
    roots: dict[str, str] = {rel: ""} if rel else {}
    diags: list[DiagFact] = []
    declared: list[tuple[str, str, str]] = []
    here = f"{rel}/" if rel else ""
    if "pyproject.toml" in files:
        where = f"{here}pyproject.toml"
        text = _read(os.path.join(folder, "pyproject.toml"))
        if text is None:
            diags.append(file_diag(where, "pyproject-invalid", "cannot read pyproject.toml"))
        elif toml_loads is None:
            diags.append(
                file_diag(
                    where,
                    "pyproject-not-read",
                    "no TOML parser (Python 3.10 without tomli): package folders declared "
                    "here are not used for import names",
                    severity="info",
                )
            )
        else:
            try:
                data = toml_loads(text)
            except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
                diags.append(file_diag(where, "pyproject-invalid", f"invalid TOML: {exc}"))
            else:
                declared += declared_roots(data, lambda name: _exists(folder, name))
    if "setup.cfg" in files:
        text = _read(os.path.join(folder, "setup.cfg"))
        if text is not None:
            declared += _setup_cfg_roots(text)
    for key, path, prefix in declared:
        norm = _inside_project(path)
        if norm is None or not _valid_prefix(prefix):
            diags.append(
                file_diag(
                    f"{here}{'setup.cfg' if key.startswith('options') else 'pyproject.toml'}",
                    "source-root-ignored",
                    f"{key}: the declared package folder is not a folder of this project "
                    "(or names no valid package); ignored",
                )
            )
            continue
        if norm == "." and not prefix:
            continue  # the project folder: already a source root
        target = rel if norm == "." else (f"{rel}/{norm}" if rel else norm)
        roots.setdefault(target, prefix)
    return roots, diags


def declared_roots(
    data: dict[str, Any], exists: Callable[[str], bool]
) -> list[tuple[str, str, str]]:
    """Package folders a parsed ``pyproject.toml`` declares, as ``(key, folder, prefix)``:
    ``folder`` relative to the project folder as written (checked later), ``prefix`` the dotted
    name the folder stands for (``""``: its children are top-level names), ``key`` where it was
    declared. ``exists(path)`` says whether a path relative to the project folder exists (flit
    looks for its module in two places).

    Understood: setuptools ``[tool.setuptools] package-dir`` and
    ``[tool.setuptools.packages.find] where``; hatch ``packages`` and ``sources`` of
    ``[tool.hatch.build.targets.wheel]`` and ``[tool.hatch.build]``; poetry
    ``[tool.poetry] packages = [{include, from}]``; flit (module ``[tool.flit.module] name`` or
    ``[project] name``, found in ``src/`` or the project folder); pdm ``[tool.pdm.build]
    package-dir``. Values of the wrong type are skipped.
    """
    out: list[tuple[str, str, str]] = []
    tool = _table(data.get("tool"))
    setuptools = _table(tool.get("setuptools"))
    for name, path in _table(setuptools.get("package-dir")).items():
        if isinstance(path, str):
            out.append(("tool.setuptools.package-dir", path, name))
    find = _table(_table(setuptools.get("packages")).get("find"))
    for path in _strings(find.get("where")):
        out.append(("tool.setuptools.packages.find.where", path, ""))
    hatch_build = _table(_table(tool.get("hatch")).get("build"))
    wheel = _table(_table(hatch_build.get("targets")).get("wheel"))
    for key, table in (
        ("tool.hatch.build.targets.wheel", wheel),
        ("tool.hatch.build", hatch_build),
    ):
        for path in _strings(table.get("packages")):
            # Hatch ships the folder under its own name: its parent is the sys.path entry.
            out.append((f"{key}.packages", posixpath.dirname(path.rstrip("/")) or ".", ""))
        sources = table.get("sources")
        for path in _strings(sources):
            out.append((f"{key}.sources", path, ""))
        for path, to in _table(sources).items():
            if isinstance(to, str):
                out.append((f"{key}.sources", path, to.strip("/").replace("/", ".")))
    for entry in _list(_table(tool.get("poetry")).get("packages")):
        entry = _table(entry)
        if isinstance(entry.get("include"), str):
            source = entry.get("from", ".")
            if isinstance(source, str):
                out.append(("tool.poetry.packages", source, ""))
    flit = _table(tool.get("flit"))
    if flit:
        module = _table(flit.get("module")).get("name")
        if not isinstance(module, str):
            module = _table(data.get("project")).get("name")
        if isinstance(module, str) and module:
            module = module.replace("-", "_")
            top = module.partition(".")[0]
            in_src = exists(f"src/{top}") or exists(f"src/{top}.py")
            out.append(("tool.flit.module", "src" if in_src else ".", ""))
    pdm_dir = _table(_table(tool.get("pdm")).get("build")).get("package-dir")
    if isinstance(pdm_dir, str):
        out.append(("tool.pdm.build.package-dir", pdm_dir, ""))
    return out


def _setup_cfg_roots(text: str) -> list[tuple[str, str, str]]:
    """setuptools' ``[options] package_dir`` (``=src`` lines) and
    ``[options.packages.find] where`` in a ``setup.cfg``; unreadable files declare nothing."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    out: list[tuple[str, str, str]] = []
    package_dir = parser.get("options", "package_dir", fallback="")
    for line in package_dir.replace(",", "\n").splitlines():
        name, eq, path = line.partition("=")
        if eq and path.strip():
            out.append(("options.package_dir", path.strip(), name.strip()))
    where = parser.get("options.packages.find", "where", fallback="")
    for path in where.split():
        out.append(("options.packages.find.where", path, ""))
    return out


def _inside_project(path: str) -> str | None:
    """``path`` normalised (``/`` separators, no ``.`` parts), or ``None`` when it is absolute
    or climbs out of the project folder."""
    if not path or "\0" in path:
        return None
    path = path.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return None
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


def _valid_prefix(prefix: str) -> bool:
    return prefix == "" or all(part.isidentifier() for part in prefix.split("."))


def _exists(folder: str, rel: str) -> bool:
    return os.path.lexists(os.path.join(folder, rel))


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(1_000_000)
    except OSError:
        return None


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]
