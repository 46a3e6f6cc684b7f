/**
 * LayoutEngine: keeps a graph's new nodes moving into place without touching the others.
 *
 * After each change it collects the nodes placed provisionally ("free" nodes) and asks the
 * worker to run ForceAtlas2 on them. For a fresh graph (most nodes free) the whole graph is laid
 * out; for an edit, only the free nodes and their neighbours are sent, the neighbours fixed, so
 * the run costs in proportion to the change and existing nodes keep their positions. Positions
 * come back in steps and are handed to the target, which applies them with its next frame.
 *
 * The target is what a view draws (its projection: clusters at a collapsed level, code elements
 * otherwise), so a 100k-element graph shown as 300 clusters lays out 300 nodes.
 */

import type Graph from "graphology";

import { type LayoutReply, type LayoutRequest, NODE_STRIDE, type RunRequest, settingsFor } from "./worker-messages.js";

/** What the engine lays out: a graph with positions and sizes, and where new positions go. */
export interface LayoutTarget {
  readonly graph: Graph<{ x: number; y: number; size: number }>;
  setPositions(positions: ReadonlyMap<string, [number, number]>): void;
}

/** What changed in the target: replaced wholesale, and which nodes want a place. */
export interface LayoutChange {
  replaced: boolean;
  freeNodes: readonly string[];
}

/** The part of a Worker the engine uses (a fake in tests). */
export interface WorkerLike {
  postMessage(message: LayoutRequest, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<LayoutReply>) => void) | null;
  terminate(): void;
}

declare const __LAYOUT_WORKER_SOURCE__: string;

/** Start the inlined worker from a blob URL (the bundle itself is loaded from a blob, so a
 *  worker file next to it cannot be addressed). Returns null where workers are unavailable. */
export function createInlineWorker(): WorkerLike | null {
  if (typeof Worker === "undefined" || typeof Blob === "undefined" || !__LAYOUT_WORKER_SOURCE__) return null;
  try {
    const url = URL.createObjectURL(new Blob([__LAYOUT_WORKER_SOURCE__], { type: "text/javascript" }));
    const worker = new Worker(url, { name: "graphlive-layout" });
    // The worker has fetched its script once constructed; the URL is no longer needed.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return worker as unknown as WorkerLike;
  } catch (err) {
    console.warn("graphlive: layout worker unavailable, nodes keep their initial positions", err);
    return null;
  }
}

/** Run `fn` after the next frame has been produced (two animation frames; a timer without). */
function afterNextFrame(fn: () => void): void {
  if (typeof requestAnimationFrame !== "function") {
    setTimeout(fn, 16);
    return;
  }
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(fn, 0)));
}

export interface LayoutEngineOptions {
  /** Above this share of free nodes the whole graph is laid out. */
  wholeGraphShare?: number;
  reportEveryMs?: number;
  /** Iterations for a run over `order` nodes. */
  iterations?: (order: number, incremental: boolean) => number;
}

function defaultIterations(order: number, incremental: boolean): number {
  if (incremental) return 60;
  return order > 5000 ? 100 : order > 1000 ? 200 : 400;
}

export class LayoutEngine {
  private readonly free = new Set<string>();
  private runId = 0;
  private running: { id: number; keys: string[]; freeMask: Uint8Array } | null = null;
  private readonly wholeGraphShare: number;
  private readonly reportEveryMs: number;
  private readonly iterations: (order: number, incremental: boolean) => number;
  private startTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  /** Runs completed (for tests and status). */
  completedRuns = 0;

  constructor(
    private readonly target: LayoutTarget,
    private readonly worker: WorkerLike,
    options: LayoutEngineOptions = {},
  ) {
    this.wholeGraphShare = options.wholeGraphShare ?? 0.3;
    this.reportEveryMs = options.reportEveryMs ?? 400;
    this.iterations = options.iterations ?? defaultIterations;
    worker.onmessage = (ev) => this.onReply(ev.data);
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** Store observers call it after each batch. */
  afterBatch(result: LayoutChange): void {
    this.afterChange(result);
  }

  /** Projection observers call it after each change. */
  afterChange(result: LayoutChange): void {
    if (result.replaced) {
      // The graph was replaced: nodes placed before are gone or restored; only the new free set
      // matters, and a run over the old graph is stale.
      this.free.clear();
      this.cancel();
    }
    for (const key of result.freeNodes) this.free.add(key);
    if (this.free.size > 0 && this.running === null && this.startTimer === null) {
      // Start once the batch's frame is on screen: packing a big graph for the worker must not
      // delay that frame, and with software WebGL the worker competes with rasterisation for
      // the CPU (measured: a first render 6x slower when FA2 starts in the same frame).
      this.startTimer = setTimeout(() => {
        afterNextFrame(() => {
          this.startTimer = null;
          if (this.running === null && !this.disposed) this.start();
        });
      }, 0);
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.startTimer !== null) clearTimeout(this.startTimer);
    this.startTimer = null;
    this.cancel();
    this.worker.onmessage = null;
    this.worker.terminate();
  }

  private cancel(): void {
    if (this.running === null) return;
    this.worker.postMessage({ type: "cancel", runId: this.running.id });
    this.running = null;
  }

  private start(): void {
    const graph = this.target.graph;
    for (const key of [...this.free]) if (!graph.hasNode(key)) this.free.delete(key);
    if (this.free.size === 0) return;
    const whole = this.free.size >= this.wholeGraphShare * graph.order;
    const keys: string[] = [];
    const index = new Map<string, number>();
    const include = (key: string): void => {
      if (index.has(key)) return;
      index.set(key, keys.length);
      keys.push(key);
    };
    if (whole) {
      graph.forEachNode((key) => include(key));
    } else {
      for (const key of this.free) {
        include(key);
        graph.forEachNeighbor(key, (n) => include(n));
      }
    }
    const nodes = new Float32Array(keys.length * NODE_STRIDE);
    const freeMask = new Uint8Array(keys.length);
    keys.forEach((key, i) => {
      const a = graph.getNodeAttributes(key);
      const isFree = this.free.has(key);
      freeMask[i] = isFree ? 1 : 0;
      nodes[i * NODE_STRIDE] = a.x;
      nodes[i * NODE_STRIDE + 1] = a.y;
      nodes[i * NODE_STRIDE + 2] = a.size;
      nodes[i * NODE_STRIDE + 3] = isFree ? 0 : 1;
    });
    const pairs: number[] = [];
    const addPair = (s: string, t: string): void => {
      const si = index.get(s);
      const ti = index.get(t);
      if (si !== undefined && ti !== undefined && si !== ti) pairs.push(si, ti);
    };
    if (whole) {
      graph.forEachEdge((_e, _a, s, t) => addPair(s, t));
    } else {
      // Only edges touching a free node matter: between two fixed nodes nothing can move.
      const seen = new Set<string>();
      for (const key of this.free) {
        graph.forEachEdge(key, (e, _a, s, t) => {
          if (seen.has(e)) return;
          seen.add(e);
          addPair(s, t);
        });
      }
    }
    const edges = Uint32Array.from(pairs);
    this.runId += 1;
    this.running = { id: this.runId, keys, freeMask };
    // These nodes are now owned by this run; nodes arriving meanwhile start the next one.
    this.free.clear();
    const request: RunRequest = {
      type: "run",
      runId: this.runId,
      nodes,
      edges,
      iterations: this.iterations(keys.length, !whole),
      reportEveryMs: this.reportEveryMs,
      settings: settingsFor(keys.length, !whole),
    };
    this.worker.postMessage(request, [nodes.buffer, edges.buffer]);
  }

  private onReply(reply: LayoutReply): void {
    const run = this.running;
    if (run === null || reply.runId !== run.id) return;
    if (reply.type === "error") {
      console.warn(`graphlive: layout failed: ${reply.message}`);
      this.running = null;
      return;
    }
    const positions = new Map<string, [number, number]>();
    run.keys.forEach((key, i) => {
      if (run.freeMask[i] !== 1) return;
      const x = reply.xy[2 * i] as number;
      const y = reply.xy[2 * i + 1] as number;
      if (Number.isFinite(x) && Number.isFinite(y)) positions.set(key, [x, y]);
    });
    this.target.setPositions(positions);
    if (reply.done) {
      this.running = null;
      this.completedRuns += 1;
      if (this.free.size > 0) this.start();
    }
  }
}
