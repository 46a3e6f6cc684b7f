"""What a new user sees after ``graphlive lab``: a saved edit until the view in JupyterLab shows it.

    .venv/bin/python benchmarks/bench_lab_edit.py [--edits 8] [--json out.json]

Runs the README's main command as a user does: ``graphlive lab`` on a copy of
``notebooks/demo_shop`` (its own redis-server, private Jupyter folders), opens the notebook it
writes in headless Chromium (Debian's, through Playwright), runs its cells, then appends one new
function at a time to a watched file. Each edit is timed from the write until the view's node
and edge counts show it (one node and its ``contains`` edge more): watchfiles' debounce, the
incremental analysis, Redis, the server extension, the WebSocket and the redraw, all included.

Printed: the first edit (the watcher's and the view's first live update) apart from the later
ones (median and max), and, measured in the same run as a baseline, the same machine's
``ast.parse`` of the edited file. The figures are quoted in README.md and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.e2e.lab import GraphliveLab  # noqa: E402
from tests.e2e.test_lab import FUNCTION, run_all, wait_counts  # noqa: E402
from tests.redis_servers import running_redis  # noqa: E402

TIMEOUT = 120_000  # ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import redis
    from playwright.sync_api import sync_playwright

    import graphlive.bus

    work = Path(tempfile.mkdtemp(prefix="gl-bench-lab-"))
    project = work / "shop"
    shutil.copytree(ROOT / "notebooks" / "demo_shop", project)
    watched = project / "shop" / "payments.py"
    with running_redis() as url, sync_playwright() as p:
        server = GraphliveLab(root=project, redis_url=url, workdir=work)
        started = time.perf_counter()
        server.start(timeout=300)
        ready_s = time.perf_counter() - started
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        client = redis.Redis.from_url(url)
        try:
            graph, _ = graphlive.bus.load_graph(client, "shop")
            nodes, edges = graph.node_count, graph.edge_count
            page.goto(server.url("?reset"), wait_until="commit")
            page.locator(".jp-Notebook").first.wait_for(timeout=TIMEOUT)
            page.locator("#jp-main-statusbar >> text=Idle").first.wait_for(timeout=TIMEOUT)
            run_all(page)
            wait_counts(page, nodes, edges, timeout=TIMEOUT)
            seconds: list[float] = []
            for i in range(args.edits):
                t0 = time.perf_counter()
                watched.write_text(watched.read_text() + FUNCTION.format(name=f"refund_{i}"))
                nodes, edges = nodes + 1, edges + 1
                wait_counts(page, nodes, edges, timeout=TIMEOUT)
                seconds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ast.parse(watched.read_bytes())
            parse_ms = (time.perf_counter() - t0) * 1000
        finally:
            client.close()
            browser.close()
            server.stop()
    shutil.rmtree(work, ignore_errors=True)
    later = seconds[1:]
    result = {
        "lab_ready_s": round(ready_s, 2),
        "first_edit_s": round(seconds[0], 3),
        "later_edits_median_s": round(statistics.median(later), 3),
        "later_edits_max_s": round(max(later), 3),
        "ast_parse_of_file_ms": round(parse_ms, 2),
        "edits": len(seconds),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
