"""Analysing real code bases end to end: no crash, every file accounted for, sane graph sizes.

Corpora: copies of stdlib packages (always; a broken file is added so the diagnostic path runs
on a big tree), and the requests and rich wheels from PyPI (fetched with pip into pytest's
cache once; skipped with the reason when PyPI cannot be reached). Graph sizes are checked
against an independent ``ast`` census of the same files, so the bounds follow the corpus.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from benchmarks import corpora

from graphlive.events import EventType
from graphlive.graph import EdgeKind, NodeKind
from tests.analysis_fixtures import Run, analyze

# Big enough (> 1.5 MB) that the engine parses in worker processes with workers=2.
STDLIB_COPY = ("asyncio", "email", "json", "xml", "logging", "importlib", "unittest")
BROKEN = "broken_module.py"
DEFINITIONS = (NodeKind.CLASS, NodeKind.FUNCTION, NodeKind.METHOD, NodeKind.LAMBDA)


@dataclass
class Census:
    """What a plain ``ast`` walk finds in a tree: the yardstick for the graph's size."""

    files: list[str]
    unparsable: set[str]
    definitions: int
    calls: int
    lines: int


def census(root: Path) -> Census:
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if "__pycache__" not in p.parts and p.is_file()
    )
    unparsable: set[str] = set()
    kinds: Counter[str] = Counter()
    lines = 0
    for rel in files:
        data = (root / rel).read_bytes()
        lines += data.count(b"\n")
        try:
            tree = ast.parse(data, rel)
        except (SyntaxError, ValueError):
            unparsable.add(rel)
            continue
        kinds.update(type(node).__name__ for node in ast.walk(tree))
    definitions = sum(kinds[k] for k in ("FunctionDef", "AsyncFunctionDef", "ClassDef", "Lambda"))
    return Census(files, unparsable, definitions, kinds["Call"], lines)


def check_sane(run: Run, root: Path) -> Census:
    """No crash, every file analysed or diagnosed, node/edge counts within the census' bounds."""
    found = census(root)
    summary = run.summary
    assert not run.of_type(EventType.ANALYSIS_FAILED)
    assert len(run.of_type(EventType.ANALYSIS_COMPLETED)) == 1
    assert summary.files == len(found.files)

    graph = run.graph
    files_with_nodes = {n.file for n in graph.nodes() if n.file is not None}
    diagnosed = {str(d["file"]) for d in run.diagnostics()}
    assert {f for f in found.files if f not in files_with_nodes and f not in diagnosed} == set()
    # A file that does not parse keeps its module node and says why in a diagnostic.
    assert found.unparsable <= diagnosed
    assert summary.files_failed == len(found.unparsable)

    for edge in graph.edges():
        assert edge.source in graph and edge.target in graph, edge
    kinds = Counter(n.kind for n in graph.nodes())
    definitions = sum(kinds[k] for k in DEFINITIONS)
    # One node per definition, except redefinitions in one scope (property setters,
    # conditional defs), which share an id.
    assert 0.8 * found.definitions <= definitions <= found.definitions
    modules = kinds[NodeKind.MODULE] + kinds[NodeKind.PACKAGE]
    assert modules >= len(found.files) - len(found.unparsable)
    edges = Counter(e.kind for e in graph.edges())
    in_tree = sum(1 for n in graph.nodes() if n.file is not None)
    # Every definition or module is contained in its parent, except the top-level ones.
    assert in_tree - 10 <= edges[EdgeKind.CONTAINS] < in_tree
    assert edges[EdgeKind.IMPORTS] > 0
    # Every call expression is counted exactly once; most resolve; edges stay proportional.
    assert summary.calls_total == found.calls
    assert summary.resolved_ratio > 0.6, summary
    assert 0.5 * summary.calls_resolved <= edges[EdgeKind.CALLS] <= 3 * found.calls
    assert summary.nodes == graph.node_count
    assert summary.edges == graph.edge_count
    return found


@pytest.fixture(scope="module")
def stdlib_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stdlib-copy")
    corpora.copy_stdlib_packages(root, STDLIB_COPY)
    (root / BROKEN).write_text("def broken(:\n    pass\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("workers", [1, 2])
def test_stdlib_packages(stdlib_copy: Path, workers: int) -> None:
    run = analyze(stdlib_copy, workers=workers)
    found = check_sane(run, stdlib_copy)
    assert found.unparsable == {BROKEN}
    assert found.lines > 50_000
    assert [d["code"] for d in run.diagnostics() if d["file"] == BROKEN]
    assert run.graph.node(BROKEN.removesuffix(".py")).kind is NodeKind.MODULE
    calls = run.edges(EdgeKind.CALLS)
    assert ("json.dumps", "json.encoder.JSONEncoder.encode") in calls
    assert ("logging.getLogger", "logging.Manager.getLogger") in calls


@pytest.fixture(scope="module")
def pypi_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the wheels go: pytest's cache (kept between runs), else a temporary folder."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("graphlive-corpora"))
    return tmp_path_factory.mktemp("corpora")


@pytest.mark.parametrize("name", ["requests", "rich"])
def test_pypi_wheel(pypi_cache: Path, name: str) -> None:
    version = corpora.WHEELS[name]
    try:
        root = corpora.fetch_wheel(name, version, pypi_cache, network_timeout=15)
    except corpora.CorpusUnavailable as exc:
        pytest.skip(f"PyPI not reachable, {name}=={version} not fetched: {exc}")
    run = analyze(root, workers=2)
    found = check_sane(run, root)
    assert found.unparsable == set()
    assert run.summary.diagnostics == 0
    assert run.graph.node(name).kind is NodeKind.PACKAGE
