// Page script of bench_explore.py: a 100k-element code base opened collapsed by package, in
// the real GraphView (client, store, projection, renderer), against bare sigma drawing a graph
// of the same visible size.
import { GraphView } from "./graphview.js";
import { ScriptedSocket, makeCodebase } from "./harness.js";

const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
const afterRender = (sigma) => new Promise((r) => sigma.once("afterRender", () => r()));

window.prepare = (pkgs, subs, mods, defs) => {
  const g = makeCodebase(pkgs, mods, defs, 2, 7, subs);
  window.graphJson = JSON.stringify({ op: "snapshot", graph: "bench", epoch: "e1", seq: 0, ...g });
  return { nodes: g.nodes.length, edges: g.edges.length, mb: window.graphJson.length / 1e6 };
};

// ---- GraphView: snapshot text in → first frame of the collapsed level on screen.
window.openView = async () => {
  const el = document.getElementById("app");
  const env = { createSocket: (u) => new ScriptedSocket(u), location: { href: location.href } };
  const view = new GraphView(el, { graph: "bench", height: 800 }, {}, env);
  while (ScriptedSocket.sockets.length === 0 || ScriptedSocket.sockets.at(-1).readyState !== 1) await new Promise((r) => setTimeout(r, 0));
  window.view = view;
  window.sock = ScriptedSocket.sockets.at(-1);
  return true;
};

window.viewFirstFrame = async () => {
  const { view, sock } = window;
  const sigma = view.graphRenderer.sigma;
  const marks = {};
  const t0 = performance.now();
  const removeStore = view.store.addObserver({
    beforeBatch: () => { marks.parsed = performance.now() - t0; },
  });
  // The model is built inside the store's batch, then the view's projection (collapsed).
  const state = view.store.state;
  const apply = state.apply;
  state.apply = (work) => {
    const result = apply.call(state, work);
    marks.model ??= performance.now() - t0;
    return result;
  };
  const removeProjection = view.view.addObserver({
    afterChange: () => { marks.projection ??= performance.now() - t0; },
  });
  sock.push(window.graphJson);
  // The projection rebuilds inside the store's batch; the renderer draws at re-attachment.
  await new Promise((resolve) => {
    const check = () => (sigma.getGraph().order > 0 ? resolve() : sigma.once("afterRender", check));
    sigma.once("afterRender", check);
  });
  await frame();
  const total = performance.now() - t0;
  removeStore();
  removeProjection();
  state.apply = apply;
  const p = view.view;
  return { ms: total, marks, visibleNodes: p.graph.order, visibleEdges: p.graph.size, collapsed: p.collapsed, rebuilds: p.rebuilds };
};

// ---- Expanding one package (the biggest cluster) through the same path as a click.
window.viewExpand = async () => {
  const { view } = window;
  // Measure on a quiet page: the layout of the collapsed level runs in a worker, and its
  // position updates would share the main thread with the expansion.
  while (view.layoutBusy) await new Promise((r) => setTimeout(r, 50));
  await frame();
  const p = view.view;
  let best = null;
  p.graph.forEachNode((k, a) => {
    if (a.group !== null && (best === null || a.count > best[1])) best = [a.group, a.count];
  });
  const sigma = view.graphRenderer.sigma;
  const t0 = performance.now();
  const rendered = afterRender(sigma);
  view.expand(best[0]);
  await rendered;
  await frame();
  return { ms: performance.now() - t0, group: best[0], members: best[1], visibleNodes: p.graph.order, visibleEdges: p.graph.size };
};

// ---- Events while collapsed: batches of mixed events through the real client.
window.viewAbsorb = async (k, batches) => {
  const { view, sock } = window;
  const store = view.store;
  const p = view.view;
  const rebuilds0 = p.rebuilds;
  const ids = store.state.graph.nodes().filter((id) => store.state.graph.getNodeAttribute(id, "kind") === "function");
  let seq = 0;
  const costs = [];
  for (let b = 0; b < batches; b++) {
    const events = [];
    const ev = (type, data) => ({ seq: ++seq, epoch: "e1", v: 1, id: `x${seq}`, graph: "bench", type, time: Date.now() / 1000, source: "bench", data });
    while (events.length < k) {
      const i = events.length;
      const src = ids[(seq * 7919 + i) % ids.length];
      const dst = ids[(seq * 104729 + i * 31) % ids.length];
      if (i % 3 === 0) events.push(ev("node_updated", { id: src, before: { line: 1 }, after: { line: 2 + (seq % 50) } }));
      else events.push(ev("edge_added", { edge: { id: `calls:${src}->${dst}@${1000 + seq}`, kind: "calls", source: src, target: dst, line: 1000 + seq } }));
    }
    let cost = 0;
    let t = 0;
    const remove = store.addObserver({ beforeBatch: () => { t = performance.now(); }, afterBatch: () => { cost += performance.now() - t; } });
    const t0 = performance.now();
    sock.push({ op: "events", graph: "bench", epoch: "e1", from: events[0].seq, through: events.at(-1).seq, events });
    const push = performance.now() - t0;
    while (store.batcher.backlog > 0) await frame();
    await frame();
    remove();
    costs.push(push + cost);
  }
  costs.sort((a, b) => a - b);
  return { median: costs[Math.floor(costs.length / 2)], rebuilds: p.rebuilds - rebuilds0, visibleNodes: p.graph.order };
};

// The display graph as JSON, for the bare page to draw the same thing.
window.visibleJson = () => {
  const g = window.view.view.graph;
  const nodes = g.mapNodes((k, a) => ({ id: k, x: a.x, y: a.y, size: a.size, label: a.label, color: a.color }));
  const edges = g.mapEdges((k, a, s, t) => ({ id: k, source: s, target: t, size: a.size, color: a.color }));
  return JSON.stringify({ nodes, edges });
};

window.closeView = () => {
  window.view?.destroy();
  window.view = null;
  document.getElementById("app").replaceChildren();
};

// ---- bare sigma drawing a graph of the same visible size: JSON text → first frame.
window.bareFirstFrame = async (json) => {
  const el = document.getElementById("app");
  const t0 = performance.now();
  const data = JSON.parse(json);
  const g = new window.Graph({ type: "directed" });
  for (const n of data.nodes) g.addNode(n.id, { x: n.x, y: n.y, size: n.size, label: n.label, color: n.color });
  for (const e of data.edges) g.addDirectedEdgeWithKey(e.id, e.source, e.target, { size: e.size, color: e.color });
  const sigma = new window.Sigma(g, el, { allowInvalidContainer: true });
  await frame();
  const ms = performance.now() - t0;
  sigma.kill();
  el.replaceChildren();
  return ms;
};

// A bare sigma refresh of a graph of that size (the unit for event batches).
window.bareRefresh = async (json, repeat) => {
  const el = document.getElementById("app");
  const data = JSON.parse(json);
  const g = new window.Graph({ type: "directed" });
  for (const n of data.nodes) g.addNode(n.id, { x: n.x, y: n.y, size: n.size, label: n.label, color: n.color });
  for (const e of data.edges) g.addDirectedEdgeWithKey(e.id, e.source, e.target, { size: e.size, color: e.color });
  const sigma = new window.Sigma(g, el, { allowInvalidContainer: true });
  await frame();
  const xs = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    sigma.refresh();
    xs.push(performance.now() - t0);
    await frame();
  }
  sigma.kill();
  el.replaceChildren();
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
};

// What any page needs before it can show this graph at all: parse the same snapshot text and
// hold every element in a graphology graph (no aggregation, no drawing).
window.bareIngest = async () => {
  const t0 = performance.now();
  const data = JSON.parse(window.graphJson);
  const g = new window.Graph({ multi: true, type: "directed" });
  for (const n of data.nodes) g.addNode(n.id, { data: n });
  for (const e of data.edges) g.addDirectedEdgeWithKey(e.id, e.source, e.target, { data: e });
  return performance.now() - t0;
};
