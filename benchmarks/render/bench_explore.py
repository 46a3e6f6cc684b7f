"""Browser benchmark: a 100k-element code base opened collapsed by package.

    (cd js && npm ci && npm run build)
    .venv/bin/python benchmarks/render/bench_explore.py [--packages 20 --subpackages 10
        --modules 10 --defs 49 --repeat 3]

Needs Debian's Chromium at /usr/bin/chromium and js/node_modules (for the bare-sigma page).
Software WebGL makes absolute numbers meaningless, so results are ratios against a bare sigma
page drawing a graph of the same visible size (the collapsed level's nodes and bundled edges,
with the same positions, colours and sizes) in the same browser (docs/architecture.md, "Drawing
on a machine without a GPU"):

1. first readable frame: the 100k-element snapshot JSON pushed through the real client →
   store → projection (collapsed automatically) → renderer, until the first frame is on screen;
   also against bare parsing of the same JSON into a graphology graph of every element plus the
   bare frame (the least any page showing this graph has to do);
2. expanding the biggest package (the path a click takes) until the next frame;
3. events while collapsed: batches of mixed events (updates and new call edges), main-thread
   cost per batch, against a bare sigma refresh of the visible graph; and that no batch causes
   a full rebuild of the projection.

Not part of pytest: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from harness import browser_session, new_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--subpackages", type=int, default=10)
    parser.add_argument("--modules", type=int, default=10)
    parser.add_argument("--defs", type=int, default=49)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--bundle", type=Path, default=None, help="graphview.js to measure (default: the built one)"
    )
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    results: dict[str, Any] = {}
    with browser_session("bench_explore_page.js", args.bundle) as (browser, url):
        run(browser, url, args, results)
    print(json.dumps(results, indent=2))


def run(browser: Any, url: str, args: argparse.Namespace, results: dict[str, Any]) -> None:
    shape = [args.packages, args.subpackages, args.modules, args.defs]
    first: list[dict[str, Any]] = []
    expand: list[dict[str, Any]] = []
    bare_first: list[float] = []
    ingest: list[float] = []
    bare_expand: list[float] = []
    absorb: dict[str, Any] = {}
    refresh = 0.0
    for i in range(args.repeat):
        page = new_page(browser, url)
        size = page.evaluate("(s) => window.prepare(...s)", shape)
        results["graph"] = size
        page.evaluate("window.openView()")
        f = page.evaluate("window.viewFirstFrame()")
        collapsed_json = page.evaluate("window.visibleJson()")
        e = page.evaluate("window.viewExpand()")
        expanded_json = page.evaluate("window.visibleJson()")
        if i == 0:
            absorb = page.evaluate("([k, n]) => window.viewAbsorb(k, n)", [args.batch, 5])
        page.evaluate("window.closeView()")
        ingest.append(page.evaluate("window.bareIngest()"))
        # Bare sigma, same page, same browser: the collapsed level and the expanded one.
        bare_first.append(page.evaluate("(j) => window.bareFirstFrame(j)", collapsed_json))
        bare_expand.append(page.evaluate("(j) => window.bareFirstFrame(j)", expanded_json))
        if i == 0:
            refresh = page.evaluate("(j) => window.bareRefresh(j, 7)", collapsed_json)
        page.close()
        first.append(f)
        expand.append(e)
        print(
            f"run {i + 1}: first frame {f['ms']:.0f} ms ({f['visibleNodes']} nodes / "
            f"{f['visibleEdges']} edges shown; "
            f"model ready at {f['marks'].get('model', 0):.0f} ms), "
            f"bare {bare_first[-1]:.0f} ms; expand {e['group']} ({e['members']} elements) "
            f"{e['ms']:.0f} ms, bare {bare_expand[-1]:.0f} ms"
        )
    fm = statistics.median(x["ms"] for x in first)
    em = statistics.median(x["ms"] for x in expand)
    bf = statistics.median(bare_first)
    be = statistics.median(bare_expand)
    results["first_readable_frame_ms"] = {
        "graphview": round(fm),
        "bare_sigma_same_visible": round(bf),
    }
    results["first_readable_frame_ratio"] = round(fm / bf, 1)
    im = statistics.median(ingest)
    results["bare_ingest_ms"] = round(im)
    results["first_frame_ratio_vs_ingest_plus_bare_frame"] = round(fm / (im + bf), 2)
    results["first_frame_breakdown_ms"] = {
        k: round(v) for k, v in first[len(first) // 2]["marks"].items()
    }
    results["visible_collapsed"] = {
        "nodes": first[0]["visibleNodes"],
        "edges": first[0]["visibleEdges"],
    }
    results["expand_one_package_ms"] = {
        "graphview": round(em),
        "bare_sigma_same_visible": round(be),
    }
    results["expand_ratio"] = round(em / be, 2)
    results["visible_expanded"] = {
        "nodes": expand[0]["visibleNodes"],
        "edges": expand[0]["visibleEdges"],
        "package": expand[0]["group"],
        "members": expand[0]["members"],
    }
    results["events_while_collapsed"] = {
        "batch": args.batch,
        "median_batch_ms": round(absorb["median"], 1),
        "bare_refresh_ms": round(refresh, 1),
        "ratio_to_bare_refresh": round(absorb["median"] / max(refresh, 0.1), 2),
        "events_per_second": round(args.batch * 1000 / max(absorb["median"], 1000 / 60)),
        "projection_rebuilds": absorb["rebuilds"],
    }
    print(
        f"first readable frame: {fm:.0f} ms vs bare {bf:.0f} ms -> {fm / bf:.1f}x "
        f"(vs bare parse + graphology of all elements {im:.0f} ms + bare frame: "
        f"{fm / (im + bf):.2f}x); "
        f"expand: {em:.0f} ms vs bare {be:.0f} ms -> {em / be:.2f}x; "
        f"events: {absorb['median']:.0f} ms per {args.batch} (bare refresh {refresh:.0f} ms), "
        f"{absorb['rebuilds']} rebuilds"
    )


if __name__ == "__main__":
    main()
