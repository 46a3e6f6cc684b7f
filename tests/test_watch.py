"""File watching: real files, real watchfiles, the graph converges on what is on disk."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graphlive.ignore import IgnoreRules
from graphlive.live import LiveGraph, analyze
from graphlive.watch import Update


class Recorder:
    """Collects updates and lets a test wait for a condition on the graph."""

    def __init__(self, live: LiveGraph) -> None:
        self.live = live
        self.updates: list[Update] = []
        self._changed = threading.Condition()

    def __call__(self, update: Update) -> None:
        with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self._holds(predicate), timeout), (
                f"condition not met; updates: {[u.files for u in self.updates]}"
            )

    def _holds(self, predicate: Callable[[], bool]) -> bool:
        with self.live.lock:
            return predicate()

    def files_seen(self) -> set[str]:
        return {f for u in self.updates for f in u.files}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("def a():\n    return 1\n")
    (tmp_path / ".gitignore").write_text("generated/\nscratch_*.py\n")
    return tmp_path


@pytest.fixture
def watched(project: Path) -> Iterator[tuple[LiveGraph, Recorder]]:
    live = LiveGraph("watched", root=project, publish=False)
    live.analyze()
    recorder = Recorder(live)
    live.watch(on_update=recorder)
    yield live, recorder
    live.close()


def fresh(project: Path) -> LiveGraph:
    return analyze(project, graph="fresh", publish=False)


def test_an_edit_adds_the_new_function(watched: tuple[LiveGraph, Recorder], project: Path) -> None:
    live, rec = watched
    (project / "pkg" / "mod.py").write_text("def a():\n    return b()\n\ndef b():\n    return 2\n")
    rec.wait_for(lambda: "pkg.mod.b" in live.graph)
    assert live.graph == fresh(project).graph
    assert rec.updates[-1].files == ("pkg/mod.py",)


def test_a_save_is_analysed_incrementally(
    watched: tuple[LiveGraph, Recorder], project: Path
) -> None:
    live, rec = watched
    (project / "pkg" / "mod.py").write_text("def a():\n    return 1\n\n\ndef c():\n    a()\n")
    rec.wait_for(lambda: "pkg.mod.c" in live.graph)
    (summary,) = [u.summary for u in rec.updates if u.files == ("pkg/mod.py",)][-1:]
    # Only the saved file was parsed and re-solved: no full analysis behind the watcher.
    assert summary is not None and summary.incremental
    assert (summary.files_parsed, summary.files_solved, summary.files_written) == (1, 1, 1)


def test_write_temp_then_rename(watched: tuple[LiveGraph, Recorder], project: Path) -> None:
    live, rec = watched
    tmp = project / "pkg" / ".mod.py.swp"
    tmp.write_text("def renamed():\n    pass\n")
    os.replace(tmp, project / "pkg" / "mod.py")
    rec.wait_for(lambda: "pkg.mod.renamed" in live.graph and "pkg.mod.a" not in live.graph)
    assert live.graph == fresh(project).graph


def test_delete_then_create(watched: tuple[LiveGraph, Recorder], project: Path) -> None:
    live, rec = watched
    target = project / "pkg" / "mod.py"
    target.unlink()
    target.write_text("class C:\n    def m(self):\n        return 1\n")
    rec.wait_for(lambda: "pkg.mod.C.m" in live.graph and "pkg.mod.a" not in live.graph)
    assert live.graph == fresh(project).graph


def test_burst_of_files_like_a_checkout(watched: tuple[LiveGraph, Recorder], project: Path) -> None:
    live, rec = watched
    for i in range(60):
        (project / "pkg" / f"gen{i}.py").write_text(
            f"from pkg.mod import a\n\ndef f{i}():\n    a()\n"
        )
    (project / "pkg" / "mod.py").unlink()
    rec.wait_for(
        lambda: (
            all(f"pkg.gen{i}.f{i}" in live.graph for i in range(60)) and "pkg.mod" not in live.graph
        )
    )
    assert live.graph == fresh(project).graph
    # Debounced: far fewer updates than files.
    assert len(rec.updates) < 60


def test_ignored_paths_never_trigger_updates(
    watched: tuple[LiveGraph, Recorder], project: Path
) -> None:
    live, rec = watched
    (project / "generated").mkdir()
    (project / "generated" / "out.py").write_text("def gen():\n    pass\n")
    (project / "pkg" / "scratch_1.py").write_text("def s():\n    pass\n")
    venv = project / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr\n")
    (venv / "lib.py").write_text("def v():\n    pass\n")
    # A relevant change after the ignored ones: once it is in, the ignored ones would be too.
    (project / "pkg" / "later.py").write_text("def later():\n    pass\n")
    rec.wait_for(lambda: "pkg.later.later" in live.graph)
    seen = rec.files_seen()
    assert "pkg/later.py" in seen
    assert not {"generated/out.py", "pkg/scratch_1.py", "venv/lib.py"} & seen
    assert "pkg.scratch_1" not in live.graph


def test_ignore_rules_follow_git_semantics(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.gen.py\nbuild/\n!keep.gen.py\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("local.py\n!build/\n")
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "pyvenv.cfg").write_text("")
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored("a.gen.py") and not rules.is_ignored("keep.gen.py")
    assert rules.is_ignored("build/x.py")
    assert rules.is_ignored("sub/local.py") and not rules.is_ignored("local.py")
    assert not rules.is_ignored("sub/build/x.py")  # the deeper negation wins
    assert rules.is_ignored("env/x.py") and rules.is_ignored(".hidden/x.py")
    assert rules.is_ignored("a/__pycache__/x.py") and not rules.is_ignored("a/b.py")


def test_watch_command_publishes_each_change(project: Path, redis_url: str) -> None:
    import json
    import queue
    import subprocess
    import sys

    import redis

    from graphlive.bus import load_graph

    env = {**os.environ, "GRAPHLIVE_REDIS_URL": redis_url}
    cmd = [
        sys.executable,
        "-m",
        "graphlive.cli",
        "watch",
        str(project),
        "--graph",
        "w-cli",
        "--json",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump(stream: object, tag: str) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(f"{tag}{line}")

    for stream, tag in ((proc.stdout, "out:"), (proc.stderr, "err:")):
        threading.Thread(target=pump, args=(stream, tag), daemon=True).start()

    def next_line(prefix: str) -> str:
        while True:
            line = lines.get(timeout=60)
            if line.startswith(prefix):
                return line[len(prefix) :]

    try:
        assert "watching" in next_line("err:")
        (project / "pkg" / "mod.py").write_text("def a():\n    return 1\n\ndef z():\n    a()\n")
        update = json.loads(next_line("out:"))
        assert update["files"] == ["pkg/mod.py"] and update["error"] is None
        client = redis.Redis.from_url(redis_url)
        loaded, pos = load_graph(client, "w-cli")
        client.close()
        assert pos.seq == update["last_seq"]
        assert loaded == fresh(project).graph and "pkg.mod.z" in loaded
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
