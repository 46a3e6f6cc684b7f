"""A server following the embedded default Redis starts it again when it dies (kill -9).

The Jupyter server runs with no Redis URL configured, so it uses the embedded redis-server of
:mod:`graphlive.bus.embedded`, in this test's own short runtime dir (the socket path must fit a
unix socket) and data dir. Nothing but the server may restart it here.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from graphlive.bus import embedded
from graphlive.bus.connection import URL_ENV
from graphlive.bus.publisher import Publisher
from graphlive_server.service import GraphliveService
from tests.server.clients import GLClient, publish_nodes, wait_until

Connect = Callable[..., Awaitable[GLClient]]


@pytest.fixture
def short_base(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="glt-", dir="/tmp"))
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(base / "data"))
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(embedded.FALKORDB_ENV, raising=False)
    yield base
    try:
        embedded.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def jp_runtime_dir(short_base: Path) -> Path:
    """pytest-jupyter's runtime dir, short enough for the embedded Redis' socket."""
    path = short_base / "rt"
    path.mkdir()
    return path


@pytest.fixture
def gl_redis_url() -> None:
    """No URL: the extension uses the embedded default."""
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state != "Z"


async def test_the_embedded_redis_is_started_again_when_it_dies(
    gl_connect: Connect, gl_service: GraphliveService, jp_fetch: Any, graph_name: str
) -> None:
    client = await gl_connect()  # its hello is read by follow() below
    await gl_service.ensure_started()
    assert gl_service.embedded
    first = embedded.status()
    assert first is not None and gl_service.url == first.url
    producer = redis.Redis.from_url(first.url)
    pub = Publisher(producer, graph_name)
    published = publish_nodes(pub, 0, 5)
    await client.follow(graph_name, published.last)
    producer.close()

    os.kill(first.pid, signal.SIGKILL)
    await wait_until(lambda: not _pid_alive(first.pid))
    # The server notices, starts a new one at the same address, and its reader reconnects.
    await wait_until(lambda: (embedded.status() or first).pid != first.pid, timeout=30)
    await wait_until(lambda: gl_service.broadcaster.available, timeout=30)
    second = embedded.status()
    assert second is not None and second.url == first.url
    # The open connection was told, and works again: REST answers, a new graph is served.
    await client.until("available", timeout=30)
    errors = [f for f in client.frames if f["op"] == "error"]
    assert [f["code"] for f in errors] == ["unavailable"]
    response = await jp_fetch("graphlive", "api", "graphs")
    assert response.code == 200
    producer = redis.Redis.from_url(second.url)
    again = Publisher(producer, graph_name + "-after")
    later = publish_nodes(again, 0, 3)
    fresh = await gl_connect()
    await fresh.follow(again.graph, later.last)
    producer.close()
