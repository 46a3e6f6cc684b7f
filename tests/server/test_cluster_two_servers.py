"""Two Jupyter servers on one Redis Cluster (as JupyterHub runs one per user): viewers of either
get the same events, an analysis started on one is seen on both, and two analyses of one graph
started on both at once take turns through the graph's writer lease (one epoch, no mix)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from graphlive.bus.connection import Client
from graphlive.bus.snapshot import load_graph
from graphlive.live import analyze
from tests.cluster_graphs import graphs_on_each_master
from tests.e2e.lab import Lab
from tests.redis_cluster import Cluster
from tests.server.clients import GLClient
from tests.test_analyze_cli import write_project

Connect = Callable[..., Awaitable[GLClient]]
Rest = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def gl_redis_url(cluster: Cluster) -> str:
    return cluster.url


@pytest.fixture
def second_server(cluster: Cluster, jp_root_dir: Path, tmp_path: Path) -> Iterator[Lab]:
    """Another Jupyter server process (JupyterLab with graphlive as installed) on the same
    cluster and the same root directory as the test's in-process server."""
    workdir = tmp_path / "second"
    workdir.mkdir()
    lab = Lab(root=jp_root_dir, redis_url=cluster.url, workdir=workdir)
    lab.start()
    yield lab
    lab.stop()


async def connect_to(lab: Lab) -> GLClient:
    url = lab.url("graphlive/ws/events", token=False).replace("http://", "ws://")
    request = HTTPRequest(url, headers={"Authorization": f"token {lab.token}"})
    return GLClient(await websocket_connect(request))


def rest_of(lab: Lab) -> Rest:
    async def call(path: str, body: Any | None = None) -> tuple[int, Any]:
        request = HTTPRequest(
            lab.url(f"graphlive/api/{path}", token=False),
            method="GET" if body is None else "POST",
            body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {lab.token}"},
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            text = exc.response.body if exc.response is not None else b""
            return exc.code, json.loads(text or b"{}")
        return response.code, json.loads(response.body)

    return call


def rest_of_test_server(jp_fetch: Any) -> Rest:
    async def call(path: str, body: Any | None = None) -> tuple[int, Any]:
        options: dict[str, Any] = {}
        if body is not None:
            options = {"method": "POST", "body": json.dumps(body)}
        try:
            response = await jp_fetch("graphlive", "api", *path.split("/"), **options)
        except HTTPClientError as exc:
            text = exc.response.body if exc.response is not None else b""
            return exc.code, json.loads(text or b"{}")
        return response.code, json.loads(response.body)

    return call


async def analysis_done(rest: Rest, graph: str, timeout: float = 60.0) -> dict[str, Any]:
    """The graph's last analysis job on that server, once it is no longer running."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        code, summary = await rest(f"graphs/{graph}")
        if code == 200 and summary["analysis"] and summary["analysis"]["state"] != "running":
            analysis: dict[str, Any] = summary["analysis"]
            return analysis
        assert asyncio.get_running_loop().time() < deadline, (code, summary)
        await asyncio.sleep(0.05)  # polling a server-side job's state


async def read_until(client: GLClient, graph: str, seq: int) -> list[dict[str, Any]]:
    """Every event of ``graph`` a viewer gets through ``seq`` (after its snapshot)."""
    return await client.events_through(graph, seq, timeout=60)


async def test_two_servers_serve_one_graph_alike_and_share_its_writer(
    gl_connect: Connect,
    jp_fetch: Any,
    jp_root_dir: Path,
    second_server: Lab,
    cluster: Cluster,
    cluster_client: Client,
) -> None:
    project = jp_root_dir / "project"
    project.mkdir()
    write_project(project)
    name = graphs_on_each_master(cluster, "two")[1]
    here, there = rest_of_test_server(jp_fetch), rest_of(second_server)

    # An analysis started on the test's server...
    code, job = await here(f"graphs/{name}/analyze", {"path": "project"})
    assert code == 202, job
    assert (await analysis_done(here, name))["state"] == "completed"
    head = load_graph(cluster_client, name)[1]
    viewers = [await gl_connect(), await connect_to(second_server)]
    for viewer in viewers:
        await viewer.hello()
        assert (await viewer.subscribe(name))["head"] == head.seq
        await viewer.until("snapshot")
        await read_until(viewer, name, head.seq)

    # ...then an edit analysed on the other server: both viewers get the same events.
    main = project / "shop" / "main.py"
    main.write_text(main.read_text() + "\n\ndef extra():\n    run()\n")
    code, job = await there(f"graphs/{name}/analyze", {"path": "project"})
    assert code == 202, job
    assert (await analysis_done(there, name))["state"] == "completed"
    head2 = load_graph(cluster_client, name)[1]
    assert head2.epoch == head.epoch and head2.seq > head.seq
    seen = [await read_until(viewer, name, head2.seq) for viewer in viewers]
    assert seen[0] == seen[1] and any("extra" in json.dumps(e) for e in seen[0])

    # Both servers asked at once: the writer lease makes them take turns, in one epoch.
    main.write_text(main.read_text() + "\n\ndef more():\n    extra()\n")
    answers = await asyncio.gather(
        here(f"graphs/{name}/analyze", {"path": "project"}),
        there(f"graphs/{name}/analyze", {"path": "project"}),
    )
    assert all(code == 202 for code, _ in answers), answers
    results = [await analysis_done(rest, name) for rest in (here, there)]
    assert all(r["state"] == "completed" for r in results), results
    loaded, head3 = load_graph(cluster_client, name)
    assert head3.epoch == head.epoch
    assert loaded == analyze(project, graph=name, publish=False).graph
    seen = [await read_until(viewer, name, head3.seq) for viewer in viewers]
    assert seen[0] == seen[1] and any("more" in json.dumps(e) for e in seen[0])
