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
 * This class only composes the parts and routes events between them:
 * - ./transport.ts picks the transport, ./data-source.ts opens the source for it;
 * - ./pipeline.ts draws one store (projection, renderer, layout worker);
 * - ./exploration.ts holds the exploration state and its toolbar and details panel;
 * - ./readouts.ts paints the indicators (counts, rate, status, log) and reports to Python;
 * - ./saved-copy.ts restores the saved copy and keeps it rewritten;
 * - ./server-calls.ts makes the REST calls and source links;
 * - ./view-config.ts holds the types a host configures it with.
 * It owns what spans them: the current transport, source and pipeline, the subscribed event
 * types, and the switches between sources (start, fall back, tear down).
 *
 * Independent of anywidget (widget.ts adapts a model to it), so the benchmark page and tests can
 * drive it directly; the environment (socket constructor, fetch, frame scheduler, worker
 * factory, clock, comm) can be replaced through {@link GraphViewEnvironment}.
 */

import type { ServerInfo } from "../client/server.js";
import type { ViewGraph } from "../explore/view-graph.js";
import type { GraphStore, StoreObserver } from "../state/store.js";
import { openSource, type Source } from "./data-source.js";
import type { DetailsPanel } from "./details.js";
import { download } from "./dom.js";
import type { ExploreBar } from "./explore-bar.js";
import { Exploration } from "./exploration.js";
import { Indicators } from "./indicators.js";
import { Pipeline } from "./pipeline.js";
import { Readouts } from "./readouts.js";
import type { GraphRenderer } from "./renderer.js";
import { SavedCopy } from "./saved-copy.js";
import { ServerCalls } from "./server-calls.js";
import { type ActiveTransport, fallbackTransport, initialTransport, startPoint } from "./transport.js";
import type { ExploreState, GraphViewCallbacks, GraphViewConfig, GraphViewEnvironment } from "./view-config.js";

export { EVENTS_PATH, type Transport } from "./transport.js";
export {
  DEFAULT_EXPLORE,
  type ExploreState,
  type GraphViewCallbacks,
  type GraphViewConfig,
  type GraphViewEnvironment,
  type LevelState,
  type ViewCounts,
  type ViewStatus,
} from "./view-config.js";

export class GraphView {
  readonly indicators: Indicators;
  readonly server: ServerInfo | null;
  readonly explore: ExploreBar;
  readonly details: DetailsPanel;
  private readonly exploration: Exploration;
  private readonly readouts: Readouts;
  private readonly saved: SavedCopy;
  private readonly calls: ServerCalls;
  private transport: ActiveTransport = "static";
  private source: Source | null = null;
  private pipeline: Pipeline | null = null;
  /** Unsubscribers of the current source (its store and connection). */
  private readonly removers: Array<() => void> = [];
  /** Event types subscribed to (server-side filter). */
  private filters: string[];
  private destroyed = false;

  constructor(
    host: HTMLElement,
    private readonly config: GraphViewConfig,
    private readonly callbacks: GraphViewCallbacks = {},
    private readonly env: GraphViewEnvironment = {},
  ) {
    const doc = env.document ?? host.ownerDocument;
    const snapshotStart = startPoint(config).kind === "snapshot";
    this.filters = [...(config.filters ?? [])];
    this.indicators = new Indicators(
      doc,
      config.graph,
      config.height ?? 520,
      {
        onReanalyze: () => void this.reanalyze(),
        onLogFilter: (patterns) => {
          this.readouts.setLogFilter(patterns);
          this.readouts.request();
        },
      },
      this.filters,
    );
    this.exploration = new Exploration(doc, this.indicators, config.explore, {
      pipeline: () => this.pipeline,
      showingSaved: () => this.saved.showing,
      explored: (change) => this.callbacks.explored?.(change),
      save: () => this.saved.scheduleWrite(),
      repaint: () => this.readouts.request(),
      sourceLink: (file, line) => this.calls.sourceLink(file, line),
      exportPng: () => {
        const url = this.toPNG();
        if (url) download(doc, this.indicators.root, url, `${config.graph}.png`);
      },
    });
    this.explore = this.exploration.bar;
    this.details = this.exploration.details;
    // Tests and scripts reach the view object through its root element.
    (this.indicators.root as HTMLElement & { graphliveView?: GraphView }).graphliveView = this;
    host.append(this.indicators.root);

    this.calls = new ServerCalls(config, doc, env);
    this.server = this.calls.server;
    this.saved = new SavedCopy({
      graph: config.graph,
      copy: config.saved,
      snapshotStart,
      target: () => (this.source === null ? null : { store: this.source.store, view: this.pipeline?.projection ?? null }),
      changed: () => this.readouts.request(),
      emit: callbacks.saved === undefined ? undefined : (copy) => this.callbacks.saved?.(copy),
    });
    this.readouts = new Readouts(
      this.indicators,
      {
        pipeline: () => this.pipeline,
        transport: () => this.transport,
        shownCopy: () => this.saved.shown,
        paintControls: () => this.exploration.paint(),
      },
      {
        snapshotStart,
        logFilter: this.filters,
        schedule: env.schedule,
        report: callbacks.report === undefined ? undefined : (counts, status, level) => this.callbacks.report?.(counts, status, level),
      },
    );
    this.start(initialTransport(config.transport ?? "auto", this.server !== null, (env.comm ?? null) !== null));
  }

  /** The shared store of this view's graph (null before a source exists). */
  get store(): GraphStore | null {
    return this.source?.store ?? null;
  }

  get graphRenderer(): GraphRenderer | null {
    return this.pipeline?.renderer ?? null;
  }

  get view(): ViewGraph | null {
    return this.pipeline?.projection ?? null;
  }

  /** The layout worker is still moving nodes (benchmarks wait for a quiet page). */
  get layoutBusy(): boolean {
    return this.pipeline?.layoutBusy ?? false;
  }

  get activeTransport(): ActiveTransport {
    return this.transport;
  }

  get exploreState(): ExploreState {
    return this.exploration.snapshot();
  }

  /** Change the event types this view subscribes to (and resets the log box to them). */
  setFilters(types: string[]): void {
    this.filters = [...types];
    this.readouts.setLogFilter([...types]);
    this.indicators.setLogFilterText(types);
    this.source?.store.setViewFilter(this, this.filters);
    this.readouts.request();
  }

  /** Apply exploration state set from outside (Python traits); reports nothing back. */
  applyExplore(change: Partial<ExploreState>): void {
    this.exploration.apply(change, false);
  }

  /** Select `ids` (most recent last); `report` = it came from the user. */
  select(ids: readonly string[], report = false): void {
    this.exploration.select(ids, report);
  }

  /** Select `id`, expand what hides it, and centre the camera on it. */
  reveal(id: string): void {
    this.exploration.reveal(id);
  }

  expand(target: string): void {
    this.exploration.expand(target);
  }

  collapse(group: string): void {
    this.exploration.collapse(group);
  }

  autoLevel(): void {
    this.exploration.autoLevel();
  }

  fit(): void {
    this.pipeline?.renderer.fit();
  }

  /** The current picture as a PNG data URL ("" before anything is drawn). */
  toPNG(): string {
    return this.pipeline?.renderer.toPNG() ?? "";
  }

  /**
   * Ask the server to re-analyse the graph (see `requestReanalysis` in ../client/graph-api.ts
   * for the path sent); the run's events arrive over the WebSocket. Only with the WebSocket
   * transport (else returns null at once). Returns the HTTP status (202 = started), or null when
   * no response came.
   */
  async reanalyze(): Promise<number | null> {
    if (!this.calls.canRequest || this.transport !== "websocket") return null;
    this.indicators.setReanalyzeState(true);
    const undo = this.readouts.analysisRequested();
    const result = await this.calls.reanalyze();
    if (result.error === null) {
      this.indicators.setReanalyzeState(false);
    } else {
      undo();
      this.indicators.setReanalyzeState(false, result.error);
      this.readouts.request();
    }
    return result.status;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.readouts.dispose();
    this.saved.dispose();
    this.teardown();
    this.indicators.root.remove();
  }

  // ------------------------------------------------------------------ sources

  private start(transport: ActiveTransport): void {
    this.teardown();
    this.transport = transport;
    this.readouts.setProblem(null);
    this.saved.reset(transport !== "static");
    const env = this.env;
    const source = openSource(transport, {
      graph: this.config.graph,
      start: startPoint(this.config),
      server: this.server,
      comm: env.comm ?? null,
      createSocket: env.createSocket,
      clock: env.clock,
      schedule: env.schedule,
      probeAuth: () => this.calls.probeAuth(),
      stopWhenUnreachable: (this.config.transport ?? "auto") === "auto",
    });
    this.source = source;
    const lease = source.lease;
    if (lease === null) {
      this.readouts.connection({ state: "closed", attempt: 0 });
      this.attach(source.store);
      if (this.saved.exists) this.saved.show();
      else this.readouts.setProblem("no live source and no saved copy of the graph");
    } else {
      source.store.setViewFilter(this, this.filters);
      this.attach(source.store);
      this.removers.push(
        lease.connection.onStatus((s) => {
          this.readouts.connection(s);
          if (s.state === "failed" && s.unreachable) this.fallBack();
          this.readouts.request();
        }),
      );
      this.saved.standInLater();
    }
    const reanalyzable = transport === "websocket";
    this.indicators.setReanalyzeState(!reanalyzable, reanalyzable ? "" : "re-analysis needs the graphlive server extension");
    this.readouts.request();
  }

  /** The server has no graphlive endpoint: use the kernel comm, else the saved copy. */
  private fallBack(): void {
    if (this.transport !== "websocket") return;
    const next = fallbackTransport(!!this.env.comm);
    // Out of the status callback: tearing the connection down inside it would re-enter it.
    setTimeout(() => {
      if (!this.destroyed && this.transport === "websocket") this.start(next);
    }, 0);
  }

  /** Draw `store` with a new pipeline, observing the store for it. */
  private attach(store: GraphStore): void {
    const state = this.exploration.current;
    this.pipeline = new Pipeline(store, this.indicators.canvas, {
      collapseAbove: this.config.collapseAbove,
      maxVisible: this.config.maxVisible,
      schedule: this.env.schedule,
      createWorker: this.env.createWorker,
      colorBy: state.colorBy,
      sizeBy: state.sizeBy,
      expanded: state.expanded,
      onClickNode: (key, additive) => this.exploration.clickNode(key, additive),
      onClickStage: () => this.exploration.select([], true),
      drawn: () => {
        this.exploration.drawn();
        this.saved.scheduleWrite();
        this.readouts.request();
      },
    });
    this.removers.push(store.addObserver(this.storeObserver()));
    this.exploration.attached();
  }

  private teardown(): void {
    for (const remove of this.removers.splice(0)) remove();
    this.saved.stopStandIn();
    this.source?.store.removeViewFilter(this);
    this.pipeline?.dispose();
    this.pipeline = null;
    this.source?.release();
    this.source = null;
  }

  private storeObserver(): StoreObserver {
    const readouts = this.readouts;
    return {
      delivered: (events, _frame, delivery) => {
        readouts.delivered(events, delivery);
        this.saved.live();
        readouts.request();
      },
      resync: (reason) => readouts.resync(reason),
      error: (frame) => readouts.error(frame),
      available: () => readouts.available(),
      snapshotProgress: () => readouts.request(),
      snapshotDelivered: () => {
        readouts.setProblem(null);
        this.saved.live();
      },
      // Drawing the model itself, the renderer detaches around big batches of the store.
      beforeBatch: (plan) => this.pipeline?.projection.beforeBatch(plan.detach),
      afterBatch: (result) => this.exploration.modelChanged(result),
    };
  }
}
