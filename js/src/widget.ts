/**
 * The anywidget front end of graphlive.GraphView (src/graphlive/widget.py).
 *
 * `render` builds a {@link GraphView} for the model's traits and returns its cleanup; changes of
 * the traits that decide what is subscribed (graph, server, start point) rebuild the view, the
 * others (filters, height) apply in place. The view reports counts and status back through the
 * `counts` and `status` traits. Everything shared — the WebSocket, the graph model, the layout
 * worker — lives in module-level registries, so several views (of one or several widgets) on a
 * page use one connection and one model per graph.
 */

import type { AnyModel } from "@anywidget/types";

import type { Position } from "./client/protocol.js";
import { GraphView, type GraphViewConfig, type GraphViewEnvironment } from "./view/graph-view.js";

export interface GraphViewModel {
  graph: string;
  server_url: string;
  base_url: string;
  since: Position | null;
  snapshot: boolean;
  filters: string[];
  height: number;
  path: string;
  counts: Record<string, unknown>;
  status: Record<string, unknown>;
}

type Model = AnyModel<GraphViewModel>;

const REBUILD_ON = ["graph", "server_url", "base_url", "since", "snapshot", "path"] as const;

function configOf(model: Model): GraphViewConfig {
  return {
    graph: model.get("graph"),
    serverUrl: model.get("server_url") || null,
    baseUrl: model.get("base_url") || null,
    since: model.get("since") ?? null,
    snapshot: model.get("snapshot") ?? true,
    filters: model.get("filters") ?? [],
    height: model.get("height") || 520,
    path: model.get("path") || null,
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
        report: (counts, status) => {
          model.set("counts", { ...counts });
          model.set("status", { ...status });
          model.save_changes();
        },
      },
      env,
    );
  };
  const onRebuild = (): void => build();
  const onFilters = (): void => view?.setFilters(model.get("filters") ?? []);
  const onHeight = (): void => {
    if (view) view.indicators.root.style.height = `${model.get("height") || 520}px`;
  };
  const onMessage = (msg: unknown): void => {
    if (typeof msg === "object" && msg !== null && (msg as { type?: unknown }).type === "reanalyze") {
      void view?.reanalyze();
    }
  };
  for (const name of REBUILD_ON) model.on(`change:${name}`, onRebuild);
  model.on("change:filters", onFilters);
  model.on("change:height", onHeight);
  model.on("msg:custom", onMessage);
  build();
  return () => {
    for (const name of REBUILD_ON) model.off(`change:${name}`, onRebuild);
    model.off("change:filters", onFilters);
    model.off("change:height", onHeight);
    model.off("msg:custom", onMessage);
    view?.destroy();
    view = null;
  };
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
