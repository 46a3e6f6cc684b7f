"""Bolt targets (Neo4j, Memgraph): URL parsing, flavour detection and error classification here;
the full sink run against a real server when ``GRAPHLIVE_TEST_BOLT_URL`` names one.

No Neo4j or Memgraph server runs in this environment (no Docker), so the end-to-end test is
skipped unless the variable is set, e.g.::

    docker run -d -p 7687:7687 -e NEO4J_AUTH=neo4j/testpassword neo4j:5
    GRAPHLIVE_TEST_BOLT_URL=bolt://neo4j:testpassword@localhost:7687 pytest tests/test_sink_bolt.py

    docker run -d -p 7688:7687 memgraph/memgraph
    GRAPHLIVE_TEST_BOLT_URL=memgraph://localhost:7688 pytest tests/test_sink_bolt.py
"""

from __future__ import annotations

import os
import random

import pytest

from graphlive.live import LiveGraph
from graphlive.sinks import Sink
from graphlive.sinks.bolt import BoltTarget, flavor_of_agent, parse_bolt_url
from graphlive.sinks.cypher import MEMGRAPH, NEO4J, Statement
from graphlive.sinks.target import open_target
from tests.test_sink_support import assert_mirrors, falkordb_url, mutate

__all__ = ["falkordb_url"]  # the fixture, re-exported for pytest

BOLT_URL = os.environ.get("GRAPHLIVE_TEST_BOLT_URL")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("bolt://localhost:7687", ("bolt://localhost:7687", None, None, None)),
        (
            "bolt://u:p%40ss@db.example:7687/codegraph",
            ("bolt://db.example:7687", ("u", "p@ss"), "codegraph", None),
        ),
        ("neo4j+s://h", ("neo4j+s://h", None, None, None)),
        ("memgraph://h:7688", ("bolt://h:7688", None, None, "memgraph")),
        ("memgraph+ssc://h", ("bolt+ssc://h", None, None, "memgraph")),
        ("bolt://h?flavor=Memgraph", ("bolt://h", None, None, "memgraph")),
        ("bolt://[::1]:7687", ("bolt://[::1]:7687", None, None, None)),
    ],
)
def test_parse_bolt_url(url: str, expected: tuple[object, ...]) -> None:
    assert parse_bolt_url(url) == expected


def test_bad_bolt_urls() -> None:
    with pytest.raises(ValueError, match="flavor"):
        parse_bolt_url("bolt://h?flavor=oracle")
    with pytest.raises(ValueError, match="not a Bolt URL"):
        parse_bolt_url("http://h")
    with pytest.raises(ValueError, match="unsupported sink target 'ftp://u:\\*\\*\\*@h'"):
        open_target("ftp://u:secret@h", graph="g")


def test_flavor_from_server_agent() -> None:
    assert flavor_of_agent("Neo4j/5.20.0") is NEO4J
    assert flavor_of_agent("Neo4j/v5.11.0 compatible graph database server - Memgraph") is MEMGRAPH


def test_unreachable_server_is_a_transient_error() -> None:
    pytest.importorskip("neo4j", reason="the neo4j driver is not installed (graphlive[bolt])")
    # A given flavour means no connection at construction; the first statement then fails with
    # an error the sink retries instead of stopping.
    target = BoltTarget.from_url("memgraph://127.0.0.1:9", retry_seconds=0.2)
    assert target.describe() == "memgraph:bolt://127.0.0.1:9"
    with pytest.raises(target.transient):
        target.write(Statement("RETURN 1", {}))
    target.close()


@pytest.mark.skipif(
    not BOLT_URL,
    reason="needs a Neo4j or Memgraph server: set GRAPHLIVE_TEST_BOLT_URL (see module docstring)",
)
def test_sink_into_bolt_server_mirrors_graph(falkordb_url: str, graph_name: str) -> None:
    assert BOLT_URL is not None
    lg = LiveGraph(graph_name, redis_url=falkordb_url)
    mutate(lg.graph, random.Random(5), 150)
    lg.flush()
    with Sink(graph_name, BOLT_URL, redis_url=falkordb_url) as sink:
        sink.run(until_caught_up=True)
        assert sink.run(until_caught_up=True).events == 0  # nothing twice
        assert_mirrors(sink.target, graph_name, lg.graph)
        lg.graph.clear()
        mutate(lg.graph, random.Random(6), 50)
        lg.flush()
        sink.run(until_caught_up=True)
        assert_mirrors(sink.target, graph_name, lg.graph)
        sink.target.write(
            Statement("MATCH (n:CodeNode {graph: $g}) DETACH DELETE n", {"g": graph_name})
        )
        sink.target.write(
            Statement("MATCH (c:GraphliveCursor {graph: $g}) DELETE c", {"g": graph_name})
        )
    lg.close()
