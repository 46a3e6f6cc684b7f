/**
 * The anywidget front end of graphlive.GraphView (src/graphlive/widget.py).
 *
 * `render` builds a {@link GraphView} for the model's traits and returns its cleanup. Traits that
 * decide what is subscribed (graph, server, start point, transport) rebuild the view; the
 * others apply in place. Exploration state (filters, focus, selection, encodings, expanded
 * groups) is synced both ways: Python sets it to drive the view, the view writes the user's
 * changes back. The view reports counts, status and level, and keeps a bounded copy of the
 * graph in `saved_graph` so a saved or exported notebook still shows it.
 *
 * Everything shared — the WebSocket (or the kernel comm), the graph model — lives in
 * module-level registries, so several views on a page use one connection and one model per graph.
 */

import type { AnyModel } from "@anywidget/types";

import type { CommEndpoint } from "./client/comm-socket.js";
import type { Position } from "./client/protocol.js";
import { isColorMode, isSizeMode } from "./explore/palette.js";
import { parseSaved } from "./explore/saved.js";
import type { Focus } from "./explore/scope.js";
import { type ExploreState, GraphView, type GraphViewConfig, type GraphViewEnvironment, type Transport } from "./view/graph-view.js";

export interface GraphViewModel {
  graph: string;
  server_url: string;
  base_url: string;
  since: Position | null;
  snapshot: boolean;
  filters: string[];
  height: number;
  path: string;
  source_root: string;
  transport: string;
  node_kinds: string[];
  edge_kinds: string[];
  path_prefixes: string[];
  /** Languages shown; empty = all. Absent until set: a kernel GraphView without this trait leaves it to the front end. */
  languages?: string[];
  focus: Record<string, unknown> | null;
  selection: string[];
  color_by: string;
  size_by: string;
  expanded: string[] | null;
  collapse_above: number;
  max_visible: number;
  saved_graph: Record<string, unknown>;
  counts: Record<string, unknown>;
  status: Record<string, unknown>;
  level: Record<string, unknown>;
}

type Model = AnyModel<GraphViewModel>;

const REBUILD_ON = [
  "graph",
  "server_url",
  "base_url",
  "since",
  "snapshot",
  "path",
  "source_root",
  "transport",
  "collapse_above",
  "max_visible",
] as const;

const EXPLORE_TRAITS = ["node_kinds", "edge_kinds", "path_prefixes", "languages", "focus", "selection", "color_by", "size_by", "expanded"] as const;

const TRANSPORTS: readonly string[] = ["auto", "websocket", "comm", "static"];

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** The focus trait: {"mode": "ego", "node", "depth"} | {"mode": "path", "source", "target"} | null. */
export function parseFocus(v: unknown): Focus {
  if (typeof v !== "object" || v === null) return null;
  const f = v as Record<string, unknown>;
  if (f.mode === "ego" && typeof f.node === "string") {
    const depth = typeof f.depth === "number" && f.depth >= 0 ? Math.min(6, Math.floor(f.depth)) : 1;
    return { mode: "ego", node: f.node, depth };
  }
  if (f.mode === "path" && typeof f.source === "string" && typeof f.target === "string") {
    return { mode: "path", source: f.source, target: f.target };
  }
  return null;
}

function exploreOf(model: Model): ExploreState {
  const color = model.get("color_by");
  const size = model.get("size_by");
  const expanded = model.get("expanded");
  return {
    filter: {
      nodeKinds: strings(model.get("node_kinds")),
      edgeKinds: strings(model.get("edge_kinds")),
      paths: strings(model.get("path_prefixes")),
      languages: strings(model.get("languages")),
    },
    focus: parseFocus(model.get("focus")),
    selection: strings(model.get("selection")),
    colorBy: isColorMode(color) ? color : "kind",
    sizeBy: isSizeMode(size) ? size : "kind",
    expanded: Array.isArray(expanded) ? strings(expanded) : null,
  };
}

function configOf(model: Model): GraphViewConfig {
  const transport = model.get("transport");
  return {
    graph: model.get("graph"),
    serverUrl: model.get("server_url") || null,
    baseUrl: model.get("base_url") || null,
    since: model.get("since") ?? null,
    snapshot: model.get("snapshot") ?? true,
    filters: model.get("filters") ?? [],
    height: model.get("height") || 520,
    path: model.get("path") || null,
    sourceRoot: model.get("source_root") || null,
    transport: typeof transport === "string" && TRANSPORTS.includes(transport) ? (transport as Transport) : "auto",
    saved: parseSaved(model.get("saved_graph")),
    explore: exploreOf(model),
    collapseAbove: model.get("collapse_above") || undefined,
    maxVisible: model.get("max_visible") || undefined,
  };
}

/** Write the user's exploration changes to the traits. */
function writeExplore(model: Model, change: Partial<ExploreState>): void {
  if (change.filter !== undefined) {
    model.set("node_kinds", [...change.filter.nodeKinds]);
    model.set("edge_kinds", [...change.filter.edgeKinds]);
    model.set("path_prefixes", [...change.filter.paths]);
    // A kernel whose GraphView has no `languages` trait ignores the key (ipywidgets sets known traits only).
    model.set("languages", [...(change.filter.languages ?? [])]);
  }
  if (change.focus !== undefined) model.set("focus", change.focus === null ? null : { ...change.focus });
  if (change.selection !== undefined) model.set("selection", [...change.selection]);
  if (change.colorBy !== undefined) model.set("color_by", change.colorBy);
  if (change.sizeBy !== undefined) model.set("size_by", change.sizeBy);
  if (change.expanded !== undefined) model.set("expanded", change.expanded === null ? null : [...change.expanded]);
  model.save_changes();
}

const modelKeys = new WeakMap<object, string>();
let nextModelKey = 0;

/** The kernel comm of `model` as the fallback transport's endpoint (one key per model). */
function commOf(model: Model): CommEndpoint {
  let key = modelKeys.get(model);
  if (key === undefined) {
    nextModelKey += 1;
    key = `model-${nextModelKey}`;
    modelKeys.set(model, key);
  }
  return {
    key,
    send: (message) => model.send(message),
    onMessage: (listener) => {
      const handler = (msg: unknown): void => listener(msg);
      model.on("msg:custom", handler);
      return () => model.off("msg:custom", handler);
    },
  };
}

/** Mount a view of `model` into `el`; returns the cleanup function anywidget calls. */
export function mount(model: Model, el: HTMLElement, env: GraphViewEnvironment = {}): () => void {
  el.classList.add("graphlive-widget");
  let view: GraphView | null = null;
  const build = (): void => {
    view?.destroy();
    view = null;
    if (!model.get("graph")) {
      el.textContent = "GraphView: no graph name set.";
      return;
    }
    el.textContent = "";
    view = new GraphView(
      el,
      configOf(model),
      {
        report: (counts, status, level) => {
          model.set("counts", { ...counts });
          model.set("status", { ...status });
          model.set("level", { ...level });
          model.save_changes();
        },
        explored: (change) => writeExplore(model, change),
        saved: (copy) => {
          model.set("saved_graph", copy as unknown as Record<string, unknown>);
          model.save_changes();
        },
      },
      { comm: commOf(model), ...env },
    );
  };
  const onRebuild = (): void => build();
  const onFilters = (): void => view?.setFilters(model.get("filters") ?? []);
  const onHeight = (): void => {
    if (view) view.indicators.root.style.height = `${model.get("height") || 520}px`;
  };
  const onExplore = (): void => {
    const s = exploreOf(model);
    view?.applyExplore(s);
  };
  const onMessage = (msg: unknown): void => {
    if (typeof msg !== "object" || msg === null || view === null) return;
    const m = msg as { type?: unknown; id?: unknown; target?: unknown };
    switch (m.type) {
      case "reanalyze":
        void view.reanalyze();
        return;
      case "reveal":
        if (typeof m.id === "string") view.reveal(m.id);
        return;
      case "expand":
        if (typeof m.target === "string") view.expand(m.target);
        return;
      case "collapse":
        if (typeof m.target === "string") view.collapse(m.target);
        return;
      case "auto_level":
        view.autoLevel();
        return;
      case "fit":
        view.fit();
        return;
      default:
    }
  };
  for (const name of REBUILD_ON) model.on(`change:${name}`, onRebuild);
  for (const name of EXPLORE_TRAITS) model.on(`change:${name}`, onExplore);
  model.on("change:filters", onFilters);
  model.on("change:height", onHeight);
  model.on("msg:custom", onMessage);
  build();
  return () => {
    for (const name of REBUILD_ON) model.off(`change:${name}`, onRebuild);
    for (const name of EXPLORE_TRAITS) model.off(`change:${name}`, onExplore);
    model.off("change:filters", onFilters);
    model.off("change:height", onHeight);
    model.off("msg:custom", onMessage);
    view?.destroy();
    view = null;
  };
}

/** A model that only holds state: for pages without a widget manager (static HTML export). */
class StaticModel {
  private readonly handlers = new Map<string, Set<(...args: unknown[]) => void>>();
  constructor(private readonly state: Record<string, unknown>) {}
  get(key: string): unknown {
    return this.state[key];
  }
  set(key: string, value: unknown): void {
    this.state[key] = value;
    for (const cb of this.handlers.get(`change:${key}`) ?? []) cb();
  }
  on(name: string, cb: (...args: unknown[]) => void): void {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name)?.add(cb);
  }
  off(name: string, cb: (...args: unknown[]) => void): void {
    this.handlers.get(name)?.delete(cb);
  }
  save_changes(): void {}
  send(): void {}
}

/**
 * Render a saved widget state (the trait values of a GraphView, e.g. from a notebook's widget
 * state) without kernel or server: the saved copy, explorable in the page.
 */
export function mountStatic(el: HTMLElement, state: Record<string, unknown>): () => void {
  const model = new StaticModel({ ...state, transport: "static" });
  return mount(model as unknown as Model, el, { comm: null });
}

export default {
  initialize() {
    // Nothing per model: connections and stores are shared per page and created on render.
  },
  render({ model, el }: { model: Model; el: HTMLElement }) {
    return mount(model, el);
  },
};

// For the render benchmark and embedding without anywidget.
export { GraphView } from "./view/graph-view.js";
