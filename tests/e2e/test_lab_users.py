"""`graphlive lab` reaches a running JupyterLab with the graph as root and as an unprivileged
user (containers and CI run as root, where Jupyter refuses to start without --allow-root)."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest
import redis

from graphlive.bus import load_graph
from tests.e2e.conftest import REPO
from tests.e2e.lab import GraphliveLab

ROOT_LINE = "running as root, so JupyterLab gets --allow-root"
UNPRIVILEGED_UID = 1000


def start_lab(tmp_path: Path, redis_url: str, as_uid: int | None) -> GraphliveLab:
    project = tmp_path / "shop"
    shutil.copytree(REPO / "notebooks" / "demo_shop", project)
    server = GraphliveLab(root=project, redis_url=redis_url, workdir=tmp_path, as_uid=as_uid)
    server.start()
    return server


def graph_from_rest(server: GraphliveLab, name: str) -> dict[str, object]:
    with urllib.request.urlopen(server.url(f"graphlive/api/graphs/{name}"), timeout=30) as r:
        body: dict[str, object] = json.loads(r.read())
    return body


def full_log(server: GraphliveLab) -> str:
    return "".join(p.read_text(errors="replace") for p in server.workdir.glob("lab-*.log"))


@pytest.mark.parametrize("user", ["as-started", "unprivileged"])
def test_graphlive_lab_serves_the_graph(user: str, lab_redis: str, tmp_path: Path) -> None:
    euid = os.geteuid()
    if user == "unprivileged" and euid == 0 and shutil.which("unshare") is None:
        pytest.fail("running as root without `unshare`: cannot check the unprivileged path")
    as_uid = UNPRIVILEGED_UID if user == "unprivileged" and euid == 0 else None
    server = start_lab(tmp_path, lab_redis, as_uid)
    client = redis.Redis.from_url(lab_redis)
    try:
        expected, _ = load_graph(client, "shop")
        summary = graph_from_rest(server, "shop")
        assert (summary["nodes"], summary["edges"]) == (expected.node_count, expected.edge_count)
        assert expected.node_count > 0
        # --allow-root exactly when the process runs as root, said in one line.
        runs_as_root = euid == 0 and as_uid is None
        assert (ROOT_LINE in full_log(server)) is runs_as_root
        assert server.proc is not None and server.proc.poll() is None
    finally:
        client.close()
        server.stop()
