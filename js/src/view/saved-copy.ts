/**
 * A view's saved copy (the bounded copy of the graph kept with the notebook, `saved_graph`):
 * restoring it into the store when no live data comes, and keeping it rewritten from live data.
 *
 * Contract: owns whether the copy is on screen, the stand-in timer and the rewriting (through
 * ./saved-writer.ts). It reaches the current store and projection only through `target`, writes
 * the copy into the store as a snapshot, and tells the view through `changed` that the picture
 * is now the copy. The view must call {@link SavedCopy.live} when live data arrives. Nothing here
 * touches the DOM or the network.
 */

import type { SavedGraph } from "../explore/saved.js";
import type { ViewGraph } from "../explore/view-graph.js";
import type { GraphStore } from "../state/store.js";
import { SavedCopyWriter } from "./saved-writer.js";

/** Without live data after this long, a saved copy is shown instead. */
export const STAND_IN_AFTER_MS = 2_000;

/** What the copy is restored into and written from; `view` is null before a pipeline exists. */
export interface SavedCopyTarget {
  store: GraphStore;
  view: ViewGraph | null;
}

export interface SavedCopyOptions {
  graph: string;
  /** The copy the notebook holds, if any. */
  copy: SavedGraph | null | undefined;
  /** The stream starts from a snapshot (not a replay or live-only start). */
  snapshotStart: boolean;
  target(): SavedCopyTarget | null;
  /** The copy was put on screen. */
  changed(): void;
  /** Receives each rewritten copy; without it nothing is written. */
  emit?: (copy: SavedGraph) => void;
}

export class SavedCopy {
  private showingCopy = false;
  /** Live data may be written back: off for a static view, and for good once disposed. */
  private writable = false;
  private disposed = false;
  private standInTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly writer: SavedCopyWriter;

  constructor(private readonly options: SavedCopyOptions) {
    this.writer = new SavedCopyWriter(
      options.graph,
      () => {
        const t = options.target();
        // Never write the copy on screen back as if it were live data.
        return t !== null && t.view !== null && !this.showingCopy ? { store: t.store, view: t.view } : null;
      },
      (copy) => options.emit?.(copy),
    );
  }

  /** The copy is on screen in place of live data. */
  get showing(): boolean {
    return this.showingCopy;
  }

  /** The copy while it is on screen, else null. */
  get shown(): SavedGraph | null {
    return this.showingCopy ? (this.options.copy ?? null) : null;
  }

  get exists(): boolean {
    return !!this.options.copy;
  }

  /** A new source starts: nothing shown yet; `writable` = it delivers live data that may be saved. */
  reset(writable: boolean): void {
    this.showingCopy = false;
    this.writable = writable && !this.disposed;
  }

  /** Put the copy into the store (positions first, so the layout starts from the saved picture). */
  show(): void {
    const copy = this.options.copy;
    const t = this.options.target();
    if (!copy || t === null) return;
    t.view?.seedPositions(copy.positions);
    t.store.snapshot({ op: "snapshot", graph: this.options.graph, epoch: copy.epoch ?? "saved", seq: copy.seq ?? 0, nodes: copy.nodes, edges: copy.edges });
    // After the snapshot: its delivery marks the data live, which this copy is not.
    this.showingCopy = true;
    this.options.changed();
  }

  /**
   * Show the copy if nothing live has arrived after {@link STAND_IN_AFTER_MS}. Only for a
   * snapshot start: its snapshot replaces the whole graph when live data comes, whereas a replay
   * or a live-only start would apply its events on top of the copy.
   */
  standInLater(): void {
    if (!this.options.copy || !this.options.snapshotStart) return;
    this.standInTimer = setTimeout(() => this.standIn(), STAND_IN_AFTER_MS);
  }

  stopStandIn(): void {
    if (this.standInTimer !== null) clearTimeout(this.standInTimer);
    this.standInTimer = null;
  }

  /** Live data arrived: what is on screen is no longer the copy. */
  live(): void {
    this.showingCopy = false;
  }

  /** The drawn graph or level changed: rewrite the copy once things are quiet (./saved-writer.ts). */
  scheduleWrite(): void {
    if (this.options.emit === undefined || !this.writable || this.showingCopy || this.disposed) return;
    this.writer.schedule();
  }

  dispose(): void {
    this.disposed = true;
    this.writable = false;
    this.stopStandIn();
    this.writer.cancel();
  }

  private standIn(): void {
    this.standInTimer = null;
    const t = this.options.target();
    if (t === null || t.store.loaded || !this.options.copy) return;
    this.show();
  }
}
