/**
 * ViewGraph: the graph one view draws — the model itself, or a {@link Projection} of it.
 *
 * A view that shows the whole graph as it is (no filters, no focus, nothing collapsed, the
 * default encodings) draws the store's model directly: no per-view copy of the graph, no
 * per-event work beyond placing new nodes, and the renderer detaches around the store's
 * batches as it did before exploration existed (docs/architecture.md, "Drawing on a machine without a GPU"). A projection is built only when
 * exploration is in effect — filters, an ego or path focus, collapsed packages (automatic for
 * scopes above `collapseAbove`, or the user's), colour/size by language, module, complexity,
 * degree or lines — and is dropped again when the view returns to the plain picture.
 *
 * Switching costs one rebuild and one re-index of the renderer: the change is announced to the
 * observers as a replacement (`beforeChange(true)` … `afterChange({ replaced: true })`), so the
 * renderer re-attaches to whichever graph {@link ViewGraph.graph} returns afterwards. Positions
 * carry over: a projection starts from the model's positions of the elements it draws, and
 * elements the model has never placed take the projection's positions when the view goes back.
 *
 * Drawing the model, the view also owns what the projection did for it: giving new nodes a
 * provisional place (the store's model does not place nodes, since collapsed views never draw
 * them) and sending layout positions to the store (`modelPositions`), so every view drawing the
 * model sees them in one batch.
 */

import type Graph from "graphology";

import type { BatchResult, CodeGraphModel, PlacedNodeAttributes } from "../state/graph-state.js";
import { placeNewNodes } from "../state/placement.js";
import { dominantLanguage, emptyAggregate, tally } from "./group-aggregate.js";
import { groupChain, groupKind } from "./grouping.js";
import type { ClusterStats, ColorMode, SizeMode } from "./palette.js";
import { COLLAPSE_ABOVE } from "./level.js";
import { type DisplayChange, type LevelMode, Projection, type ProjectionObserver, type ProjectionOptions } from "./projection.js";
import { type FocusSet, NO_FILTER, sameFilter, type ViewFilter } from "./scope.js";

/** Node attributes the renderer and the layout read, common to the model and a projection. */
export interface DrawnNodeAttributes extends PlacedNodeAttributes {
  /** Group key of a collapsed package/module (projections only). */
  group?: string | null;
  /** Elements it stands for (projections only; 1 when absent). */
  count?: number;
  /** Language of the element, or most of a cluster's members (projections only). */
  language?: string;
}

export interface DrawnEdgeAttributes {
  size: number;
  color: string;
  kind: string;
  /** Model edges bundled into it (projections only; 1 when absent). */
  count?: number;
}

export type DrawnGraph = Graph<DrawnNodeAttributes, DrawnEdgeAttributes>;

export interface ViewGraphOptions extends Omit<ProjectionOptions, "expanded"> {
  /**
   * Where layout positions of model nodes go while the model is drawn (the store: applied with
   * its next batch). Without it they are written to the model directly.
   */
  modelPositions?: (positions: ReadonlyMap<string, [number, number]>) => void;
}

type GroupStats = ClusterStats & { children: number; parent: string | null };

export class ViewGraph {
  readonly collapseAbove: number;
  private projection: Projection | null = null;
  private removeForward: (() => void) | null = null;
  private readonly observers = new Set<ProjectionObserver>();
  private filter: ViewFilter = NO_FILTER;
  private focus: FocusSet | null = null;
  private colorMode: ColorMode = "kind";
  private sizeMode: SizeMode = "kind";
  /** Level mode of the whole graph while the model is drawn (a projection keeps its own). */
  private mode: LevelMode = "auto";
  /** Positions for keys to take when they appear (a saved copy's), consumed on use. */
  private readonly seeds = new Map<string, [number, number]>();
  /** Whether the model has been announced to the observers since the last projection. */
  private direct = false;
  private pastRebuilds = 0;
  private pastSteps = 0;
  private directBuilds = 0;
  private directSteps = 0;
  /** A change announced and not finished yet: whether it detaches (null: none open). */
  private open: boolean | null = null;

  constructor(
    readonly model: CodeGraphModel,
    private readonly options: ViewGraphOptions = {},
  ) {
    this.collapseAbove = options.collapseAbove ?? COLLAPSE_ABOVE;
  }

  // ------------------------------------------------------------------ reading

  /** What the renderer draws now: the model, or the projection's display graph. */
  get graph(): DrawnGraph {
    return (this.projection?.graph ?? this.model) as unknown as DrawnGraph;
  }

  /** A projection is in effect (false: the model itself is drawn). */
  get projected(): boolean {
    return this.projection !== null;
  }

  /** Full rebuilds so far: of projections, and switches back to the model. */
  get rebuilds(): number {
    return this.pastRebuilds + this.directBuilds + (this.projection?.rebuilds ?? 0);
  }

  /** Layout position batches applied (a saved copy is stale when this moves). */
  get layoutSteps(): number {
    return this.pastSteps + this.directSteps + (this.projection?.layoutSteps ?? 0);
  }

  get scopeSize(): number {
    return this.projection?.scopeSize ?? this.model.order;
  }

  get levelMode(): LevelMode {
    return this.projection?.levelMode ?? this.mode;
  }

  get collapsed(): boolean {
    return this.projection?.collapsed ?? false;
  }

  expandedGroups(): string[] {
    return this.projection?.expandedGroups() ?? ["*"];
  }

  displayKeyOf(id: string): string | null {
    if (this.projection !== null) return this.projection.displayKeyOf(id);
    return this.model.hasNode(id) ? id : null;
  }

  inScope(id: string): boolean {
    return this.projection?.inScope(id) ?? this.model.hasNode(id);
  }

  chainOf(id: string): string[] {
    if (this.projection !== null) return this.projection.chainOf(id);
    return this.model.hasNode(id) ? groupChain(this.model.getNodeAttribute(id, "data")) : [];
  }

  groupStats(group: string): GroupStats | null {
    if (this.projection !== null) return this.projection.groupStats(group);
    // Drawing the model there are no clusters to click: a rare question, answered by a scan.
    const agg = emptyAggregate();
    const children = new Set<string>();
    let parent: string | null = null;
    this.model.forEachNode((_k, a) => {
      const chain = groupChain(a.data);
      const i = chain.indexOf(group);
      if (i < 0) return;
      parent = chain[i - 1] ?? null;
      if (i + 1 < chain.length) children.add(chain[i + 1] as string);
      tally(agg, a.data, 1);
    });
    if (agg.total === 0) return null;
    const { total, loc, complexitySum, complexityCount } = agg;
    const language = dominantLanguage(agg.languages);
    return { group, kind: groupKind(group), count: total, loc, complexitySum, complexityCount, language, children: children.size, parent };
  }

  enclosingExpandedGroup(key: string): string | null {
    if (this.projection !== null) return this.projection.enclosingExpandedGroup(key);
    if (!this.model.hasNode(key)) return null;
    // Everything is expanded: the innermost group (the element's module) is what collapses.
    return groupChain(this.model.getNodeAttribute(key, "data")).at(-1) ?? null;
  }

  addObserver(observer: ProjectionObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  dispose(): void {
    this.removeForward?.();
    this.projection?.dispose();
    this.projection = null;
    this.observers.clear();
  }

  // ------------------------------------------------------------------ positions

  seedPositions(positions: Readonly<Record<string, [number, number]>>): void {
    for (const [key, xy] of Object.entries(positions)) this.seeds.set(key, xy);
    this.projection?.seedPositions(positions);
  }

  /** Layout results for what is drawn now. */
  setPositions(positions: ReadonlyMap<string, [number, number]>): void {
    if (this.projection !== null) {
      this.projection.setPositions(positions);
      return;
    }
    this.directSteps += 1;
    if (this.options.modelPositions) {
      this.options.modelPositions(positions);
      return;
    }
    this.emitBefore(positions.size > 500);
    for (const [key, [x, y]] of positions) if (this.model.hasNode(key)) this.model.mergeNodeAttributes(key, { x, y });
    this.emitAfter({ replaced: false, freeNodes: [] });
  }

  flushPositions(): void {
    this.projection?.flushPositions();
  }

  // ------------------------------------------------------------------ model batches

  /** The store is about to apply a batch (`detach`: it removes or adds a lot). */
  beforeBatch(detach: boolean): void {
    // A projection changes its own graph in applyBatch and announces that itself.
    if (this.projection === null) this.emitBefore(detach);
  }

  /** The store applied a batch. */
  applyBatch(result: BatchResult): void {
    const p = this.projection;
    if (p !== null) {
      p.applyBatch(result);
      // The automatic level may have expanded everything: back to the model.
      if (this.plain() && !p.collapsed) this.useModel();
      return;
    }
    if (this.mode === "auto" && this.model.order > this.collapseAbove) {
      // Grown past the threshold (e.g. the first snapshot of a big graph): open collapsed.
      this.project(null);
      return;
    }
    this.emitAfter({ replaced: result.replaced, freeNodes: this.place(result.freeNodes) });
  }

  // ------------------------------------------------------------------ scope, encodings, level

  setScope(filter: ViewFilter, focus: FocusSet | null): void {
    this.filter = filter;
    this.focus = focus;
    const p = this.projection;
    if (this.plain() && this.wholeGraphExpanded()) {
      if (p !== null || !this.direct) this.useModel();
    } else if (p !== null) {
      p.setScope(filter, focus);
    } else {
      this.project(this.mode === "user" ? ["*"] : null);
    }
  }

  setEncoding(color: ColorMode, size: SizeMode): void {
    if (color === this.colorMode && size === this.sizeMode) return;
    this.colorMode = color;
    this.sizeMode = size;
    const p = this.projection;
    if (p === null) {
      if (!this.plain()) this.project(this.mode === "user" ? ["*"] : null);
    } else if (this.plain() && this.wholeGraphExpanded()) {
      this.useModel();
    } else {
      p.setEncoding(color, size);
    }
  }

  /** Expand `group`; false if nothing changed (drawing the model, everything is expanded). */
  expand(group: string): boolean {
    if (this.projection !== null) return this.projection.expand(group);
    if (this.groupStats(group) !== null) this.mode = "user";
    return false;
  }

  collapse(group: string): boolean {
    if (this.projection !== null) return this.projection.collapse(group);
    if (this.groupStats(group) === null) return false;
    this.mode = "user";
    // One switch: the projection is built at the expanded level, then folds the group.
    this.project(["*"], (p) => p.collapse(group));
    return true;
  }

  reveal(id: string): boolean {
    return this.projection?.reveal(id) ?? false;
  }

  setExpanded(groups: readonly string[]): void {
    const all = groups.includes("*");
    const p = this.projection;
    if (all && this.plain()) {
      this.mode = "user";
      if (p !== null) this.useModel();
      return;
    }
    if (p !== null) p.setExpanded(groups);
    else if (all) this.mode = "user";
    else {
      this.mode = "user";
      this.project(groups);
    }
  }

  resetLevel(): void {
    this.mode = "auto";
    const p = this.projection;
    if (this.plain() && this.model.order <= this.collapseAbove) {
      if (p !== null) this.useModel();
    } else if (p !== null) {
      p.resetLevel();
    } else {
      this.project(null);
    }
  }

  // ------------------------------------------------------------------ internals

  /** No filter, no focus, default encodings: only the level can call for a projection. */
  private plain(): boolean {
    return this.focus === null && sameFilter(this.filter, NO_FILTER) && this.colorMode === "kind" && this.sizeMode === "kind";
  }

  /** Would the whole graph be shown with every group expanded? */
  private wholeGraphExpanded(): boolean {
    const level = this.projection?.wholeLevel() ?? { mode: this.mode, all: true };
    return level.mode === "user" ? level.all : this.model.order <= this.collapseAbove;
  }

  /** Announce a change, once: a store batch that ends in a switch is still one change. */
  private emitBefore(detach: boolean): void {
    if (this.open !== null && (this.open || !detach)) return;
    this.open = detach;
    for (const o of [...this.observers]) o.beforeChange?.(detach);
  }

  private emitAfter(change: DisplayChange): void {
    this.open = null;
    for (const o of [...this.observers]) o.afterChange?.(change);
  }

  /**
   * Build a projection for the current scope at `level` (null = automatic), run `then` on it,
   * and announce the switch as one replacement: the renderer re-indexes once.
   */
  private project(level: readonly string[] | null, then?: (p: Projection) => void): void {
    const p = new Projection(this.model, { ...this.options, expanded: level });
    if (this.seeds.size > 0) p.seedPositions(Object.fromEntries(this.seeds));
    p.setEncoding(this.colorMode, this.sizeMode);
    const free = new Set<string>();
    const capture = p.addObserver({ afterChange: (c) => c.freeNodes.forEach((k) => free.add(k)) });
    this.emitBefore(true);
    p.setScope(this.filter, this.focus);
    then?.(p);
    capture();
    this.projection = p;
    this.direct = false;
    this.removeForward = p.addObserver({
      beforeChange: (detach) => this.emitBefore(detach),
      afterChange: (change) => this.emitAfter(change),
    });
    this.emitAfter({ replaced: true, freeNodes: [...free].filter((k) => p.graph.hasNode(k)) });
  }

  /** Drop the projection (if any) and draw the model. */
  private useModel(): void {
    const p = this.projection;
    this.emitBefore(true);
    if (p !== null) {
      this.mode = p.wholeLevel().mode;
      this.pastRebuilds += p.rebuilds;
      this.pastSteps += p.layoutSteps;
      this.removeForward?.();
      this.removeForward = null;
      p.dispose();
      this.projection = null;
    }
    this.direct = true;
    this.directBuilds += 1;
    // Elements the model never placed: where the projection drew them, else a new place.
    const unplaced: string[] = [];
    this.model.forEachNode((key, a) => {
      if (a.x !== 0 || a.y !== 0) return;
      const drawn = p !== null && p.graph.hasNode(key) ? p.graph.getNodeAttributes(key) : null;
      if (drawn !== null && (drawn.x !== 0 || drawn.y !== 0)) this.model.mergeNodeAttributes(key, { x: drawn.x, y: drawn.y });
      else unplaced.push(key);
    });
    this.emitAfter({ replaced: true, freeNodes: this.place(unplaced) });
  }

  /** Give `keys` (model nodes) a place unless they have one; returns those wanting layout. */
  private place(keys: readonly string[]): string[] {
    const free: string[] = [];
    for (const key of keys) {
      if (!this.model.hasNode(key)) continue;
      const a = this.model.getNodeAttributes(key);
      // Another view drawing the same model may have placed it already.
      if (a.x !== 0 || a.y !== 0) continue;
      const seed = this.seeds.get(key);
      if (seed !== undefined) {
        this.seeds.delete(key);
        this.model.mergeNodeAttributes(key, { x: seed[0], y: seed[1] });
      } else {
        free.push(key);
      }
    }
    placeNewNodes(this.model, free);
    return free;
  }
}
