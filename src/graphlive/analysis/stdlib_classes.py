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
import re
import sys
import sysconfig
from pathlib import Path

__all__ = ["is_stdlib_class"]

_STDLIB = Path(sysconfig.get_paths()["stdlib"])


#: A line starting a class statement at the top level (column 0).
_CLASS_LINE = re.compile(rb"^class[ \t]+(\w+)", re.MULTILINE)


def _source(module: str) -> Path | None:
    """The source file of a standard-library module, if it has one."""
    if module.partition(".")[0] not in sys.stdlib_module_names:
        return None
    rel = module.replace(".", "/")
    for path in (_STDLIB / f"{rel}.py", _STDLIB / rel / "__init__.py"):
        if path.is_file():
            return path
    return None


@functools.cache
def _candidates(module: str) -> frozenset[str]:
    """Names after ``class`` at the start of a line of ``module``'s source: a superset of its
    top-level classes, found without parsing (most lookups are of functions and end here)."""
    path = _source(module)
    if path is None:
        return frozenset()
    try:
        data = path.read_bytes()
    except OSError:
        return frozenset()
    return frozenset(m.decode("ascii", "replace") for m in _CLASS_LINE.findall(data))


@functools.cache
def _top_level_classes(module: str) -> frozenset[str]:
    """The names of the classes ``module``'s source defines at its top level (empty when the
    module is not a standard-library module with a Python source)."""
    path = _source(module)
    if path is None:
        return frozenset()
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError, OSError):
        return frozenset()
    return frozenset(node.name for node in tree.body if isinstance(node, ast.ClassDef))


@functools.cache
def is_stdlib_class(path: str) -> bool:
    """Whether the dotted ``path`` names a class defined at the top level of a standard-library
    module (``zipfile.ZipFile``, ``argparse.ArgumentParser``). The source is parsed only when a
    line of it starts a class of that name (a string could hold such a line: the parse decides)."""
    module, _, name = path.rpartition(".")
    return bool(module) and name in _candidates(module) and name in _top_level_classes(module)
