"""Kernels that resume, in a real JupyterLab: restart the kernel and run the notebook again — the
graph keeps its epoch, unchanged code publishes no mutation (only the run's lifecycle), and views
that stay open through the restart keep their position: no reset, no resync, no snapshot.

Two viewers stay open while the producer's kernel restarts: a view of the graph in a second
notebook of the same JupyterLab page (own kernel), and a protocol client on the server's events
WebSocket (:class:`~tests.server.clients.GLClient`, which also fails on any gap or duplicate).
The re-run's own output is a new view (a new widget, with a store of its own): it must show the
whole graph, live, without an error.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from graphlive.bus import load_graph
from graphlive.bus.keys import GraphKeys
from graphlive.events import EventType
from graphlive.events import decode as decode_event
from graphlive.resume import read_record
from tests.e2e.conftest import screenshot
from tests.e2e.lab import Lab
from tests.e2e.test_lab import TIMEOUT, write_notebook
from tests.server.clients import Closed, GLClient

GRAPH = "e2e-resume"
PRODUCER = "e2e_resume.ipynb"
VIEWER = "e2e_resume_viewer.ipynb"
LIFECYCLE = ["analysis_started", "analysis_completed"]

#: A small project: modules calling each other (calls, imports, a class and its method).
PROJECT = {
    "shop/__init__.py": "",
    "shop/prices.py": (
        "def net(cents: int) -> int:\n    return cents - tax(cents)\n\n\n"
        "def tax(cents: int) -> int:\n    return cents // 5\n"
    ),
    "shop/cart.py": (
        "from shop.prices import net\n\n\n"
        "class Cart:\n"
        "    def __init__(self) -> None:\n        self.items: list[int] = []\n\n"
        "    def total(self) -> int:\n        return sum(net(c) for c in self.items)\n"
    ),
    "shop/checkout.py": (
        "from shop.cart import Cart\n\n\n"
        "def checkout(cart: Cart) -> str:\n    return receipt(cart.total())\n\n\n"
        "def receipt(total: int) -> str:\n    return f'paid {total}'\n"
    ),
}

#: The producer notebook's one cell: what a user reruns after restarting the kernel.
CELL = (
    "import os\n"
    "import graphlive\n"
    f"lg = graphlive.analyze('project', graph={GRAPH!r})\n"
    "print(f'pid={os.getpid()} resumed={lg.resumed} epoch={lg.position.epoch}"
    " seq={lg.position.seq}')\n"
    "lg.view()"
)

#: Page-side helpers (JupyterLab exposed as ``window.jupyterapp``).
HELPERS_JS = """() => {
  window.glPanel = (path) => {
    for (const w of jupyterapp.shell.widgets('main')) if (w.context?.path === path) return w;
    return null;
  };
  window.glKernel = (path) => glPanel(path)?.sessionContext?.session?.kernel ?? null;
  // widgetId: the notebook to run (else the command runs the one that has the focus).
  window.glRunAll = (path) =>
    jupyterapp.commands.execute('notebook:run-all-cells', { widgetId: glPanel(path).id });
  window.glOutput = (path) => [...glPanel(path).node.querySelectorAll('.jp-OutputArea-output')]
    .map((o) => o.innerText).join('\\n');
  const STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  window.glStderr = (path) =>
    [...glPanel(path).node.querySelectorAll(STDERR)].map((o) => o.innerText);
  window.glShows = (path, nodes, edges) => {
    const q = (id) => glPanel(path).node.querySelector(`[data-testid=${id}]`);
    return Number(q('gl-node-count')?.dataset.value) === nodes
      && Number(q('gl-edge-count')?.dataset.value) === edges
      && q('gl-status')?.textContent === 'live';
  };
  window.glView = (path) => glPanel(path)?.node
    .querySelector('[data-testid=gl-root]')?.graphliveView ?? null;
}"""

#: Records everything the viewer notebook's view (its store) receives from now on.
RECORD_JS = """(path) => {
  window.glViewer = glView(path);
  const store = glViewer.store;
  const rec = { events: [], replaced: 0, resyncs: [], snapshots: 0 };
  store.addObserver({
    delivered: (events) => { for (const e of events) rec.events.push([e.type, e.epoch, e.seq]); },
    beforeBatch: (plan) => { if (plan.replaces) rec.replaced += 1; },
    resync: (reason) => rec.resyncs.push(reason),
    snapshotDelivered: () => { rec.snapshots += 1; },
  });
  window.glRecord = rec;
  window.glStore = store;
}"""


class ExposedLab(Lab):
    """A bare ``jupyter lab`` with ``window.jupyterapp`` (to drive and read its notebooks)."""

    def server_args(self) -> list[str]:
        return [*super().server_args(), "--LabApp.expose_app_in_browser=True"]


@pytest.fixture(scope="module")
def resume_lab(lab_redis: str) -> Iterator[ExposedLab]:
    workdir = Path(tempfile.mkdtemp(prefix="gl-e2e-"))
    root = workdir / "root"
    for rel, text in PROJECT.items():
        path = root / "project" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    server = ExposedLab(root=root, redis_url=lab_redis, workdir=workdir)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def wait_for(
    condition: Callable[[], Any], what: str | Callable[[], str], timeout: float = TIMEOUT / 1000
) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout``
    seconds, saying what was awaited (``what``, or what it returns)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.05)
    return result


class SocketViewer:
    """A protocol client subscribed to the graph over the server's events WebSocket, reading in
    its own thread (with its own event loop) until :meth:`close`."""

    def __init__(self, lab: Lab, graph: str) -> None:
        self.url = lab.url("graphlive/ws/events", token=False).replace("http://", "ws://", 1)
        self.token = lab.token
        self.graph = graph
        self.frames: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.client: GLClient | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),))
        self.thread.start()

    async def _run(self) -> None:
        try:
            request = HTTPRequest(self.url, headers={"Authorization": f"token {self.token}"})
            self.client = GLClient(await websocket_connect(request))
            self.client.frames = self.frames
            await self.client.hello()
            await self.client.send({"op": "subscribe", "graph": self.graph, "since": None})
            while True:
                await self.client.recv(timeout=3600)
        except Closed:
            pass
        except BaseException as exc:  # reported to the test by error
            self.error = exc

    def position(self) -> tuple[str, int] | None:
        return self.client.positions.get(self.graph) if self.client is not None else None

    def close(self) -> None:
        if self.client is not None:
            self.loop.call_soon_threadsafe(self.client.close)
        self.thread.join(30)
        self.loop.close()


def stream_types(client: redis.Redis, after: int, through: int) -> list[tuple[str, str]]:
    """``(type, epoch)`` of the graph's stream entries ``after`` < seq <= ``through``."""
    entries: Any = client.xrange(GraphKeys(GRAPH).events, f"{after + 1}-0", f"{through}-0")
    events = [decode_event(fields[b"e"]) for _, fields in entries]
    assert [e.seq for e in events] == list(range(after + 1, through + 1))
    return [(e.type.value, e.epoch) for e in events]


def run_cell(page: Any, path: str, not_pid: str | None = None) -> re.Match[str]:
    """Run every cell of notebook ``path``; the producer's line printed by that run (a run in a
    kernel other than ``not_pid``)."""
    page.evaluate("(path) => { glRunAll(path); }", path)
    line = re.compile(r"pid=(\d+) resumed=(\S+) epoch=(\S*) seq=(\d+)")

    def printed() -> re.Match[str] | None:
        m = line.search(page.evaluate("(path) => glOutput(path)", path))
        return m if m is not None and m.group(1) != not_pid else None

    match: re.Match[str] = wait_for(
        printed,
        lambda: f"a run of {path}; its output: {page.evaluate('(p) => glOutput(p)', path)!r}",
    )
    return match


def test_restarted_kernel_continues_the_graph_and_open_views_keep_their_position(
    browser: Any, resume_lab: ExposedLab
) -> None:
    lab = resume_lab
    write_notebook(lab, PRODUCER, CELL)
    write_notebook(
        lab, VIEWER, f"from graphlive.widget import GraphView\nGraphView.for_graph({GRAPH!r})"
    )
    client = redis.Redis.from_url(lab.redis_url)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    viewer: SocketViewer | None = None
    passed = False
    try:
        # Both notebooks open side by side (their kernels start together).
        page.goto(lab.url(f"lab/tree/{PRODUCER}?reset"), wait_until="commit")
        page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.context?.path")
        page.evaluate(HELPERS_JS)
        page.evaluate(
            "(path) => jupyterapp.commands.execute('docmanager:open',"
            " {path, options: {mode: 'split-right'}})",
            VIEWER,
        )
        for path in (PRODUCER, VIEWER):
            page.wait_for_function("(path) => glKernel(path)?.status === 'idle'", arg=path)

        # The producer's first run: a new graph (its first epoch), shown by its view.
        first = run_cell(page, PRODUCER)
        assert first.group(2) == "new-epoch", first.group(0)
        graph, position = load_graph(client, GRAPH)
        assert graph.node_count > 5 and graph.edge_count > 5
        assert "shop.checkout.receipt" in graph
        before = read_record(client, GRAPH)
        assert (first.group(3), int(first.group(4))) == (before.epoch, before.seq)
        assert before.seq == position.seq
        page.wait_for_function(
            "([path, n, e]) => glShows(path, n, e)",
            arg=[PRODUCER, graph.node_count, graph.edge_count],
        )

        # Two viewers open on the graph: a client on the server's events WebSocket …
        viewer = SocketViewer(lab, GRAPH)
        # … and the view in the other notebook (its own kernel), both caught up to the head.
        page.evaluate("(path) => { glRunAll(path); }", VIEWER)
        page.wait_for_function(
            "([path, seq]) => { const v = glView(path);"
            " return !!v?.store?.loaded && v.store.position()?.seq === seq; }",
            arg=[VIEWER, before.seq],
        )
        page.evaluate(RECORD_JS, VIEWER)
        wait_for(lambda: viewer.position() == (before.epoch, before.seq), "the socket viewer")
        seen = len(viewer.frames)

        # Restart the producer's kernel (a new process) and run its notebook again.
        page.evaluate("(path) => glKernel(path).restart()", PRODUCER)
        page.wait_for_function("(path) => glKernel(path)?.status === 'idle'", arg=PRODUCER)
        again = run_cell(page, PRODUCER, not_pid=first.group(1))
        after = read_record(client, GRAPH)

        # The run continued the graph: same epoch, only its lifecycle published.
        assert again.group(2) == "unchanged", again.group(0)
        assert (again.group(3), int(again.group(4))) == (after.epoch, after.seq)
        assert after.epoch == before.epoch
        published = stream_types(client, before.seq, after.seq)
        assert published == [(t, before.epoch) for t in LIFECYCLE]
        assert not [t for t, _ in published if EventType(t).is_mutation]

        # The socket viewer got those two events in one epoch, right after its position:
        # no graph_reset, no resync, no snapshot, nothing but `events` frames.
        wait_for(lambda: viewer.position() == (after.epoch, after.seq), "the socket viewer")
        frames = viewer.frames[seen:]
        assert {f["op"] for f in frames} == {"events"}, frames
        assert [e["type"] for f in frames for e in f["events"]] == LIFECYCLE
        assert frames[0]["from"] == before.seq + 1
        assert viewer.error is None

        # The re-run's output is the view again, showing the whole graph, live, without error.
        page.wait_for_function(
            "([path, n, e]) => glShows(path, n, e)",
            arg=[PRODUCER, graph.node_count, graph.edge_count],
        )
        assert page.evaluate("(path) => glStderr(path)", PRODUCER) == []

        # The view open in the other notebook kept its store and position through all this:
        # it applied the two lifecycle events and was never replaced (no reset, resync or
        # snapshot).
        page.wait_for_function("(seq) => glStore.position()?.seq === seq", arg=after.seq)
        record = page.evaluate("() => glRecord")
        assert record["events"] == [[t, before.epoch, before.seq + i + 1] for i, t in
                                    enumerate(LIFECYCLE)]  # fmt: skip
        assert (record["replaced"], record["resyncs"], record["snapshots"]) == (0, [], 0)
        assert page.evaluate("(path) => glView(path) === glViewer && glViewer.store === glStore",
                             VIEWER)  # fmt: skip
        page.wait_for_function(
            "([path, n, e]) => glShows(path, n, e)",
            arg=[VIEWER, graph.node_count, graph.edge_count],
        )
        assert errors == []
        screenshot(page, "kernel-resume-after-rerun")
        passed = True
    finally:
        if not passed:
            screenshot(page, "kernel-resume-failed")
        if viewer is not None:
            viewer.close()
        client.close()
        context.close()
