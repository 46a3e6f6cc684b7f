"""``%load_ext graphlive`` in a real IPython shell, publishing to a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from graphlive.bus import load_graph
from graphlive.events import EventType
from graphlive.graph import EdgeKind
from graphlive.ipython import NotebookGraph, cell_id
from graphlive.live import LiveGraph


@pytest.fixture
def shell(redis_url: str, monkeypatch: pytest.MonkeyPatch, graph_name: str) -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("GRAPHLIVE_REDIS_URL", redis_url)
    monkeypatch.setenv("JPY_SESSION_NAME", f"/home/u/{graph_name}.ipynb")
    ip = InteractiveShell.instance()
    run(ip, "%load_ext graphlive")
    yield ip
    run(ip, "%unload_ext graphlive")
    InteractiveShell.clear_instance()


def run(ip: Any, code: str) -> Any:
    """Run a cell as a notebook does (stored in history, so it gets an execution count)."""
    return ip.run_cell(code, store_history=True)


def notebook_graph(ip: Any) -> LiveGraph:
    from graphlive.ipython import notebook_graph as graph_of

    return graph_of(ip)


def test_cells_become_a_graph_that_redraws(shell: Any, redis_url: str, graph_name: str) -> None:
    run(shell, "def helper(x):\n    return len(x)\n")
    run(shell, "class Cart:\n    def __init__(self):\n        self.items = []\n")
    run(shell, "def total(c):\n    return helper(c.items)\n\nprint(total(Cart()))\n")
    live = notebook_graph(shell)
    g = live.graph
    assert live.name == f"nb-{graph_name}"
    cells = sorted(g.nodes_of_kind(__import__("graphlive").NodeKind.CELL))
    assert len(cells) == 3
    third = cells[-1]
    # Definitions hang off the cell that made them; top-level calls come from the cell.
    assert {e.target for e in g.out_edges(third, EdgeKind.CONTAINS)} == {"__main__.total"}
    calls = {(e.source, e.target) for e in g.edges() if e.kind is EdgeKind.CALLS}
    assert ("__main__.total", "__main__.helper") in calls
    assert (third, "__main__.total") in calls
    assert (third, "__main__.Cart.__init__") in calls
    assert ("__main__.helper", "<builtin>.len") in calls
    assert g.node("__main__.total").line == 1  # relative to its cell
    # Consumers of the stream see exactly the same graph.
    client = redis.Redis.from_url(redis_url)
    loaded, _ = load_graph(client, live.name)
    client.close()
    assert loaded == g


def test_redefining_updates_instead_of_duplicating(shell: Any) -> None:
    first = run(shell, "def f():\n    return 1\n").execution_count
    live = notebook_graph(shell)
    first_cell = next(iter(live.graph.nodes_of_kind(__import__("graphlive").NodeKind.CELL)))
    events: list[Any] = []
    live.graph.listen(lambda batch: events.extend(batch))
    second = run(shell, 'x = 1\n\ndef f():\n    """Now documented."""\n    return abs(-1)\n')
    g = live.graph
    assert [n for n in g.nodes() if n.name == "f"] == [g.node("__main__.f")]
    node = g.node("__main__.f")
    assert node.doc == "Now documented." and node.line == 3
    parents = {e.source for e in g.in_edges("__main__.f", EdgeKind.CONTAINS)}
    assert parents == {cell_id(second.execution_count)} and first_cell == cell_id(first)
    updated = [e for e in events if e.type is EventType.NODE_UPDATED]
    # f is updated in place (the notebook module's size changes too); nothing else is touched.
    assert sorted(e.data["id"] for e in updated) == ["__main__", "__main__.f"]
    assert not [e for e in events if e.type is EventType.NODE_REMOVED]
    assert ("__main__.f", "<builtin>.abs") in {(e.source, e.target) for e in g.edges()}


def test_syntax_error_cell_is_a_diagnostic_and_loses_nothing(shell: Any) -> None:
    run(shell, "def ok():\n    pass\n")
    live = notebook_graph(shell)
    before = set(n.id for n in live.graph.nodes())
    diagnostics: list[Any] = []
    live.graph.listen(lambda b: diagnostics.extend(e for e in b if e.type is EventType.DIAGNOSTIC))
    # IPython rejects it before running; the graph is untouched.
    run(shell, "def broken(:\n")
    assert set(n.id for n in live.graph.nodes()) == before
    nb = NotebookGraph(LiveGraph("nb-direct", publish=False))
    nb.live.graph.listen(
        lambda b: diagnostics.extend(e for e in b if e.type is EventType.DIAGNOSTIC)
    )
    assert nb.add_cell(7, "def broken(:\n") == 0
    assert (
        diagnostics[-1].data["code"] == "syntax-error"
        and "cell 7" in diagnostics[-1].data["message"]
    )
    nb.close()


def test_magics(shell: Any) -> None:
    run(shell, "%graphlive off")
    run(shell, "def ignored():\n    pass\n")
    live = notebook_graph(shell)
    assert "__main__.ignored" not in live.graph
    run(shell, "%%graphlive\ndef explicit():\n    return ignored()\n")
    assert "__main__.explicit" in live.graph
    assert shell.user_ns["explicit"]() is None  # the cell really ran
    status = run(shell, "%graphlive status").result
    assert "automatic analysis off" in status and "1 cells" in status
    run(shell, "%graphlive on")
    view = run(shell, "%graphlive").result
    assert view.graph == live.name
    bad = run(shell, "%graphlive sideways")
    assert isinstance(bad.error_in_exec, ValueError)


def test_ipython_syntax_is_understood(shell: Any) -> None:
    run(shell, "import os\nfiles = !ls\ny = os.path.join('a', 'b')\n%time z = 1\n")
    live = notebook_graph(shell)
    targets = {e.target for e in live.graph.edges() if e.kind is EdgeKind.CALLS}
    assert "os.path.join" in targets
    assert live.graph.node_count > 0 and shell.user_ns["y"] == "a/b"
