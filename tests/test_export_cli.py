"""`graphlive export`: the CLI around graphlive.export.to_html."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_export_writes_self_contained_html(tmp_path: Path) -> None:
    out = tmp_path / "quickstart.html"
    notebook = REPO / "notebooks" / "quickstart.ipynb"
    done = subprocess.run(
        [sys.executable, "-m", "graphlive.cli", "export", str(notebook), "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    html = out.read_text()
    assert "graphlive quick start" in html
    # Self-contained: no script is loaded from a CDN.
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    # The committed notebook has no widget state, and its `lg.view()` output does not name its
    # graph (it predates GraphView's text naming it): the page says so instead of an empty view,
    # and so does the command, without touching Redis.
    assert done.returncode == 1 and done.stdout == ""
    assert "a GraphView output has no saved copy of its graph and does not name it" in done.stderr
    assert html.count('data-testid="gl-export-missing"') == 1


def test_export_reports_a_missing_notebook(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "graphlive.cli", "export", str(tmp_path / "nope.ipynb")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "no such file" in done.stderr
