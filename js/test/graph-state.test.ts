import { describe, expect, it } from "vitest";

import type { ChangeEvent, NodeJSON } from "../src/client/protocol.js";
import { FrameBatcher, type FrameWork } from "../src/state/frame-batcher.js";
import { GraphState } from "../src/state/graph-state.js";
import { GraphStore, planBatch, type BatchPlan } from "../src/state/store.js";
import { edge, event, node } from "./fakes.js";

let seq = 0;
function ev(type: string, data: Record<string, unknown>): ChangeEvent {
  seq += 1;
  return event(seq, type, data);
}
const addNode = (id: string, kind = "function", extra = {}) => ev("node_added", { node: node(id, kind, extra) });
const removeNode = (id: string, kind = "function") => ev("node_removed", { node: node(id, kind) });
const addEdge = (s: string, t: string, kind = "calls", line = 1) => ev("edge_added", { edge: edge(s, t, kind, line) });
const removeEdge = (s: string, t: string, kind = "calls", line = 1) =>
  ev("edge_removed", { edge: edge(s, t, kind, line) });

/** Graph content without positions, for equality checks. */
function content(state: GraphState): { nodes: Record<string, unknown>; edges: string[] } {
  const nodes: Record<string, unknown> = {};
  state.graph.forEachNode((k, a) => {
    nodes[k] = a.data;
  });
  return { nodes, edges: state.graph.edges().sort() };
}

/** A hub with `n` callers: the producer's events for building it. */
function hubEvents(n: number): ChangeEvent[] {
  const out = [addNode("m.hub")];
  for (let i = 0; i < n; i++) out.push(addNode(`m.c${i}`));
  for (let i = 0; i < n; i++) out.push(addEdge(`m.c${i}`, "m.hub"));
  return out;
}

describe("GraphState: every event type", () => {
  it("node_added / edge_added build the graph with render attributes", () => {
    const s = new GraphState();
    const r = s.applyEvents([addNode("m", "module"), addNode("m.f"), addEdge("m", "m.f", "contains", 0)]);
    expect(r.nodesAdded).toBe(2);
    expect(r.edgesAdded).toBe(1);
    expect(s.graph.order).toBe(2);
    expect(s.graph.size).toBe(1);
    const a = s.graph.getNodeAttributes("m.f");
    expect(a).toMatchObject({ label: "f", kind: "function", data: { id: "m.f", kind: "function" } });
    expect(Number.isFinite(a.x) && Number.isFinite(a.y)).toBe(true);
    expect(s.graph.hasEdge("contains:m->m.f@0")).toBe(true);
    expect(s.graph.source("contains:m->m.f@0")).toBe("m");
  });

  it("node_updated applies the before/after diff and keeps the position", () => {
    const s = new GraphState();
    s.applyEvents([addNode("m.f", "function", { line: 3, doc: "old", complexity: 2 })]);
    s.graph.mergeNodeAttributes("m.f", { x: 42, y: -7 });
    const r = s.applyEvents([
      ev("node_updated", { id: "m.f", before: { line: 3, doc: "old" }, after: { line: 9, loc: 12 } }),
    ]);
    expect(r.nodesUpdated).toBe(1);
    const a = s.graph.getNodeAttributes("m.f");
    expect(a.data).toEqual({ id: "m.f", kind: "function", name: "f", line: 9, loc: 12, complexity: 2 });
    expect([a.x, a.y]).toEqual([42, -7]);
    // A kind change re-styles the node.
    s.applyEvents([ev("node_updated", { id: "m.f", before: { kind: "function" }, after: { kind: "method" } })]);
    expect(s.graph.getNodeAttributes("m.f").kind).toBe("method");
  });

  it("node_updated of an unknown node is a no-op", () => {
    const s = new GraphState();
    const r = s.applyEvents([ev("node_updated", { id: "nope", before: {}, after: { line: 1 } })]);
    expect(r.noops).toBe(1);
    expect(s.graph.order).toBe(0);
  });

  it("node_removed / edge_removed remove elements", () => {
    const s = new GraphState();
    s.applyEvents([addNode("a"), addNode("b"), addEdge("a", "b"), addEdge("a", "b", "calls", 2)]);
    const r1 = s.applyEvents([removeEdge("a", "b")]);
    expect(r1.edgesRemoved).toBe(1);
    expect(s.graph.edges()).toEqual(["calls:a->b@2"]);
    const r2 = s.applyEvents([removeNode("a")]);
    expect(r2.nodesRemoved).toBe(1);
    expect(r2.edgesRemoved).toBe(1); // dropped with its node
    expect(s.graph.nodes()).toEqual(["b"]);
    expect(s.graph.size).toBe(0);
  });

  it("graph_reset empties the graph; events after it in the batch rebuild it", () => {
    const s = new GraphState();
    s.applyEvents([addNode("a"), addNode("b"), addEdge("a", "b")]);
    const r = s.applyEvents([ev("graph_reset", {}), addNode("c")]);
    expect(r.replaced).toBe(true);
    expect(s.graph.nodes()).toEqual(["c"]);
    expect(s.graph.size).toBe(0);
  });

  it("lifecycle events are reported in order and change nothing", () => {
    const s = new GraphState();
    const events = [
      ev("analysis_started", { files: 3 }),
      ev("analysis_progress", { done: 1, total: 3 }),
      ev("diagnostic", { file: "x.py", message: "syntax error" }),
      ev("analysis_completed", {}),
      ev("analysis_failed", { error: "boom" }),
    ];
    const r = s.applyEvents(events);
    expect(r.lifecycle.map((e) => e.type)).toEqual(events.map((e) => e.type));
    expect(s.graph.order).toBe(0);
  });
});

describe("GraphState: idempotence and ordering", () => {
  it("applying a batch twice gives the same graph (duplicates are no-ops)", () => {
    const batch = [addNode("a"), addNode("b"), addEdge("a", "b"), addNode("c"), removeNode("c")];
    const s = new GraphState();
    s.applyEvents(batch);
    const once = content(s);
    const positions = s.graph.nodes().map((k) => s.graph.getNodeAttributes(k).x);
    const r = s.applyEvents(batch);
    expect(content(s)).toEqual(once);
    expect(s.graph.nodes().map((k) => s.graph.getNodeAttributes(k).x)).toEqual(positions);
    expect(r.noops).toBe(3); // a, b, a->b again; c is re-added then removed again
    expect(s.applyEvents([removeEdge("x", "y"), removeNode("zz")]).noops).toBe(2);
  });

  it("an edge that arrives before its endpoint waits and then appears", () => {
    const s = new GraphState();
    s.applyEvents([addNode("a"), addEdge("a", "b")]);
    expect(s.graph.size).toBe(0);
    expect(s.pendingEdges).toBe(1);
    const r = s.applyEvents([addNode("b")]);
    expect(r.edgesAdded).toBe(1);
    expect(s.graph.hasEdge("calls:a->b@1")).toBe(true);
    expect(s.pendingEdges).toBe(0);
    // A pending edge removed before its endpoint arrives never appears.
    s.applyEvents([addEdge("a", "z"), removeEdge("a", "z"), addNode("z")]);
    expect(s.graph.hasEdge("calls:a->z@1")).toBe(false);
  });

  it("snapshot + tail: the snapshot replaces the graph, the tail applies on top", () => {
    const s = new GraphState();
    s.applyEvents([addNode("old")]);
    const nodes = [node("a"), node("b"), node("c")];
    const edges = [edge("a", "b"), edge("b", "c")];
    const r = s.apply({ snapshot: { nodes, edges }, events: [removeEdge("b", "c"), removeNode("c"), addNode("d"), addEdge("d", "a")] });
    expect(r.replaced).toBe(true);
    expect(s.graph.nodes().sort()).toEqual(["a", "b", "d"]);
    expect(s.graph.edges().sort()).toEqual(["calls:a->b@1", "calls:d->a@1"]);
  });

  it("nodes keep their positions across a resync snapshot and a remove/re-add", () => {
    const s = new GraphState();
    s.applySnapshot({ nodes: [node("a"), node("b")], edges: [] });
    s.graph.mergeNodeAttributes("a", { x: 5, y: 6 });
    s.clear();
    const r = s.applySnapshot({ nodes: [node("a"), node("c")], edges: [edge("a", "c")] });
    expect(s.graph.getNodeAttributes("a")).toMatchObject({ x: 5, y: 6 });
    expect(r.restoredNodes).toBe(1);
    expect(r.freeNodes).toEqual(["c"]);
    s.graph.mergeNodeAttributes("c", { x: 100, y: 100 });
    s.applyEvents([removeNode("c"), addNode("c")]);
    expect(s.graph.getNodeAttributes("c")).toMatchObject({ x: 100, y: 100 });
  });

  it("new nodes appear near their neighbours and existing nodes do not move", () => {
    const s = new GraphState();
    const nodes = Array.from({ length: 100 }, (_, i) => node(`n${i}`));
    s.applySnapshot({ nodes, edges: [] });
    // Spread the existing nodes on a 10x10 grid of spacing 10.
    s.graph.forEachNode((k) => {
      const i = Number(k.slice(1));
      s.graph.mergeNodeAttributes(k, { x: (i % 10) * 10, y: Math.floor(i / 10) * 10 });
    });
    const before = s.graph.nodes().map((k) => [s.graph.getNodeAttribute(k, "x"), s.graph.getNodeAttribute(k, "y")]);
    const r = s.applyEvents([addNode("new1"), addEdge("new1", "n55"), addNode("new2"), addEdge("new2", "new1")]);
    expect(r.freeNodes).toEqual(["new1", "new2"]);
    const after = s.graph.nodes().filter((k) => k.startsWith("n") && !k.startsWith("new"));
    expect(after.map((k) => [s.graph.getNodeAttribute(k, "x"), s.graph.getNodeAttribute(k, "y")])).toEqual(before);
    const n55 = s.graph.getNodeAttributes("n55");
    const p1 = s.graph.getNodeAttributes("new1");
    const p2 = s.graph.getNodeAttributes("new2");
    expect(Math.hypot(p1.x - n55.x, p1.y - n55.y)).toBeLessThanOrEqual(15 + 1e-9); // ≤ 1.5 spacing
    expect(Math.hypot(p2.x - p1.x, p2.y - p1.y)).toBeLessThanOrEqual(15 + 1e-9);
  });
});

describe("removing a node with 1,000 edges in one batch", () => {
  it("applies in one frame with one renderer re-index", () => {
    // A stand-in for sigma 3: attached to the graph it re-indexes everything on every drop
    // (as sigma's dropNode/dropEdge handlers do); detached it costs nothing until re-attached.
    let reindexes = 0;
    let attached = true;
    const store = new GraphStore("demo", { schedule: () => () => undefined });
    const g = store.state.graph;
    const onDrop = (): void => {
      if (attached) reindexes += 1;
    };
    g.on("edgeDropped", onDrop);
    g.on("nodeDropped", onDrop);
    const plans: BatchPlan[] = [];
    store.addObserver({
      beforeBatch(plan) {
        plans.push(plan);
        if (plan.detach) attached = false;
      },
      afterBatch(_r, plan) {
        if (plan.detach) {
          attached = true;
          reindexes += 1; // the single re-index on re-attach
        }
      },
    });
    const frame = { op: "events" as const, graph: "demo", epoch: "e1", from: 0, through: 0, events: [] };
    store.events(hubEvents(1000), frame);
    store.batcher.flushNow();
    expect(g.order).toBe(1001);
    expect(g.size).toBe(1000);
    expect(g.degree("m.hub")).toBe(1000);
    reindexes = 0;
    plans.length = 0;

    // The producer's events for removing the hub: each edge first, then the node.
    const removal = [...Array.from({ length: 1000 }, (_, i) => removeEdge(`m.c${i}`, "m.hub")), removeNode("m.hub")];
    const t0 = performance.now();
    store.events(removal, frame);
    store.batcher.flushNow();
    const ms = performance.now() - t0;
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ detach: true, removals: 1001 });
    expect(reindexes).toBe(1);
    expect(g.order).toBe(1000);
    expect(g.size).toBe(0);
    expect(ms).toBeLessThan(500);
  });

  it("a node_removed alone also drops its 1,000 edges in one batch", () => {
    const s = new GraphState();
    s.applyEvents(hubEvents(1000));
    const r = s.applyEvents([removeNode("m.hub")]);
    expect(r.nodesRemoved).toBe(1);
    expect(r.edgesRemoved).toBe(1000);
    expect(s.graph.size).toBe(0);
  });
});

describe("FrameBatcher", () => {
  function collect() {
    const frames: FrameWork[] = [];
    let scheduled: (() => void) | null = null;
    const batcher = new FrameBatcher(
      (w) => frames.push(w),
      (cb) => {
        scheduled = cb;
        return () => {
          scheduled = null;
        };
      },
      3,
    );
    const tick = (): void => {
      const cb = scheduled;
      scheduled = null;
      cb?.();
    };
    return { frames, batcher, tick, pending: () => scheduled !== null };
  }

  it("coalesces everything between two frames into one unit of work", () => {
    const { frames, batcher, tick } = collect();
    batcher.events([addNode("a")]);
    batcher.events([addNode("b")]);
    batcher.positions(new Map([["a", [1, 2]]]));
    expect(frames).toHaveLength(0);
    tick();
    expect(frames).toHaveLength(1);
    expect(frames[0]?.events).toHaveLength(2);
    expect(frames[0]?.positions.get("a")).toEqual([1, 2]);
  });

  it("a snapshot supersedes queued events; a clear drops them", () => {
    const { frames, batcher, tick } = collect();
    batcher.events([addNode("a")]);
    batcher.snapshot({ nodes: [], edges: [] });
    batcher.events([addNode("b")]);
    tick();
    expect(frames[0]?.snapshot).not.toBeNull();
    expect(frames[0]?.events.map((e) => (e.data.node as NodeJSON).id)).toEqual(["b"]);
    batcher.events([addNode("c")]);
    batcher.clear();
    tick();
    expect(frames[1]).toMatchObject({ clear: true, events: [] });
  });

  it("splits a burst over frames so no frame gets more than its budget", () => {
    const { frames, batcher, tick, pending } = collect();
    batcher.events([addNode("a"), addNode("b"), addNode("c"), addNode("d"), addNode("e")]);
    tick();
    expect(frames[0]?.events).toHaveLength(3);
    expect(pending()).toBe(true);
    tick();
    expect(frames[1]?.events).toHaveLength(2);
  });

  it("the plan asks renderers to detach for removals, replacements and big batches only", () => {
    const work = (events: ChangeEvent[]): FrameWork => ({ clear: false, snapshot: null, events, positions: new Map() });
    expect(planBatch(work([addNode("a"), addEdge("a", "a")])).detach).toBe(false);
    expect(planBatch(work([removeEdge("a", "b")])).detach).toBe(true);
    expect(planBatch(work([ev("graph_reset", {})])).detach).toBe(true);
    expect(planBatch({ ...work([]), snapshot: { nodes: [], edges: [] } }).detach).toBe(true);
    expect(planBatch(work(Array.from({ length: 2001 }, (_, i) => addNode(`x${i}`)))).detach).toBe(true);
  });
});
