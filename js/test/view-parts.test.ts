// @vitest-environment happy-dom
/**
 * The parts of a GraphView that work without a renderer: the saved copy (restoring it,
 * standing in for late live data, rewriting it) and the REST side (server, requests, links).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { EdgeJSON, NodeJSON } from "../src/client/protocol.js";
import type { SavedGraph } from "../src/explore/saved.js";
import { NO_FILTER } from "../src/explore/scope.js";
import { ViewGraph } from "../src/explore/view-graph.js";
import { GraphStore } from "../src/state/store.js";
import { SavedCopy, type SavedCopyOptions, STAND_IN_AFTER_MS } from "../src/view/saved-copy.js";
import { ServerCalls } from "../src/view/server-calls.js";
import { edge } from "./fakes.js";

const nodes: NodeJSON[] = [
  { id: "m", kind: "module", name: "m", file: "m.py", line: 1 },
  { id: "m.f", kind: "function", name: "f", file: "m.py", line: 2 },
];
const edges: EdgeJSON[] = [edge("m", "m.f", "contains", 0)];

const copy: SavedGraph = {
  v: 1,
  graph: "g",
  epoch: "e1",
  seq: 7,
  level: "full",
  nodes,
  edges,
  positions: { m: [1, 2], "m.f": [3, 4] },
  total: { nodes: 2, edges: 1 },
  truncated: false,
};

/** A store whose frames apply when the test says so, and a projection of its model. */
function pipeline() {
  const frames: Array<() => void> = [];
  const schedule = (fn: () => void): (() => void) => {
    frames.push(fn);
    return () => undefined;
  };
  const store = new GraphStore("g", { schedule, state: { place: false } });
  const view = new ViewGraph(store.state.graph, { schedule: () => () => undefined });
  view.setScope(NO_FILTER, null);
  const flush = (): void => {
    for (const fn of frames.splice(0)) fn();
  };
  return { store, view, flush };
}

function savedCopy(over: Partial<SavedCopyOptions> = {}) {
  const p = pipeline();
  const changed = vi.fn();
  const emit = vi.fn();
  const saved = new SavedCopy({ graph: "g", copy, snapshotStart: true, target: () => ({ store: p.store, view: p.view }), changed, emit, ...over });
  return { ...p, saved, changed, emit };
}

describe("the saved copy", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("restores the copy into the store, positions first, and says it is on screen", () => {
    const { store, view, flush, saved, changed } = savedCopy();
    const seed = vi.spyOn(view, "seedPositions");
    const snapshot = vi.spyOn(store, "snapshot");
    expect(saved.showing).toBe(false);
    expect(saved.shown).toBeNull();
    saved.show();
    flush();
    expect(seed).toHaveBeenCalledWith(copy.positions);
    expect(seed.mock.invocationCallOrder[0]).toBeLessThan(snapshot.mock.invocationCallOrder[0] as number);
    expect(store.state.graph.hasNode("m.f")).toBe(true);
    expect(store.state.graph.size).toBe(1);
    expect(saved.showing).toBe(true);
    expect(saved.shown).toBe(copy);
    expect(changed).toHaveBeenCalledTimes(1);
    saved.live();
    expect(saved.shown).toBeNull();
  });

  it("stands in when nothing live has arrived in time, for a snapshot start only", () => {
    const late = savedCopy();
    late.saved.standInLater();
    vi.advanceTimersByTime(STAND_IN_AFTER_MS - 1);
    expect(late.saved.showing).toBe(false);
    vi.advanceTimersByTime(1);
    expect(late.saved.showing).toBe(true);

    const replay = savedCopy({ snapshotStart: false });
    replay.saved.standInLater();
    vi.advanceTimersByTime(STAND_IN_AFTER_MS * 2);
    expect(replay.saved.showing).toBe(false);

    const stopped = savedCopy();
    stopped.saved.standInLater();
    stopped.saved.stopStandIn();
    vi.advanceTimersByTime(STAND_IN_AFTER_MS * 2);
    expect(stopped.saved.showing).toBe(false);
  });

  it("does not stand in once live data is loaded", () => {
    const { store, flush, saved } = savedCopy();
    saved.standInLater();
    store.snapshot({ op: "snapshot", graph: "g", epoch: "live", seq: 1, nodes: [nodes[0] as NodeJSON], edges: [] });
    flush();
    vi.advanceTimersByTime(STAND_IN_AFTER_MS);
    expect(saved.showing).toBe(false);
    expect(store.state.graph.order).toBe(1);
  });

  it("rewrites live data once quiet, but never the copy on screen, a static view's, or after dispose", () => {
    const { store, flush, saved, emit } = savedCopy();
    store.snapshot({ op: "snapshot", graph: "g", epoch: "live", seq: 1, nodes, edges });
    flush();

    saved.scheduleWrite();
    vi.advanceTimersByTime(10_000);
    expect(emit).not.toHaveBeenCalled(); // not writable before a live source starts

    saved.reset(true);
    saved.scheduleWrite();
    vi.advanceTimersByTime(10_000);
    expect(emit).toHaveBeenCalledTimes(1);
    const written = emit.mock.calls[0]?.[0] as SavedGraph;
    expect(written.graph).toBe("g");
    expect(written.nodes.map((n) => n.id).sort()).toEqual(["m", "m.f"]);

    saved.show();
    flush();
    saved.scheduleWrite();
    vi.advanceTimersByTime(10_000);
    expect(emit).toHaveBeenCalledTimes(1);

    saved.reset(false);
    store.snapshot({ op: "snapshot", graph: "g", epoch: "live", seq: 2, nodes: [nodes[0] as NodeJSON], edges: [] });
    flush();
    saved.scheduleWrite();
    vi.advanceTimersByTime(10_000);
    expect(emit).toHaveBeenCalledTimes(1);

    saved.dispose();
    saved.reset(true);
    saved.scheduleWrite();
    vi.advanceTimersByTime(10_000);
    expect(emit).toHaveBeenCalledTimes(1);
  });

  it("does nothing without a copy or a target", () => {
    const none = savedCopy({ copy: null });
    none.saved.show();
    none.saved.standInLater();
    vi.advanceTimersByTime(STAND_IN_AFTER_MS);
    expect(none.saved.exists).toBe(false);
    expect(none.saved.showing).toBe(false);
    const detached = savedCopy({ target: () => null });
    detached.saved.show();
    expect(detached.saved.showing).toBe(false);
    expect(detached.changed).not.toHaveBeenCalled();
  });
});

describe("the REST side of a view", () => {
  const lab = "http://h/user/a/lab/tree/n.ipynb";

  function page(config: Record<string, unknown>, cookie = ""): Document {
    document.body.replaceChildren();
    const script = document.createElement("script");
    script.id = "jupyter-config-data";
    script.type = "application/json";
    script.textContent = JSON.stringify(config);
    document.body.append(script);
    Object.defineProperty(document, "cookie", { configurable: true, get: () => cookie });
    return document;
  }

  function recorder(status = 202) {
    const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
    const fetchFn = (async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      return new Response("{}", { status });
    }) as unknown as typeof fetch;
    return { calls, fetchFn };
  }

  it("finds the page's server and links a node's file under the analysed root", () => {
    const doc = page({ baseUrl: "/user/a/", serverRoot: "~/work" });
    const calls = new ServerCalls({ graph: "g", path: "elsewhere", sourceRoot: "~/work/proj" }, doc, { location: { href: lab } });
    expect(calls.server?.httpBase).toBe("http://h/user/a/");
    const link = calls.sourceLink("pkg/m.py", 3);
    expect(link.source).toEqual({ path: "proj/pkg/m.py", label: "pkg/m.py:3", line: 3 });
    expect(link.href).toBe("http://h/user/a/lab/tree/proj/pkg/m.py");
    // Without a source root, the analysed `path` is the root.
    const byPath = new ServerCalls({ graph: "g", path: "src" }, doc, { location: { href: lab } });
    expect(byPath.sourceLink("m.py", undefined).source?.path).toBe("src/m.py");
  });

  it("gives no link without a server to open it", () => {
    const doc = page({});
    const calls = new ServerCalls({ graph: "g", path: "src" }, doc, { location: { href: "vscode-webview://x/index.html" } });
    expect(calls.server).toBeNull();
    expect(calls.canRequest).toBe(false);
    const link = calls.sourceLink("m.py", 1);
    expect(link.source?.path).toBe("src/m.py");
    expect(link.href).toBeNull();
  });

  it("posts the re-analysis of the configured path with the XSRF echo, and probes auth on the graph list", async () => {
    const doc = page({ baseUrl: "/user/a/" }, "_xsrf=abc");
    const { calls: sent, fetchFn } = recorder();
    const calls = new ServerCalls({ graph: "my g", path: "src" }, doc, { fetch: fetchFn, location: { href: lab } });
    expect(calls.canRequest).toBe(true);
    expect(await calls.reanalyze()).toEqual({ status: 202, error: null });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe("http://h/user/a/graphlive/api/graphs/my%20g/analyze");
    expect(sent[0]?.init?.method).toBe("POST");
    expect(JSON.parse(String(sent[0]?.init?.body))).toEqual({ path: "src" });
    expect((sent[0]?.init?.headers as Record<string, string>)["X-XSRFToken"]).toBe("abc");

    expect(await calls.probeAuth()).toBe(202);
    expect(sent[1]?.url).toBe("http://h/user/a/graphlive/api/graphs");
  });

  it("reports a refused re-analysis as an error for the user", async () => {
    const doc = page({ baseUrl: "/" });
    const { fetchFn } = recorder(403);
    const calls = new ServerCalls({ graph: "g", path: "." }, doc, { fetch: fetchFn, location: { href: "http://h/lab" } });
    const result = await calls.reanalyze();
    expect(result.status).toBe(403);
    expect(result.error).toMatch(/^re-analysis refused: HTTP 403/);
  });
});
