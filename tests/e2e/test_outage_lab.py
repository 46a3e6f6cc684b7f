"""A Redis outage as a JupyterLab user meets it: the view on a graph says Redis is unreachable
while it is down, and once Redis is back (on the same socket, with its data) the notice goes and
newly published events reach the view again — without reloading anything."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from graphlive.bus.publisher import Publisher
from tests.e2e.conftest import screenshot
from tests.e2e.lab import Lab
from tests.e2e.test_lab import TIMEOUT, open_notebook, run_all, wait_counts, write_notebook
from tests.redis_servers import RestartableRedis
from tests.server.clients import node_events

GRAPH = "e2e-outage"


@pytest.fixture(scope="module")
def outage_redis() -> Iterator[RestartableRedis]:
    server = RestartableRedis()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def outage_lab(outage_redis: RestartableRedis) -> Iterator[Lab]:
    """JupyterLab on an empty root whose extension and kernels use ``outage_redis``."""
    workdir = Path(tempfile.mkdtemp(prefix="gl-e2e-"))
    root = workdir / "root"
    root.mkdir()
    server = Lab(root=root, redis_url=outage_redis.url, workdir=workdir)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def publish(url: str, start: int, count: int) -> None:
    # A fresh client each time: the previous one's connection died with the server.
    client = redis.Redis.from_url(url)
    try:
        Publisher(client, GRAPH).publish(node_events(GRAPH, start, count))
    finally:
        client.close()


def wait_status(page: Any, script: str) -> None:
    """Wait until ``script`` (a JS expression over ``s``, the last view's gl-status) holds."""
    page.wait_for_function(
        "() => { const all = document.querySelectorAll('[data-testid=gl-status]');"
        f" const s = all[all.length - 1]; return !!s && ({script}); }}",
        timeout=TIMEOUT,
    )


def test_a_redis_outage_shows_and_live_resumes_after_it(
    page: Any, outage_lab: Lab, outage_redis: RestartableRedis
) -> None:
    publish(outage_redis.url, 0, 5)
    name = write_notebook(
        outage_lab,
        "e2e_outage.ipynb",
        f"from graphlive.widget import GraphView\nGraphView.for_graph({GRAPH!r})",
    )
    open_notebook(page, outage_lab, name)
    run_all(page)
    wait_counts(page, 5, 0)
    wait_status(page, "s.textContent === 'live'")

    outage_redis.kill()
    wait_status(page, "s.textContent.startsWith('unavailable') && s.dataset.state === 'error'")
    screenshot(page, "redis-outage-notice")

    outage_redis.start()
    # The server sends `available` once it reads Redis again: the notice goes by itself.
    wait_status(page, "s.textContent === 'live' && s.dataset.state === 'open'")
    # And events published from now on arrive live (the data survived: 5 + 2 nodes).
    publish(outage_redis.url, 5, 2)
    wait_counts(page, 7, 0)
    screenshot(page, "redis-outage-resumed")
