// Page-side helpers for driving the GraphView bundle without Jupyter: a minimal anywidget model
// and a scripted WebSocket that plays the graphlive server (docs/protocol.md) from the page.

export class FakeModel {
  constructor(state) {
    this.state = { ...state };
    this.handlers = new Map();
    this.saved = 0;
  }
  get(key) {
    return this.state[key];
  }
  set(key, value) {
    this.state[key] = value;
    for (const cb of this.handlers.get(`change:${key}`) ?? []) cb();
  }
  on(name, cb) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(cb);
  }
  off(name, cb) {
    this.handlers.get(name)?.delete(cb);
  }
  save_changes() {
    this.saved += 1;
  }
  send() {}
}

export class ScriptedSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    ScriptedSocket.sockets.push(this);
    // Open on the next task, like a real socket.
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(text) {
    const msg = JSON.parse(text);
    this.sent.push(msg);
    if (msg.op === "ping") setTimeout(() => this.push({ op: "pong", t: msg.t }), 0);
  }
  close() {
    this.readyState = 3;
  }
  push(frame) {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }
}
ScriptedSocket.sockets = [];

/** Deterministic pseudo-random graph of n nodes and m edges in the graphlive JSON forms. */
export function makeGraph(n, m, seed = 1) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const kinds = ["module", "class", "function", "method"];
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push({ id: `pkg.m${i % 97}.f${i}`, kind: kinds[i % 4], name: `f${i}`, file: `pkg/m${i % 97}.py`, line: 1 + (i % 300) });
  const edges = [];
  for (let j = 0; j < m; j++) {
    const a = nodes[Math.floor(rnd() * n)].id;
    const b = nodes[Math.floor(rnd() * n)].id;
    edges.push({ id: `calls:${a}->${b}@${j}`, kind: "calls", source: a, target: b, line: j });
  }
  return { nodes, edges };
}
