# Page-side JavaScript snippets are kept on one line each where that reads best.
# ruff: noqa: E501
"""The first view of a project is readable at any size, in the built bundle in a real Chromium.

A synthetic Python project of about 1,000 elements (packages, sub-packages, modules, classes,
functions and calls) is written to a temporary folder, analysed with
``graphlive.analyze(..., publish=False)``, and sent to the widget as the server's snapshot
(the page of scripts/screenshots.py: the anywidget model and the graphlive server are played by
benchmarks/render/harness.js). The view must open collapsed with at most ``collapse_above``
nodes, label its most connected nodes with no two labels overlapping — the boxes the label
layer reports are checked against the pixels of sigma's label canvas — and keep Auto level
available. The picture is saved as test-artifacts/first-view/project-1000.png. Needs Debian's
Chromium (tests/browser.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripts.screenshots import chromium, describe, open_first_view, screenshot

import graphlive
from graphlive.widget import GraphView
from tests.browser import page_errors, require_chromium

pytestmark = require_chromium()

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "first-view"


def write_project(root: Path, pkgs: int, subs: int, mods: int, funcs: int, seed: int = 3) -> None:
    """A Python project: ``pkgs`` packages, each of ``subs`` sub-packages of ``mods`` modules, each
    with a class (two methods) and ``funcs`` functions calling into their own package mostly,
    into other packages sometimes, and into the standard library."""
    rnd = random.Random(seed)
    names: list[tuple[str, str]] = []  # (module dotted path, function name)
    layout: list[tuple[Path, str, int]] = []
    for p in range(pkgs):
        for s in range(subs):
            for m in range(mods):
                layout.append(
                    (root / f"pkg{p}" / f"sub{s}" / f"mod{m}.py", f"pkg{p}.sub{s}.mod{m}", p)
                )
                names.extend((f"pkg{p}.sub{s}.mod{m}", f"f{m}_{k}") for k in range(funcs))
    for p in range(pkgs):
        (root / f"pkg{p}").mkdir(parents=True)
        (root / f"pkg{p}" / "__init__.py").write_text(f'"""Package {p}."""\n')
        for s in range(subs):
            (root / f"pkg{p}" / f"sub{s}").mkdir()
            (root / f"pkg{p}" / f"sub{s}" / "__init__.py").write_text("")
    for path, dotted, p in layout:
        own = [n for n in names if n[0].startswith(f"pkg{p}.") and n[0] != dotted]
        imports: set[str] = {"os", "json"}
        body: list[str] = []
        prefix = dotted.rsplit(".", 1)[1][3:]
        for k in range(funcs):
            calls = []
            for _ in range(3):
                target_mod, target = rnd.choice(own if rnd.random() < 0.8 else names)
                imports.add(target_mod)
                calls.append(f"    {target_mod}.{target}")
            calls.append(rnd.choice(["    os.path.join('a', 'b')", "    json.dumps({})"]))
            body.append(f"def f{prefix}_{k}():\n" + "\n".join(calls) + "\n")
        body.append(
            f"class Thing{prefix}:\n"
            "    def run(self):\n"
            f"        return f{prefix}_0()\n\n"
            "    def stop(self):\n"
            "        return self.run()\n"
        )
        head = "\n".join(f"import {name}" for name in sorted(imports))
        path.write_text(head + "\n\n\n" + "\n\n".join(body))


@pytest.fixture
def browser() -> Iterator[tuple[Any, str]]:
    with chromium() as (b, url):
        yield b, url


def label_ink(page: Any) -> list[int]:
    """Dark pixels of sigma's label canvas inside each reported label box."""
    return list(
        page.evaluate(
            """() => { const r = window.view().graphRenderer; const canvas = r.sigma.getCanvases().labels;
            const ctx = canvas.getContext('2d'); const k = canvas.width / r.sigma.getDimensions().width;
            return r.labelBoxes().map((b) => {
              const d = ctx.getImageData(Math.floor(b.x * k), Math.floor(b.y * k), Math.ceil(b.width * k), Math.ceil(b.height * k)).data;
              let ink = 0;
              for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] < 100) ink += 1;
              return ink; }); }"""
        )
    )


def test_a_1000_element_project_opens_legible(browser: tuple[Any, str], tmp_path: Path) -> None:
    write_project(tmp_path / "proj", pkgs=5, subs=3, mods=4, funcs=12)
    graph = graphlive.analyze(tmp_path / "proj", publish=False).graph.to_dict()
    assert 900 <= len(graph["nodes"]) <= 1_300
    threshold = GraphView.class_traits()["collapse_above"].default_value
    assert threshold == 300

    b, url = browser
    page = open_first_view(b, url, graph, name="proj", width=1100, height=700)
    errors = page_errors(page)
    info = describe(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, ARTIFACTS / "project-1000.png")

    # Collapsed to packages/modules: few enough nodes to read, standing for every element.
    assert info["elements"] == len(graph["nodes"])
    assert info["collapsed"] is True and info["mode"] == "auto"
    assert 10 <= info["visible_nodes"] <= threshold
    assert page.evaluate(
        "() => window.view().view.graph.reduceNodes((n, _k, a) => n + (a.count ?? 1), 0)"
    ) == len(graph["nodes"])
    assert (
        int(page.get_by_test_id("gl-visible-node-count").get_attribute("data-value"))
        == (info["visible_nodes"])
    )

    # Labels: many, on the canvas, pairwise disjoint, and really drawn where reported.
    boxes = info["labels"]
    assert len(boxes) >= 10
    size = page.evaluate("() => window.view().graphRenderer.sigma.getDimensions()")
    for box in boxes:
        assert box["x"] >= 0 and box["y"] >= 0, box
        assert box["x"] + box["width"] <= size["width"] + 0.5, box
        assert box["y"] + box["height"] <= size["height"] + 0.5, box
    for i, a in enumerate(boxes):
        for c in boxes[i + 1 :]:
            disjoint = (
                a["x"] + a["width"] <= c["x"]
                or c["x"] + c["width"] <= a["x"]
                or a["y"] + a["height"] <= c["y"]
                or c["y"] + c["height"] <= a["y"]
            )
            assert disjoint, (a, c)
    ink = label_ink(page)
    assert all(n >= 5 for n in ink), list(zip([b["label"] for b in boxes], ink, strict=True))
    # The most connected node (model edges behind its drawn edges) is labelled.
    hub = page.evaluate(
        """() => { const g = window.view().view.graph; const w = new Map();
        g.forEachEdge((_e, a, s, t) => { const n = a.count ?? 1; w.set(s, (w.get(s) ?? 0) + n); w.set(t, (w.get(t) ?? 0) + n); });
        return [...w].sort((x, y) => y[1] - x[1])[0][0]; }"""
    )
    assert hub in {box["key"] for box in boxes}

    # Auto level is available; here it is where the view already is, and says so.
    level = page.get_by_test_id("gl-auto-level")
    assert level.is_enabled()
    assert level.get_attribute("data-collapsed") == "true"
    level.click()
    assert page.get_by_test_id("gl-level-note").inner_text() == "already at the automatic level"
    # Expanding a collapsed module makes the level the user's; Auto level brings it back.
    group = page.evaluate(
        "() => window.view().view.graph.filterNodes((_k, a) => a.group != null && a.kind === 'module')[0].slice(1)"
    )
    page.evaluate("g => window.view().expand(g)", group)
    page.wait_for_function("window.model.state.expanded !== null")
    page.wait_for_function(
        "document.querySelector('[data-testid=gl-auto-level]').dataset.mode === 'user'"
    )
    level.click()
    page.wait_for_function(
        "Number(document.querySelector('[data-testid=gl-visible-node-count]').dataset.value)"
        f" === {info['visible_nodes']}"
    )
    assert page.evaluate("window.model.state.expanded") is None
    assert errors == []
    page.close()


def test_a_small_project_is_shown_whole_and_auto_level_says_so(
    browser: tuple[Any, str], tmp_path: Path
) -> None:
    write_project(tmp_path / "small", pkgs=1, subs=1, mods=2, funcs=4)
    graph = graphlive.analyze(tmp_path / "small", publish=False).graph.to_dict()
    assert len(graph["nodes"]) <= 60

    b, url = browser
    page = open_first_view(b, url, graph, name="small", width=1100, height=600)
    info = describe(page)
    assert info["collapsed"] is False
    assert info["visible_nodes"] == len(graph["nodes"])
    level = page.get_by_test_id("gl-auto-level")
    assert level.is_enabled()
    assert level.get_attribute("data-noop") == "true"
    level.click()
    note = page.get_by_test_id("gl-level-note").inner_text()
    assert note == f"all {len(graph['nodes'])} nodes shown: small enough, nothing to collapse"
    assert info["visible_nodes"] == page.evaluate("window.view().view.graph.order")
    page.close()
