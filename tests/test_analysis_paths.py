"""What the analysis publishes names files relative to the analysed root, never outside it.

A symlink leading out of the root is reported by its own path; its target (a path outside the
root, possibly another user's file) must not reach the events every subscriber reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from graphlive.analysis import Analyzer
from graphlive.bus import Position, StreamReader
from graphlive.bus.keys import GraphKeys
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph
from graphlive.live import LiveGraph
from tests.analysis_fixtures import write_tree

OUTSIDE = "secret_outside_xq"


def test_symlinks_out_of_the_root_are_named_by_their_own_path(
    tmp_path: Path, redis_url: str, graph_name: str
) -> None:
    outside = write_tree(
        tmp_path / OUTSIDE, {"leak.py": "def stolen():\n    pass\n", "pkgdir/mod.py": ""}
    )
    root = write_tree(tmp_path / "proj", {"app.py": "def main():\n    pass\n"})
    (root / "link.py").symlink_to(outside / "leak.py")
    (root / "linkdir").symlink_to(outside / "pkgdir", target_is_directory=True)
    (root / "broken.py").symlink_to(outside / "missing.py")
    (root / "inside.py").symlink_to(root / "app.py")
    lg = LiveGraph(graph_name, root=root, redis_url=redis_url)
    try:
        lg.analyze(workers=1)
        # An update that walks the tree again reports a new one the same way.
        (root / "late.py").symlink_to(outside / "leak.py")
        lg.update(["late.py"])
    finally:
        lg.close()
    client = redis.Redis.from_url(redis_url)
    try:
        raw = client.xrange(GraphKeys(graph_name).events)
        events = StreamReader(client, graph_name).read(Position(seq=0))
    finally:
        client.close()
    assert raw and events
    assert not [fields for _, fields in raw if OUTSIDE.encode() in fields[b"e"]]
    # Nor does any event name the folders around the root (the root by its name only).
    assert not [fields for _, fields in raw if str(tmp_path).encode() in fields[b"e"]]
    started = [e for e in events if e.type is EventType.ANALYSIS_STARTED]
    assert [e.data["root"] for e in started] == ["proj", "proj"]
    diags = {
        (str(e.data["file"]), str(e.data["code"])) for e in events if e.type is EventType.DIAGNOSTIC
    }
    assert {
        ("link.py", "symlink-outside-root"),
        ("linkdir", "symlink-outside-root"),
        ("late.py", "symlink-outside-root"),
        ("broken.py", "broken-symlink"),
    } <= diags
    # A symlink inside the root is followed and named by its own path.
    assert lg.graph.node("inside.main").file == "inside.py"
    assert "link.stolen" not in lg.graph


def test_a_failed_analysis_names_the_root_by_its_name(tmp_path: Path) -> None:
    graph = CodeGraph("failed")
    events: list[ChangeEvent] = []
    graph.listen(events.extend)
    with pytest.raises(FileNotFoundError):
        Analyzer(tmp_path / "gone", graph).run()
    (failed,) = [e for e in events if e.type is EventType.ANALYSIS_FAILED]
    assert failed.data["root"] == "gone"
    assert failed.data["error"] == "FileNotFoundError: analysis root 'gone' does not exist"
