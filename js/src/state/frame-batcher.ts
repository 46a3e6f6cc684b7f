/**
 * FrameBatcher: collects what arrives between two animation frames and hands it over as one
 * unit of work, so the renderer re-indexes at most once per frame however many events came in
 * (docs/architecture.md, "Drawing on a machine without a GPU": per-element updates of an attached sigma re-index everything per removal).
 *
 * A snapshot supersedes everything queued before it; a resync (`clear`) drops queued events.
 * At most `maxEventsPerFrame` events go into one frame; the rest wait for the next, so a burst
 * never freezes the page.
 */

import type { ChangeEvent } from "../client/protocol.js";
import type { SnapshotData } from "./graph-state.js";

export interface FrameWork {
  /** Drop the graph first (a resync without its snapshot yet). */
  clear: boolean;
  snapshot: SnapshotData | null;
  events: ChangeEvent[];
  /** Layout results: new x/y of nodes, applied after the events. */
  positions: Map<string, [number, number]>;
}

/** Requests `callback` at the next frame; returns a function that cancels the request. */
export type FrameScheduler = (callback: () => void) => () => void;

/**
 * requestAnimationFrame, with a timer as a fallback: background tabs stop animation frames, and
 * events must still be absorbed there (the timer fires at most once a second in such tabs).
 */
export const animationFrameScheduler: FrameScheduler = (callback) => {
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    cancel();
    callback();
  };
  const raf = typeof requestAnimationFrame === "function" ? requestAnimationFrame(run) : null;
  const timer = setTimeout(run, 250);
  const cancel = (): void => {
    if (raf !== null) cancelAnimationFrame(raf);
    clearTimeout(timer);
  };
  return () => {
    done = true;
    cancel();
  };
};

function emptyWork(): FrameWork {
  return { clear: false, snapshot: null, events: [], positions: new Map() };
}

export class FrameBatcher {
  private pending: FrameWork = emptyWork();
  private cancelFrame: (() => void) | null = null;
  private disposed = false;

  constructor(
    private readonly flush: (work: FrameWork) => void,
    private readonly schedule: FrameScheduler = animationFrameScheduler,
    private readonly maxEventsPerFrame = 50_000,
  ) {}

  /** Queued events not applied yet. */
  get backlog(): number {
    return this.pending.events.length;
  }

  snapshot(snapshot: SnapshotData): void {
    this.pending = { clear: false, snapshot, events: [], positions: new Map() };
    this.request();
  }

  events(events: readonly ChangeEvent[]): void {
    for (const e of events) this.pending.events.push(e);
    this.request();
  }

  clear(): void {
    this.pending = { clear: true, snapshot: null, events: [], positions: new Map() };
    this.request();
  }

  positions(positions: ReadonlyMap<string, [number, number]>): void {
    for (const [key, xy] of positions) this.pending.positions.set(key, xy);
    this.request();
  }

  /** Apply everything queued now (tests, benchmarks, and before tearing a view down). */
  flushNow(): void {
    this.cancelFrame?.();
    this.cancelFrame = null;
    while (this.hasWork()) this.runFrame();
  }

  dispose(): void {
    this.disposed = true;
    this.cancelFrame?.();
    this.cancelFrame = null;
    this.pending = emptyWork();
  }

  private hasWork(): boolean {
    const p = this.pending;
    return p.clear || p.snapshot !== null || p.events.length > 0 || p.positions.size > 0;
  }

  private request(): void {
    if (this.disposed || this.cancelFrame !== null) return;
    this.cancelFrame = this.schedule(() => {
      this.cancelFrame = null;
      this.runFrame();
      if (this.hasWork()) this.request();
    });
  }

  private runFrame(): void {
    let work = this.pending;
    if (work.events.length > this.maxEventsPerFrame) {
      const rest = work.events.slice(this.maxEventsPerFrame);
      work = { ...work, events: work.events.slice(0, this.maxEventsPerFrame), positions: new Map() };
      this.pending = { clear: false, snapshot: null, events: rest, positions: this.pending.positions };
    } else {
      this.pending = emptyWork();
    }
    this.flush(work);
  }
}
