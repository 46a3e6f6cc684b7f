/**
 * GraphView: one rendered view of a live graph — indicators, exploration controls, renderer,
 * details and log, wired to a data source and to this view's projection of the graph.
 *
 * Data flow: source (shared store: WebSocket or kernel comm; or a saved copy) → the store's
 * model (every element) → this view's {@link ViewGraph}: the model itself while the view shows
 * all of it as it is, a projection (filters, focus, collapsed packages, encodings) otherwise →
 * the renderer and the layout worker. Exploration state (filters, focus, selection,
 * encodings, level) belongs to the view and is reported through `explored` so the widget can
 * keep it in synced traits.
 *
 * Which transport a view uses, and how its connection is set up, is in ./transport.ts; the REST
 * calls (auth probe, re-analysis) in ../client/graph-api.ts; the saved copy's rewriting in
 * ./saved-writer.ts.
 *
 * Independent of anywidget (widget.ts adapts a model to it), so the benchmark page and tests can
 * drive it directly; the environment (socket constructor, fetch, frame scheduler, worker
 * factory, clock, comm) can be replaced through {@link GraphViewEnvironment}.
 */

import type { Delivery } from "../client/channel.js";
import type { Clock } from "../client/clock.js";
import type { CommEndpoint } from "../client/comm-socket.js";
import type { ConnectionStatus, SocketFactory } from "../client/connection.js";
import { probeAuth, requestReanalysis } from "../client/graph-api.js";
import type { ChangeEvent, ErrorFrame, EventsFrame, Position } from "../client/protocol.js";
import { readPageConfig, resolveServer, type ServerInfo, serverKey } from "../client/server.js";
import { groupLabel, groupOfCluster, isClusterKey } from "../explore/grouping.js";
import { type ColorMode, legendFor, type SizeMode } from "../explore/palette.js";
import type { SavedGraph } from "../explore/saved.js";
import { type Focus, type FocusSet, NO_FILTER, resolveFocus, sameFilter, sameFocus, type ViewFilter } from "../explore/scope.js";
import { searchNodes } from "../explore/search.js";
import { openHref, sourceLocation } from "../explore/source-link.js";
import { ViewGraph } from "../explore/view-graph.js";
import { createInlineWorker, LayoutEngine, type WorkerLike } from "../layout/layout-engine.js";
import type { FrameScheduler } from "../state/frame-batcher.js";
import type { BatchResult } from "../state/graph-state.js";
import { type BatchPlan, GraphStore, type StoreObserver } from "../state/store.js";
import { acquireStore, type StoreLease } from "../state/store-registry.js";
import { DetailsPanel } from "./details.js";
import { EventLog } from "./event-log.js";
import { ExploreBar, type FocusMode } from "./explore-bar.js";
import { Indicators } from "./indicators.js";
import { type AnalysisProgress, IDLE_PROGRESS, nextProgress, REQUESTED_PROGRESS } from "./progress.js";
import { LatencyMeter, RateMeter } from "./rate-meter.js";
import { GraphRenderer } from "./renderer.js";
import { SavedCopyWriter } from "./saved-writer.js";
import { type ActiveTransport, connectionOptions, initialTransport, sourceStatus, startPoint, type Transport } from "./transport.js";

export { EVENTS_PATH, type Transport } from "./transport.js";

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
  /** Directory (relative to the server's root) that Re-analyze analyses; see {@link GraphView.reanalyze}. */
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
  /** Counts and status, at most every `REPORT_EVERY_MS` (the widget syncs them to Python). */
  report?(counts: ViewCounts, status: ViewStatus, level: LevelState): void;
  /** The user changed exploration state. */
  explored?(state: Partial<ExploreState>): void;
  /** A new bounded copy of the graph, to keep with the notebook. */
  saved?(copy: SavedGraph): void;
}

const REPORT_EVERY_MS = 500;
/** Without live data after this long, a saved copy is shown instead. */
const STAND_IN_AFTER_MS = 2_000;

/** The data source of the current pipeline. */
interface Source {
  store: GraphStore;
  release(): void;
  /** Present for live transports. */
  lease: StoreLease | null;
}

export class GraphView {
  readonly indicators: Indicators;
  readonly server: ServerInfo | null;
  readonly explore: ExploreBar;
  readonly details: DetailsPanel;
  private transport: ActiveTransport = "static";
  private source: Source | null = null;
  private projection: ViewGraph | null = null;
  private renderer: GraphRenderer | null = null;
  private layout: LayoutEngine | null = null;
  private readonly removers: Array<() => void> = [];
  private readonly log = new EventLog(200);
  private readonly rate = new RateMeter(5);
  private readonly latency = new LatencyMeter();
  private progress: AnalysisProgress = IDLE_PROGRESS;
  private filters: string[];
  /** Globs of the log box: client-side only, so narrowing the log never stops graph updates. */
  private logFilter: string[];
  private received = 0;
  private connStatus: ConnectionStatus = { state: "idle", attempt: 0 };
  private problem: string | null = null;
  private uiFrame: (() => void) | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private standInTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly saver: SavedCopyWriter;
  private lastReport = 0;
  private destroyed = false;
  private showingSaved = false;
  private state: ExploreState;
  private focusSet: FocusSet | null = null;
  private egoDepth = 1;
  private readonly doc: Document;
  private readonly fetchFn: typeof fetch | undefined;
  private readonly env: GraphViewEnvironment;
  private readonly location: { href: string };
  private readonly serverRoot: string | null;

  constructor(
    private readonly host: HTMLElement,
    private readonly config: GraphViewConfig,
    private readonly callbacks: GraphViewCallbacks = {},
    env: GraphViewEnvironment = {},
  ) {
    this.env = env;
    this.doc = env.document ?? host.ownerDocument;
    this.fetchFn = env.fetch ?? (typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
    this.filters = [...(config.filters ?? [])];
    this.logFilter = [...this.filters];
    this.state = { ...DEFAULT_EXPLORE, ...(config.explore ?? {}) };
    this.saver = new SavedCopyWriter(
      config.graph,
      () => (this.source !== null && this.projection !== null && !this.showingSaved ? { store: this.source.store, view: this.projection } : null),
      (copy) => this.callbacks.saved?.(copy),
    );
    if (this.state.focus?.mode === "ego") this.egoDepth = this.state.focus.depth;
    this.indicators = new Indicators(
      this.doc,
      config.graph,
      config.height ?? 520,
      { onReanalyze: () => void this.reanalyze(), onLogFilter: (p) => this.setLogFilter(p) },
      this.filters,
    );
    this.explore = new ExploreBar(this.doc, {
      search: (q) => (this.source ? searchNodes(this.source.store.state.graph, q) : []),
      choose: (id) => this.reveal(id),
      filter: (f) => this.userChange({ filter: f }),
      encoding: (c, s) => this.userChange({ colorBy: c, sizeBy: s }),
      ego: (depth) => this.egoOfSelection(depth),
      egoDepth: (depth) => {
        this.egoDepth = depth;
        if (this.state.focus?.mode === "ego") this.userChange({ focus: { ...this.state.focus, depth } });
      },
      path: () => this.pathOfSelection(),
      overview: () => this.userChange({ focus: null }),
      autoLevel: () => this.autoLevel(),
      fit: () => this.renderer?.fit(),
      exportPng: () => this.downloadPng(),
    });
    this.indicators.exploreSlot.append(this.explore.root);
    this.details = new DetailsPanel(this.doc, this.indicators.details, {
      ego: (id) => this.userChange({ focus: { mode: "ego", node: id, depth: this.egoDepth } }),
      expand: (group) => this.expand(group),
      collapse: (group) => this.collapse(group),
      clearSelection: () => this.select([], true),
    });
    this.indicators.sideSlot.append(this.details.selection);
    this.indicators.stage.append(this.details.legend);
    this.explore.setFilter(this.state.filter);
    this.explore.setEncoding(this.state.colorBy, this.state.sizeBy);
    this.explore.setDepth(this.egoDepth);
    // Tests and scripts reach the view object through its root element.
    (this.indicators.root as HTMLElement & { graphliveView?: GraphView }).graphliveView = this;
    host.append(this.indicators.root);

    this.location = env.location ?? (typeof window !== "undefined" ? window.location : { href: "about:blank" });
    const pageConfig = readPageConfig(this.doc);
    this.serverRoot = typeof pageConfig.serverRoot === "string" ? pageConfig.serverRoot : null;
    this.server = resolveServer(
      { serverUrl: config.serverUrl, baseUrl: config.baseUrl, token: config.token },
      { location: this.location, document: this.doc },
    );
    // Rates decay while nothing arrives; refresh the numbers once a second.
    this.ticker = setInterval(() => this.requestUi(), 1000);
    this.start(initialTransport(config.transport ?? "auto", this.server !== null, (env.comm ?? null) !== null));
  }

  /** The shared store of this view's graph (null before a source exists). */
  get store(): GraphStore | null {
    return this.source?.store ?? null;
  }

  get graphRenderer(): GraphRenderer | null {
    return this.renderer;
  }

  get view(): ViewGraph | null {
    return this.projection;
  }

  /** The layout worker is still moving nodes (benchmarks wait for a quiet page). */
  get layoutBusy(): boolean {
    return this.layout?.busy ?? false;
  }

  get activeTransport(): ActiveTransport {
    return this.transport;
  }

  get exploreState(): ExploreState {
    return { ...this.state, selection: [...this.state.selection] };
  }

  /** Change the event types this view subscribes to (and resets the log box to them). */
  setFilters(types: string[]): void {
    this.filters = [...types];
    this.logFilter = [...types];
    this.indicators.setLogFilterText(types);
    this.source?.store.setViewFilter(this, this.filters);
    this.requestUi();
  }

  /** Apply exploration state set from outside (Python traits); reports nothing back. */
  applyExplore(change: Partial<ExploreState>): void {
    this.setExplore(change, false);
  }

  // ------------------------------------------------------------------ actions

  /** Select `ids` (most recent last); `report` = it came from the user. */
  select(ids: readonly string[], report = false): void {
    const next = [...new Set(ids)];
    if (next.join("\n") === this.state.selection.join("\n")) return;
    this.setExplore({ selection: next }, report);
  }

  /** Select `id`, expand what hides it, and centre the camera on it. */
  reveal(id: string): void {
    this.setExplore({ selection: [id] }, true);
    const p = this.projection;
    if (p === null) return;
    if (p.reveal(id)) this.levelChanged();
    const key = p.displayKeyOf(id);
    if (key !== null) this.renderer?.centerOn(key);
  }

  expand(target: string): void {
    const p = this.projection;
    if (p === null) return;
    // A node id expands what hides it; anything else is a group key.
    const changed = p.inScope(target) ? p.reveal(target) : p.expand(target);
    if (changed) this.levelChanged();
    this.showDetails();
  }

  collapse(group: string): void {
    if (this.projection?.collapse(group)) this.levelChanged();
    this.showDetails();
  }

  autoLevel(): void {
    this.projection?.resetLevel();
    this.state.expanded = null;
    this.callbacks.explored?.({ expanded: null });
    this.requestUi();
  }

  fit(): void {
    this.renderer?.fit();
  }

  /** The current picture as a PNG data URL ("" before anything is drawn). */
  toPNG(): string {
    return this.renderer?.toPNG() ?? "";
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.uiFrame?.();
    if (this.ticker !== null) clearInterval(this.ticker);
    this.clearTimers();
    this.teardown();
    this.indicators.root.remove();
  }

  // ------------------------------------------------------------------ exploration state

  private userChange(change: Partial<ExploreState>): void {
    this.setExplore(change, true);
  }

  private setExplore(change: Partial<ExploreState>, report: boolean): void {
    const s = this.state;
    const p = this.projection;
    let rescope = false;
    if (change.filter !== undefined && !sameFilter(change.filter, s.filter)) {
      s.filter = change.filter;
      this.explore.setFilter(s.filter);
      rescope = true;
    }
    if (change.focus !== undefined && !sameFocus(change.focus, s.focus)) {
      s.focus = change.focus;
      if (s.focus?.mode === "ego") {
        this.egoDepth = s.focus.depth;
        this.explore.setDepth(s.focus.depth);
      }
      rescope = true;
    }
    if (change.colorBy !== undefined || change.sizeBy !== undefined) {
      s.colorBy = change.colorBy ?? s.colorBy;
      s.sizeBy = change.sizeBy ?? s.sizeBy;
      this.explore.setEncoding(s.colorBy, s.sizeBy);
      p?.setEncoding(s.colorBy, s.sizeBy);
    }
    if (change.expanded !== undefined && p !== null) {
      s.expanded = change.expanded;
      if (change.expanded === null) {
        if (p.levelMode !== "auto") p.resetLevel();
      } else if (!this.showingSaved || p.scopeSize === 0) {
        const current = p.expandedGroups();
        if (p.levelMode !== "user" || current.join("\n") !== [...change.expanded].sort().join("\n")) p.setExpanded(change.expanded);
      }
    } else if (change.expanded !== undefined) {
      s.expanded = change.expanded;
    }
    if (rescope) this.rescope();
    if (change.selection !== undefined) s.selection = [...change.selection];
    this.highlight();
    this.showDetails();
    if (report) this.callbacks.explored?.(change);
    this.scheduleSave();
    this.requestUi();
  }

  /** Recompute the focus on the model and rebuild the projection's scope. */
  private rescope(): void {
    const p = this.projection;
    const store = this.source?.store;
    if (p === null || store === undefined) return;
    this.focusSet = resolveFocus(store.state.graph, this.state.filter, this.state.focus);
    p.setScope(this.state.filter, this.focusSet);
  }

  private egoOfSelection(depth: number): void {
    const id = this.state.selection[this.state.selection.length - 1];
    if (id === undefined) return;
    this.userChange({ focus: { mode: "ego", node: id, depth } });
  }

  private pathOfSelection(): void {
    const sel = this.state.selection;
    if (sel.length < 2) return;
    this.userChange({ focus: { mode: "path", source: sel[sel.length - 2] as string, target: sel[sel.length - 1] as string } });
  }

  private levelChanged(): void {
    const p = this.projection;
    if (p === null) return;
    this.state.expanded = p.levelMode === "auto" ? null : p.expandedGroups();
    this.callbacks.explored?.({ expanded: this.state.expanded });
    this.highlight();
    this.scheduleSave();
    this.requestUi();
  }

  private onClickNode(key: string, additive: boolean): void {
    if (isClusterKey(key)) {
      // Clicking a collapsed package or module opens it.
      const group = groupOfCluster(key);
      this.expand(group);
      this.showCluster(group);
      return;
    }
    const sel = this.state.selection;
    let next: string[];
    if (additive) next = sel.includes(key) ? sel.filter((x) => x !== key) : [...sel, key];
    else next = [key];
    this.select(next, true);
  }

  /** Emphasise the selection and the path on screen. */
  private highlight(): void {
    const p = this.projection;
    const r = this.renderer;
    if (p === null || r === null) return;
    const nodes = new Set<string>();
    for (const id of this.state.selection) {
      const key = p.displayKeyOf(id);
      if (key !== null) nodes.add(key);
    }
    const pathEdges = new Set<string>();
    if (this.state.focus?.mode === "path" && this.focusSet !== null) {
      const ids = [...this.focusSet.nodes];
      for (const id of ids) {
        const key = p.displayKeyOf(id);
        if (key !== null) nodes.add(key);
      }
      p.graph.forEachEdge((e) => pathEdges.add(e));
    }
    r.setHighlight(nodes, pathEdges);
    this.explore.setSelectionCount(this.state.selection.length);
    this.details.setSelection(this.state.selection);
  }

  private showDetails(): void {
    const id = this.state.selection[this.state.selection.length - 1];
    const store = this.source?.store;
    if (id === undefined || store === undefined) {
      this.details.showNothing();
      return;
    }
    const model = store.state.graph;
    if (!model.hasNode(id)) {
      this.details.showNothing();
      return;
    }
    const node = model.getNodeAttribute(id, "data");
    const callers = new Set<string>();
    const callees = new Set<string>();
    model.forEachInEdge(id, (_e, a, s) => {
      if (a.kind === "calls") callers.add(s);
    });
    model.forEachOutEdge(id, (_e, a, _s, t) => {
      if (a.kind === "calls") callees.add(t);
    });
    const root = this.config.sourceRoot || this.config.path || "";
    const source = sourceLocation(node.file, node.line, root, this.serverRoot);
    const href = source?.path != null && this.server !== null ? openHref(this.server.httpBase, source.path, this.location.href) : null;
    const p = this.projection;
    let note: string | null = null;
    if (p !== null && !p.inScope(id)) note = "Not drawn: outside the current filters or focus.";
    else if (p !== null && p.displayKeyOf(id) !== id) note = "Drawn inside a collapsed package.";
    this.details.showNode({
      node,
      callers: callers.size,
      callees: callees.size,
      source,
      href,
      collapsible: p?.enclosingExpandedGroup(id) ?? null,
      note,
    });
  }

  private showCluster(group: string): void {
    const stats = this.projection?.groupStats(group);
    if (!stats) return;
    this.details.showCluster({
      group,
      label: groupLabel(group),
      kind: stats.kind,
      members: stats.count,
      children: stats.children,
      loc: stats.loc,
      meanComplexity: stats.complexityCount > 0 ? stats.complexitySum / stats.complexityCount : null,
      collapsible: this.projection?.groupStats(group) ? group : null,
    });
  }

  private downloadPng(): void {
    const url = this.toPNG();
    if (!url) return;
    const a = this.doc.createElement("a");
    a.href = url;
    a.download = `${this.config.graph}.png`;
    this.indicators.root.append(a);
    a.click();
    a.remove();
  }

  // ------------------------------------------------------------------ sources and pipeline

  private start(transport: ActiveTransport): void {
    this.teardown();
    this.transport = transport;
    this.problem = null;
    this.showingSaved = false;
    const env = this.env;
    const storeOptions = { schedule: env.schedule, state: { place: false } };
    if (transport === "static") {
      const store = new GraphStore(this.config.graph, storeOptions);
      this.source = { store, lease: null, release: () => store.dispose() };
      this.connStatus = { state: "closed", attempt: 0 };
      this.buildPipeline(store);
      if (this.config.saved) this.showSaved();
      else this.problem = "no live source and no saved copy of the graph";
    } else {
      const lease = acquireStore({
        serverKey: transport === "comm" ? `comm:${(env.comm as CommEndpoint).key}` : serverKey(this.server as ServerInfo),
        graph: this.config.graph,
        start: startPoint(this.config),
        connection: connectionOptions(transport, {
          comm: env.comm ?? null,
          server: this.server,
          createSocket: env.createSocket,
          clock: env.clock,
          probeAuth: () => probeAuth(this.fetchFn, this.server as ServerInfo, this.doc.cookie ?? ""),
          stopWhenUnreachable: (this.config.transport ?? "auto") === "auto",
        }),
        storeOptions,
      });
      this.source = { store: lease.store, lease, release: () => lease.release() };
      lease.store.setViewFilter(this, this.filters);
      this.buildPipeline(lease.store);
      this.removers.push(
        lease.connection.onStatus((s) => {
          this.connStatus = s;
          if (s.state === "failed" && s.unreachable) this.fallBack();
          this.requestUi();
        }),
      );
      // Only a snapshot start replaces the whole graph when live data comes; a replay or a
      // live-only start would apply its events on top of the copy.
      if (this.config.saved && startPoint(this.config).kind === "snapshot") {
        this.standInTimer = setTimeout(() => this.standIn(), STAND_IN_AFTER_MS);
      }
    }
    const reanalyzable = transport === "websocket";
    this.indicators.setReanalyzeState(!reanalyzable, reanalyzable ? "" : "re-analysis needs the graphlive server extension");
    this.requestUi();
  }

  /** The server has no graphlive endpoint: use the kernel comm, else the saved copy. */
  private fallBack(): void {
    if (this.transport !== "websocket") return;
    const next: ActiveTransport = this.env.comm ? "comm" : "static";
    // Out of the status callback: tearing the connection down inside it would re-enter it.
    setTimeout(() => {
      if (!this.destroyed && this.transport === "websocket") this.start(next);
    }, 0);
  }

  /** Nothing live arrived in time: show the saved copy until something does. */
  private standIn(): void {
    this.standInTimer = null;
    const store = this.source?.store;
    if (store === undefined || store.loaded || !this.config.saved) return;
    this.showSaved();
  }

  private showSaved(): void {
    const saved = this.config.saved;
    const store = this.source?.store;
    if (!saved || store === undefined) return;
    this.projection?.seedPositions(saved.positions);
    store.snapshot({ op: "snapshot", graph: this.config.graph, epoch: saved.epoch ?? "saved", seq: saved.seq ?? 0, nodes: saved.nodes, edges: saved.edges });
    // After the snapshot: its delivery marks the data live, which this copy is not.
    this.showingSaved = true;
    this.requestUi();
  }

  private buildPipeline(store: GraphStore): void {
    const env = this.env;
    const projection = new ViewGraph(store.state.graph, {
      collapseAbove: this.config.collapseAbove,
      maxVisible: this.config.maxVisible,
      schedule: env.schedule,
      // Layout of the model drawn directly: applied by the store, with its next batch.
      modelPositions: (positions) => store.setPositions(positions),
    });
    this.projection = projection;
    projection.setEncoding(this.state.colorBy, this.state.sizeBy);
    if (this.state.expanded !== null) projection.setExpanded(this.state.expanded);
    const renderer = new GraphRenderer(projection, this.indicators.canvas, {
      onClickNode: (key, additive) => this.onClickNode(key, additive),
      onClickStage: () => this.select([], true),
    });
    this.renderer = renderer;
    this.removers.push(projection.addObserver(renderer));
    const worker = (env.createWorker ?? createInlineWorker)();
    if (worker !== null) {
      const engine = new LayoutEngine(projection, worker);
      this.layout = engine;
      const remove = projection.addObserver(engine);
      this.removers.push(() => {
        remove();
        engine.dispose();
        this.layout = null;
      });
    }
    this.removers.push(
      projection.addObserver({
        afterChange: () => {
          this.drawnVersion += 1;
          this.scheduleSave();
          this.requestUi();
        },
      }),
    );
    this.removers.push(store.addObserver(this.storeObserver()));
    // A store shared with another view may hold the graph already.
    this.rescope();
    this.highlight();
    this.showDetails();
  }

  private teardown(): void {
    for (const remove of this.removers.splice(0)) remove();
    if (this.standInTimer !== null) clearTimeout(this.standInTimer);
    this.standInTimer = null;
    this.source?.store.removeViewFilter(this);
    this.renderer?.kill();
    this.renderer = null;
    this.projection?.dispose();
    this.projection = null;
    this.source?.release();
    this.source = null;
  }

  private clearTimers(): void {
    if (this.standInTimer !== null) clearTimeout(this.standInTimer);
    this.standInTimer = null;
    this.saver.cancel();
  }

  private storeObserver(): StoreObserver {
    return {
      delivered: (events: readonly ChangeEvent[], _frame: EventsFrame, delivery: Delivery) => {
        const now = Date.now();
        this.received += events.length;
        for (const e of events) {
          if (e.type.startsWith("analysis_")) this.progress = nextProgress(this.progress, e);
          // Everything goes into the log; the log box filters at display time, so widening
          // the filter shows what was hidden.
          this.log.push(e);
        }
        this.rate.record(events.length, performance.now());
        this.latency.recordLive(events, delivery.history, now);
        this.showingSaved = false;
        this.requestUi();
      },
      resync: (reason: string) => {
        this.problem = null;
        // The events that would tell how an analysis went are lost with the position.
        this.progress = IDLE_PROGRESS;
        this.indicators.setStatus(`resync (${reason})`, "resync");
      },
      error: (frame: ErrorFrame) => {
        this.problem = `${frame.code}: ${frame.message}`;
        this.requestUi();
      },
      available: () => {
        // Redis is back and the server resumes by itself: drop its "unavailable" error notice.
        if (this.problem?.startsWith("unavailable:")) this.problem = null;
        this.requestUi();
      },
      snapshotProgress: () => this.requestUi(),
      snapshotDelivered: () => {
        this.problem = null;
        this.showingSaved = false;
      },
      // Drawing the model itself, the renderer detaches around big batches of the store.
      beforeBatch: (plan: BatchPlan) => this.projection?.beforeBatch(plan.detach),
      afterBatch: (result: BatchResult) => this.afterModelBatch(result),
    };
  }

  private afterModelBatch(result: BatchResult): void {
    const p = this.projection;
    if (p === null) return;
    const structural = result.replaced || result.changes.some((c) => c.op !== "node~");
    if (this.state.focus !== null && structural) {
      // The focus (ego network, path) may have changed with the graph: recompute it; the
      // rebuild covers this batch's changes.
      this.rescope();
    } else {
      p.applyBatch(result);
    }
    if (result.replaced) {
      this.highlight();
      this.renderer?.fit(false);
    }
    this.showDetails();
    this.requestUi();
  }

  // ------------------------------------------------------------------ saved copy

  /** Only live data is saved: not a static view's, nor the saved copy shown in its place. */
  private scheduleSave(): void {
    if (this.callbacks.saved === undefined || this.transport === "static" || this.showingSaved || this.destroyed) return;
    this.saver.schedule();
  }

  // ------------------------------------------------------------------ indicators

  private setLogFilter(patterns: string[]): void {
    this.logFilter = patterns;
    this.requestUi();
  }

  private requestUi(): void {
    if (this.destroyed || this.uiFrame !== null) return;
    const run = (): void => {
      this.uiFrame = null;
      this.updateUi();
    };
    if (this.env.schedule) {
      this.uiFrame = this.env.schedule(run);
    } else if (typeof requestAnimationFrame === "function") {
      const id = requestAnimationFrame(run);
      this.uiFrame = () => cancelAnimationFrame(id);
    } else {
      const id = setTimeout(run, 16);
      this.uiFrame = () => clearTimeout(id);
    }
  }

  private updateUi(): void {
    const store = this.source?.store;
    const p = this.projection;
    if (store === undefined || p === null || this.destroyed) return;
    const graph = store.state.graph;
    const saved = this.showingSaved ? this.config.saved : null;
    // A collapsed saved copy stands for a bigger graph: show the size of the real one.
    const total = saved?.level === "collapsed" ? saved.total : { nodes: graph.order, edges: graph.size };
    this.indicators.setCounts(total.nodes, total.edges);
    this.explore.setVisible(p.graph.order, p.graph.size);
    const mode: FocusMode = this.state.focus?.mode ?? "overview";
    this.explore.setMode(mode, this.focusSet?.summary ?? "");
    this.explore.setLevel(p.collapsed, p.levelMode);
    this.updateLegend();
    this.indicators.setRate(this.rate.rate(performance.now()));
    this.indicators.setLatency(this.latency.smoothed);
    this.indicators.setProgress(this.progress);
    this.indicators.setLog(this.log.entries(this.logFilter, 100), this.log.total);
    const s = this.connStatus;
    // Only a snapshot start has something to load; replay and live starts are live once open
    // — unless a resync made them wait for a snapshot too.
    const loading = store.loading();
    const loaded = loading === null && (store.loaded || startPoint(this.config).kind !== "snapshot");
    const { label, state } = sourceStatus(this.showingSaved, this.transport, this.problem, s, loaded, loading);
    this.indicators.setStatus(label, state, this.problem ?? s.reason ?? "");
    this.indicators.root.setAttribute("data-transport", this.transport);
    this.indicators.root.setAttribute("data-source", this.showingSaved ? "saved" : store.loaded ? "live" : "none");
    const now = performance.now();
    if (this.callbacks.report && now - this.lastReport >= REPORT_EVERY_MS) {
      this.lastReport = now;
      const position = store.position();
      this.callbacks.report(
        {
          nodes: total.nodes,
          edges: total.edges,
          visible_nodes: p.graph.order,
          visible_edges: p.graph.size,
          events: this.received,
          epoch: position?.epoch ?? null,
          seq: position?.seq ?? null,
        },
        {
          state,
          label,
          reason: this.problem ?? s.reason ?? "",
          analysis: this.progress.phase,
          transport: this.transport,
          source: this.showingSaved ? "saved" : store.loaded ? "live" : "none",
        },
        { mode: p.levelMode, collapsed: p.collapsed, expanded: p.expandedGroups() },
      );
    } else if (this.callbacks.report) {
      // Make sure the last change is reported even if nothing else happens.
      this.requestUiLater();
    }
  }

  private laterTimer: ReturnType<typeof setTimeout> | null = null;
  /** Changes of the drawn graph so far, and the one the legend was computed for. */
  private drawnVersion = 0;
  private legendFor = "";

  private requestUiLater(): void {
    if (this.laterTimer !== null) return;
    this.laterTimer = setTimeout(() => {
      this.laterTimer = null;
      this.requestUi();
    }, REPORT_EVERY_MS);
  }

  private updateLegend(): void {
    const p = this.projection;
    if (p === null) return;
    // Once per change of the picture, not once per frame (it reads every drawn node).
    const key = `${this.drawnVersion}:${this.state.colorBy}`;
    if (key === this.legendFor) return;
    this.legendFor = key;
    const kinds = new Set<string>();
    const modules = new Map<string, number>();
    p.graph.forEachNode((_k, a) => {
      kinds.add(a.kind);
      if (this.state.colorBy === "module" && a.group != null) modules.set(a.group, a.count ?? 1);
    });
    if (this.state.colorBy === "module" && modules.size === 0) {
      p.graph.forEachNode((k) => {
        const chain = p.chainOf(k);
        const m = chain[chain.length - 1];
        if (m !== undefined) modules.set(m, (modules.get(m) ?? 0) + 1);
      });
    }
    const ranked = [...modules].sort((a, b) => b[1] - a[1]).map(([m]) => m);
    this.details.setLegend(this.state.colorBy, legendFor(this.state.colorBy, kinds, ranked));
  }

  // ------------------------------------------------------------------ REST

  /**
   * Ask the server to re-analyse the graph (see {@link requestReanalysis} for the path sent);
   * the run's events arrive over the WebSocket. Only with the WebSocket transport (else returns
   * null at once). Returns the HTTP status (202 = started), or null when no response came.
   */
  async reanalyze(): Promise<number | null> {
    const server = this.server;
    const fetchFn = this.fetchFn;
    if (server === null || fetchFn === undefined || this.transport !== "websocket") return null;
    this.indicators.setReanalyzeState(true);
    // Until the run's own events arrive, the last run's "analysis complete" would be a lie.
    const before = this.progress;
    this.progress = REQUESTED_PROGRESS;
    this.requestUi();
    const result = await requestReanalysis(fetchFn, server, this.doc.cookie ?? "", this.config.graph, this.config.path || "");
    if (result.error === null) {
      this.indicators.setReanalyzeState(false);
    } else {
      if (this.progress === REQUESTED_PROGRESS) this.progress = before;
      this.indicators.setReanalyzeState(false, result.error);
      this.requestUi();
    }
    return result.status;
  }
}
