"""Status (REST, WebSocket, Prometheus) and the REST API: graphs, summaries, analysis."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from tornado.httpclient import HTTPClientError

from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position
from graphlive.bus.snapshot import write_snapshot
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from tests.server.clients import GLClient, publish_nodes

Connect = Callable[..., Awaitable[GLClient]]


async def get_json(jp_fetch: Any, *parts: str) -> Any:
    response = await jp_fetch(*parts)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


@pytest.mark.parametrize("gl_config", [{"status_interval": 0.2}])
async def test_status_numbers(
    gl_connect: Connect, jp_fetch: Any, redis_client: redis.Redis, graph_name: str
) -> None:
    pub = Publisher(redis_client, graph_name)
    first = publish_nodes(pub, 0, 1)
    clients = [await gl_connect(), await gl_connect("filtered")]
    for client in clients:
        await client.hello()
        await client.subscribe(graph_name, snapshot=False)
        client.positions[graph_name] = (first.epoch, first.last)
    watcher = await gl_connect("status")
    pushed = await watcher.expect("status")
    assert pushed["connections"]["status"] == 1

    result = publish_nodes(pub, 1, 200)
    for client in clients:
        await client.events_through(graph_name, result.last)
    status = await get_json(jp_fetch, "graphlive", "api", "status")
    assert status["connections"] == {"events": 1, "filtered": 1, "status": 1, "total": 3}
    assert status["subscriptions"] == 2 and status["subscriptions_live"] == 2
    assert status["events_in_total"] == 200
    assert status["events_out_total"] == 400
    assert status["events_in_per_s"] > 0 and status["events_out_per_s"] > 0
    assert 0 < status["latency_ms"]["p50"] <= status["latency_ms"]["p99"] < 10_000
    assert status["graphs"][graph_name]["subscribers"] == 2
    assert status["graphs"][graph_name]["position"] == result.last
    assert status["queues"]["bytes_max"] >= 0 and status["queues"]["limit_bytes"] > 0
    assert status["slow_client_closes"] == 0
    assert status["reader"]["available"] is True and status["reader"]["reconnects"] == 0

    # The status socket pushes the same numbers periodically.
    pushed = await watcher.until("status", timeout=10)
    assert pushed["events_out_total"] == 400
    await watcher.send({"op": "ping", "t": 2})
    assert (await watcher.until("pong"))["t"] == 2


async def test_prometheus_metrics_include_graphlive(
    gl_connect: Connect, jp_fetch: Any, redis_client: redis.Redis, graph_name: str
) -> None:
    first = publish_nodes(Publisher(redis_client, graph_name), 0, 3)
    client = await gl_connect()
    await client.follow(graph_name, first.last)
    text = (await jp_fetch("metrics")).body.decode()
    assert 'graphlive_connections{endpoint="events"} 1.0' in text
    assert "graphlive_subscriptions 1.0" in text
    assert "graphlive_events_sent_total 3.0" in text
    assert "graphlive_slow_client_closes_total 0.0" in text
    assert "graphlive_delivery_latency_seconds_count" in text
    assert "graphlive_redis_available 1.0" in text


def publish_graph(client: redis.Redis, name: str) -> CodeGraph:
    pub = Publisher(client, name)
    graph = CodeGraph(name)
    last: list[Position] = []
    graph.listen(lambda batch: last.append(_pos(pub.publish(batch))))
    with graph.transaction():
        graph.add_node(Node.make("pkg", NodeKind.PACKAGE, file="pkg/__init__.py"))
        graph.add_node(Node.make("pkg.a", NodeKind.MODULE, file="pkg/a.py"))
        graph.add_node(Node.make("pkg.a.f", NodeKind.FUNCTION, file="pkg/a.py", line=3))
        graph.add_edge(Edge(EdgeKind.CONTAINS, "pkg", "pkg.a"))
        graph.add_edge(Edge(EdgeKind.CONTAINS, "pkg.a", "pkg.a.f"))
    write_snapshot(client, graph, last[-1])
    graph.add_node(Node.make("pkg.a.g", NodeKind.FUNCTION, file="pkg/a.py", line=9))
    graph.add_edge(Edge(EdgeKind.CALLS, "pkg.a.g", "pkg.a.f", 10, "pkg/a.py"))
    return graph


def _pos(result: Any) -> Position:
    return Position(result.epoch, result.last)


async def test_graph_list_and_summary(
    jp_fetch: Any, redis_client: redis.Redis, graph_name: str
) -> None:
    graph = publish_graph(redis_client, graph_name)
    listing = await get_json(jp_fetch, "graphlive", "api", "graphs")
    mine = [g for g in listing["graphs"] if g["name"] == graph_name]
    assert mine == [
        {"name": graph_name, "epoch": mine[0]["epoch"], "head": 7, "nodes": 4, "edges": 3}
    ]
    summary = await get_json(jp_fetch, "graphlive", "api", "graphs", graph_name)
    assert summary["nodes"] == graph.node_count == 4 and summary["edges"] == 3
    assert summary["head"] == 7 and summary["snapshot_seq"] == 5
    assert summary["node_kinds"] == {"function": 2, "module": 1, "package": 1}
    assert summary["edge_kinds"] == {"calls": 1, "contains": 2}
    assert summary["files"] == 2 and summary["subscribers"] == 0
    assert summary["analysis"] is None
    # Later changes are picked up incrementally.
    graph.remove_node("pkg.a.g")
    summary = await get_json(jp_fetch, "graphlive", "api", "graphs", graph_name)
    assert (summary["nodes"], summary["edges"], summary["head"]) == (3, 2, 9)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("graphlive", "api", "graphs", "no-such-graph")
    assert info.value.code == 404


@pytest.fixture
def root_tree(jp_root_dir: Path, tmp_path: Path) -> Path:
    """A project inside the server root, and a secret outside it reachable by a symlink."""
    project = jp_root_dir / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "mod.py").write_text("def f():\n    return 1\n\ndef g():\n    return f()\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("KEY = 1\n")
    os.symlink(outside, jp_root_dir / "escape")
    os.symlink(project / "pkg", jp_root_dir / "inner-link")
    return jp_root_dir


async def post_analyze(jp_fetch: Any, graph: str, body: Any) -> tuple[int, Any]:
    try:
        response = await jp_fetch(
            "graphlive", "api", "graphs", graph, "analyze",
            method="POST", body=json.dumps(body),
        )  # fmt: skip
    except HTTPClientError as exc:
        body = exc.response.body if exc.response is not None else b"{}"
        return exc.code, json.loads(body)
    return response.code, json.loads(response.body)


async def test_analyze_is_confined_to_the_root_dir(
    jp_fetch: Any, root_tree: Path, tmp_path: Path, graph_name: str
) -> None:
    refused = [
        ({"path": "../outside"}, 400, "'..'"),
        ({"path": "project/../../outside"}, 400, "'..'"),
        ({"path": str(tmp_path / "outside")}, 403, "outside the server's root"),
        ({"path": "/etc"}, 403, "outside the server's root"),
        ({"path": "escape"}, 403, "symbolic link"),
        ({"path": "escape/secret.py"}, 403, "symbolic link"),
        ({"path": "missing"}, 404, "does not exist"),
        ({"path": ""}, 400, "non-empty"),
        ({"path": 3}, 400, "non-empty string"),
        ({}, 400, "non-empty string"),
        ([1], 400, "JSON object"),
    ]
    for body, status, text in refused:
        code, reply = await post_analyze(jp_fetch, graph_name, body)
        assert (code, text in reply["message"]) == (status, True), (body, code, reply)


async def test_analyze_runs_server_side_into_the_servers_redis(
    gl_connect: Connect, jp_fetch: Any, root_tree: Path, graph_name: str
) -> None:
    code, job = await post_analyze(jp_fetch, graph_name, {"path": "project"})
    assert code == 202 and job["state"] == "running" and job["path"] == "project"
    code, linked = await post_analyze(jp_fetch, graph_name + "-l", {"path": "inner-link"})
    assert code == 202 and linked["path"] == "project/pkg"  # a link inside the root is fine
    absolute = {"path": str(root_tree / "project" / "pkg")}
    code, job = await post_analyze(jp_fetch, graph_name + "-a", absolute)
    assert code == 202 and job["path"] == "project/pkg"  # so is an absolute path inside it
    for name in (graph_name, graph_name + "-l", graph_name + "-a"):
        deadline = 60.0
        while True:  # the job's state is part of the graph summary
            try:
                summary = await get_json(jp_fetch, "graphlive", "api", "graphs", name)
            except HTTPClientError as exc:
                if exc.code != 404:  # 404: not published yet
                    raise
                summary = None
            if summary is not None and summary["analysis"]["state"] != "running":
                break
            deadline -= 0.05
            assert deadline > 0
            await asyncio.sleep(0.05)
        assert summary["analysis"]["state"] == "completed", summary["analysis"]
        assert summary["analysis"]["summary"]["nodes"] == summary["nodes"] >= 3
        # Paths in the answer are relative to the server's root directory.
        analysis = summary["analysis"]
        assert analysis["summary"]["root"] == analysis["path"]
        answer = json.dumps(summary)
        assert str(root_tree) not in answer and str(root_tree.resolve()) not in answer
    # What the analysis published is what a subscriber gets.
    client = await gl_connect()
    await client.hello()
    await client.subscribe(graph_name)
    snapshot = await client.expect("snapshot")
    assert {"pkg.mod.f", "pkg.mod.g"} <= {n["id"] for n in snapshot["nodes"]}
