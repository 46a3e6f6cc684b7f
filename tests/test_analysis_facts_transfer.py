"""Facts sent back from parsing workers: equal to the originals, with the same set orders."""

from __future__ import annotations

import pickle
import sysconfig
from pathlib import Path

import pytest

import graphlive
from graphlive.analysis.facts import FileFacts, FileTask, decode_facts, encode_facts
from graphlive.analysis.python_extract import extract_chunk, extract_file

_SRC = Path(graphlive.__file__).parent
_STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _files() -> list[FileTask]:
    paths = sorted(_SRC.rglob("*.py"))
    paths += [_STDLIB / name for name in ("argparse.py", "typing.py", "dataclasses.py")]
    paths += sorted((_STDLIB / "asyncio").glob("*.py"))
    return [
        FileTask(str(p), p.name, f"m{i}", p.name == "__init__.py", frozenset())
        for i, p in enumerate(paths)
    ]


def _same(a: FileFacts, b: FileFacts) -> None:
    assert a == b
    # repr shows the iteration order of every frozenset and dict: the resolver depends on it.
    assert repr(a) == repr(b)


@pytest.mark.parametrize("task", _files(), ids=lambda t: t.path.rsplit("/", 2)[-1])
def test_blob_round_trip_keeps_facts_and_set_orders(task: FileTask) -> None:
    facts = extract_file(task, 10_000_000)
    blob = encode_facts(facts)
    if blob is not None:
        back = decode_facts(blob)
        _same(back, facts)
        assert all(type(d) is type(e) for d, e in zip(back.defs, facts.defs, strict=True))
    again = pickle.loads(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == facts
    if blob is not None:
        _same(again, facts)


def test_chunk_returns_blobs_in_task_order() -> None:
    tasks = _files()[:5]
    blobs = extract_chunk(tasks, 10_000_000)
    assert len(blobs) == len(tasks)
    for task, blob in zip(tasks, blobs, strict=True):
        expected = extract_file(task, 10_000_000)
        got = expected if blob is None else decode_facts(blob)
        _same(got, expected)


def test_missing_and_error_facts_round_trip() -> None:
    for facts in (
        FileFacts(file="gone.py", module="gone", is_package=False, missing=True),
        FileFacts(file="bad.py", module="bad", is_package=False, error="syntax-error"),
    ):
        blob = encode_facts(facts)
        assert blob is not None
        _same(decode_facts(blob), facts)
