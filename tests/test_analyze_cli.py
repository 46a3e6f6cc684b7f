"""`graphlive analyze` end to end: the published stream rebuilds exactly the analysed graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis

from graphlive.bus import load_graph
from graphlive.live import analyze


def write_project(root: Path) -> None:
    pkg = root / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .cart import Cart\n")
    (pkg / "cart.py").write_text(
        "class Cart:\n"
        "    def __init__(self):\n"
        "        self.items = []\n"
        "    def add(self, item):\n"
        "        self.items.append(item)\n"
        "        return len(self.items)\n"
    )
    (pkg / "main.py").write_text(
        "from shop.cart import Cart\n\ndef run():\n    c = Cart()\n    c.add(1)\n"
    )
    (pkg / "broken.py").write_text("def oops(:\n")


def test_cli_analyze_publishes_a_graph_consumers_rebuild(tmp_path: Path, redis_url: str) -> None:
    write_project(tmp_path)
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": redis_url}
    cmd = [sys.executable, "-m", "graphlive.cli", "analyze", str(tmp_path), "--graph", "shop-cli"]
    out = subprocess.run(
        [*cmd, "--json"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    summary = json.loads(out.stdout)
    assert summary["graph"] == "shop-cli"
    assert summary["files"] == 4 and summary["diagnostics"] == 1
    expected = analyze(tmp_path, graph="shop-cli", publish=False)
    assert (summary["nodes"], summary["edges"]) == (
        expected.graph.node_count,
        expected.graph.edge_count,
    )
    client = redis.Redis.from_url(redis_url)
    loaded, pos = load_graph(client, "shop-cli")
    client.close()
    assert loaded == expected.graph
    assert pos.seq == summary["last_seq"] and pos.epoch == summary["epoch"]
    assert "shop.main.run" in loaded and "shop.cart.Cart.add" in loaded


def test_cli_analyze_reports_missing_path(tmp_path: Path, redis_url: str) -> None:
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": redis_url}
    out = subprocess.run(
        [sys.executable, "-m", "graphlive.cli", "analyze", str(tmp_path / "nope")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "no such file or directory" in out.stderr


def test_cli_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal (a real pseudo-terminal), every phase draws its bar, resolve included,
    with intermediate counts; a long path is shortened from the left and marked as cut."""
    import pty

    deep = tmp_path / "a_rather_long_package_name" / "and_a_long_subpackage_name"
    deep.mkdir(parents=True)
    for folder in (deep.parent, deep):
        (folder / "__init__.py").write_text("")
    for i in range(120):
        (deep / f"module_with_a_long_name_{i:03}.py").write_text(
            f"def f{i}():\n    return len([{i}])\n"
        )
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphlive.cli", "analyze", str(tmp_path), "--no-publish"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert proc.wait(timeout=120) == 0
    frames = b"".join(chunks).decode().split("\r")
    for phase in ("discover", "parse", "resolve", "write"):
        counts = [f.split("] ")[1].split()[0] for f in frames if f.startswith(f"{phase:<8} [")]
        assert counts[-1] == "122/122", (phase, counts)
        if phase != "discover":
            assert len(counts) > 2, (phase, counts)  # intermediate steps, not just the end
    cut = [f for f in frames if "..." in f]
    assert cut and all(f.split("...")[1].split()[0].endswith(".py") for f in cut)


def test_a_mixed_tree_in_memory_prints_its_languages_and_no_stored_graph(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def f():\n    return 1\n")
    (tmp_path / "web.ts").write_text("export function g(): number {\n  return 2;\n}\n")
    run = [sys.executable, "-m", "graphlive.cli", "analyze", str(tmp_path), "--no-publish"]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 files (python 1, typescript 1)" in done.stdout
    assert "stored graph" not in done.stderr  # nothing is stored in memory
    only = subprocess.run([*run, "--languages", "typescript"], capture_output=True, text=True)
    assert only.returncode == 0 and ": 1 file," in only.stdout
    bad = subprocess.run([*run, "--languages", "python,cobol"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "unknown language 'cobol': choose among python, javascript" in bad.stderr
