"""graphlive as the least-privilege Redis user of docs/deploy.md, on a real Redis Cluster: the
rules are read from the document, so the document stays what works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from graphlive.bus.connection import connect
from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import Position, StreamReader
from graphlive.bus.snapshot import load_graph
from graphlive.live import analyze
from tests.cluster_graphs import (
    as_documented_user,
    graphs_on_each_master,
)
from tests.redis_cluster import Cluster
from tests.test_analyze_cli import write_project


@pytest.fixture
def acl_url(cluster: Cluster) -> str:
    return as_documented_user(cluster.url)


def test_the_user_may_not_touch_other_keys_or_run_admin_commands(acl_url: str) -> None:
    client = connect(acl_url)
    try:
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("someone-else:key", "x")
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.flushall()
    finally:
        client.close()


def test_analyze_publish_read_and_watch_requests_as_the_documented_user(
    cluster: Cluster, acl_url: str, tmp_path: Path
) -> None:
    write_project(tmp_path)
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": acl_url}
    name = graphs_on_each_master(cluster, "acl")[2]
    cmd = [sys.executable, "-m", "graphlive.cli", "analyze", str(tmp_path), "--graph", name]
    out = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    client = connect(acl_url)
    try:
        loaded, pos = load_graph(client, name)
        assert loaded == analyze(tmp_path, graph=name, publish=False).graph
        assert pos == Position(summary["epoch"], summary["last_seq"])
        more = Publisher(client, name).publish([])
        assert more.epoch == summary["epoch"]
        events = StreamReader(client, name).read(Position(pos.epoch, 0))
        assert events and events[-1].seq == pos.seq
    finally:
        client.close()
    printed = subprocess.run(
        [sys.executable, "-m", "graphlive.cli", "events", name],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert len(printed.stdout.splitlines()) == pos.seq
