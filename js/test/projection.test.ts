import { describe, expect, it } from "vitest";

import type { ChangeEvent, EdgeJSON, NodeJSON } from "../src/client/protocol.js";
import { clusterKey } from "../src/explore/grouping.js";
import { Projection } from "../src/explore/projection.js";
import { NO_FILTER, resolveFocus, type ViewFilter } from "../src/explore/scope.js";
import { GraphState } from "../src/state/graph-state.js";
import { edge, event, seededRandom } from "./fakes.js";

const now = (): (() => void) => () => undefined;

let seq = 0;
const ev = (type: string, data: Record<string, unknown>): ChangeEvent => event(++seq, type, data);

function fn(id: string, file: string, extra: Record<string, unknown> = {}): NodeJSON {
  return { id, kind: "function", name: id.split(".").pop() ?? id, file, line: 1, ...extra };
}

/** A code base: `pkgs` packages × `mods` modules × `defs` functions, calls between them. */
function codebase(pkgs: number, mods: number, defs: number, calls: number, seed = 7): { nodes: NodeJSON[]; edges: EdgeJSON[] } {
  const rnd = seededRandom(seed);
  const nodes: NodeJSON[] = [];
  const edges: EdgeJSON[] = [];
  for (let p = 0; p < pkgs; p++) {
    for (let m = 0; m < mods; m++) {
      const file = `p${p}/m${m}.py`;
      const mod = `p${p}.m${m}`;
      nodes.push({ id: mod, kind: "module", name: `m${m}`, file, line: 1 });
      for (let d = 0; d < defs; d++) {
        nodes.push(fn(`${mod}.f${d}`, file, { complexity: 1 + ((p + m + d) % 12), loc: 3 + d }));
        edges.push(edge(mod, `${mod}.f${d}`, "contains", 0));
      }
    }
  }
  const fns = nodes.filter((n) => n.kind === "function");
  for (let i = 0; i < calls; i++) {
    const a = fns[Math.floor(rnd() * fns.length)] as NodeJSON;
    const b = fns[Math.floor(rnd() * fns.length)] as NodeJSON;
    edges.push(edge(a.id, b.id, "calls", i + 1));
  }
  return { nodes, edges };
}

function pipeline(options: ConstructorParameters<typeof Projection>[1] = {}): { state: GraphState; projection: Projection } {
  const state = new GraphState({ place: false });
  const projection = new Projection(state.graph, { schedule: now, ...options });
  return { state, projection };
}

/** Display content as comparable data: nodes with counts, edges with bundle counts. */
function content(p: Projection): { nodes: string[]; edges: string[] } {
  const nodes = p.graph.mapNodes((k, a) => `${k}#${a.count}`).sort();
  const edges = p.graph.mapEdges((k, a) => `${k}#${a.count}#${a.kind}`).sort();
  return { nodes, edges };
}

/** The same scope and level, computed from scratch on the same model. */
function rebuilt(state: GraphState, p: Projection, filter: ViewFilter = NO_FILTER): { nodes: string[]; edges: string[] } {
  const fresh = new Projection(state.graph, { schedule: now, collapseAbove: p.collapseAbove, maxVisible: p.maxVisible });
  fresh.setScope(filter, null);
  fresh.setExpanded(p.expandedGroups());
  return content(fresh);
}

describe("Projection: small graphs are shown whole", () => {
  it("draws every element and one edge per connected pair", () => {
    const { state, projection } = pipeline();
    const g = codebase(2, 2, 3, 10);
    projection.applyBatch(state.applySnapshot(g));
    expect(projection.collapsed).toBe(false);
    expect(projection.graph.order).toBe(g.nodes.length);
    // Parallel model edges (same pair, other lines) share one display edge.
    const pairs = new Set(g.edges.filter((e) => e.source !== e.target).map((e) => `${e.source}\u0000${e.target}`));
    expect(projection.graph.size).toBe(pairs.size);
    const total = projection.graph.reduceEdges((n, _k, a) => n + a.count, 0);
    expect(total).toBe(g.edges.filter((e) => e.source !== e.target).length);
  });
});

describe("Projection: large graphs open collapsed by package", () => {
  it("collapses above the threshold to at most maxVisible nodes, counts add up", () => {
    const { state, projection } = pipeline({ collapseAbove: 100, maxVisible: 20 });
    const g = codebase(6, 8, 10, 2000);
    projection.applyBatch(state.applySnapshot(g));
    expect(projection.collapsed).toBe(true);
    expect(projection.graph.order).toBeLessThanOrEqual(20);
    expect(projection.graph.order).toBeGreaterThan(1);
    // Every element is represented exactly once.
    const represented = projection.graph.reduceNodes((n, _k, a) => n + a.count, 0);
    expect(represented).toBe(g.nodes.length);
    // Bundled edges count every model edge between different display nodes.
    const rep = (id: string) => projection.displayKeyOf(id);
    const crossing = g.edges.filter((e) => rep(e.source) !== rep(e.target)).length;
    expect(projection.graph.reduceEdges((n, _k, a) => n + a.count, 0)).toBe(crossing);
    expect(content(projection)).toEqual(rebuilt(state, projection));
  });

  it("expanding a package shows its modules, collapsing it brings the cluster back", () => {
    const { state, projection } = pipeline({ collapseAbove: 100, maxVisible: 7 });
    projection.applyBatch(state.applySnapshot(codebase(6, 8, 10, 500)));
    const before = content(projection);
    expect(projection.graph.hasNode(clusterKey("p0/"))).toBe(true);
    projection.graph.mergeNodeAttributes(clusterKey("p0/"), { x: 100, y: 100 });
    expect(projection.expand("p0/")).toBe(true);
    expect(projection.graph.hasNode(clusterKey("p0/"))).toBe(false);
    for (let m = 0; m < 8; m++) {
      const key = clusterKey(`p0/m${m}.py`);
      expect(projection.graph.getNodeAttribute(key, "count")).toBe(11);
      // Children appear around the cluster they came out of.
      const a = projection.graph.getNodeAttributes(key);
      expect(Math.hypot(a.x - 100, a.y - 100)).toBeLessThan(200);
    }
    expect(projection.levelMode).toBe("user");
    expect(content(projection)).toEqual(rebuilt(state, projection));
    expect(projection.collapse("p0/")).toBe(true);
    expect(content(projection)).toEqual(before);
    expect(projection.graph.getNodeAttributes(clusterKey("p0/"))).toMatchObject({ x: 100, y: 100 });
  });

  it("reveal expands every group down to one element", () => {
    const { state, projection } = pipeline({ collapseAbove: 100, maxVisible: 7 });
    projection.applyBatch(state.applySnapshot(codebase(6, 8, 10, 500)));
    expect(projection.displayKeyOf("p3.m5.f2")).toBe(clusterKey("p3/"));
    projection.reveal("p3.m5.f2");
    expect(projection.displayKeyOf("p3.m5.f2")).toBe("p3.m5.f2");
    expect(projection.graph.hasNode("p3.m5.f2")).toBe(true);
    expect(projection.graph.hasNode(clusterKey("p3/m4.py"))).toBe(true);
    expect(content(projection)).toEqual(rebuilt(state, projection));
  });
});

describe("Projection: events are applied incrementally", () => {
  it("matches a from-scratch projection after every batch of random events, without rebuilding", () => {
    const { state, projection } = pipeline({ collapseAbove: 100, maxVisible: 25 });
    const g = codebase(5, 6, 8, 800, 3);
    projection.applyBatch(state.applySnapshot(g));
    projection.expand("p1/");
    projection.expand("p2/m3.py");
    const rebuilds = projection.rebuilds;
    let s = 11;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // The high bits: an LCG's low bits cycle with short periods.
      return (s >>> 16) % n;
    };
    const live = new Map(g.nodes.map((n) => [n.id, n]));
    const liveEdges = new Map(g.edges.map((e) => [e.id, e]));
    for (let batch = 0; batch < 40; batch++) {
      const events: ChangeEvent[] = [];
      for (let i = 0; i < 25; i++) {
        const ids = [...live.keys()];
        const r = rnd(10);
        if (r < 3) {
          const p = rnd(7); // p5, p6 are new packages
          const node = fn(`p${p}.mx.n${seq}`, `p${p}/mx${rnd(3)}.py`, { complexity: rnd(9) + 1 });
          live.set(node.id, node);
          events.push(ev("node_added", { node }));
        } else if (r < 6) {
          const e = edge(ids[rnd(ids.length)] as string, ids[rnd(ids.length)] as string, rnd(2) ? "calls" : "imports", seq);
          liveEdges.set(e.id, e);
          events.push(ev("edge_added", { edge: e }));
        } else if (r < 8 && liveEdges.size > 0) {
          const keys = [...liveEdges.keys()];
          const e = liveEdges.get(keys[rnd(keys.length)] as string) as EdgeJSON;
          liveEdges.delete(e.id);
          events.push(ev("edge_removed", { edge: e }));
        } else if (r < 9) {
          const id = ids[rnd(ids.length)] as string;
          const node = live.get(id) as NodeJSON;
          for (const [k, e] of liveEdges) {
            if (e.source === id || e.target === id) {
              liveEdges.delete(k);
              events.push(ev("edge_removed", { edge: e }));
            }
          }
          live.delete(id);
          events.push(ev("node_removed", { node }));
        } else {
          // Move a node to another file: it changes cluster.
          const id = ids[rnd(ids.length)] as string;
          const node = live.get(id) as NodeJSON;
          const moved = { ...node, file: `p${rnd(5)}/m${rnd(6)}.py` };
          live.set(id, moved);
          events.push(ev("node_updated", { id, before: { file: node.file }, after: { file: moved.file } }));
        }
      }
      projection.applyBatch(state.applyEvents(events));
      expect(content(projection)).toEqual(rebuilt(state, projection));
    }
    expect(projection.rebuilds).toBe(rebuilds);
  });

  it("a growing graph switches to the collapsed level once, then stays incremental", () => {
    const { state, projection } = pipeline({ collapseAbove: 50, maxVisible: 10 });
    const g = codebase(4, 4, 5, 100);
    const events = g.nodes.map((node) => ev("node_added", { node }));
    projection.applyBatch(state.applyEvents(events.slice(0, 40)));
    expect(projection.collapsed).toBe(false);
    projection.applyBatch(state.applyEvents(events.slice(40)));
    expect(projection.collapsed).toBe(true);
    const rebuilds = projection.rebuilds;
    projection.applyBatch(state.applyEvents(g.edges.map((e) => ev("edge_added", { edge: e }))));
    expect(projection.rebuilds).toBe(rebuilds);
    expect(content(projection)).toEqual(rebuilt(state, projection));
  });
});

describe("Projection: filters and focus", () => {
  it("filters by node kind, edge kind and path prefix", () => {
    const { state, projection } = pipeline();
    projection.applyBatch(state.applySnapshot(codebase(3, 2, 3, 40)));
    projection.setScope({ nodeKinds: ["module"], edgeKinds: [], paths: [] }, null);
    expect(projection.graph.order).toBe(6);
    projection.setScope({ nodeKinds: [], edgeKinds: ["contains"], paths: ["p1/"] }, null);
    expect(projection.graph.order).toBe(8);
    expect(projection.graph.size).toBe(6);
    expect(projection.graph.everyEdge((_k, a) => a.kind === "contains")).toBe(true);
  });

  it("ego and path focus show only the focused elements", () => {
    const { state, projection } = pipeline();
    const nodes = ["a", "b", "c", "d", "e"].map((x) => fn(`m.${x}`, "m.py"));
    const edges = [edge("m.a", "m.b"), edge("m.b", "m.c"), edge("m.c", "m.d"), edge("m.e", "m.a")];
    projection.applyBatch(state.applySnapshot({ nodes, edges }));
    const ego = resolveFocus(state.graph, NO_FILTER, { mode: "ego", node: "m.b", depth: 1 });
    projection.setScope(NO_FILTER, ego);
    expect(projection.graph.nodes().sort()).toEqual(["m.a", "m.b", "m.c"]);
    const ego2 = resolveFocus(state.graph, NO_FILTER, { mode: "ego", node: "m.b", depth: 2 });
    projection.setScope(NO_FILTER, ego2);
    expect(projection.graph.order).toBe(5);
    const path = resolveFocus(state.graph, NO_FILTER, { mode: "path", source: "m.e", target: "m.d" });
    expect(path?.summary).toBe("4 hops (calls)");
    projection.setScope(NO_FILTER, path);
    expect(projection.graph.nodes().sort()).toEqual(["m.a", "m.b", "m.c", "m.d", "m.e"]);
    expect(projection.graph.size).toBe(4);
    // Against the edges' direction the path still exists, marked as undirected.
    const back = resolveFocus(state.graph, NO_FILTER, { mode: "path", source: "m.d", target: "m.a" });
    expect(back?.summary).toBe("3 hops (calls), ignoring direction");
    const none = resolveFocus(state.graph, { nodeKinds: [], edgeKinds: ["imports"], paths: [] }, { mode: "path", source: "m.a", target: "m.d" });
    expect(none?.summary).toBe("no path");
  });
});
