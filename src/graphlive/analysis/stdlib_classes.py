"""Which names of the standard library are classes, read from its sources (never imported).

``zipfile.ZipFile(path)`` makes an instance of an external class, so ``.namelist()`` on it is
``zipfile.ZipFile.namelist``. Whether ``zipfile.ZipFile`` is a class is certain from the
standard library's own source: a ``class`` statement at the top level of ``zipfile.py``. Classes
that a module only re-exports from a C module (``collections.deque``, ``io.StringIO``) are not
found this way and stay unknown. Third-party modules are never looked at: what is installed
where the analysis runs need not be what the analysed code runs with.
"""

from __future__ import annotations

import ast
import functools
import sys
import sysconfig
from pathlib import Path

__all__ = ["is_stdlib_class"]

_STDLIB = Path(sysconfig.get_paths()["stdlib"])


@functools.cache
def _top_level_classes(module: str) -> frozenset[str]:
    """The names of the classes ``module``'s source defines at its top level (empty when the
    module is not a standard-library module with a Python source)."""
    if module.partition(".")[0] not in sys.stdlib_module_names:
        return frozenset()
    rel = module.replace(".", "/")
    for path in (_STDLIB / f"{rel}.py", _STDLIB / rel / "__init__.py"):
        if path.is_file():
            try:
                tree = ast.parse(path.read_bytes(), str(path))
            except (SyntaxError, ValueError, OSError):
                return frozenset()
            return frozenset(node.name for node in tree.body if isinstance(node, ast.ClassDef))
    return frozenset()


def is_stdlib_class(path: str) -> bool:
    """Whether the dotted ``path`` names a class defined at the top level of a standard-library
    module (``zipfile.ZipFile``, ``argparse.ArgumentParser``)."""
    module, _, name = path.rpartition(".")
    return bool(module) and name in _top_level_classes(module)
