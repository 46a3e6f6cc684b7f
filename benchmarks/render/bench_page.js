// Page script of bench_render.py: the measurements, run inside Chromium.
import { GraphView } from "./graphview.js";
import { ScriptedSocket, makeGraph } from "./harness.js";

const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

window.prepare = (n, m) => {
  window.graphJson = JSON.stringify({ op: "snapshot", graph: "bench", epoch: "e1", seq: 0, ...makeGraph(n, m) });
  return window.graphJson.length;
};

// ---- bare sigma: the same JSON text, random positions, default settings.
window.bareFirstRender = async () => {
  const el = document.getElementById("app");
  const t0 = performance.now();
  const data = JSON.parse(window.graphJson);
  const g = new window.Graph({ multi: true, type: "directed" });
  for (const n of data.nodes) g.addNode(n.id, { x: Math.random() * 100, y: Math.random() * 100, size: 3, label: n.name, color: "#2166ac" });
  for (const e of data.edges) g.addDirectedEdgeWithKey(e.id, e.source, e.target, { size: 1, color: "#969696" });
  const sigma = new window.Sigma(g, el, { allowInvalidContainer: true });
  await frame();
  const ms = performance.now() - t0;
  window.bare = { sigma, g };
  return ms;
};

window.bareRefresh = async (repeat) => {
  const { sigma } = window.bare;
  const xs = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    sigma.refresh();
    xs.push(performance.now() - t0);
    await frame();
  }
  return median(xs);
};

// An attached sigma re-indexes everything per dropped element: time a few drops.
window.bareAttachedDrops = async (count) => {
  const { g } = window.bare;
  const nodes = g.nodes().slice(0, count);
  const t0 = performance.now();
  for (const n of nodes) g.dropNode(n);
  return (performance.now() - t0) / count;
};

window.killBare = () => {
  window.bare?.sigma.kill();
  window.bare = null;
  document.getElementById("app").replaceChildren();
};

// ---- GraphView: the real client, store, reducer, layout and renderer over a scripted socket.
window.openView = async (withLayout) => {
  const el = document.getElementById("app");
  const env = { createSocket: (u) => new ScriptedSocket(u), location: { href: location.href } };
  if (!withLayout) env.createWorker = () => null;
  // Everything drawn (no collapse by package), to compare with bare sigma drawing it all.
  const view = new GraphView(el, { graph: "bench", height: 800, collapseAbove: 1e9 }, {}, env);
  while (ScriptedSocket.sockets.length === 0 || ScriptedSocket.sockets.at(-1).readyState !== 1) await new Promise((r) => setTimeout(r, 0));
  window.view = view;
  window.sock = ScriptedSocket.sockets.at(-1);
  window.renders = [];
  view.graphRenderer.sigma.on("afterRender", () => window.renders.push(performance.now()));
  return true;
};

window.viewFirstRender = async () => {
  const { view, sock } = window;
  const t0 = performance.now();
  sock.push(window.graphJson);
  const sigma = view.graphRenderer.sigma;
  await new Promise((resolve) => {
    const check = () => (sigma.getGraph().order > 0 ? resolve() : sigma.once("afterRender", check));
    sigma.once("afterRender", check);
  });
  await frame();
  return performance.now() - t0;
};

window.closeView = () => {
  window.view?.destroy();
  window.view = null;
  document.getElementById("app").replaceChildren();
};

// Mixed events as a re-analysis produces them, size-neutral once warmed up (as many nodes
// removed as added), so the graph stays near its initial size; `evState` keeps ids valid.
window.makeEvents = (k) => {
  const s = (window.evState ??= { seq: 0, next: 0, added: [], edges: [] });
  const g = window.view.store.state.graph;
  const ids = (s.ids ??= g.nodes());
  const events = [];
  const ev = (type, data) => ({ seq: ++s.seq, epoch: "e1", v: 1, id: "b" + s.seq, graph: "bench", type, time: Date.now() / 1000, source: "bench", data });
  let ai = 0; // index into s.added for removals (shift() is O(n))
  while (events.length < k) {
    const r = events.length % 20;
    if (r < 8) {
      const id = ids[(s.next++ * 7919) % ids.length];
      events.push(ev("node_updated", { id, before: { line: 1 }, after: { line: 2 + (s.seq % 50) } }));
    } else if (r < 11) {
      const id = `bench.new${s.seq}`;
      s.added.push(id);
      events.push(ev("node_added", { node: { id, kind: "function", name: `new${s.seq}` } }));
    } else if (r < 15) {
      const src = s.added.at(-1) ?? ids[0];
      const dst = ids[(s.next++ * 104729) % ids.length];
      const e = { id: `calls:${src}->${dst}@${s.seq}`, kind: "calls", source: src, target: dst, line: s.seq };
      s.edges.push(e);
      events.push(ev("edge_added", { edge: e }));
    } else if (r < 17 && s.edges.length > 50) {
      events.push(ev("edge_removed", { edge: s.edges[(s.next++ * 31) % s.edges.length] }));
    } else if (s.added.length - ai > 100) {
      const id = s.added[ai++];
      events.push(ev("node_removed", { node: { id, kind: "function", name: id } }));
    } else {
      events.push(ev("diagnostic", { file: "x.py", message: "bench" }));
    }
  }
  s.added.splice(0, ai);
  if (s.edges.length > 20000) s.edges.splice(0, s.edges.length - 20000);
  return events;
};

// Push `frames` batches of k events, one at a time; returns the median main-thread cost of a
// batch (apply + re-index + the render that shows it) and the median wall time from push to
// the frame after that render.
window.absorb = async (k, frames) => {
  const { view, sock } = window;
  const store = view.store;
  const sigma = view.graphRenderer.sigma;
  const costs = [];
  const walls = [];
  let batchMs = 0;
  let renderMs = 0;
  let inBatch = false;
  let renderStart = 0;
  let rendered = false;
  let b0 = 0;
  const onBefore = () => { renderStart = performance.now(); };
  const onAfter = () => {
    // Renders inside a detached batch are already part of batchMs.
    if (!inBatch) renderMs += performance.now() - renderStart;
    rendered = true;
  };
  sigma.on("beforeRender", onBefore);
  sigma.on("afterRender", onAfter);
  const remove = store.addObserver({
    beforeBatch: () => { inBatch = true; b0 = performance.now(); },
    afterBatch: () => { batchMs += performance.now() - b0; inBatch = false; },
  });
  for (let i = 0; i < frames; i++) {
    const events = window.makeEvents(k);
    const text = JSON.stringify({ op: "events", graph: "bench", epoch: "e1", from: events[0].seq, through: events.at(-1).seq, events });
    batchMs = renderMs = 0;
    rendered = false;
    const t0 = performance.now();
    sock.push(text);
    const pushMs = performance.now() - t0;
    while (store.batcher.backlog > 0 || !rendered || inBatch) await frame();
    await frame();
    walls.push(performance.now() - t0);
    costs.push(pushMs + batchMs + renderMs);
  }
  remove();
  sigma.off("beforeRender", onBefore);
  sigma.off("afterRender", onAfter);
  return { cost: median(costs), wall: median(walls), order: store.state.graph.order, size: store.state.graph.size };
};

window.snapshotSeq = () => window.evState?.seq ?? 0;

// Remove `count` nodes and all their edges in one events frame.
window.removeNodes = async (count) => {
  const { view, sock } = window;
  const store = view.store;
  const g = store.state.graph;
  const nodes = g.nodes().slice(0, count);
  const s = (window.evState ??= { seq: 0, next: 0, added: [], edges: [] });
  const ev = (type, data) => ({ seq: ++s.seq, epoch: "e1", v: 1, id: "r" + s.seq, graph: "bench", type, time: Date.now() / 1000, source: "bench", data });
  const events = [];
  const seen = new Set();
  for (const n of nodes) {
    g.forEachEdge(n, (e, a) => {
      if (seen.has(e)) return;
      seen.add(e);
      events.push(ev("edge_removed", { edge: a.data }));
    });
  }
  for (const n of nodes) events.push(ev("node_removed", { node: g.getNodeAttributes(n).data }));
  let batches = 0;
  const remove = store.addObserver({ beforeBatch: () => { batches += 1; } });
  const reattach0 = view.graphRenderer.reattachments;
  const t0 = performance.now();
  sock.push({ op: "events", graph: "bench", epoch: "e1", from: events[0].seq, through: events.at(-1).seq, events });
  const sigma = view.graphRenderer.sigma;
  await new Promise((r) => sigma.once("afterRender", r));
  const ms = performance.now() - t0;
  await frame();
  remove();
  return { ms, batches, reattachments: view.graphRenderer.reattachments - reattach0, events: events.length, order: g.order, size: g.size };
};
