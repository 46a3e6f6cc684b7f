/**
 * GraphView: one rendered view of a live graph — indicators, renderer and log wired to the
 * page's shared connection and the graph's shared store.
 *
 * Independent of anywidget (widget.ts adapts a model to it), so the benchmark page and tests
 * can drive it directly. The environment (socket constructor, fetch, frame scheduler, worker
 * factory, clock) can be replaced through {@link GraphViewEnvironment}.
 */

import type { StartPoint } from "../client/channel.js";
import type { Clock } from "../client/clock.js";
import type { ConnectionStatus, SocketFactory } from "../client/connection.js";
import type { ChangeEvent, ErrorFrame, EventsFrame, Position } from "../client/protocol.js";
import { authHeaders, httpUrl, resolveServer, type ServerInfo, serverKey, wsUrl } from "../client/server.js";
import { createInlineWorker, LayoutEngine, type WorkerLike } from "../layout/layout-engine.js";
import type { FrameScheduler } from "../state/frame-batcher.js";
import type { GraphStore, StoreObserver } from "../state/store.js";
import { acquireStore, type StoreLease } from "../state/store-registry.js";
import { EventLog } from "./event-log.js";
import { Indicators } from "./indicators.js";
import { type AnalysisProgress, IDLE_PROGRESS, nextProgress } from "./progress.js";
import { LatencyMeter, RateMeter } from "./rate-meter.js";
import { GraphRenderer } from "./renderer.js";

/** The WebSocket endpoint the view uses: the filtered one, so views can narrow event types. */
export const EVENTS_PATH = "graphlive/ws/events/filtered";

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
}

export interface ViewCounts {
  nodes: number;
  edges: number;
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
}

export interface GraphViewEnvironment {
  createSocket?: SocketFactory;
  fetch?: typeof fetch;
  schedule?: FrameScheduler;
  createWorker?: () => WorkerLike | null;
  clock?: Clock;
  location?: { href: string };
  document?: Document;
}

export interface GraphViewCallbacks {
  /** Counts and status, at most every `reportEveryMs` (the widget syncs them to Python). */
  report?(counts: ViewCounts, status: ViewStatus): void;
}

const REPORT_EVERY_MS = 500;

function startPoint(config: GraphViewConfig): StartPoint {
  if (config.since) return { kind: "position", position: config.since };
  if (config.snapshot === false) return { kind: "live" };
  return { kind: "snapshot" };
}

function statusLabel(s: ConnectionStatus, loaded: boolean): string {
  switch (s.state) {
    case "open":
      return loaded ? "live" : "loading";
    case "waiting":
      return s.retryInMs !== undefined ? `reconnecting in ${Math.ceil(s.retryInMs / 1000)}s` : "reconnecting";
    case "failed":
      return s.reason?.includes("HTTP 403") || s.reason?.includes("HTTP 401") ? "forbidden" : "offline";
    default:
      return s.state;
  }
}

export class GraphView {
  readonly indicators: Indicators;
  readonly server: ServerInfo | null;
  private lease: StoreLease | null = null;
  private renderer: GraphRenderer | null = null;
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
  private lastReport = 0;
  private destroyed = false;
  private readonly doc: Document;
  private readonly fetchFn: typeof fetch | undefined;
  private readonly schedule: FrameScheduler | undefined;

  constructor(
    private readonly host: HTMLElement,
    private readonly config: GraphViewConfig,
    private readonly callbacks: GraphViewCallbacks = {},
    env: GraphViewEnvironment = {},
  ) {
    this.doc = env.document ?? host.ownerDocument;
    this.fetchFn = env.fetch ?? (typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
    this.schedule = env.schedule;
    this.filters = [...(config.filters ?? [])];
    this.logFilter = [...this.filters];
    this.indicators = new Indicators(
      this.doc,
      config.graph,
      config.height ?? 520,
      { onReanalyze: () => void this.reanalyze(), onLogFilter: (p) => this.setLogFilter(p) },
      this.filters,
    );
    host.append(this.indicators.root);
    this.indicators.setDetails(null);

    const location = env.location ?? (typeof window !== "undefined" ? window.location : { href: "about:blank" });
    this.server = resolveServer(
      { serverUrl: config.serverUrl, baseUrl: config.baseUrl, token: config.token },
      { location, document: this.doc },
    );
    if (this.server === null) {
      this.problem = "no Jupyter server: set server_url on the GraphView";
      this.indicators.setStatus("no server", "failed", this.problem);
      this.indicators.setReanalyzeState(true, this.problem);
      return;
    }
    this.start(this.server, env);
  }

  /** The shared store of this view's graph (null when there is no server). */
  get store(): GraphStore | null {
    return this.lease?.store ?? null;
  }

  get graphRenderer(): GraphRenderer | null {
    return this.renderer;
  }

  /** Change the event types this view subscribes to (and resets the log box to them). */
  setFilters(types: string[]): void {
    this.filters = [...types];
    this.logFilter = [...types];
    this.indicators.setLogFilterText(types);
    this.lease?.store.setViewFilter(this, this.filters);
    this.requestUi();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.uiFrame?.();
    if (this.ticker !== null) clearInterval(this.ticker);
    for (const remove of this.removers.splice(0)) remove();
    this.lease?.store.removeViewFilter(this);
    this.renderer?.kill();
    this.lease?.release();
    this.lease = null;
    this.indicators.root.remove();
  }

  // ------------------------------------------------------------------ wiring

  private start(server: ServerInfo, env: GraphViewEnvironment): void {
    const createWorker = env.createWorker ?? createInlineWorker;
    this.lease = acquireStore({
      serverKey: serverKey(server),
      graph: this.config.graph,
      start: startPoint(this.config),
      connection: {
        url: wsUrl(server, EVENTS_PATH),
        createSocket: env.createSocket,
        clock: env.clock,
        probeAuth: () => this.probeAuth(server),
      },
      storeOptions: { schedule: env.schedule },
      onCreate: (store) => {
        const worker = createWorker();
        if (worker === null) return () => undefined;
        const engine = new LayoutEngine(store, worker);
        const remove = store.addObserver(engine);
        return () => {
          remove();
          engine.dispose();
        };
      },
    });
    const store = this.lease.store;
    store.setViewFilter(this, this.filters);
    this.renderer = new GraphRenderer(store.state.graph, this.indicators.canvas, {
      onSelect: (key) => this.showDetails(key),
    });
    this.removers.push(store.addObserver(this.renderer));
    this.removers.push(store.addObserver(this.observer()));
    this.removers.push(
      this.lease.connection.onStatus((s) => {
        this.connStatus = s;
        this.requestUi();
      }),
    );
    // Rates decay while nothing arrives; refresh the numbers once a second.
    this.ticker = setInterval(() => this.requestUi(), 1000);
    this.requestUi();
  }

  private observer(): StoreObserver {
    return {
      delivered: (events: readonly ChangeEvent[], _frame: EventsFrame) => {
        const now = Date.now();
        this.received += events.length;
        for (const e of events) {
          if (e.type.startsWith("analysis_")) this.progress = nextProgress(this.progress, e);
          // Everything goes into the log; the log box filters at display time, so widening
          // the filter shows what was hidden.
          this.log.push(e);
        }
        this.rate.record(events.length, performance.now());
        const last = events[events.length - 1];
        if (last !== undefined) this.latency.record(last.time, now);
        this.requestUi();
      },
      resync: (reason: string) => {
        this.problem = null;
        this.indicators.setStatus(`resync (${reason})`, "resync");
      },
      error: (frame: ErrorFrame) => {
        this.problem = `${frame.code}: ${frame.message}`;
        this.requestUi();
      },
      snapshotDelivered: () => {
        this.problem = null;
      },
      afterBatch: () => this.requestUi(),
    };
  }

  private setLogFilter(patterns: string[]): void {
    this.logFilter = patterns;
    this.requestUi();
  }

  private showDetails(key: string | null): void {
    const graph = this.lease?.store.state.graph;
    if (key === null || graph === undefined || !graph.hasNode(key)) {
      this.indicators.setDetails(null);
      return;
    }
    const data = graph.getNodeAttributes(key).data;
    this.indicators.setDetails({ ...data, degree: graph.degree(key) });
  }

  private requestUi(): void {
    if (this.destroyed || this.uiFrame !== null) return;
    const run = (): void => {
      this.uiFrame = null;
      this.updateUi();
    };
    if (this.schedule) {
      this.uiFrame = this.schedule(run);
    } else if (typeof requestAnimationFrame === "function") {
      const id = requestAnimationFrame(run);
      this.uiFrame = () => cancelAnimationFrame(id);
    } else {
      const id = setTimeout(run, 16);
      this.uiFrame = () => clearTimeout(id);
    }
  }

  private updateUi(): void {
    const store = this.lease?.store;
    if (store === undefined || this.destroyed) return;
    const graph = store.state.graph;
    this.indicators.setCounts(graph.order, graph.size);
    this.indicators.setRate(this.rate.rate(performance.now()));
    this.indicators.setLatency(this.latency.smoothed);
    this.indicators.setProgress(this.progress);
    this.indicators.setLog(this.log.entries(this.logFilter, 100), this.log.total);
    const s = this.connStatus;
    // Only a snapshot start has something to load; replay and live starts are live once open.
    const loaded = store.loaded || startPoint(this.config).kind !== "snapshot";
    const label = this.problem ?? statusLabel(s, loaded);
    const state = this.problem ? "error" : s.state;
    this.indicators.setStatus(label, state, s.reason ?? "");
    const now = performance.now();
    if (this.callbacks.report && now - this.lastReport >= REPORT_EVERY_MS) {
      this.lastReport = now;
      const position = store.position();
      this.callbacks.report(
        { nodes: graph.order, edges: graph.size, events: this.received, epoch: position?.epoch ?? null, seq: position?.seq ?? null },
        { state, label, reason: this.problem ?? s.reason ?? "", analysis: this.progress.phase },
      );
    }
  }

  // ------------------------------------------------------------------ REST

  private async probeAuth(server: ServerInfo): Promise<number | null> {
    if (this.fetchFn === undefined) return null;
    try {
      const res = await this.fetchFn(httpUrl(server, "graphlive/api/graphs"), {
        headers: authHeaders(server, this.doc.cookie ?? ""),
        credentials: "same-origin",
      });
      return res.status;
    } catch {
      return null;
    }
  }

  /**
   * POST a re-analysis request; the resulting events arrive over the WebSocket. The path sent is
   * the configured one, else the path of the graph's last server-side analysis (from the graph
   * summary), else "." (the server's root directory). Returns the HTTP status (202 = started).
   */
  async reanalyze(): Promise<number | null> {
    const server = this.server;
    const fetchFn = this.fetchFn;
    if (server === null || fetchFn === undefined) return null;
    this.indicators.setReanalyzeState(true);
    const graphUrl = httpUrl(server, `graphlive/api/graphs/${encodeURIComponent(this.config.graph)}`);
    const headers = authHeaders(server, this.doc.cookie ?? "");
    try {
      let path = this.config.path || "";
      if (!path) {
        const res = await fetchFn(graphUrl, { headers, credentials: "same-origin" });
        const summary: unknown = res.ok ? await res.json().catch(() => null) : null;
        const analysis = (summary as { analysis?: { path?: unknown } } | null)?.analysis;
        path = typeof analysis?.path === "string" && analysis.path ? analysis.path : ".";
      }
      const res = await fetchFn(`${graphUrl}/analyze`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ path }),
      });
      let message = "";
      if (!res.ok) {
        const text = await res.text().catch(() => "");
        message = `re-analysis refused: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ""}`;
      }
      this.indicators.setReanalyzeState(false, message);
      return res.status;
    } catch (err) {
      this.indicators.setReanalyzeState(false, `re-analysis failed: ${String(err)}`);
      return null;
    }
  }
}
