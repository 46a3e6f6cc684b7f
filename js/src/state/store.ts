/**
 * GraphStore: one graph's model shared by every view of it on the page.
 *
 * It listens to the graph's channel (one subscription however many views), queues what arrives
 * in a {@link FrameBatcher}, and once per frame applies it to its {@link GraphState}. Observers
 * (renderers, layout, indicators) hear about each frame's batch before and after it is applied:
 * a renderer detaches itself from the model when {@link BatchPlan.detach} says the batch is big
 * or removes elements, so the model changes without a re-index per element, and re-attaches
 * after (one re-index per frame).
 */

import type { ChannelListener, Delivery, SnapshotProgress, StartPoint } from "../client/channel.js";
import type { EventsConnection, Subscription } from "../client/connection.js";
import type { ChangeEvent, ErrorFrame, EventsFrame, Position, SnapshotFrame } from "../client/protocol.js";
import { unionPatterns } from "../client/wildcard.js";
import { FrameBatcher, type FrameScheduler, type FrameWork } from "./frame-batcher.js";
import { type BatchResult, GraphState, type GraphStateOptions } from "./graph-state.js";

/** What a frame's batch is about to do, computed before it is applied. */
export interface BatchPlan {
  /** Renderers should detach from the model while the batch is applied. */
  detach: boolean;
  /** node_added + edge_added events. */
  additions: number;
  /** node_removed + edge_removed events. */
  removals: number;
  /** Snapshot, reset or resync: the graph is replaced. */
  replaces: boolean;
  positions: number;
  events: number;
}

/** Above this many additions or moved nodes a re-index after the batch is cheaper than many
 *  incremental updates (measured with benchmarks/render: per-node partial refreshes cost ~µs
 *  each, a full re-index of 10k/50k ~tens of ms). */
export const DETACH_ADDITIONS = 2_000;
export const DETACH_POSITIONS = 500;

export function planBatch(work: FrameWork): BatchPlan {
  let additions = 0;
  let removals = 0;
  let replaces = work.clear || work.snapshot !== null;
  for (const e of work.events) {
    switch (e.type) {
      case "node_added":
      case "edge_added":
        additions += 1;
        break;
      case "node_removed":
      case "edge_removed":
        removals += 1;
        break;
      case "graph_reset":
        replaces = true;
        break;
      default:
    }
  }
  const positions = work.positions.size;
  return {
    // Any removal re-indexes an attached sigma completely, once per element: always detach.
    detach: replaces || removals > 0 || additions > DETACH_ADDITIONS || positions > DETACH_POSITIONS,
    additions,
    removals,
    replaces,
    positions,
    events: work.events.length,
  };
}

export interface StoreObserver {
  beforeBatch?(plan: BatchPlan): void;
  afterBatch?(result: BatchResult, plan: BatchPlan): void;
  /**
   * Events as they arrive (before frame batching): for logs, rates and latency. The first
   * `delivery.history` of them are history (replay, catch-up), the rest live.
   */
  delivered?(events: readonly ChangeEvent[], frame: EventsFrame, delivery: Delivery): void;
  snapshotDelivered?(frame: SnapshotFrame): void;
  /** A part of a chunked snapshot arrived (null: the transfer was abandoned). */
  snapshotProgress?(progress: SnapshotProgress | null): void;
  resync?(reason: string): void;
  error?(frame: ErrorFrame): void;
  /** The server reaches Redis again (after an `unavailable` error, or a new subscription). */
  available?(): void;
}

export interface GraphStoreOptions {
  schedule?: FrameScheduler;
  maxEventsPerFrame?: number;
  state?: GraphStateOptions;
}

export class GraphStore implements ChannelListener {
  readonly state: GraphState;
  readonly batcher: FrameBatcher;
  private readonly observers = new Set<StoreObserver>();
  private readonly viewFilters = new Map<object, readonly string[]>();
  private subscription: Subscription | null = null;
  private connection: EventsConnection | null = null;
  private lastFilter = "";
  /** Set once the first snapshot or events frame has been applied. */
  loaded = false;

  constructor(
    readonly graph: string,
    options: GraphStoreOptions = {},
  ) {
    this.state = new GraphState(options.state);
    this.batcher = new FrameBatcher((work) => this.applyFrame(work), options.schedule, options.maxEventsPerFrame);
  }

  /** Start listening to the graph on `connection` (once). */
  bind(connection: EventsConnection, start: StartPoint): void {
    if (this.subscription !== null) return;
    this.connection = connection;
    this.subscription = connection.subscribe(this.graph, this, start);
    this.pushFilters();
  }

  addObserver(observer: StoreObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /**
   * Record the event-type globs one view wants; the server filter becomes the union over views
   * (each view still filters its own log client-side).
   */
  setViewFilter(view: object, types: readonly string[]): void {
    this.viewFilters.set(view, [...types]);
    this.pushFilters();
  }

  removeViewFilter(view: object): void {
    this.viewFilters.delete(view);
    this.pushFilters();
  }

  /** Position of the last event delivered to this store (applied at the next frame at most). */
  position(): Position | null {
    return this.subscription?.channel.getPosition() ?? null;
  }

  /**
   * Null when the store holds (or is about to apply) what its subscription asked for; otherwise
   * it is waiting for a snapshot — after a resync, or while a chunked one is being received —
   * with the transfer's progress so far (`received` 0 before its first part).
   */
  loading(): SnapshotProgress | null {
    const channel = this.subscription?.channel;
    if (channel === undefined || !channel.loadingSnapshot) return null;
    return channel.snapshotProgress() ?? { received: 0, parts: null, elements: 0 };
  }

  /** Positions computed by the layout, applied with the next frame. */
  setPositions(positions: ReadonlyMap<string, [number, number]>): void {
    this.batcher.positions(positions);
  }

  dispose(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.batcher.dispose();
    this.observers.clear();
  }

  // ------------------------------------------------------------------ ChannelListener

  snapshot(frame: SnapshotFrame): void {
    for (const o of [...this.observers]) o.snapshotDelivered?.(frame);
    this.batcher.snapshot(frame);
  }

  snapshotProgress(progress: SnapshotProgress | null): void {
    for (const o of [...this.observers]) o.snapshotProgress?.(progress);
  }

  events(events: ChangeEvent[], frame: EventsFrame, delivery: Delivery = { history: 0 }): void {
    for (const o of [...this.observers]) o.delivered?.(events, frame, delivery);
    this.batcher.events(events);
  }

  resync(reason: string): void {
    for (const o of [...this.observers]) o.resync?.(reason);
    this.batcher.clear();
  }

  error(frame: ErrorFrame): void {
    for (const o of [...this.observers]) o.error?.(frame);
  }

  available(): void {
    for (const o of [...this.observers]) o.available?.();
  }

  // ------------------------------------------------------------------ internals

  private pushFilters(): void {
    if (this.connection === null || this.subscription === null) return;
    const types = unionPatterns(this.viewFilters.size ? this.viewFilters.values() : [undefined]);
    const key = types.join("\n");
    if (key === this.lastFilter) return;
    this.lastFilter = key;
    this.connection.setFilters(this.graph, { types });
  }

  private applyFrame(work: FrameWork): void {
    const plan = planBatch(work);
    const observers = [...this.observers];
    for (const o of observers) o.beforeBatch?.(plan);
    const result = this.state.apply({ clear: work.clear, snapshot: work.snapshot, events: work.events });
    this.applyPositions(work.positions);
    this.loaded = true;
    for (const o of observers) o.afterBatch?.(result, plan);
  }

  private applyPositions(positions: ReadonlyMap<string, [number, number]>): void {
    const graph = this.state.graph;
    for (const [key, [x, y]] of positions) {
      if (graph.hasNode(key)) graph.mergeNodeAttributes(key, { x, y });
    }
  }
}
