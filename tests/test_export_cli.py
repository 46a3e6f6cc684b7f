"""`graphlive export`: the CLI around graphlive.export.to_html."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_export_writes_self_contained_html(tmp_path: Path, redis_url: str) -> None:
    """The committed quick start carries no widget state: its view names its graph, and the
    export fills it from Redis, where `graphlive.analyze` put it."""
    import graphlive

    graphlive.analyze(REPO / "notebooks" / "demo_shop", graph="demo-shop", redis_url=redis_url)
    out = tmp_path / "quickstart.html"
    notebook = REPO / "notebooks" / "quickstart.ipynb"
    cmd = [sys.executable, "-m", "graphlive.cli", "export", str(notebook), "-o", str(out)]
    done = subprocess.run([*cmd, "--redis-url", redis_url], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "graphlive quick start" in html
    # Self-contained: no script is loaded from a CDN.
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert 'data-testid="gl-export-missing"' not in html
    # Without the graph in reach, the page and the command say so instead of an empty view.
    gone = subprocess.run([*cmd, "--redis-url", f"unix://{tmp_path}/no.sock"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert gone.returncode == 1 and gone.stdout == ""
    assert "the view of graph 'demo-shop' has no saved copy" in gone.stderr
    assert out.read_text().count('data-testid="gl-export-missing"') == 1


def test_export_reports_a_missing_notebook(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "graphlive.cli", "export", str(tmp_path / "nope.ipynb")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "no such file" in done.stderr
