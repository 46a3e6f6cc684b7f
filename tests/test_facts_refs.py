"""The references extraction records (``FileFacts.name_refs``/``def_refs``) are exactly what a
walk through the constraints finds: an update skips that walk when they do not meet the names
it rebinds or the definitions it changes, so a reference missed here would be a re-solve
missed there."""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import Any

from graphlive.analysis.facts import FileFacts, FileTask
from graphlive.analysis.incremental import _may_mention, _mentions
from graphlive.analysis.python_extract import extract_file
from graphlive.analysis.solver_values import decorator_checks

_STDLIB = Path(sysconfig.get_paths()["stdlib"])
#: Modules with nested functions, closures, nonlocal/global, comprehensions in classes,
#: decorators and lambdas (the places references are recorded).
_SAMPLE = [
    "functools.py", "dataclasses.py", "typing.py", "enum.py", "inspect.py", "argparse.py",
    "contextlib.py", "asyncio/tasks.py", "asyncio/base_events.py", "email/_header_value_parser.py",
    "json/encoder.py", "unittest/mock.py", "collections/__init__.py", "textwrap.py", "ast.py",
]  # fmt: skip


def _strings(value: Any, out: set[str]) -> set[str]:
    """Every string anywhere in ``value`` (nested tuples)."""
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, tuple):
        for item in value:
            _strings(item, out)
    return out


def _unrecorded(facts: FileFacts) -> list[Any]:
    """The constraints that :func:`_mentions` finds looking up a name, or referring to a
    definition, that extraction did not record (the production walk as the oracle)."""
    cons = [*facts.constraints, *decorator_checks(facts)]
    strings: set[str] = set()
    for con in cons:
        _strings(con, strings)
    names, defs = strings - facts.name_refs, strings - facts.def_refs
    return [con for con in cons if _mentions(con, defs, names)]


def _facts(path: Path, rel: str) -> FileFacts:
    module = rel.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    task = FileTask(
        path=str(path), rel=rel, module=module, is_package=rel.endswith("__init__.py"),
        submodules=frozenset(),
    )  # fmt: skip
    return extract_file(task, 10_000_000)


def test_recorded_references_are_what_a_walk_finds() -> None:
    checked = 0
    for rel in _SAMPLE:
        path = _STDLIB / rel
        if not path.exists():
            continue
        facts = _facts(path, rel)
        assert facts.error is None, rel
        assert facts.name_refs and facts.def_refs, rel
        # Recorded at least what the walk finds (a superset would only cost a walk).
        assert _unrecorded(facts) == [], rel
        checked += 1
    assert checked >= 10


def test_the_walk_is_skipped_only_when_nothing_can_match(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "def outer():\n"
        "    count = 0\n"
        "    def inner():\n"
        "        nonlocal count\n"
        "        count += 1\n"
        "        return helper(count)\n"
        "    return inner\n"
        "\n"
        "def helper(n):\n"
        "    return n\n"
    )
    facts = _facts(source, "m.py")
    assert "count" in facts.name_refs and "m.helper" in facts.def_refs
    cons = [*facts.constraints, *decorator_checks(facts)]
    for names, defs in (({"count"}, set()), (set(), {"m.helper"}), ({"unused"}, {"m.nothing"})):
        found = any(_mentions(con, defs, names) for con in cons)
        # Never skipped where a constraint mentions one of them.
        assert _may_mention(facts, defs, names) or not found
    assert not _may_mention(facts, {"m.nothing"}, {"unused"})
    assert _may_mention(facts, set(), None)  # a scope moved: any name may resolve differently
