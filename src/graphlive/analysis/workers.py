"""How the analysis parses files in worker processes: what each worker gets for a file, how
many workers there are by default, and how they are started."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from graphlive.analysis.discover import Discovery, SourceFile
from graphlive.analysis.facts import FileTask

__all__ = ["default_workers", "file_task", "file_tasks", "pool_context", "submodules"]


def submodules(files: Mapping[str, SourceFile], package: SourceFile) -> frozenset[str]:
    """The names of the modules of ``files`` directly in ``package`` (none for a module)."""
    if not package.is_package:
        return frozenset()
    return frozenset(
        sf.id.rpartition(".")[2]
        for sf in files.values()
        if sf.parent == package.id and not sf.parent_is_namespace
    )


def file_task(disc: Discovery, sf: SourceFile) -> FileTask:
    """What extracting ``sf`` (a Python file of ``disc``) takes."""
    return FileTask(
        path=sf.path,
        rel=sf.rel,
        module=sf.id,
        is_package=sf.is_package,
        submodules=submodules(disc.by_rel, sf),
    )


def file_tasks(disc: Discovery) -> list[FileTask]:
    """What the parsing workers get for every discovered file, in discovery order."""
    children: dict[str, set[str]] = {}
    for sf in disc.files:
        if sf.parent is not None and not sf.parent_is_namespace:
            children.setdefault(sf.parent, set()).add(sf.id.rpartition(".")[2])
    return [
        FileTask(
            path=sf.path,
            rel=sf.rel,
            module=sf.id,
            is_package=sf.is_package,
            submodules=frozenset(children.get(sf.id, ())) if sf.is_package else frozenset(),
        )
        for sf in disc.files
    ]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pool_context() -> Any | None:
    """How to start parsing workers, or ``None`` to parse in this process.

    fork when this process has a single thread: fastest, and the workers do not re-import the
    ``__main__`` script. With other threads running (Jupyter kernels, servers) forking could
    deadlock on a lock another thread holds, so forkserver; but forkserver/spawn workers re-run
    a ``__main__`` script, which fails for scripts without an ``if __name__ == "__main__"``
    guard, so a threaded process started from a script parses in-process instead.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) is not None:
        return None
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
