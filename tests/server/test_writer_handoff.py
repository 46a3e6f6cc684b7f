"""The server's Re-analyze while another process watches the graph: handed to the watcher.

The watcher holds the graph's writer lease; the server's analysis (graphlive.analyze) finds it
and asks it to rescan instead of analysing and publishing itself. A viewer subscribed meanwhile
must see no reset, no resync and no mutation (the tree did not change): its graph never empties.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.clients import GLClient

Connect = Callable[..., Awaitable[GLClient]]

_WATCHER = textwrap.dedent(
    """
    import sys, graphlive
    lg = graphlive.analyze(sys.argv[1], graph=sys.argv[2], redis_url=sys.argv[3])
    lg.watch()
    print("READY", lg.position.epoch, lg.position.seq, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    lg.close()
    """
)


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    root = jp_root_dir / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("def f():\n    return 1\n\ndef g():\n    return f()\n")
    return root


@pytest.fixture
def watcher(project: Path, graph_name: str, redis_url: str) -> Iterator[subprocess.Popen[str]]:
    env = dict(os.environ)
    env.pop("GRAPHLIVE_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", _WATCHER, str(project.resolve()), graph_name, redis_url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip
    yield proc
    if proc.poll() is None:
        proc.communicate(input="", timeout=60)


async def _post_analyze(jp_fetch: Any, graph: str) -> dict[str, Any]:
    response = await jp_fetch(
        "graphlive", "api", "graphs", graph, "analyze",
        method="POST", body=json.dumps({"path": "project"}),
    )  # fmt: skip
    assert response.code == 202
    job: dict[str, Any] = json.loads(response.body)
    return job


async def test_reanalyze_is_handed_to_the_watcher_and_nothing_is_republished(
    gl_connect: Connect, jp_fetch: Any, graph_name: str, watcher: subprocess.Popen[str]
) -> None:
    assert watcher.stdout is not None
    ready = await asyncio.to_thread(watcher.stdout.readline)
    word, epoch, seq = ready.split()
    assert word == "READY", ready
    client = await gl_connect()
    await client.hello()
    await client.subscribe(graph_name)
    snapshot = await client.expect("snapshot")
    assert (snapshot["epoch"], snapshot["seq"]) == (epoch, int(seq))
    shown = {n["id"] for n in snapshot["nodes"]}
    assert {"pkg.mod.f", "pkg.mod.g"} <= shown
    await _post_analyze(jp_fetch, graph_name)
    # The watcher's rescan ends with its analysis_completed event: read up to it.
    received: list[dict[str, Any]] = []
    while not any(e["type"] == "analysis_completed" for e in received):
        frame = await client.recv()
        assert frame["op"] == "events", f"the view was disturbed: {frame}"
        assert frame["epoch"] == epoch
        received.extend(frame["events"])
    assert [e["type"] for e in received] == ["analysis_started", "analysis_completed"]
    # The server's job reports the watcher's summary.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        response = await jp_fetch("graphlive", "api", "graphs", graph_name)
        summary = json.loads(response.body)
        if summary["analysis"]["state"] != "running":
            break
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert summary["analysis"]["state"] == "completed", summary["analysis"]
    assert summary["analysis"]["summary"]["resumed"] == "handed-off"
    assert summary["nodes"] == len(shown)
    client.close()
    _, err = watcher.communicate(input="", timeout=60)
    assert watcher.returncode == 0, err
    assert "republishing" not in err and "lost" not in err, err
