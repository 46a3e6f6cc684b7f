"""Options for the optional mypyc build (a no-op when the analysis runs as pure Python).

Classes that are pickled (the analysis cache, results sent back by workers) are marked
``serializable=True``: by default mypyc's ``__new__`` calls ``__init__``, so unpickling a class
whose ``__init__`` takes arguments fails. They also need ``allow_interpreted_subclasses=True``:
without it a serializable class constructed from interpreted code skips ``__init__`` altogether
(mypyc/mypyc#1172).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr
else:

    def mypyc_attr(*_flags: Any, **_attrs: Any) -> Any:
        return lambda cls: cls


__all__ = ["mypyc_attr"]
