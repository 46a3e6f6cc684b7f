/**
 * The contract between a GraphView and whoever hosts it (widget.ts, the benchmark pages, tests):
 * what it is configured with, what of its environment can be replaced, and what it reports.
 *
 * Types and defaults only. Kept apart from graph-view.ts so the parts of a view can name these
 * shapes without importing the class that composes them; graph-view.ts re-exports all of it.
 */

import type { Clock } from "../client/clock.js";
import type { CommEndpoint } from "../client/comm-socket.js";
import type { SocketFactory } from "../client/connection.js";
import type { Position } from "../client/protocol.js";
import type { ColorMode, SizeMode } from "../explore/palette.js";
import type { SavedGraph } from "../explore/saved.js";
import { type Focus, NO_FILTER, type ViewFilter } from "../explore/scope.js";
import type { WorkerLike } from "../layout/layout-engine.js";
import type { FrameScheduler } from "../state/frame-batcher.js";
import type { AnalysisProgress } from "./progress.js";
import type { ActiveTransport, Transport } from "./transport.js";

/** Exploration state, as the widget syncs it with Python. */
export interface ExploreState {
  filter: ViewFilter;
  focus: Focus;
  /** Selected element ids, most recent last. */
  selection: string[];
  colorBy: ColorMode;
  sizeBy: SizeMode;
  /** Expanded groups (["*"] = everything), or null for the automatic level. */
  expanded: string[] | null;
}

export const DEFAULT_EXPLORE: ExploreState = {
  filter: NO_FILTER,
  focus: null,
  selection: [],
  colorBy: "kind",
  sizeBy: "kind",
  expanded: null,
};

export interface GraphViewConfig {
  graph: string;
  serverUrl?: string | null;
  baseUrl?: string | null;
  token?: string | null;
  /** Start after this position (replay), instead of from a snapshot. */
  since?: Position | null;
  /** false: no snapshot, only events from now on (ignored when `since` is set). */
  snapshot?: boolean;
  /**
   * Event-type globs this view subscribes to (server-side filter; the union over the views of a
   * graph is sent). Also the initial filter of the log box, which itself filters only the log.
   */
  filters?: string[];
  height?: number;
  /** Directory (relative to the server's root) that Re-analyze analyses; see `GraphView.reanalyze`. */
  path?: string | null;
  transport?: Transport;
  /** The analysed root for jump-to-source links (relative to the server root, or absolute); default `path`. */
  sourceRoot?: string | null;
  /** A saved copy to show when no live source delivers (and always with transport "static"). */
  saved?: SavedGraph | null;
  explore?: Partial<ExploreState>;
  /** Show scopes larger than this collapsed by package. */
  collapseAbove?: number;
  /** Display nodes the collapsed level aims for at most. */
  maxVisible?: number;
}

export interface ViewCounts {
  nodes: number;
  edges: number;
  /** Display nodes/edges (clusters and bundled edges at a collapsed level). */
  visible_nodes: number;
  visible_edges: number;
  /** Events received by this view since it was created. */
  events: number;
  epoch: string | null;
  seq: number | null;
}

export interface ViewStatus {
  state: string;
  label: string;
  reason: string;
  analysis: AnalysisProgress["phase"];
  transport: ActiveTransport;
  /** "live" data, or the "saved" copy standing in for it. */
  source: "live" | "saved" | "none";
}

export interface LevelState {
  mode: "auto" | "user";
  collapsed: boolean;
  expanded: string[];
}

export interface GraphViewEnvironment {
  createSocket?: SocketFactory;
  fetch?: typeof fetch;
  schedule?: FrameScheduler;
  createWorker?: () => WorkerLike | null;
  clock?: Clock;
  location?: { href: string };
  document?: Document;
  /** The widget's comm to the kernel (fallback transport); none outside a widget. */
  comm?: CommEndpoint | null;
}

export interface GraphViewCallbacks {
  /** Counts and status, at most every `REPORT_EVERY_MS` of readouts.ts (the widget syncs them to Python). */
  report?(counts: ViewCounts, status: ViewStatus, level: LevelState): void;
  /** The user changed exploration state. */
  explored?(state: Partial<ExploreState>): void;
  /** A new bounded copy of the graph, to keep with the notebook. */
  saved?(copy: SavedGraph): void;
}
