"""Which paths of a project graphlive ignores: ``.gitignore`` files plus folders that never hold
the project's own code.

Git semantics (via ``pathspec``'s ``GitIgnoreSpec``): every ``.gitignore`` applies to its folder
and below, a deeper file's match (including a ``!negation``) wins over a shallower one, and
nothing inside an ignored folder is considered, as git does not descend into it. On top of that,
hidden folders, virtualenvs (any folder holding ``pyvenv.cfg``), ``__pycache__``,
``node_modules``, ``site-packages`` and ``*.egg-info`` are always skipped.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pathspec

__all__ = ["ALWAYS_SKIPPED", "IgnoreRules"]

ALWAYS_SKIPPED = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})


class IgnoreRules:
    """Ignore decisions for paths relative to ``root`` (``/``-separated).

    ``.gitignore`` files are read lazily per folder and cached; call :meth:`forget` with a
    folder (or ``""`` for all) after a ``.gitignore`` changed.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self._folders: dict[str, bool] = {}
        # Folders a walk just found without pyvenv.cfg (see not_a_virtualenv).
        self._no_venv: set[str] = set()

    def forget(self, folder: str = "") -> None:
        """Drop cached ``.gitignore`` rules of ``folder`` and below."""
        # Folder verdicts depend on every .gitignore above them: recompute them all (cheap).
        self._folders.clear()
        self._no_venv.clear()
        if not folder:
            self._specs.clear()
            return
        prefix = folder.rstrip("/") + "/"
        for key in [k for k in self._specs if k == folder or k.startswith(prefix)]:
            del self._specs[key]

    def no_gitignore(self, folder: str) -> None:
        """``folder`` was just listed and has no ``.gitignore``: none is looked for there."""
        self._specs.setdefault(folder, None)

    def not_a_virtualenv(self, folder: str) -> None:
        """``folder`` was just checked for ``pyvenv.cfg`` and has none."""
        self._no_venv.add(folder)

    def _spec(self, folder: str) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._specs:
            path = self.root / folder / ".gitignore" if folder else self.root / ".gitignore"
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                self._specs[folder] = None
            else:
                self._specs[folder] = pathspec.GitIgnoreSpec.from_lines(lines)
        return self._specs[folder]

    def _matched(self, rel: str, is_dir: bool) -> bool:
        """Whether ``rel`` itself is ignored by the ``.gitignore`` files above it."""
        parts = rel.split("/")
        verdict = False
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is None:
                continue
            local = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(local).include
            if result is not None:
                verdict = result
        return verdict

    def skips_folder(self, rel: str) -> bool:
        """Whether the folder ``rel`` (and so everything in it) is skipped."""
        cached = self._folders.get(rel)
        if cached is None:
            cached = self._folders[rel] = self._skips_folder(rel)
        return cached

    def _skips_folder(self, rel: str) -> bool:
        name = PurePosixPath(rel).name
        if name.startswith(".") or name in ALWAYS_SKIPPED or name.endswith(".egg-info"):
            return True
        if rel not in self._no_venv and os.path.isfile(os.path.join(self.root, rel, "pyvenv.cfg")):
            return True
        return self._matched(rel, is_dir=True)

    def is_ignored(self, rel: str) -> bool:
        """Whether the file ``rel`` is ignored, by itself or through a skipped parent folder."""
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if self.skips_folder("/".join(parts[:depth])):
                return True
        return self._matched(rel, is_dir=False)
