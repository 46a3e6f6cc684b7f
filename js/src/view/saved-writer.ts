/**
 * Keeping a view's saved copy (the bounded copy of the graph stored with the notebook) up to
 * date: rewritten once the graph has been quiet for a while, at a bounded rate, and only when
 * it actually changed.
 */

import { buildSaved, type SavedGraph, savedFingerprint } from "../explore/saved.js";
import type { ViewGraph } from "../explore/view-graph.js";
import type { GraphStore } from "../state/store.js";

/** The saved copy is rewritten this long after the graph stops changing... */
const SAVE_QUIET_MS = 1_500;
/** ...and at most this often. */
const SAVE_EVERY_MS = 5_000;

/** What a copy is built from: the store's model and the view's projection of it. */
export interface SaveSource {
  store: GraphStore;
  view: ViewGraph;
}

export class SavedCopyWriter {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSave = 0;
  private lastPrint = "";

  /**
   * @param graph  the graph's name, recorded in the copy.
   * @param source read when the timer fires; null = nothing may be saved now (no pipeline, or
   *               the view is showing a saved copy, which must not be written back as live data).
   * @param emit   receives each new copy.
   */
  constructor(
    private readonly graph: string,
    private readonly source: () => SaveSource | null,
    private readonly emit: (copy: SavedGraph) => void,
  ) {}

  /**
   * The graph changed: (re)start the quiet-period timer. A burst of changes yields one write,
   * at least {@link SAVE_QUIET_MS} after the last change and {@link SAVE_EVERY_MS} after the
   * previous write.
   */
  schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const wait = Math.max(SAVE_QUIET_MS, this.lastSave + SAVE_EVERY_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.write();
    }, wait);
  }

  /** Drop a pending write. */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Emit a copy if the model is loaded and its fingerprint (stream position, model and drawn
   * sizes, layout steps, expanded groups) differs from the last copy emitted.
   */
  private write(): void {
    const src = this.source();
    if (src === null || !src.store.loaded) return;
    const { store, view } = src;
    const position = store.position();
    const print = `${savedFingerprint(position, store.state.graph, view.graph)}:${view.layoutSteps}:${view.expandedGroups().join(",")}`;
    if (print === this.lastPrint) return;
    this.lastPrint = print;
    this.lastSave = Date.now();
    this.emit(buildSaved(this.graph, position, store.state.graph, view.graph));
  }
}
