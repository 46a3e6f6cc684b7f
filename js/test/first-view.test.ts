// @vitest-environment happy-dom
/**
 * A readable first view at any size (docs/widget.md, "A readable first view"): the level a
 * view opens at, the automatic level's order (packages, modules, external buckets), the Auto
 * level button at every size, and the label placement (most connected first, no overlaps).
 */
import { describe, expect, it } from "vitest";

import type { EdgeJSON, NodeJSON } from "../src/client/protocol.js";
import { EXTERNAL_GROUP } from "../src/explore/grouping.js";
import { COLLAPSE_ABOVE, chooseLevel, EDGES_PER_NODE, type LevelGroup, MAX_VISIBLE } from "../src/explore/level.js";
import { Projection } from "../src/explore/projection.js";
import { NO_FILTER } from "../src/explore/scope.js";
import { ViewGraph } from "../src/explore/view-graph.js";
import { GraphState, type SnapshotData } from "../src/state/graph-state.js";
import { type LabelBox, type LabelCandidate, type LabelFont, labelBox, overlaps, placeLabels } from "../src/view/labels.js";
import { edge, mountExploreBar, seededRandom } from "./fakes.js";

const never = (): (() => void) => () => undefined;

/**
 * A project like a real one: `pkgs` packages with `subs` sub-packages of `mods` modules of
 * `defs` functions, `contains` edges, calls mostly inside a package, and external calls.
 */
function project(pkgs: number, subs: number, mods: number, defs: number, seed = 11): SnapshotData {
  const rnd = seededRandom(seed);
  const nodes: NodeJSON[] = [];
  const edges: EdgeJSON[] = [];
  const fns: string[][] = [];
  for (let p = 0; p < pkgs; p++) {
    const mine: string[] = [];
    nodes.push({ id: `p${p}`, kind: "package", name: `p${p}`, file: `p${p}/__init__.py`, line: 1 });
    for (let q = 0; q < subs; q++) {
      const dir = `p${p}/s${q}`;
      nodes.push({ id: `p${p}.s${q}`, kind: "package", name: `s${q}`, file: `${dir}/__init__.py`, line: 1 });
      edges.push(edge(`p${p}`, `p${p}.s${q}`, "contains", 0));
      for (let m = 0; m < mods; m++) {
        const mod = `p${p}.s${q}.m${m}`;
        nodes.push({ id: mod, kind: "module", name: `m${m}`, file: `${dir}/m${m}.py`, line: 1 });
        edges.push(edge(`p${p}.s${q}`, mod, "contains", 0));
        for (let d = 0; d < defs; d++) {
          const id = `${mod}.f${d}`;
          nodes.push({ id, kind: "function", name: `f${d}`, file: `${dir}/m${m}.py`, line: 2 + d });
          edges.push(edge(mod, id, "contains", 0));
          mine.push(id);
        }
      }
    }
    fns.push(mine);
  }
  const all = fns.flat();
  const externals = ["os.path.join", "json.dumps", "re.compile", "<builtin>.len"];
  for (const x of externals) nodes.push({ id: x, kind: "external", name: x.split(".").pop() ?? x });
  let line = 1;
  fns.forEach((mine) => {
    for (const a of mine) {
      for (let k = 0; k < 2; k++) {
        const pool = rnd() < 0.8 ? mine : all;
        edges.push(edge(a, pool[Math.floor(rnd() * pool.length)] as string, "calls", line++));
      }
      if (rnd() < 0.3) edges.push(edge(a, externals[Math.floor(rnd() * externals.length)] as string, "calls", line++));
    }
  });
  return { nodes, edges };
}

function opened(g: SnapshotData, options: ConstructorParameters<typeof Projection>[1] = {}): Projection {
  const state = new GraphState({ place: false });
  const p = new Projection(state.graph, { schedule: never, ...options });
  p.applyBatch(state.applySnapshot(g));
  return p;
}

describe("the level a view opens at", () => {
  it("a 1,000-element project opens collapsed to at most the threshold, everything accounted for", () => {
    const g = project(4, 3, 4, 20);
    expect(g.nodes.length).toBeGreaterThanOrEqual(1_000);
    const p = opened(g);
    expect(COLLAPSE_ABOVE).toBe(300);
    expect(p.collapseAbove).toBe(COLLAPSE_ABOVE);
    expect(p.collapsed).toBe(true);
    expect(p.levelMode).toBe("auto");
    expect(p.graph.order).toBeGreaterThan(1);
    expect(p.graph.order).toBeLessThanOrEqual(COLLAPSE_ABOVE);
    expect(p.graph.size).toBeLessThanOrEqual(MAX_VISIBLE * EDGES_PER_NODE);
    // Clusters and drawn elements stand for every element exactly once.
    expect(p.graph.reduceNodes((n, _k, a) => n + a.count, 0)).toBe(g.nodes.length);
    // The packages are open: their sub-packages (or their modules) are drawn.
    expect(p.expandedGroups()).toEqual(expect.arrayContaining(["p0/", "p1/", "p2/", "p3/"]));
  });

  it("a 50-element project opens with everything drawn", () => {
    const g = project(1, 1, 2, 21);
    expect(g.nodes.length).toBe(50);
    const p = opened(g);
    expect(p.collapsed).toBe(false);
    expect(p.graph.order).toBe(g.nodes.length);
  });

  it("through the view graph with its defaults: a big project is projected, a small one is the model itself", () => {
    for (const [g, collapsed] of [
      [project(4, 3, 4, 20), true],
      [project(1, 1, 2, 21), false],
    ] as const) {
      const state = new GraphState({ place: false });
      const view = new ViewGraph(state.graph, { schedule: never });
      view.setScope(NO_FILTER, null);
      view.beforeBatch(true);
      view.applyBatch(state.applySnapshot(g));
      expect(view.collapseAbove).toBe(COLLAPSE_ABOVE);
      expect(view.projected).toBe(collapsed);
      expect(view.collapsed).toBe(collapsed);
      if (collapsed) {
        expect(view.graph.order).toBeGreaterThan(1);
        expect(view.graph.order).toBeLessThanOrEqual(COLLAPSE_ABOVE);
      } else {
        expect(view.graph).toBe(state.graph);
        expect(view.graph.order).toBe(50);
      }
    }
  });

  it("the automatic level never draws more than collapseAbove nodes, even with a larger maxVisible", () => {
    const p = opened(project(4, 3, 4, 20), { collapseAbove: 120, maxVisible: 5_000, maxEdges: 1e9 });
    expect(p.collapsed).toBe(true);
    expect(p.maxVisible).toBe(120);
    expect(p.graph.order).toBeLessThanOrEqual(120);
  });

  it("too many bundled edges lower the node budget until they fit", () => {
    const g = project(4, 3, 4, 20);
    const loose = opened(g, { maxEdges: 1e9 });
    const tight = opened(g, { maxEdges: 800 });
    expect(loose.graph.size).toBeGreaterThan(800);
    expect(tight.graph.size).toBeLessThanOrEqual(800);
    expect(tight.graph.order).toBeLessThan(loose.graph.order);
    expect(tight.graph.order).toBeGreaterThan(1);
  });
});

describe("chooseLevel: the project's structure first", () => {
  function group(key: string, members: number, children: LevelGroup[] = []): LevelGroup {
    const total = members + children.reduce((n, c) => n + c.total, 0);
    return { key, children: new Set(children), members: new Set(Array.from({ length: members }, (_, i) => `${key}#${i}`)), total };
  }

  it("opens packages, then modules, then external buckets, within the budget", () => {
    const big = group("app/big.py", 40);
    const small = group("app/small.py", 5);
    const sub = group("app/sub/", 0, [group("app/sub/a.py", 8), group("app/sub/b.py", 8)]);
    const app = group("app/", 1, [big, small, sub]);
    const os = group(`${EXTERNAL_GROUP}/os`, 30);
    const ext = group(EXTERNAL_GROUP, 0, [os, group(`${EXTERNAL_GROUP}/re`, 3)]);
    // Budget 10: the two tops (2), app/ (+3: three children and its own element), app/sub/
    // (+1), the external top (+1); no module fits except small.py (+4) after them.
    expect([...chooseLevel([app, ext], 11)].sort()).toEqual(["app/", "app/small.py", "app/sub/", EXTERNAL_GROUP].sort());
    // With room, the bigger module opens before the smaller, and external buckets come last.
    const level = chooseLevel([app, ext], 50);
    expect(level.has("app/big.py")).toBe(true);
    expect(level.has(`${EXTERNAL_GROUP}/os`)).toBe(false);
    expect(chooseLevel([app, ext], 1_000).has(`${EXTERNAL_GROUP}/os`)).toBe(true);
    // Nothing opens when the tops alone fill the budget.
    expect(chooseLevel([app, ext], 2).size).toBe(0);
  });
});

describe("Auto level is available at every size", () => {
  function bar() {
    const { b, handlers } = mountExploreBar();
    const button = b.root.querySelector("[data-testid=gl-auto-level]") as HTMLButtonElement;
    const note = b.root.querySelector("[data-testid=gl-level-note]") as HTMLElement;
    return { b, handlers, button, note };
  }

  it("a small graph shown whole: enabled, and a click says there is nothing to collapse", () => {
    const { b, handlers, button, note } = bar();
    b.setVisible(50, 70);
    b.setLevel(false, "auto");
    expect(button.disabled).toBe(false);
    expect(button.dataset.noop).toBe("true");
    expect(button.title).toMatch(/small enough/);
    button.click();
    expect(handlers.autoLevel).toHaveBeenCalledTimes(1);
    expect(note.textContent).toBe("all 50 nodes shown: small enough, nothing to collapse");
  });

  it("collapsed automatically: enabled; after the user's changes it goes back and the note clears", () => {
    const { b, handlers, button, note } = bar();
    b.setVisible(120, 300);
    b.setLevel(true, "auto");
    expect(button.disabled).toBe(false);
    button.click();
    expect(note.textContent).toBe("already at the automatic level");
    b.setLevel(true, "user");
    expect(note.textContent).toBe("");
    expect(button.disabled).toBe(false);
    expect(button.dataset.noop).toBe("false");
    button.click();
    expect(handlers.autoLevel).toHaveBeenCalledTimes(2);
    expect(note.textContent).toBe("");
  });
});

describe("labels: the most connected first, never overlapping", () => {
  const font: LabelFont = { size: 13, measure: (t) => t.length * 7 };

  it("a label that would overlap a better one goes left of its node, else is left out", () => {
    const hub: LabelCandidate = { key: "hub", label: "hub_module", x: 100, y: 100, size: 10, reserved: false };
    const boxed: LabelCandidate = { key: "boxed", label: "x", x: 150, y: 104, size: 1, reserved: false };
    const selected: LabelCandidate = { key: "selected", label: "chosen", x: 300, y: 100, size: 8, reserved: true };
    const lefty: LabelCandidate = { key: "lefty", label: "lefty", x: 290, y: 100, size: 3, reserved: false };
    const placed = placeLabels([selected, hub, boxed, lefty], font, 400, 300);
    expect(placed.get("hub")).toEqual(labelBox(hub, font));
    expect(placed.get("selected")).toEqual(labelBox(selected, font));
    // Both sides of `boxed` are under the hub's label; right of `lefty` is the selection's.
    expect(placed.has("boxed")).toBe(false);
    expect(placed.get("lefty")).toEqual(labelBox(lefty, font, "left"));
    const edge: LabelCandidate = { key: "edge", label: "at_the_right_edge", x: 395, y: 200, size: 3, reserved: false };
    expect(placeLabels([edge], font, 400, 300).get("edge")).toEqual(labelBox(edge, font, "left"));
  });

  it("random crowds: accepted boxes are pairwise disjoint, on screen, and the top-ranked is always shown", () => {
    const rnd = seededRandom(5);
    for (let round = 0; round < 20; round++) {
      const ranked: LabelCandidate[] = Array.from({ length: 400 }, (_, i) => ({
        key: `n${i}`,
        label: "x".repeat(1 + Math.floor(rnd() * 20)),
        x: 20 + rnd() * 760,
        y: 20 + rnd() * 560,
        size: 2 + rnd() * 8,
        reserved: i < 2,
      }));
      const placed = [...placeLabels(ranked, font, 800, 600).values()];
      expect(placed.length).toBeGreaterThan(20);
      expect(placed.length).toBeLessThan(400);
      const clashes: string[] = [];
      for (let i = 0; i < placed.length; i++) {
        const a = placed[i] as LabelBox;
        if (!a.key.startsWith("n0") && !a.key.startsWith("n1") && (a.x < 0 || a.y < 0 || a.x + a.width > 800 || a.y + a.height > 600)) clashes.push(`${a.key} off screen`);
        for (let j = i + 1; j < placed.length; j++) if (overlaps(a, placed[j] as LabelBox)) clashes.push(`${a.key}/${(placed[j] as LabelBox).key}`);
      }
      expect(clashes).toEqual([]);
      const top = ranked.find((c) => !c.reserved) as LabelCandidate;
      const topBox = labelBox(top, font);
      const blocked = ranked.slice(0, 2).some((c) => overlaps(labelBox(c, font), topBox));
      const inside = topBox.x >= 0 && topBox.x + topBox.width <= 800;
      if (!blocked && inside) expect(placed.map((b) => b.key)).toContain(top.key);
    }
  });
});
