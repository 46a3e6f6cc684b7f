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
