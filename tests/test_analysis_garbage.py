"""Extraction and resolution leave no cyclic garbage (reference counting frees them), and each
call expression is extracted exactly once."""

from __future__ import annotations

import ast
import gc
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphlive.analysis.facts import C_CALL, F_IMPLICIT, FileTask
from graphlive.analysis.python_extract import extract_source
from graphlive.analysis.resolve import ProgramIndex, resolve
from tests.analysis_fixtures import analyze

SOURCES = {
    "pkg/__init__.py": "from .base import *\n",
    "pkg/base.py": """
        __all__ = ["Base", "helper"]
        class Base:
            def __init__(self, x):
                self.x = x
            def run(self):
                return [y for y in range(3) if self.x(lambda: y)]
        def helper():
            return Base(len)
    """,
    "pkg/more.py": """
        from .base import *
        from . import *
        class Child(Base):
            def run(self):
                super().run()
                return helper().run()
    """,
}


def _task(rel: str) -> FileTask:
    module = rel[:-3].replace("/", ".").removesuffix(".__init__")
    return FileTask(rel, rel, module, rel.endswith("__init__.py"), frozenset())


@pytest.fixture
def collector_off() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    gc.collect()
    try:
        yield
    finally:
        if was:
            gc.enable()


@pytest.mark.usefixtures("collector_off")
def test_extraction_and_resolution_leave_no_cyclic_garbage() -> None:
    facts = [
        extract_source(_task(rel), textwrap.dedent(src).lstrip("\n"))
        for rel, src in SOURCES.items()
    ]
    assert gc.collect() == 0  # the extractors and their scopes died by reference counting
    index = ProgramIndex(facts)
    resolution = resolve(index)
    assert any(link.calls for link in resolution.links)
    del resolution, index
    # The solver (star imports included) is not part of a reference cycle either.
    assert gc.collect() == 0


def test_call_in_second_argument_of_super_is_extracted_once(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        class A:
            def create(self, **kw):
                pass
        class C(A):
            def db(self, alias):
                return self
            def create(self, **kw):
                return super(C, self.db(len(kw))).create(**kw)
            def other(self):
                return super(C, *self.db(1)).create()
        """
    ).lstrip("\n")
    facts = extract_source(_task("m.py"), source)
    explicit = [c for c in facts.constraints if c[0] == C_CALL and not c[7] & F_IMPLICIT]
    n_calls = sum(isinstance(node, ast.Call) for node in ast.walk(ast.parse(source)))
    assert len(explicit) == facts.calls == n_calls
    run = analyze(tmp_path, {"m.py": source})
    assert run.summary.calls_total == n_calls
    assert run.calls("m.C.create") == {"<builtin>.super", "<builtin>.len", "m.C.db", "m.A.create"}
    assert len(run.call_lines("m.C.create")) == 4
