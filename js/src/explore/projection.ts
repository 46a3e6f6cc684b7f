/**
 * Projection: what one view draws — the model (every code element of the graph) seen through
 * the view's filters and focus, with packages and modules collapsed into cluster nodes.
 *
 * The display graph holds:
 * - a cluster node for each group (package directory, module file, external bucket) that is
 *   collapsed while all its ancestors are expanded, sized by its member count;
 * - each in-scope code element whose groups are all expanded;
 * - one bundled edge per ordered pair of display nodes, counting the model edges between the
 *   elements they stand for (edges inside one display node are not drawn).
 *
 * Incremental contract: model batches are applied change by change ({@link ModelChange}) in
 * time proportional to the change (group chains are short); expanding or collapsing a group
 * costs the size of its subtree and the edges touching it. Only a new scope (filters, focus),
 * a replaced model (snapshot, reset) or the switch into collapsed mode rebuild everything.
 *
 * Collapse policy: while the level is "auto", a scope of more than `collapseAbove` elements is
 * shown collapsed at a readable level ({@link chooseLevel}: packages, then modules, then
 * external buckets, while at most min(`maxVisible`, `collapseAbove`) display nodes and
 * `maxEdges` bundled edges result); smaller scopes are shown whole. So the automatic level
 * never draws more than `collapseAbove` nodes (unless the top groups alone are more). Any expand/collapse
 * by the user switches the level to "user", which is kept until {@link Projection.resetLevel}.
 *
 * Positions: display nodes keep their place across every change; nodes leaving the display
 * are remembered (bounded), children of an expanded cluster appear around it, a collapsed
 * cluster appears at the centroid of what it replaces.
 */

import { DirectedGraph } from "graphology";

import type { EdgeJSON, NodeJSON } from "../client/protocol.js";
import { edgeColor } from "../state/appearance.js";
import { animationFrameScheduler, type FrameScheduler } from "../state/frame-batcher.js";
import type { BatchResult, CodeGraphModel, ModelChange, PlacedNodeAttributes } from "../state/graph-state.js";
import { hashUnit2, placeNewNodes } from "../state/placement.js";
import { type Aggregate, dominantLanguage, emptyAggregate, tally } from "./group-aggregate.js";
import { clusterKey, groupChain, groupKind, groupLabel, isClusterKey } from "./grouping.js";
import { DEFAULT_LANGUAGE, nodeLanguage } from "./language.js";
import { BundleCounter, COLLAPSE_ABOVE, chooseLevel, EDGES_PER_NODE, MAX_VISIBLE } from "./level.js";
import {
  type ClusterStats,
  type ColorMode,
  clusterColor,
  clusterSize,
  realNodeColor,
  realNodeSize,
  type SizeMode,
} from "./palette.js";
import { edgePasses, type FocusSet, NO_FILTER, nodePasses, type ViewFilter } from "./scope.js";

/** `kind` is the node kind, or package/module/external for a cluster. */
export interface DisplayNodeAttributes extends PlacedNodeAttributes {
  /** Group key when this node is a collapsed package/module; null for a code element. */
  group: string | null;
  /** Elements it stands for (1 for a code element). */
  count: number;
  /** The element's language, or the one most of a cluster's members are in. */
  language: string;
}

export interface DisplayEdgeAttributes {
  size: number;
  color: string;
  /** Model edges bundled into this one. */
  count: number;
  /** The most frequent edge kind among them. */
  kind: string;
}

export type DisplayGraph = DirectedGraph<DisplayNodeAttributes, DisplayEdgeAttributes>;

/** What one change of the display did (for the renderer and the layout). */
export interface DisplayChange {
  /** Everything was rebuilt. */
  replaced: boolean;
  /** Display nodes that got a provisional position and want layout. */
  freeNodes: string[];
}

export interface ProjectionObserver {
  /** Called before the display graph changes; `detach` = the change removes or adds a lot. */
  beforeChange?(detach: boolean): void;
  afterChange?(change: DisplayChange): void;
}

export interface ProjectionOptions {
  /** Show scopes larger than this collapsed (auto level). */
  collapseAbove?: number;
  /** Display nodes the auto level aims for at most. */
  maxVisible?: number;
  /** Bundled edges the auto level aims for at most (default EDGES_PER_NODE × maxVisible). */
  maxEdges?: number;
  /** Positions of display nodes that left the display to remember. */
  rememberPositions?: number;
  /** When layout positions are applied (the next animation frame by default). */
  schedule?: FrameScheduler;
  /** The user's level to start from (expanded groups, ["*"] = all); the automatic level if absent. */
  expanded?: readonly string[] | null;
}

/** Above this many moved nodes a re-index beats per-node partial updates (as in the store). */
const DETACH_POSITIONS = 500;

/** Above this many added display elements a re-index after the change beats partial updates. */
const DETACH_ADDITIONS = 2_000;

interface Group extends Aggregate {
  key: string;
  parent: Group | null;
  children: Set<Group>;
  /** In-scope elements whose innermost group this is. */
  members: Set<string>;
}

interface Member {
  data: NodeJSON;
  chain: Group[];
  /** Display key standing for this element: its own id or a cluster key. */
  rep: string;
}

interface Bundle {
  /** Key of its display edge. */
  key: string;
  source: string;
  target: string;
  count: number;
  kinds: Map<string, number>;
}

export type LevelMode = "auto" | "user";

const ALL = "*";

export class Projection {
  readonly graph: DisplayGraph = new DirectedGraph<DisplayNodeAttributes, DisplayEdgeAttributes>();
  readonly collapseAbove: number;
  readonly maxVisible: number;
  readonly maxEdges: number;
  private filter: ViewFilter = NO_FILTER;
  private focus: FocusSet | null = null;
  private colorMode: ColorMode = "kind";
  private sizeMode: SizeMode = "kind";
  private readonly groups = new Map<string, Group>();
  private readonly members = new Map<string, Member>();
  private readonly chainKeys = new Map<string, string[]>();
  /** Bundles by source display key, then target display key. */
  private readonly bundles = new Map<string, Map<string, Bundle>>();
  /** Model edge key → its bundle key and kind, for every model edge drawn (inside a bundle). */
  private readonly counted = new Map<string, Bundle>();
  private expanded = new Set<string>();
  private allExpanded = true;
  private mode: LevelMode = "auto";
  /** Scope size when the auto level was last computed (it is recomputed as the scope grows). */
  private autoAt = 0;
  /** The user's level of the whole graph, kept while a focus is shown. */
  private overview: { expanded: Set<string>; all: boolean } | null = null;
  private readonly remembered = new Map<string, [number, number]>();
  private readonly rememberLimit: number;
  private readonly observers = new Set<ProjectionObserver>();
  // Per-change bookkeeping.
  private fresh: string[] = [];
  private dirtyNodes = new Set<string>();
  private dirtyGroups = new Set<Group>();
  private dirtyBundles = new Set<Bundle>();
  private readonly schedule: FrameScheduler;
  private pendingPositions = new Map<string, [number, number]>();
  private cancelPositions: (() => void) | null = null;
  /** Full rebuilds so far (tests and diagnostics: events must not cause them). */
  rebuilds = 0;
  /** Layout position batches applied (a saved copy is stale when this moves). */
  layoutSteps = 0;

  constructor(
    readonly model: CodeGraphModel,
    options: ProjectionOptions = {},
  ) {
    this.collapseAbove = options.collapseAbove ?? COLLAPSE_ABOVE;
    this.maxVisible = Math.min(options.maxVisible ?? MAX_VISIBLE, this.collapseAbove);
    this.maxEdges = options.maxEdges ?? this.maxVisible * EDGES_PER_NODE;
    this.rememberLimit = options.rememberPositions ?? 200_000;
    this.schedule = options.schedule ?? animationFrameScheduler;
    if (options.expanded) {
      this.mode = "user";
      this.allExpanded = options.expanded.includes(ALL);
      this.expanded = new Set(this.allExpanded ? [] : options.expanded);
    }
  }

  /** Positions for display keys to take when they appear (e.g. from a saved copy). */
  seedPositions(positions: Readonly<Record<string, [number, number]>>): void {
    for (const [key, [x, y]] of Object.entries(positions)) this.remember(key, x, y);
  }

  /** Layout results, applied with the next frame (many at once with the renderer detached). */
  setPositions(positions: ReadonlyMap<string, [number, number]>): void {
    for (const [k, xy] of positions) this.pendingPositions.set(k, xy);
    if (this.cancelPositions !== null) return;
    this.cancelPositions = this.schedule(() => {
      this.cancelPositions = null;
      this.flushPositions();
    });
  }

  /** Apply queued layout positions now. */
  flushPositions(): void {
    this.cancelPositions?.();
    this.cancelPositions = null;
    const positions = this.pendingPositions;
    if (positions.size === 0) return;
    this.pendingPositions = new Map();
    this.layoutSteps += 1;
    this.change(positions.size > DETACH_POSITIONS, () => {
      for (const [key, [x, y]] of positions) if (this.graph.hasNode(key)) this.graph.mergeNodeAttributes(key, { x, y });
      return false;
    });
  }

  dispose(): void {
    this.cancelPositions?.();
    this.cancelPositions = null;
    this.observers.clear();
  }

  addObserver(observer: ProjectionObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  // ------------------------------------------------------------------ reading

  /** In-scope elements. */
  get scopeSize(): number {
    return this.members.size;
  }

  get levelMode(): LevelMode {
    return this.mode;
  }

  get collapsed(): boolean {
    return !this.allExpanded;
  }

  /** The level of the whole graph: the user's level is kept aside while a focus is shown. */
  wholeLevel(): { mode: LevelMode; all: boolean } {
    return { mode: this.mode, all: this.overview?.all ?? this.allExpanded };
  }

  /** Expanded group keys, or ["*"] when everything is expanded. */
  expandedGroups(): string[] {
    return this.allExpanded ? [ALL] : [...this.expanded].sort();
  }

  /** Display key standing for model node `id` (itself or its cluster); null if out of scope. */
  displayKeyOf(id: string): string | null {
    return this.members.get(id)?.rep ?? null;
  }

  inScope(id: string): boolean {
    return this.members.has(id);
  }

  /** Group chain keys of an in-scope element, outermost first. */
  chainOf(id: string): string[] {
    return this.members.get(id)?.chain.map((g) => g.key) ?? [];
  }

  /** Members and aggregates of a group, or null when the scope has nothing in it. */
  groupStats(group: string): (ClusterStats & { children: number; parent: string | null }) | null {
    const g = this.groups.get(group);
    if (g === undefined) return null;
    return { ...this.statsOf(g), children: g.children.size, parent: g.parent?.key ?? null };
  }

  /** The innermost expanded group containing display node `key`, if any (what "collapse" folds). */
  enclosingExpandedGroup(key: string): string | null {
    let chain: Group[];
    if (isClusterKey(key)) {
      const g = this.groups.get(key.slice(1));
      chain = [];
      for (let p = g?.parent ?? null; p !== null; p = p.parent) chain.unshift(p);
    } else {
      chain = this.members.get(key)?.chain ?? [];
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const g = chain[i] as Group;
      if (this.isExpanded(g)) return g.key;
    }
    return null;
  }

  // ------------------------------------------------------------------ scope and encodings

  /** New filters and/or focus: rebuild the display. */
  setScope(filter: ViewFilter, focus: FocusSet | null): void {
    this.filter = filter;
    this.focus = focus;
    this.rebuild();
  }

  setEncoding(color: ColorMode, size: SizeMode): void {
    if (color === this.colorMode && size === this.sizeMode) return;
    this.colorMode = color;
    this.sizeMode = size;
    // Attribute updates only: sigma refreshes them without re-indexing the graph structure.
    this.change(this.graph.order > DETACH_ADDITIONS, () => {
      this.graph.forEachNode((key) => this.refreshNode(key));
      return false;
    });
  }

  // ------------------------------------------------------------------ model batches

  /** Apply one applied model batch: incrementally, or by a rebuild if the model was replaced. */
  applyBatch(result: BatchResult): void {
    if (result.replaced) {
      this.rebuild();
      return;
    }
    const changes = result.changes;
    if (changes.length === 0) return;
    let removals = 0;
    let additions = 0;
    for (const c of changes) {
      if (this.mayRemove(c)) removals += 1;
      else if (c.op === "node+" || c.op === "edge+") additions += 1;
    }
    // Only what can drop a display element forces sigma's full re-index (docs/architecture.md, "Drawing on a machine without a GPU");
    // attribute updates and additions stay attached.
    this.change(removals > 0 || additions > DETACH_ADDITIONS, () => {
      for (const c of changes) this.applyChange(c);
      return false;
    });
    this.checkLevel();
  }

  // ------------------------------------------------------------------ expand / collapse

  /** Expand `group` (and any collapsed group around it), showing its content. */
  expand(group: string): boolean {
    const g = this.groups.get(group);
    if (g === undefined) return false;
    // Inside a focus the change is local to it; the whole graph's level stays as it was.
    if (this.focus === null) this.mode = "user";
    if (this.isExpanded(g) && this.ancestorsExpanded(g)) return false;
    // The outermost collapsed group on the way: its subtree is what changes on screen.
    const chain: Group[] = [];
    for (let p: Group | null = g; p !== null; p = p.parent) chain.unshift(p);
    const top = chain.find((c) => !this.isExpanded(c)) as Group;
    this.reproject(top, () => {
      for (const c of chain) this.expanded.add(c.key);
    });
    return true;
  }

  /** Collapse `group` into one cluster node (its sub-groups collapse with it). */
  collapse(group: string): boolean {
    const g = this.groups.get(group);
    if (g === undefined) return false;
    if (this.focus === null) this.mode = "user";
    if (!this.isExpanded(g)) return false;
    if (this.allExpanded) {
      // From "everything" to an explicit set, so one group can be taken out of it.
      this.expanded = new Set(this.groups.keys());
      this.allExpanded = false;
    }
    this.reproject(g, () => {
      const drop = (x: Group): void => {
        this.expanded.delete(x.key);
        for (const c of x.children) drop(c);
      };
      drop(g);
    });
    return true;
  }

  /** Expand every group on the way to element `id` so that it is drawn itself. */
  reveal(id: string): boolean {
    const m = this.members.get(id);
    if (m === undefined) return false;
    if (m.rep === id) return false;
    const last = m.chain[m.chain.length - 1] as Group;
    return this.expand(last.key);
  }

  /** Set the expanded groups (["*"] = all) as the user's level. */
  setExpanded(groups: readonly string[]): void {
    const all = groups.includes(ALL);
    if (all === this.allExpanded && (all || sameSet(this.expanded, groups))) {
      this.mode = "user";
      return;
    }
    this.mode = "user";
    this.overview = null;
    this.allExpanded = all;
    this.expanded = new Set(all ? [] : groups);
    this.rebuild();
  }

  /** Back to the automatic level for the current scope. */
  resetLevel(): void {
    this.mode = "auto";
    this.overview = null;
    this.rebuild();
  }

  // ------------------------------------------------------------------ internals: changes

  /**
   * Run `body` between the observers' before/after calls. `body` returns true if it rebuilt
   * everything (the observers then treat the change as a replacement).
   */
  private change(detach: boolean, body: () => boolean): void {
    const observers = [...this.observers];
    for (const o of observers) o.beforeChange?.(detach);
    this.fresh = [];
    const replaced = body();
    this.flushDirty();
    const free = this.fresh.filter((k) => this.graph.hasNode(k));
    const unplaced = free.filter((k) => {
      const a = this.graph.getNodeAttributes(k);
      return a.x === 0 && a.y === 0;
    });
    placeNewNodes(this.graph, unplaced);
    this.fresh = [];
    for (const o of observers) o.afterChange?.({ replaced, freeNodes: free });
  }

  private applyChange(c: ModelChange): void {
    switch (c.op) {
      case "node+":
        if (this.nodeInScope(c.node)) this.addMember(c.node, true);
        return;
      case "node-":
        this.removeMember(c.node.id, true);
        return;
      case "node~":
        this.updateMember(c.before, c.node);
        return;
      case "edge+":
        this.countEdge(c.edge.id, c.edge);
        return;
      case "edge-":
        this.uncountEdge(c.edge.id, c.edge.kind);
        return;
    }
  }

  /** Could applying `c` drop a display node or edge? (Checked before the change.) */
  private mayRemove(c: ModelChange): boolean {
    switch (c.op) {
      case "node-":
        return this.members.has(c.node.id);
      case "edge-": {
        const b = this.counted.get(c.edge.id);
        return b !== undefined && b.count <= 1;
      }
      case "node~": {
        const m = this.members.get(c.node.id);
        if (m === undefined) return false;
        return !this.nodeInScope(c.node) || groupChain(c.before).join("\n") !== groupChain(c.node).join("\n");
      }
      default:
        return false;
    }
  }

  private nodeInScope(node: NodeJSON): boolean {
    if (this.focus !== null && !this.focus.nodes.has(node.id)) return false;
    return nodePasses(this.filter, node);
  }

  private edgeInScope(key: string, data: EdgeJSON): boolean {
    if (this.focus?.edges && !this.focus.edges.has(key)) return false;
    return edgePasses(this.filter, data) && this.members.has(data.source) && this.members.has(data.target);
  }

  private isExpanded(g: Group): boolean {
    return this.allExpanded || this.expanded.has(g.key);
  }

  private ancestorsExpanded(g: Group): boolean {
    for (let p = g.parent; p !== null; p = p.parent) if (!this.isExpanded(p)) return false;
    return true;
  }

  private repOf(id: string, chain: readonly Group[]): string {
    for (const g of chain) if (!this.isExpanded(g)) return clusterKey(g.key);
    return id;
  }

  private ensureGroups(node: NodeJSON): Group[] {
    // 100k elements live in a few thousand files: compute each file's chain once.
    const file = typeof node.file === "string" ? node.file : null;
    let keys = file !== null ? this.chainKeys.get(file) : undefined;
    if (keys === undefined) {
      keys = groupChain(node);
      if (file !== null) this.chainKeys.set(file, keys);
    }
    const chain: Group[] = [];
    let parent: Group | null = null;
    for (const key of keys) {
      let g = this.groups.get(key);
      if (g === undefined) {
        g = { key, parent, children: new Set(), members: new Set(), ...emptyAggregate() };
        this.groups.set(key, g);
        parent?.children.add(g);
      }
      chain.push(g);
      parent = g;
    }
    return chain;
  }

  /** Register an in-scope element; with `display`, draw it (or its cluster). */
  private addMember(node: NodeJSON, display: boolean): Member {
    const chain = this.ensureGroups(node);
    for (const g of chain) tally(g, node, 1);
    (chain[chain.length - 1] as Group).members.add(node.id);
    const member: Member = { data: node, chain, rep: this.repOf(node.id, chain) };
    this.members.set(node.id, member);
    if (display) this.showRep(member.rep);
    return member;
  }

  /** Unregister an element whose edges are already uncounted; with `display`, update the screen. */
  private removeMember(id: string, display: boolean): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    // A node- change follows the edge- changes of its edges; a node that moves to another
    // group (node~) still has its edges counted under its old cluster.
    if (display && this.model.hasNode(id)) this.uncountIncident(id);
    this.members.delete(id);
    (m.chain[m.chain.length - 1] as Group).members.delete(id);
    for (const g of m.chain) tally(g, m.data, -1);
    if (display) {
      if (m.rep === id) this.dropDisplayNode(id);
      else this.dirtyGroups.add(this.groups.get(m.rep.slice(1)) as Group);
    }
    // Groups left empty disappear (innermost first, so parents see their child go).
    for (let i = m.chain.length - 1; i >= 0; i--) {
      const g = m.chain[i] as Group;
      if (g.total > 0) continue;
      this.groups.delete(g.key);
      g.parent?.children.delete(g);
      this.dirtyGroups.delete(g);
      if (display && this.graph.hasNode(clusterKey(g.key))) this.dropDisplayNode(clusterKey(g.key));
    }
  }

  private updateMember(before: NodeJSON, node: NodeJSON): void {
    const m = this.members.get(node.id);
    const inScope = this.nodeInScope(node);
    const regroup = m === undefined || !inScope || groupChain(before).join("\n") !== groupChain(node).join("\n");
    if (!regroup && m !== undefined) {
      // Same place in the hierarchy: refresh data and aggregates.
      for (const g of m.chain) {
        tally(g, m.data, -1);
        tally(g, node, 1);
        this.dirtyGroups.add(g);
      }
      m.data = node;
      if (m.rep === node.id) this.dirtyNodes.add(node.id);
      return;
    }
    // Moved to another file or in/out of scope: take it out with its edges, put it back.
    if (m !== undefined) this.removeMember(node.id, true);
    if (inScope) {
      this.addMember(node, true);
      this.model.forEachEdge(node.id, (key, attrs) => this.countEdge(key, attrs.data));
    }
  }

  private uncountIncident(id: string): void {
    this.model.forEachEdge(id, (key, attrs) => this.uncountEdge(key, attrs.kind));
  }

  private countEdge(key: string, data: EdgeJSON): void {
    if (this.counted.has(key) || !this.edgeInScope(key, data)) return;
    const s = this.members.get(data.source) as Member;
    const t = this.members.get(data.target) as Member;
    if (s.rep === t.rep) return;
    // Nested maps: no key string is built per model edge, only per new bundle.
    let out = this.bundles.get(s.rep);
    if (out === undefined) this.bundles.set(s.rep, (out = new Map()));
    let b = out.get(t.rep);
    if (b === undefined) {
      b = { key: `${s.rep}\u0000${t.rep}`, source: s.rep, target: t.rep, count: 0, kinds: new Map() };
      out.set(t.rep, b);
    }
    b.count += 1;
    b.kinds.set(data.kind, (b.kinds.get(data.kind) ?? 0) + 1);
    this.counted.set(key, b);
    if (b.count === 1) this.graph.addDirectedEdgeWithKey(b.key, b.source, b.target, this.edgeAttributes(b));
    // Attributes of a grown bundle are rewritten once per change, not once per model edge.
    else this.dirtyBundles.add(b);
    if (this.sizeMode === "degree") {
      if (s.rep === data.source) this.dirtyNodes.add(s.rep);
      if (t.rep === data.target) this.dirtyNodes.add(t.rep);
    }
  }

  /** Take model edge `key` (of `kind`) out of its bundle, if it is drawn. */
  private uncountEdge(key: string, kind: string): void {
    const b = this.counted.get(key);
    if (b === undefined) return;
    this.counted.delete(key);
    b.count -= 1;
    const k = (b.kinds.get(kind) ?? 1) - 1;
    if (k <= 0) b.kinds.delete(kind);
    else b.kinds.set(kind, k);
    if (b.count === 0) {
      const out = this.bundles.get(b.source);
      out?.delete(b.target);
      if (out?.size === 0) this.bundles.delete(b.source);
      this.dirtyBundles.delete(b);
      if (this.graph.hasEdge(b.key)) this.graph.dropEdge(b.key);
    } else {
      this.dirtyBundles.add(b);
    }
    if (this.sizeMode === "degree") {
      if (this.graph.hasNode(b.source)) this.dirtyNodes.add(b.source);
      if (this.graph.hasNode(b.target)) this.dirtyNodes.add(b.target);
    }
  }

  // ------------------------------------------------------------------ internals: display

  private showRep(rep: string): void {
    if (this.graph.hasNode(rep)) {
      if (isClusterKey(rep)) this.dirtyGroups.add(this.groups.get(rep.slice(1)) as Group);
      return;
    }
    let known = this.remembered.get(rep);
    if (known !== undefined) this.remembered.delete(rep);
    else known = this.modelPosition(rep);
    this.graph.addNode(rep, this.nodeAttributes(rep, known?.[0] ?? 0, known?.[1] ?? 0));
    if (known === undefined) this.fresh.push(rep);
  }

  /** Where the model draws element `key`, if it was drawn (placed) there: a view switching from
   *  the model to a projection keeps its picture. */
  private modelPosition(key: string): [number, number] | undefined {
    if (isClusterKey(key) || !this.model.hasNode(key)) return undefined;
    const a = this.model.getNodeAttributes(key);
    return a.x === 0 && a.y === 0 ? undefined : [a.x, a.y];
  }

  private dropDisplayNode(key: string): void {
    const a = this.graph.getNodeAttributes(key);
    this.remember(key, a.x, a.y);
    this.graph.dropNode(key);
  }

  private remember(key: string, x: number, y: number): void {
    this.remembered.delete(key);
    this.remembered.set(key, [x, y]);
    if (this.remembered.size > this.rememberLimit) this.remembered.delete(this.remembered.keys().next().value as string);
  }

  private statsOf(g: Group): ClusterStats {
    return {
      group: g.key,
      kind: groupKind(g.key),
      count: g.total,
      loc: g.loc,
      complexitySum: g.complexitySum,
      complexityCount: g.complexityCount,
      language: dominantLanguage(g.languages),
    };
  }

  private nodeAttributes(key: string, x: number, y: number): DisplayNodeAttributes {
    if (isClusterKey(key)) {
      const g = this.groups.get(key.slice(1)) as Group;
      const stats = this.statsOf(g);
      return {
        x,
        y,
        size: clusterSize(this.sizeMode, stats),
        color: clusterColor(this.colorMode, stats),
        label: `${groupLabel(g.key)} (${g.total})`,
        kind: stats.kind,
        group: g.key,
        count: g.total,
        language: stats.language ?? DEFAULT_LANGUAGE,
      };
    }
    const m = this.members.get(key) as Member;
    const module = (m.chain[m.chain.length - 1] as Group).key;
    const degree = this.model.hasNode(key) ? this.model.degree(key) : 0;
    const members = m.data.extra?.members;
    return {
      x,
      y,
      size: realNodeSize(this.sizeMode, m.data, degree),
      color: realNodeColor(this.colorMode, m.data, module),
      // A saved collapsed copy stores clusters as plain nodes that know their member count.
      label: typeof members === "number" ? `${m.data.name || key} (${members})` : m.data.name || key,
      kind: m.data.kind,
      group: null,
      count: typeof members === "number" ? members : 1,
      language: nodeLanguage(m.data),
    };
  }

  private refreshNode(key: string): void {
    const a = this.graph.getNodeAttributes(key);
    this.graph.replaceNodeAttributes(key, this.nodeAttributes(key, a.x, a.y));
  }

  private edgeAttributes(b: Bundle): DisplayEdgeAttributes {
    let kind = "";
    let best = -1;
    for (const [k, n] of b.kinds) {
      // Ties go to the alphabetically first kind, so the result never depends on arrival order.
      if (n > best || (n === best && k < kind)) {
        best = n;
        kind = k;
      }
    }
    return { size: b.count === 1 ? 1 : Math.min(6, 1 + Math.log2(b.count)), color: edgeColor(kind), count: b.count, kind };
  }

  private flushDirty(): void {
    for (const g of this.dirtyGroups) {
      const key = clusterKey(g.key);
      if (this.graph.hasNode(key)) this.refreshNode(key);
    }
    for (const key of this.dirtyNodes) if (this.graph.hasNode(key)) this.refreshNode(key);
    for (const b of this.dirtyBundles) {
      if (b.count > 0 && this.graph.hasEdge(b.key)) this.graph.replaceEdgeAttributes(b.key, this.edgeAttributes(b));
    }
    this.dirtyGroups.clear();
    this.dirtyNodes.clear();
    this.dirtyBundles.clear();
  }

  /**
   * Re-draw the subtree of `top` after `mutate` changes the expansion state inside it: only
   * that subtree's elements and the edges touching them are re-bundled.
   */
  private reproject(top: Group, mutate: () => void): void {
    const ids: string[] = [];
    const walk = (g: Group): void => {
      for (const id of g.members) ids.push(id);
      for (const c of g.children) walk(c);
    };
    walk(top);
    const edges = new Map<string, EdgeJSON>();
    for (const id of ids) {
      this.model.forEachEdge(id, (key, attrs) => {
        if (!edges.has(key) && this.edgeInScope(key, attrs.data)) edges.set(key, attrs.data);
      });
    }
    this.change(true, () => {
      // Where the old display nodes of the subtree were: new ones appear around that spot.
      const before = new Set<string>();
      for (const id of ids) before.add((this.members.get(id) as Member).rep);
      let sx = 0;
      let sy = 0;
      let n = 0;
      for (const key of before) {
        if (!this.graph.hasNode(key)) continue;
        const a = this.graph.getNodeAttributes(key);
        sx += a.x;
        sy += a.y;
        n += 1;
      }
      const anchor: [number, number] | null = n > 0 ? [sx / n, sy / n] : null;
      const spacing = this.spacing();
      for (const [key, data] of edges) this.uncountEdge(key, data.kind);
      for (const key of before) if (this.graph.hasNode(key)) this.dropDisplayNode(key);
      mutate();
      const after = new Set<string>();
      for (const id of ids) {
        const m = this.members.get(id) as Member;
        m.rep = this.repOf(id, m.chain);
        after.add(m.rep);
      }
      const radius = spacing * Math.max(1, Math.sqrt(after.size)) * 0.6;
      for (const key of after) {
        if (this.graph.hasNode(key)) continue;
        const known = this.remembered.get(key);
        let x: number;
        let y: number;
        if (known !== undefined) {
          this.remembered.delete(key);
          [x, y] = known;
        } else if (anchor !== null) {
          const [u, v] = hashUnit2(key);
          const r = after.size === 1 ? 0 : radius * Math.sqrt(v);
          x = anchor[0] + Math.cos(u * 2 * Math.PI) * r;
          y = anchor[1] + Math.sin(u * 2 * Math.PI) * r;
          this.fresh.push(key);
        } else {
          x = y = 0;
          this.fresh.push(key);
        }
        this.graph.addNode(key, this.nodeAttributes(key, x, y));
      }
      for (const [key, data] of edges) this.countEdge(key, data);
      return false;
    });
  }

  /** Typical distance between display nodes at the current density. */
  private spacing(): number {
    let minX = Infinity;
    let maxX = -Infinity;
    let minY = Infinity;
    let maxY = -Infinity;
    this.graph.forEachNode((_k, a) => {
      if (a.x < minX) minX = a.x;
      if (a.x > maxX) maxX = a.x;
      if (a.y < minY) minY = a.y;
      if (a.y > maxY) maxY = a.y;
    });
    if (!Number.isFinite(minX) || this.graph.order < 2) return 10;
    return Math.max(1, Math.sqrt(((maxX - minX) * (maxY - minY)) / this.graph.order));
  }

  // ------------------------------------------------------------------ internals: levels

  /** Re-evaluate the automatic level as the scope grows or shrinks (amortised O(1) per change). */
  private checkLevel(): void {
    if (this.mode !== "auto" && this.focus === null) return;
    const total = this.members.size;
    const wantCollapsed = total > this.collapseAbove;
    if (this.allExpanded && wantCollapsed) this.rebuild();
    else if (!this.allExpanded && !wantCollapsed && total <= this.collapseAbove / 2) this.rebuild();
    else if (!this.allExpanded && total > this.autoAt * 1.5) this.rebuild();
  }

  /** Pick the expanded groups ({@link chooseLevel}) while the display stays readable. */
  private autoLevel(): void {
    this.autoAt = this.members.size;
    // Nodes alone do not make a picture readable: 300 clusters joined by 25,000 bundled edges
    // are a hairball. Halve the node budget until the bundled edges fit too, then search
    // between the last two budgets for the largest that fits (a few more passes at most).
    const tops = [...this.groups.values()].filter((g) => g.parent === null);
    let counter: BundleCounter | null = null;
    const fits = (level: Set<string>): boolean => level.size === 0 || (counter ??= this.bundleCounter()).count(level) <= this.maxEdges;
    let budget = this.maxVisible;
    let level = chooseLevel(tops, budget);
    let over = 0;
    for (let attempt = 1; attempt <= 3 && !fits(level); attempt++) {
      over = budget;
      budget = Math.floor(budget / 2);
      level = chooseLevel(tops, budget);
    }
    for (let step = 0; step < 3 && over - budget > 8; step++) {
      const mid = Math.floor((budget + over) / 2);
      const candidate = chooseLevel(tops, mid);
      if (fits(candidate)) [budget, level] = [mid, candidate];
      else over = mid;
    }
    this.expanded = level;
    this.allExpanded = false;
  }

  /** Counts the bundled edges of candidate levels: the scope's edges, read once. */
  private bundleCounter(): BundleCounter {
    const counter = new BundleCounter();
    for (const [id, m] of this.members) counter.addMember(id, m.chain);
    this.model.forEachEdge((key, attrs, source, target) => {
      if (this.focus?.edges && !this.focus.edges.has(key)) return;
      if (edgePasses(this.filter, attrs.data)) counter.addEdge(source, target);
    });
    return counter;
  }

  /** Recompute everything from the model for the current scope and level. */
  private rebuild(): void {
    this.rebuilds += 1;
    this.change(true, () => {
      this.graph.forEachNode((key, a) => this.remember(key, a.x, a.y));
      this.graph.clear();
      this.groups.clear();
      this.chainKeys.clear();
      this.members.clear();
      this.bundles.clear();
      this.counted.clear();
      const focus = this.focus;
      if (focus !== null) {
        for (const id of focus.nodes) {
          if (this.model.hasNode(id)) {
            const data = this.model.getNodeAttribute(id, "data");
            if (nodePasses(this.filter, data)) this.addMember(data, false);
          }
        }
      } else {
        this.model.forEachNode((_id, attrs) => {
          if (nodePasses(this.filter, attrs.data)) this.addMember(attrs.data, false);
        });
      }
      if (focus !== null && this.mode === "user" && this.overview === null) {
        // A focus (ego, path) is shown at its own automatic level; the user's level of the
        // whole graph comes back when the focus ends.
        this.overview = { expanded: new Set(this.expanded), all: this.allExpanded };
      } else if (focus === null && this.overview !== null) {
        this.expanded = this.overview.expanded;
        this.allExpanded = this.overview.all;
        this.overview = null;
      }
      if (this.mode === "auto" || focus !== null) {
        if (this.members.size > this.collapseAbove) this.autoLevel();
        else {
          this.allExpanded = true;
          this.expanded = new Set();
        }
      }
      for (const m of this.members.values()) {
        m.rep = this.repOf(m.data.id, m.chain);
        this.showRep(m.rep);
      }
      if (focus?.edges) {
        for (const key of focus.edges) if (this.model.hasEdge(key)) this.countEdge(key, this.model.getEdgeAttribute(key, "data"));
      } else if (focus !== null) {
        for (const id of this.members.keys()) this.model.forEachOutEdge(id, (key, attrs) => this.countEdge(key, attrs.data));
      } else {
        this.model.forEachEdge((key, attrs) => this.countEdge(key, attrs.data));
      }
      return true;
    });
  }
}

function sameSet(a: ReadonlySet<string>, b: readonly string[]): boolean {
  if (a.size !== new Set(b).size) return false;
  for (const x of b) if (!a.has(x)) return false;
  return true;
}
