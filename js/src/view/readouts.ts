/**
 * What a view reads out about its stream — counts, event rate, latency, analysis progress, the
 * event log, the source's status — on the indicators and in the report to Python, repainted at
 * most once per frame.
 *
 * Contract: owns the stream's figures (events received, rate and latency meters, progress, log
 * and its filter, connection status, the current problem) and the repaint scheduling. The view
 * feeds it store and connection events; it reads the current pipeline, transport and saved copy
 * through `inputs`, paints the indicators itself and has `inputs.paintControls` bring the
 * exploration controls along in the same frame. It changes nothing but the DOM and the report.
 */

import type { Delivery } from "../client/channel.js";
import type { ConnectionStatus } from "../client/connection.js";
import type { ChangeEvent, ErrorFrame } from "../client/protocol.js";
import type { SavedGraph } from "../explore/saved.js";
import type { FrameScheduler } from "../state/frame-batcher.js";
import { EventLog } from "./event-log.js";
import type { Indicators } from "./indicators.js";
import type { Pipeline } from "./pipeline.js";
import { type AnalysisProgress, IDLE_PROGRESS, nextProgress, REQUESTED_PROGRESS } from "./progress.js";
import { LatencyMeter, RateMeter } from "./rate-meter.js";
import { type ActiveTransport, sourceStatus } from "./transport.js";
import type { GraphViewCallbacks } from "./view-config.js";

/** Reports to Python at most this often (each one is a round of trait syncs). */
export const REPORT_EVERY_MS = 500;

export interface ReadoutInputs {
  pipeline(): Pipeline | null;
  transport(): ActiveTransport;
  /** The saved copy while it stands in for live data, else null. */
  shownCopy(): SavedGraph | null;
  /** Paint the exploration controls in the same frame. */
  paintControls(): void;
}

export interface ReadoutOptions {
  /** Only a snapshot start has something to load; replay and live starts are live once open. */
  snapshotStart: boolean;
  logFilter: string[];
  schedule?: FrameScheduler;
  report?: GraphViewCallbacks["report"];
}

export class Readouts {
  private readonly log = new EventLog(200);
  private readonly rate = new RateMeter(5);
  private readonly latency = new LatencyMeter();
  private progress: AnalysisProgress = IDLE_PROGRESS;
  /** Globs of the log box: client-side only, so narrowing the log never stops graph updates. */
  private logFilter: string[];
  private received = 0;
  private connStatus: ConnectionStatus = { state: "idle", attempt: 0 };
  private problem: string | null = null;
  private frame: (() => void) | null = null;
  private readonly ticker: ReturnType<typeof setInterval>;
  private laterTimer: ReturnType<typeof setTimeout> | null = null;
  private lastReport = 0;
  private disposed = false;

  constructor(
    private readonly indicators: Indicators,
    private readonly inputs: ReadoutInputs,
    private readonly options: ReadoutOptions,
  ) {
    this.logFilter = [...options.logFilter];
    // Rates decay while nothing arrives; refresh the numbers once a second.
    this.ticker = setInterval(() => this.request(), 1000);
  }

  // ------------------------------------------------------------------ what is read out

  /** Events reached the view (everything is logged: the log box filters at display time). */
  delivered(events: readonly ChangeEvent[], delivery: Delivery): void {
    const now = Date.now();
    this.received += events.length;
    for (const e of events) {
      if (e.type.startsWith("analysis_")) this.progress = nextProgress(this.progress, e);
      this.log.push(e);
    }
    this.rate.record(events.length, performance.now());
    this.latency.recordLive(events, delivery.history, now);
  }

  resync(reason: string): void {
    this.problem = null;
    // The events that would tell how an analysis went are lost with the position.
    this.progress = IDLE_PROGRESS;
    this.indicators.setStatus(`resync (${reason})`, "resync");
  }

  error(frame: ErrorFrame): void {
    this.problem = `${frame.code}: ${frame.message}`;
    this.request();
  }

  /** Redis is back and the server resumes by itself: drop its "unavailable" error notice. */
  available(): void {
    if (this.problem?.startsWith("unavailable:")) this.problem = null;
    this.request();
  }

  /** What keeps the view from showing its graph (shown in place of the status); null = nothing. */
  setProblem(problem: string | null): void {
    this.problem = problem;
  }

  connection(status: ConnectionStatus): void {
    this.connStatus = status;
  }

  setLogFilter(patterns: string[]): void {
    this.logFilter = patterns;
  }

  /**
   * A re-analysis was asked for: until the run's own events arrive, the last run's "analysis
   * complete" would be a lie. Returns the undo for a request that failed (unless events came).
   */
  analysisRequested(): () => void {
    const before = this.progress;
    this.progress = REQUESTED_PROGRESS;
    this.request();
    return () => {
      if (this.progress === REQUESTED_PROGRESS) this.progress = before;
    };
  }

  // ------------------------------------------------------------------ painting

  /** Repaint in the next frame (once, however often asked). */
  request(): void {
    if (this.disposed || this.frame !== null) return;
    const run = (): void => {
      this.frame = null;
      this.paint();
    };
    if (this.options.schedule) {
      this.frame = this.options.schedule(run);
    } else if (typeof requestAnimationFrame === "function") {
      const id = requestAnimationFrame(run);
      this.frame = () => cancelAnimationFrame(id);
    } else {
      const id = setTimeout(run, 16);
      this.frame = () => clearTimeout(id);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.frame?.();
    clearInterval(this.ticker);
    if (this.laterTimer !== null) clearTimeout(this.laterTimer);
  }

  private paint(): void {
    const pipeline = this.inputs.pipeline();
    if (pipeline === null || this.disposed) return;
    const { store, projection: p } = pipeline;
    const transport = this.inputs.transport();
    const graph = store.state.graph;
    const saved = this.inputs.shownCopy();
    const showingSaved = saved !== null;
    // A collapsed saved copy stands for a bigger graph: show the size of the real one.
    const total = saved?.level === "collapsed" ? saved.total : { nodes: graph.order, edges: graph.size };
    this.indicators.setCounts(total.nodes, total.edges);
    this.inputs.paintControls();
    this.indicators.setRate(this.rate.rate(performance.now()));
    this.indicators.setLatency(this.latency.smoothed);
    this.indicators.setProgress(this.progress);
    this.indicators.setLog(this.log.entries(this.logFilter, 100), this.log.total);
    const s = this.connStatus;
    // Replay and live starts are live once open — unless a resync made them wait for a snapshot.
    const loading = store.loading();
    const loaded = loading === null && (store.loaded || !this.options.snapshotStart);
    const { label, state } = sourceStatus(showingSaved, transport, this.problem, s, loaded, loading);
    const source = showingSaved ? "saved" : store.loaded ? "live" : "none";
    this.indicators.setStatus(label, state, this.problem ?? s.reason ?? "");
    this.indicators.root.setAttribute("data-transport", transport);
    this.indicators.root.setAttribute("data-source", source);
    const report = this.options.report;
    if (report === undefined) return;
    const now = performance.now();
    if (now - this.lastReport < REPORT_EVERY_MS) {
      // Make sure the last change is reported even if nothing else happens.
      this.requestLater();
      return;
    }
    this.lastReport = now;
    const position = store.position();
    report(
      {
        nodes: total.nodes,
        edges: total.edges,
        visible_nodes: p.graph.order,
        visible_edges: p.graph.size,
        events: this.received,
        epoch: position?.epoch ?? null,
        seq: position?.seq ?? null,
      },
      { state, label, reason: this.problem ?? s.reason ?? "", analysis: this.progress.phase, transport, source },
      { mode: p.levelMode, collapsed: p.collapsed, expanded: p.expandedGroups() },
    );
  }

  private requestLater(): void {
    if (this.laterTimer !== null) return;
    this.laterTimer = setTimeout(() => {
      this.laterTimer = null;
      this.request();
    }, REPORT_EVERY_MS);
  }
}
