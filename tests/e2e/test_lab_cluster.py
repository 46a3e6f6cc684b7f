"""JupyterLab on a Redis Cluster, as a team deployment meets it: the server extension, the kernel
and a watcher all given an ordinary ``redis://`` URL of one node of a real 3-master cluster, the
graph on whichever master its name hashes to; a real browser shows the view and a saved edit."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphlive.bus.connection import connect
from graphlive.bus.snapshot import load_graph
from tests.cluster_graphs import as_documented_user
from tests.e2e.conftest import REPO, screenshot
from tests.e2e.lab import Lab
from tests.e2e.test_lab import (
    FUNCTION,
    copy_project,
    open_notebook,
    output_matching,
    run_all,
    status_text,
    wait_counts,
    write_notebook,
)
from tests.redis_cluster import Cluster


@pytest.fixture(scope="module")
def cluster_lab(cluster: Cluster) -> Iterator[Lab]:
    """JupyterLab (server extension and kernels) on the cluster, as the least-privilege user."""
    workdir = Path(tempfile.mkdtemp(prefix="gl-e2e-cluster-"))
    root = workdir / "root"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = Lab(root=root, redis_url=as_documented_user(cluster.url), workdir=workdir)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_a_watched_edit_reaches_the_view_through_the_cluster(
    page: Any, cluster_lab: Lab, cluster: Cluster
) -> None:
    project = copy_project(cluster_lab, "watched_shop")
    graph = "e2e-cluster-watch"
    notebook = write_notebook(
        cluster_lab,
        "e2e_cluster.ipynb",
        "import graphlive\n"
        f"lg = graphlive.analyze('watched_shop', graph={graph!r})\n"
        "lg.watch()\n"
        "print(f'watching: {lg.graph.node_count} nodes, {lg.graph.edge_count} edges')",
        "lg.view()",
    )
    open_notebook(page, cluster_lab, notebook)
    run_all(page)
    m = output_matching(page, r"watching: (\d+) nodes, (\d+) edges")
    nodes, edges = int(m.group(1)), int(m.group(2))
    wait_counts(page, nodes, edges)
    assert "live" in status_text(page)
    payments = project / "shop" / "payments.py"
    payments.write_text(payments.read_text() + FUNCTION.format(name="refund"))
    wait_counts(page, nodes + 1, edges + 1)
    screenshot(page, "cluster-watch-edit")
    # What the view shows is what the cluster holds, on the master that owns the graph.
    client = connect(as_documented_user(cluster.url))
    try:
        stored, _ = load_graph(client, graph)
    finally:
        client.close()
    assert (stored.node_count, stored.edge_count) == (nodes + 1, edges + 1)
