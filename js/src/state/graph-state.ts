/**
 * GraphState: the graphology model of one graph, kept equal to the producer's CodeGraph by
 * applying snapshots and event batches (the reducer of the view).
 *
 * Contract:
 * - Node keys are node ids, edge keys are `Edge.id` strings; node attributes carry the node's
 *   JSON form in `data` plus what a renderer needs (x, y, size, color, label).
 * - Application is idempotent: a duplicate add replaces the same element, a removal of something
 *   absent is a no-op, so replaying an overlapping range converges on the same graph.
 * - An edge whose endpoint is not (yet) there — a filtered view, or an out-of-order replay —
 *   waits in a pending set and appears when the endpoint does.
 * - Positions are stable: nodes keep their x/y through updates, resyncs and resets (a bounded
 *   memory of recent positions brings back a node re-added after removal where it was).
 *   New nodes are placed next to their neighbours after the whole batch is applied.
 * - A batch reports what changed so the renderer and the layout can act once per batch, and
 *   lists the elements it really changed, in order ({@link ModelChange}), so per-view
 *   projections update incrementally instead of recomputing from the whole graph.
 */

import { MultiDirectedGraph } from "graphology";

import type { ChangeEvent, EdgeJSON, NodeJSON } from "../client/protocol.js";
import { edgeColor, edgeSize, nodeColor, nodeLabel, nodeSize } from "./appearance.js";
import { placeNewNodes } from "./placement.js";

/** What the renderer and the layout read of a node: in the model and in projections alike. */
export interface PlacedNodeAttributes {
  x: number;
  y: number;
  size: number;
  color: string;
  label: string;
  kind: string;
}

export interface NodeAttributes extends PlacedNodeAttributes {
  data: NodeJSON;
}

export interface EdgeAttributes {
  kind: string;
  color: string;
  size: number;
  data: EdgeJSON;
}

export type CodeGraphModel = MultiDirectedGraph<NodeAttributes, EdgeAttributes>;

/** A snapshot as the protocol delivers it. */
export interface SnapshotData {
  nodes: NodeJSON[];
  edges: EdgeJSON[];
}

/**
 * One real change of the model, in application order. Duplicates and removals of absent
 * elements produce none; a re-add with new content is a `node~`. Removing a node lists the
 * edges dropped with it first, so a consumer never sees an edge whose endpoint is gone.
 */
export type ModelChange =
  | { op: "node+"; node: NodeJSON }
  | { op: "node-"; node: NodeJSON }
  | { op: "node~"; before: NodeJSON; node: NodeJSON }
  | { op: "edge+"; edge: EdgeJSON }
  | { op: "edge-"; edge: EdgeJSON };

/** What one applied batch changed. */
export interface BatchResult {
  /** Nodes that did not exist before the batch and were placed by {@link placeNewNodes}. */
  freeNodes: string[];
  /** Nodes brought back at a remembered position (not to be moved by the layout). */
  restoredNodes: number;
  nodesAdded: number;
  nodesUpdated: number;
  nodesRemoved: number;
  edgesAdded: number;
  edgesRemoved: number;
  /** The graph was replaced (snapshot) or emptied (graph_reset / resync) in this batch. */
  replaced: boolean;
  /** Mutation events that changed nothing (duplicates, removals of absent elements). */
  noops: number;
  /** Non-mutation events (analysis_*, diagnostic), in order. */
  lifecycle: ChangeEvent[];
  /**
   * The elements changed, in order. Empty when `replaced`: the graph was rebuilt, and a
   * consumer should re-read it whole rather than replay a snapshot's worth of changes.
   */
  changes: ModelChange[];
}

function emptyResult(): BatchResult {
  return {
    freeNodes: [],
    restoredNodes: 0,
    nodesAdded: 0,
    nodesUpdated: 0,
    nodesRemoved: 0,
    edgesAdded: 0,
    edgesRemoved: 0,
    replaced: false,
    noops: 0,
    lifecycle: [],
    changes: [],
  };
}

const MUTATIONS = new Set(["node_added", "node_updated", "node_removed", "edge_added", "edge_removed", "graph_reset"]);

export function isMutation(type: string): boolean {
  return MUTATIONS.has(type);
}

/** Renderer attributes of a node whose JSON form is `node`, drawn at (x, y). */
function nodeAttributes(node: NodeJSON, x: number, y: number): NodeAttributes {
  return {
    x,
    y,
    size: nodeSize(node),
    color: nodeColor(node.kind),
    label: nodeLabel(node),
    kind: node.kind,
    data: node,
  };
}

function edgeAttributes(edge: EdgeJSON): EdgeAttributes {
  return { kind: edge.kind, color: edgeColor(edge.kind), size: edgeSize(edge), data: edge };
}

export interface GraphStateOptions {
  /** How many positions of vanished nodes to remember (oldest forgotten first). */
  rememberPositions?: number;
  /** How many edges may wait for a missing endpoint (oldest dropped first). */
  pendingEdges?: number;
  /**
   * Give new nodes provisional positions (default true). Stores whose views lay out their own
   * projections turn it off: placing 100k model nodes nobody draws would only cost time.
   */
  place?: boolean;
}

export class GraphState {
  readonly graph: CodeGraphModel = new MultiDirectedGraph<NodeAttributes, EdgeAttributes>();
  /** Edges waiting for an endpoint, by edge id (oldest first, bounded by `pendingLimit`). */
  private readonly pending = new Map<string, EdgeJSON>();
  /** Ids of pending edges by each endpoint they wait for (may hold stale ids: checked on use). */
  private readonly waiting = new Map<string, Set<string>>();
  private readonly pendingLimit: number;
  /** Positions of nodes that left the graph, most recent last (Map keeps insertion order). */
  private readonly remembered = new Map<string, [number, number]>();
  private readonly rememberLimit: number;
  private readonly place: boolean;

  constructor(options: GraphStateOptions = {}) {
    this.rememberLimit = options.rememberPositions ?? 100_000;
    this.pendingLimit = options.pendingEdges ?? 200_000;
    this.place = options.place ?? true;
  }

  /** Edges waiting for a missing endpoint. */
  get pendingEdges(): number {
    return this.pending.size;
  }

  /** Replace the whole graph with `snapshot`; surviving nodes keep their positions. */
  applySnapshot(snapshot: SnapshotData): BatchResult {
    const result = emptyResult();
    const fresh: string[] = [];
    this.clearInto(result);
    for (const node of snapshot.nodes) this.addNode(node, result, fresh);
    for (const edge of snapshot.edges) this.addEdge(edge, result);
    this.finish(result, fresh);
    return result;
  }

  /** Apply `events` in order (positioned events of one graph, already deduplicated by seq). */
  applyEvents(events: readonly ChangeEvent[]): BatchResult {
    const result = emptyResult();
    const fresh: string[] = [];
    this.applyInto(events, result, fresh);
    this.finish(result, fresh);
    return result;
  }

  /**
   * One frame's work in one pass: an optional snapshot (or a reset when `clear` is set), then
   * events. Placement runs once at the end, so a snapshot followed by thousands of events costs
   * one placement.
   */
  apply(work: { clear?: boolean; snapshot?: SnapshotData | null; events?: readonly ChangeEvent[] }): BatchResult {
    const result = emptyResult();
    const fresh: string[] = [];
    if (work.clear || work.snapshot) this.clearInto(result);
    if (work.snapshot) {
      for (const node of work.snapshot.nodes) this.addNode(node, result, fresh);
      for (const edge of work.snapshot.edges) this.addEdge(edge, result);
    }
    if (work.events) this.applyInto(work.events, result, fresh);
    this.finish(result, fresh);
    return result;
  }

  /** Drop everything (a `resync` frame); positions are remembered for the snapshot that follows. */
  clear(): BatchResult {
    const result = emptyResult();
    this.clearInto(result);
    return result;
  }

  // ------------------------------------------------------------------ internals

  private applyInto(events: readonly ChangeEvent[], result: BatchResult, fresh: string[]): void {
    for (const event of events) {
      const data = event.data;
      switch (event.type) {
        case "node_added":
          this.addNode(data.node as NodeJSON, result, fresh);
          break;
        case "node_updated":
          this.updateNode(
            data.id as string,
            (data.before ?? {}) as Record<string, unknown>,
            (data.after ?? {}) as Record<string, unknown>,
            result,
          );
          break;
        case "node_removed":
          this.removeNode((data.node as NodeJSON).id, result);
          break;
        case "edge_added":
          this.addEdge(data.edge as EdgeJSON, result);
          break;
        case "edge_removed":
          this.removeEdge(data.edge as EdgeJSON, result);
          break;
        case "graph_reset":
          this.clearInto(result);
          break;
        default:
          result.lifecycle.push(event);
      }
    }
  }

  private remember(key: string, x: number, y: number): void {
    this.remembered.delete(key);
    this.remembered.set(key, [x, y]);
    if (this.remembered.size > this.rememberLimit) {
      const oldest = this.remembered.keys().next().value as string;
      this.remembered.delete(oldest);
    }
  }

  private clearInto(result: BatchResult): void {
    if (this.graph.order > 0) {
      this.graph.forEachNode((key, a) => this.remember(key, a.x, a.y));
      this.graph.clear();
    }
    this.pending.clear();
    this.waiting.clear();
    result.replaced = true;
    result.changes.length = 0;
  }

  private record(result: BatchResult, change: ModelChange): void {
    // After a replacement consumers re-read the whole graph; listing changes would be waste.
    if (!result.replaced) result.changes.push(change);
  }

  private addNode(node: NodeJSON, result: BatchResult, fresh: string[]): void {
    const key = node.id;
    if (this.graph.hasNode(key)) {
      // Duplicate delivery or a re-add with new content: replace the data, keep the position.
      const current = this.graph.getNodeAttributes(key);
      this.graph.replaceNodeAttributes(key, nodeAttributes(node, current.x, current.y));
      result.noops += 1;
      if (!sameNode(current.data, node)) this.record(result, { op: "node~", before: current.data, node });
      return;
    }
    const known = this.remembered.get(key);
    if (known !== undefined) {
      this.remembered.delete(key);
      this.graph.addNode(key, nodeAttributes(node, known[0], known[1]));
      result.restoredNodes += 1;
    } else {
      this.graph.addNode(key, nodeAttributes(node, 0, 0));
      fresh.push(key);
    }
    result.nodesAdded += 1;
    this.record(result, { op: "node+", node });
    this.attachPending(key, result);
  }

  private updateNode(
    key: string,
    before: Record<string, unknown>,
    after: Record<string, unknown>,
    result: BatchResult,
  ): void {
    if (!this.graph.hasNode(key)) {
      // An update of a node this view does not hold (filtered out, or already removed).
      result.noops += 1;
      return;
    }
    const current = this.graph.getNodeAttributes(key);
    const merged: NodeJSON = { ...current.data };
    // Fields present before and absent after were cleared (Node.to_dict omits None/defaults).
    for (const field of Object.keys(before)) if (!(field in after)) delete merged[field];
    Object.assign(merged, after);
    merged.id = key;
    this.graph.replaceNodeAttributes(key, nodeAttributes(merged, current.x, current.y));
    result.nodesUpdated += 1;
    this.record(result, { op: "node~", before: current.data, node: merged });
  }

  private removeNode(key: string, result: BatchResult): void {
    if (!this.graph.hasNode(key)) {
      result.noops += 1;
      return;
    }
    const a = this.graph.getNodeAttributes(key);
    this.remember(key, a.x, a.y);
    // The producer removes a node's edges first (one event each); any left are dropped with it.
    result.edgesRemoved += this.graph.degree(key);
    if (!result.replaced) this.graph.forEachEdge(key, (_e, attrs) => this.record(result, { op: "edge-", edge: attrs.data }));
    this.graph.dropNode(key);
    result.nodesRemoved += 1;
    this.record(result, { op: "node-", node: a.data });
  }

  private addEdge(edge: EdgeJSON, result: BatchResult): void {
    const key = edge.id;
    if (this.graph.hasEdge(key)) {
      this.graph.replaceEdgeAttributes(key, edgeAttributes(edge));
      result.noops += 1;
      return;
    }
    if (!this.graph.hasNode(edge.source) || !this.graph.hasNode(edge.target)) {
      this.addPending(edge);
      return;
    }
    this.graph.addDirectedEdgeWithKey(key, edge.source, edge.target, edgeAttributes(edge));
    result.edgesAdded += 1;
    this.record(result, { op: "edge+", edge });
  }

  private removeEdge(edge: EdgeJSON, result: BatchResult): void {
    if (this.graph.hasEdge(edge.id)) {
      const data = this.graph.getEdgeAttribute(edge.id, "data");
      this.graph.dropEdge(edge.id);
      result.edgesRemoved += 1;
      this.record(result, { op: "edge-", edge: data });
    } else if (!this.pending.delete(edge.id)) {
      result.noops += 1;
    }
  }

  private addPending(edge: EdgeJSON): void {
    this.pending.delete(edge.id);
    this.pending.set(edge.id, edge);
    for (const end of [edge.source, edge.target]) {
      if (this.graph.hasNode(end)) continue;
      let ids = this.waiting.get(end);
      if (ids === undefined) this.waiting.set(end, (ids = new Set()));
      ids.add(edge.id);
    }
    if (this.pending.size > this.pendingLimit) {
      this.pending.delete(this.pending.keys().next().value as string);
    }
  }

  /** `nodeKey` just appeared: add the pending edges that now have both endpoints. */
  private attachPending(nodeKey: string, result: BatchResult): void {
    const ids = this.waiting.get(nodeKey);
    if (ids === undefined) return;
    this.waiting.delete(nodeKey);
    for (const id of ids) {
      const edge = this.pending.get(id);
      if (edge === undefined) continue;
      // Still missing the other endpoint: it stays indexed under that one.
      if (!this.graph.hasNode(edge.source) || !this.graph.hasNode(edge.target)) continue;
      this.pending.delete(id);
      this.graph.addDirectedEdgeWithKey(id, edge.source, edge.target, edgeAttributes(edge));
      result.edgesAdded += 1;
      this.record(result, { op: "edge+", edge });
    }
  }

  private finish(result: BatchResult, fresh: string[]): void {
    // Nodes added and removed within the same batch are gone already.
    const live = fresh.filter((key) => this.graph.hasNode(key));
    if (this.place) placeNewNodes(this.graph, live);
    result.freeNodes = live;
  }
}

/** Same JSON content (node payloads are flat apart from `extra`). */
function sameNode(a: NodeJSON, b: NodeJSON): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const va = a[k];
    const vb = b[k];
    if (va === vb) continue;
    if (typeof va === "object" && typeof vb === "object" && JSON.stringify(va) === JSON.stringify(vb)) continue;
    return false;
  }
  return true;
}
