// Page-side helpers for driving the GraphView bundle without Jupyter: a minimal anywidget model
// and a scripted WebSocket that plays the graphlive server (docs/protocol.md) from the page.

export class FakeModel {
  constructor(state) {
    this.state = { ...state };
    this.handlers = new Map();
    this.saved = 0;
    // Custom messages the view sent to the "kernel" (model.send), in order.
    this.sent = [];
    this.onSend = null;
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
  send(msg) {
    this.sent.push(msg);
    this.onSend?.(msg);
  }
  /** Deliver an event to the view, e.g. emit("msg:custom", {type: "reveal", id}). */
  emit(name, ...args) {
    for (const cb of [...(this.handlers.get(name) ?? [])]) cb(...args);
  }
}

/** A WebSocket whose handshake fails (no graphlive endpoint): closes without ever opening. */
export class RefusedSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    RefusedSocket.sockets.push(this);
    setTimeout(() => {
      this.readyState = 3;
      this.onerror?.({});
      this.onclose?.({ code: 1006, reason: "" });
    }, 0);
  }
  send() {}
  close() {}
}
RefusedSocket.sockets = [];

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

/**
 * A deterministic code base in the graphlive JSON forms, laid out like a real one:
 * `pkgs` packages (p0/ …) × `mods` modules × `defs` functions, `contains` edges from modules to
 * their functions, and `calls` mostly within a package (locality, as in real code).
 */
export function makeCodebase(pkgs, mods, defs, callsPerDef = 2, seed = 7, subs = 0) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const nodes = [];
  const edges = [];
  const fns = [];
  for (let p = 0; p < pkgs; p++) {
    nodes.push({ id: `p${p}`, kind: "package", name: `p${p}`, file: `p${p}/__init__.py`, line: 1 });
    // With `subs`, each package has that many sub-packages holding the modules.
    const dirs = subs > 0 ? Array.from({ length: subs }, (_, k) => [`p${p}/s${k}/`, `p${p}.s${k}`]) : [[`p${p}/`, `p${p}`]];
    if (subs > 0) {
      for (const [dir, id] of dirs) {
        nodes.push({ id, kind: "package", name: id.split(".").pop(), file: `${dir}__init__.py`, line: 1 });
        edges.push({ id: `contains:p${p}->${id}@0`, kind: "contains", source: `p${p}`, target: id, line: 0 });
      }
    }
    for (const [dir, pkgId] of dirs) for (let m = 0; m < mods; m++) {
      const file = `${dir}m${m}.py`;
      const mod = `${pkgId}.m${m}`;
      nodes.push({ id: mod, kind: "module", name: `m${m}`, file, line: 1, loc: defs * 6 });
      edges.push({ id: `contains:${pkgId}->${mod}@0`, kind: "contains", source: pkgId, target: mod, line: 0 });
      for (let d = 0; d < defs; d++) {
        const id = `${mod}.f${d}`;
        nodes.push({ id, kind: "function", name: `f${d}`, file, line: 2 + d * 6, complexity: 1 + ((p * 7 + m * 3 + d) % 15), loc: 5 });
        edges.push({ id: `contains:${mod}->${id}@0`, kind: "contains", source: mod, target: id, line: 0 });
        fns.push([p, id]);
      }
    }
  }
  const byPkg = new Map();
  for (const [p, id] of fns) {
    if (!byPkg.has(p)) byPkg.set(p, []);
    byPkg.get(p).push(id);
  }
  // Calls stay mostly inside their package; the rest go to the first two packages (the
  // "core" and "util" every code base has), as coupling in real code does.
  const core = fns.filter(([p]) => p < 2).map((f) => f[1]);
  for (const [p, id] of fns) {
    for (let c = 0; c < callsPerDef; c++) {
      const local = rnd() < 0.9;
      const pool = local ? byPkg.get(p) : core;
      const target = pool[Math.floor(rnd() * pool.length)];
      if (target === id) continue;
      const line = 3 + c;
      edges.push({ id: `calls:${id}->${target}@${line}`, kind: "calls", source: id, target, line });
    }
  }
  return { nodes, edges };
}
