import { afterEach, describe, expect, it, vi } from "vitest";

import { LayoutEngine, type LayoutTarget, type WorkerLike } from "../src/layout/layout-engine.js";
import type { LayoutReply, LayoutRequest, RunRequest } from "../src/layout/worker-messages.js";
import { GraphStore } from "../src/state/store.js";
import { edge, event, node } from "./fakes.js";

class FakeWorker implements WorkerLike {
  requests: LayoutRequest[] = [];
  onmessage: ((ev: MessageEvent<LayoutReply>) => void) | null = null;
  terminated = false;
  postMessage(message: LayoutRequest): void {
    this.requests.push(message);
  }
  terminate(): void {
    this.terminated = true;
  }
  reply(r: LayoutReply): void {
    this.onmessage?.({ data: r } as MessageEvent<LayoutReply>);
  }
  lastRun(): RunRequest {
    const run = this.requests.filter((r): r is RunRequest => r.type === "run").at(-1);
    if (!run) throw new Error("no run requested");
    return run;
  }
}

/** The store's model as a layout target, positions applied through its frame batcher. */
function target(store: GraphStore): LayoutTarget {
  return { graph: store.state.graph, setPositions: (p) => store.setPositions(p) };
}

const frame = { op: "events" as const, graph: "demo", epoch: "e1", from: 0, through: 0, events: [] };

afterEach(() => {
  vi.useRealTimers();
});

describe("LayoutEngine", () => {
  it("lays out a fresh graph whole, then only new nodes with their neighbours pinned", () => {
    vi.useFakeTimers();
    const store = new GraphStore("demo", { schedule: () => () => undefined });
    const worker = new FakeWorker();
    const engine = new LayoutEngine(target(store), worker);
    store.addObserver(engine);

    const nodes = Array.from({ length: 50 }, (_, i) => node(`n${i}`));
    const edges = Array.from({ length: 49 }, (_, i) => edge(`n${i}`, `n${i + 1}`));
    store.snapshot({ op: "snapshot", graph: "demo", epoch: "e1", seq: 0, nodes, edges });
    store.batcher.flushNow();
    vi.advanceTimersByTime(100);
    const whole = worker.lastRun();
    expect(whole.nodes.length / 4).toBe(50);
    expect(whole.edges.length / 2).toBe(49);
    // Reply: every node moved to (i, i); all were free.
    const xy = new Float32Array(100).map((_, j) => Math.floor(j / 2));
    worker.reply({ type: "positions", runId: whole.runId, xy, iterations: 10, done: true });
    store.batcher.flushNow();
    expect(store.state.graph.getNodeAttributes("n7")).toMatchObject({ x: 7, y: 7 });

    // An edit: one node attached to n7. Only it and n7 go to the worker, n7 fixed.
    store.events([event(1, "node_added", { node: node("new") }), event(2, "edge_added", { edge: edge("new", "n7") })], frame);
    store.batcher.flushNow();
    vi.advanceTimersByTime(100);
    const inc = worker.lastRun();
    expect(inc.nodes.length / 4).toBe(2);
    const fixedFlags = [inc.nodes[3], inc.nodes[7]];
    expect(fixedFlags.sort()).toEqual([0, 1]);
    const before = store.state.graph.getNodeAttributes("n7");
    worker.reply({ type: "positions", runId: inc.runId, xy: new Float32Array([100, 100, 100, 100]), iterations: 60, done: true });
    store.batcher.flushNow();
    expect(store.state.graph.getNodeAttributes("new")).toMatchObject({ x: 100, y: 100 });
    expect(store.state.graph.getNodeAttributes("n7")).toMatchObject({ x: before.x, y: before.y });
    expect(engine.completedRuns).toBe(2);
    engine.dispose();
    expect(worker.terminated).toBe(true);
  });

  it("ignores replies of a run made stale by a snapshot", () => {
    vi.useFakeTimers();
    const store = new GraphStore("demo", { schedule: () => () => undefined });
    const worker = new FakeWorker();
    store.addObserver(new LayoutEngine(target(store), worker));
    store.snapshot({ op: "snapshot", graph: "demo", epoch: "e1", seq: 0, nodes: [node("a")], edges: [] });
    store.batcher.flushNow();
    vi.advanceTimersByTime(100);
    const stale = worker.lastRun();
    store.snapshot({ op: "snapshot", graph: "demo", epoch: "e2", seq: 0, nodes: [node("a")], edges: [] });
    store.batcher.flushNow();
    expect(worker.requests.some((r) => r.type === "cancel" && r.runId === stale.runId)).toBe(true);
    const x = store.state.graph.getNodeAttribute("a", "x");
    worker.reply({ type: "positions", runId: stale.runId, xy: new Float32Array([55, 55]), iterations: 1, done: true });
    store.batcher.flushNow();
    expect(store.state.graph.getNodeAttribute("a", "x")).toBe(x);
  });
});
