# Page-side JavaScript snippets are kept on one line each where that reads best.
# ruff: noqa: E501
"""Render the first view of a project's graph in headless Chromium and save it as a PNG.

    .venv/bin/python scripts/screenshots.py PATH OUT.png [--width 1100] [--height 700]

Analyses PATH with ``graphlive.analyze(PATH, publish=False)`` (no Redis), loads the built
widget bundle (src/graphlive/static/graphview.js; ``cd js && npm run build`` first) in a page
without Jupyter — the anywidget model and the graphlive server are played by
benchmarks/render/harness.js — with the GraphView's default traits, sends the graph as the
server's snapshot, waits until the layout has settled and saves what the view shows. Prints
what is drawn: elements, visible nodes and edges, the level, and the labels on screen.

Uses Debian's Chromium (/usr/bin/chromium, tests/browser.py); browsers are never downloaded.
The browser test of the first view (tests/test_first_view_browser.py) drives the same page.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser import VIEW_HELPERS_JS, launch_chromium, serve_bundle_page  # noqa: E402

PAGE = (
    """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="graphview.css"></head>
<body style="margin:0;background:#fff"><div id="app"></div>
<script type="module">
import { mount } from "./graphview.js";
import * as H from "./harness.js";
window.H = H;
window.start = (state) => {
  document.getElementById("app").style.width = `${state.width}px`;
  window.model = new H.FakeModel({ graph: state.graph, server_url: "", base_url: "", since: null,
    snapshot: true, filters: [], height: state.height, path: "", source_root: "",
    transport: "websocket", node_kinds: [], edge_kinds: [], path_prefixes: [], focus: null,
    selection: [], color_by: "kind", size_by: "kind", expanded: null,
    collapse_above: state.collapse_above, max_visible: state.max_visible,
    saved_graph: {}, counts: {}, status: {}, level: {} });
  const env = { createSocket: (u) => new H.ScriptedSocket(u), location: { href: location.href } };
  window.cleanup = mount(window.model, document.getElementById("app"), env);
};
"""
    + VIEW_HELPERS_JS
    + """window.ready = true;
</script></body></html>"""
)


def default_traits() -> dict[str, int]:
    """The GraphView's own defaults for the level (what a user gets without setting them)."""
    from graphlive.widget import GraphView

    traits = GraphView.class_traits()
    return {
        "collapse_above": int(traits["collapse_above"].default_value),
        "max_visible": int(traits["max_visible"].default_value),
    }


def analyse(path: Path) -> dict[str, Any]:
    """The graph of the Python code under ``path``, as the server's snapshot would carry it."""
    import graphlive

    lg = graphlive.analyze(path, publish=False)
    return lg.graph.to_dict()


@contextmanager
def chromium() -> Iterator[tuple[Any, str]]:
    """Debian's Chromium and the URL of the page (bundle, harness), served for the duration."""
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_bundle_page(Path(tmp), PAGE) as url,
        sync_playwright() as pw,
    ):
        browser = launch_chromium(pw)
        try:
            yield browser, url
        finally:
            browser.close()


def open_first_view(
    browser: Any,
    url: str,
    graph: dict[str, Any],
    *,
    name: str = "project",
    width: int = 1100,
    height: int = 700,
    traits: dict[str, int] | None = None,
) -> Any:
    """A page showing ``graph`` as a fresh view does, once its layout has settled."""
    page = browser.new_page(viewport={"width": width, "height": height + 160})
    page.goto(url, wait_until="commit")
    page.wait_for_function("window.ready === true")
    state = {"graph": name, "width": width, "height": height, **(traits or default_traits())}
    page.evaluate("s => window.start(s)", state)
    page.wait_for_function("window.sock() && window.sock().readyState === 1")
    page.evaluate(
        "g => window.sock().push({ op: 'snapshot', graph: window.model.get('graph'), epoch: 'e1', seq: 0, ...g })",
        graph,
    )
    count = len(graph["nodes"])
    page.wait_for_function(
        f"document.querySelector('[data-testid=gl-node-count]').dataset.value === '{count}'"
    )
    # The layout worker reports positions in steps; the picture is final when it is idle.
    page.wait_for_function("window.view().layoutBusy === false", timeout=120_000)
    page.evaluate("window.view().fit(); window.frames(3)")
    page.wait_for_function(
        "Number(document.querySelector('[data-testid=gl-visible-node-count]').dataset.value)"
        " === window.view().view.graph.order"
    )
    page.evaluate("window.frames(3)")
    return page


def describe(page: Any) -> dict[str, Any]:
    """What the view shows: sizes, level and the labels drawn in the last frame."""
    return dict(
        page.evaluate(
            """() => { const v = window.view(); const g = v.view.graph; const s = v.store.state.graph;
            return { elements: s.order, edges: s.size, visible_nodes: g.order, visible_edges: g.size,
              collapsed: v.view.collapsed, mode: v.view.levelMode,
              labels: v.graphRenderer.labelBoxes() }; }"""
        )
    )


def screenshot(page: Any, out: Path) -> None:
    """Save the widget (toolbar, explore bar and graph) as a PNG."""
    out.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.frames(2)")
    page.locator("[data-testid=gl-root]").screenshot(path=str(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="folder of Python code to analyse")
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=700, help="height of the graph area")
    parser.add_argument("--name", default=None, help="graph name shown (default: folder name)")
    args = parser.parse_args(argv)
    graph = analyse(args.path)
    name = args.name or args.path.resolve().name
    with chromium() as (browser, url):
        page = open_first_view(browser, url, graph, name=name, width=args.width, height=args.height)
        info = describe(page)
        screenshot(page, args.out)
    labels = [b["label"] for b in info.pop("labels")]
    info["labels"] = len(labels)
    print(json.dumps(info))
    print("labels:", ", ".join(labels))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
