import { describe, expect, it } from "vitest";

import type { ChangeEvent, EdgeJSON, NodeJSON } from "../src/client/protocol.js";
import { clusterKey } from "../src/explore/grouping.js";
import type { DisplayChange } from "../src/explore/projection.js";
import { NO_FILTER, resolveFocus } from "../src/explore/scope.js";
import { ViewGraph, type ViewGraphOptions } from "../src/explore/view-graph.js";
import { GraphState, type SnapshotData } from "../src/state/graph-state.js";
import { planBatch } from "../src/state/store.js";
import { edge, event } from "./fakes.js";

let seq = 0;
const ev = (type: string, data: Record<string, unknown>): ChangeEvent => event(++seq, type, data);

function fn(id: string, file: string): NodeJSON {
  return { id, kind: "function", name: id.split(".").pop() ?? id, file, line: 1 };
}

/** `pkgs` packages × `mods` modules × `defs` functions, each function calling the next. */
function codebase(pkgs: number, mods: number, defs: number): SnapshotData {
  const nodes: NodeJSON[] = [];
  const edges: EdgeJSON[] = [];
  for (let p = 0; p < pkgs; p++) {
    for (let m = 0; m < mods; m++) {
      for (let d = 0; d < defs; d++) nodes.push(fn(`p${p}.m${m}.f${d}`, `p${p}/m${m}.py`));
    }
  }
  for (let i = 1; i < nodes.length; i++) edges.push(edge((nodes[i - 1] as NodeJSON).id, (nodes[i] as NodeJSON).id));
  return { nodes, edges };
}

/** A store stand-in: plans each batch, tells the view before and after, like GraphStore. */
function setup(options: ViewGraphOptions = {}) {
  const state = new GraphState({ place: false });
  const view = new ViewGraph(state.graph, { schedule: () => () => undefined, ...options });
  const log: string[] = [];
  const changes: DisplayChange[] = [];
  view.addObserver({
    beforeChange: (detach) => log.push(detach ? "detach" : "stay"),
    afterChange: (c) => {
      log.push(c.replaced ? "replaced" : "changed");
      changes.push(c);
    },
  });
  view.setScope(NO_FILTER, null);
  const apply = (work: { snapshot?: SnapshotData; events?: ChangeEvent[] }): void => {
    const plan = planBatch({ clear: false, snapshot: work.snapshot ?? null, events: work.events ?? [], positions: new Map() });
    view.beforeBatch(plan.detach);
    view.applyBatch(state.apply({ snapshot: work.snapshot ?? null, events: work.events ?? [] }));
  };
  return { state, view, log, changes, apply };
}

describe("ViewGraph: the plain picture is the model itself", () => {
  it("draws the model without a projection, and places new nodes in it", () => {
    const { state, view, log, changes, apply } = setup();
    log.length = 0;
    apply({ snapshot: codebase(2, 2, 5) });
    expect(view.projected).toBe(false);
    expect(view.graph).toBe(state.graph);
    // One detached batch: the renderer re-indexes once, after the model is complete.
    expect(log).toEqual(["detach", "replaced"]);
    // Every node got a provisional place and is handed to the layout.
    expect(state.graph.everyNode((_k, a) => a.x !== 0 || a.y !== 0)).toBe(true);
    expect(changes.at(-1)?.freeNodes).toHaveLength(20);
    const rebuilds = view.rebuilds;
    log.length = 0;
    const added = fn("p0.m0.new", "p0/m0.py");
    apply({ events: [ev("node_added", { node: added }), ev("edge_added", { edge: edge("p0.m0.f0", added.id) })] });
    // Small additions stay attached; removals detach.
    expect(log).toEqual(["stay", "changed"]);
    expect(changes.at(-1)?.freeNodes).toEqual([added.id]);
    const placed = state.graph.getNodeAttributes(added.id);
    expect(placed.x !== 0 || placed.y !== 0).toBe(true);
    log.length = 0;
    apply({ events: [ev("node_removed", { node: added })] });
    expect(log).toEqual(["detach", "changed"]);
    expect(view.projected).toBe(false);
    expect(view.rebuilds).toBe(rebuilds);
    expect(view.displayKeyOf("p1.m1.f4")).toBe("p1.m1.f4");
    expect(view.enclosingExpandedGroup("p1.m1.f4")).toBe("p1/m1.py");
    expect(view.groupStats("p1/")).toMatchObject({ count: 10, children: 2, kind: "package" });
  });

  it("layout positions go to the store, which applies them with its next batch", () => {
    const sent: Array<ReadonlyMap<string, [number, number]>> = [];
    const { view, apply } = setup({ modelPositions: (p) => sent.push(p) });
    apply({ snapshot: codebase(1, 1, 3) });
    const positions = new Map<string, [number, number]>([["p0.m0.f1", [5, 6]]]);
    view.setPositions(positions);
    expect(sent).toEqual([positions]);
    expect(view.layoutSteps).toBe(1);
  });

  it("a saved copy's positions place its nodes", () => {
    const { state, view, changes, apply } = setup();
    view.seedPositions({ "p0.m0.f0": [3, 4] });
    apply({ snapshot: codebase(1, 1, 2) });
    expect(state.graph.getNodeAttributes("p0.m0.f0")).toMatchObject({ x: 3, y: 4 });
    expect(changes.at(-1)?.freeNodes).toEqual(["p0.m0.f1"]);
  });
});

describe("ViewGraph: exploration switches to a projection and back", () => {
  it("filters, focus and encodings project; clearing them draws the model again, nodes in place", () => {
    const { state, view, log, apply } = setup();
    apply({ snapshot: codebase(2, 2, 5) });
    const where = state.graph.getNodeAttributes("p1.m0.f2");
    log.length = 0;
    view.setScope({ nodeKinds: [], edgeKinds: [], paths: ["p1/"] }, null);
    expect(view.projected).toBe(true);
    expect(log).toEqual(["detach", "replaced"]);
    expect(view.graph.order).toBe(10);
    // The projection starts from the model's positions.
    expect(view.graph.getNodeAttributes("p1.m0.f2")).toMatchObject({ x: where.x, y: where.y });
    // An element added while filtered is placed by the projection; back on the model it
    // keeps that place.
    const added = fn("p1.m0.new", "p1/m0.py");
    apply({ events: [ev("node_added", { node: added })] });
    const drawn = view.graph.getNodeAttributes(added.id);
    log.length = 0;
    view.setScope(NO_FILTER, null);
    expect(view.projected).toBe(false);
    expect(view.graph).toBe(state.graph);
    expect(log).toEqual(["detach", "replaced"]);
    expect(state.graph.getNodeAttributes(added.id)).toMatchObject({ x: drawn.x, y: drawn.y });

    const ego = resolveFocus(state.graph, NO_FILTER, { mode: "ego", node: "p0.m0.f0", depth: 1 });
    view.setScope(NO_FILTER, ego);
    expect(view.projected).toBe(true);
    expect(view.graph.nodes().sort()).toEqual(["p0.m0.f0", "p0.m0.f1"]);
    view.setScope(NO_FILTER, null);
    expect(view.projected).toBe(false);

    view.setEncoding("complexity", "kind");
    expect(view.projected).toBe(true);
    expect(view.graph.order).toBe(state.graph.order);
    view.setEncoding("kind", "kind");
    expect(view.projected).toBe(false);
  });

  it("collapsing a package from the model is one switch; expanding everything goes back", () => {
    const { state, view, log, apply } = setup();
    apply({ snapshot: codebase(3, 2, 5) });
    log.length = 0;
    expect(view.collapse("p1/")).toBe(true);
    expect(log).toEqual(["detach", "replaced"]);
    expect(view.projected).toBe(true);
    expect(view.levelMode).toBe("user");
    expect(view.graph.hasNode(clusterKey("p1/"))).toBe(true);
    expect(view.graph.getNodeAttribute(clusterKey("p1/"), "count")).toBe(10);
    expect(view.graph.order).toBe(21);
    expect(view.collapse("nowhere/")).toBe(false);
    view.setExpanded(["*"]);
    expect(view.projected).toBe(false);
    expect(view.graph).toBe(state.graph);
    // The user's level stays the user's: growing past the threshold does not collapse it.
    expect(view.levelMode).toBe("user");
  });

  it("a graph above the threshold opens collapsed, and is drawn whole again once small", () => {
    const { state, view, log, apply } = setup({ collapseAbove: 20, maxVisible: 5 });
    log.length = 0;
    const g = codebase(4, 2, 5);
    apply({ snapshot: g });
    expect(view.projected).toBe(true);
    expect(view.collapsed).toBe(true);
    expect(view.graph.order).toBeLessThanOrEqual(5);
    // The model is never drawn on the way: one detached change, re-indexed once.
    expect(log).toEqual(["detach", "replaced"]);
    const keep = new Set(g.nodes.slice(0, 8).map((n) => n.id));
    const events: ChangeEvent[] = [];
    for (const e of g.edges) if (!keep.has(e.source) || !keep.has(e.target)) events.push(ev("edge_removed", { edge: e }));
    for (const n of g.nodes) if (!keep.has(n.id)) events.push(ev("node_removed", { node: n }));
    apply({ events });
    expect(view.projected).toBe(false);
    expect(view.graph).toBe(state.graph);
    expect(view.graph.order).toBe(8);
    view.resetLevel();
    expect(view.projected).toBe(false);
  });

  it("the user's level of the whole graph comes back after a focus", () => {
    const { state, view, apply } = setup();
    apply({ snapshot: codebase(2, 2, 3) });
    view.setExpanded(["*"]);
    const ego = resolveFocus(state.graph, NO_FILTER, { mode: "ego", node: "p0.m0.f0", depth: 1 });
    view.setScope(NO_FILTER, ego);
    expect(view.projected).toBe(true);
    view.setScope(NO_FILTER, null);
    expect(view.projected).toBe(false);
    expect(view.levelMode).toBe("user");
    expect(view.expandedGroups()).toEqual(["*"]);
  });
});
