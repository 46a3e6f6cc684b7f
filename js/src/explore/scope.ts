/**
 * What part of the model a view shows: filters (node kinds, edge kinds, languages, path
 * prefixes) and an optional focus (the ego network of a node, or the path between two nodes).
 *
 * Focus sets are computed on the model graph with the filters applied, so an ego view of a
 * function with "calls" selected follows calls only.
 */

import type { EdgeJSON, NodeJSON } from "../client/protocol.js";
import type { CodeGraphModel } from "../state/graph-state.js";
import { underPrefixes } from "./grouping.js";
import { nodeLanguage } from "./language.js";

export interface ViewFilter {
  /** Node kinds shown; empty = all. */
  nodeKinds: readonly string[];
  /** Edge kinds shown; empty = all. */
  edgeKinds: readonly string[];
  /** Path prefixes (relative to the analysed root); empty = all. Nodes without a file fail. */
  paths: readonly string[];
  /**
   * Languages shown (a node without `language` is Python); empty or absent = all. Optional so
   * that filters written before languages existed (hosts, saved states) keep their meaning.
   */
  languages?: readonly string[];
}

export const NO_FILTER: ViewFilter = { nodeKinds: [], edgeKinds: [], paths: [] };

export type Focus =
  | { mode: "ego"; node: string; depth: number }
  | { mode: "path"; source: string; target: string }
  | null;

/** Most nodes an ego view gathers before it stops (a hub at depth 3 can reach everything). */
export const EGO_LIMIT = 5_000;

export function sameFilter(a: ViewFilter, b: ViewFilter): boolean {
  const eq = (x: readonly string[], y: readonly string[]): boolean =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.nodeKinds, b.nodeKinds) && eq(a.edgeKinds, b.edgeKinds) && eq(a.paths, b.paths) && eq(a.languages ?? [], b.languages ?? []);
}

export function sameFocus(a: Focus, b: Focus): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function nodePasses(filter: ViewFilter, node: NodeJSON): boolean {
  if (filter.nodeKinds.length > 0 && !filter.nodeKinds.includes(node.kind)) return false;
  const languages = filter.languages ?? [];
  if (languages.length > 0 && !languages.includes(nodeLanguage(node))) return false;
  if (filter.paths.length > 0 && !underPrefixes(node.file, filter.paths)) return false;
  return true;
}

export function edgePasses(filter: ViewFilter, edge: EdgeJSON): boolean {
  return filter.edgeKinds.length === 0 || filter.edgeKinds.includes(edge.kind);
}

/** The result of resolving a focus on the model. */
export interface FocusSet {
  nodes: Set<string>;
  /** Model edge keys to show; null = every passing edge between focus nodes. */
  edges: Set<string> | null;
  /** Human-readable outcome, e.g. "3 hops (calls)" or "no path". */
  summary: string;
  truncated: boolean;
}

function passesNode(model: CodeGraphModel, filter: ViewFilter, key: string): boolean {
  return model.hasNode(key) && nodePasses(filter, model.getNodeAttribute(key, "data"));
}

/** Nodes within `depth` hops of `center`, in both directions, over passing edges. */
export function egoSet(model: CodeGraphModel, filter: ViewFilter, center: string, depth: number, limit = EGO_LIMIT): FocusSet {
  const nodes = new Set<string>();
  if (!passesNode(model, filter, center)) return { nodes, edges: null, summary: "node not shown", truncated: false };
  nodes.add(center);
  let frontier = [center];
  let truncated = false;
  for (let d = 0; d < depth && frontier.length > 0 && !truncated; d++) {
    const next: string[] = [];
    for (const key of frontier) {
      model.forEachEdge(key, (_e, attrs, source, target) => {
        if (truncated || !edgePasses(filter, attrs.data)) return;
        const other = source === key ? target : source;
        if (nodes.has(other) || !passesNode(model, filter, other)) return;
        if (nodes.size >= limit) {
          truncated = true;
          return;
        }
        nodes.add(other);
        next.push(other);
      });
    }
    frontier = next;
  }
  const summary = `${nodes.size} nodes within ${depth} hop${depth === 1 ? "" : "s"}${truncated ? " (truncated)" : ""}`;
  return { nodes, edges: null, summary, truncated };
}

/**
 * A shortest path from `source` to `target` over passing edges: following edge direction if
 * such a path exists, otherwise ignoring direction. Null when the two are not connected.
 */
export function shortestPath(
  model: CodeGraphModel,
  filter: ViewFilter,
  source: string,
  target: string,
): { nodes: string[]; edges: string[]; directed: boolean } | null {
  if (!passesNode(model, filter, source) || !passesNode(model, filter, target)) return null;
  for (const directed of [true, false]) {
    const via = new Map<string, [string, string]>(); // node → [previous node, edge key]
    const seen = new Set([source]);
    let frontier = [source];
    while (frontier.length > 0 && !seen.has(target)) {
      const next: string[] = [];
      for (const key of frontier) {
        const visit = (edgeKey: string, attrs: { data: EdgeJSON }, s: string, t: string): void => {
          if (!edgePasses(filter, attrs.data)) return;
          const other = s === key ? t : s;
          if (seen.has(other) || !passesNode(model, filter, other)) return;
          seen.add(other);
          via.set(other, [key, edgeKey]);
          next.push(other);
        };
        if (directed) model.forEachOutEdge(key, visit);
        else model.forEachEdge(key, visit);
      }
      frontier = next;
    }
    if (!seen.has(target)) continue;
    const nodes = [target];
    const edges: string[] = [];
    let at = target;
    while (at !== source) {
      const step = via.get(at) as [string, string];
      edges.push(step[1]);
      at = step[0];
      nodes.push(at);
    }
    return { nodes: nodes.reverse(), edges: edges.reverse(), directed };
  }
  return null;
}

/** Resolve `focus` on the model (null focus = everything). */
export function resolveFocus(model: CodeGraphModel, filter: ViewFilter, focus: Focus): FocusSet | null {
  if (focus === null) return null;
  if (focus.mode === "ego") return egoSet(model, filter, focus.node, Math.max(0, Math.floor(focus.depth)));
  const path = shortestPath(model, filter, focus.source, focus.target);
  if (path === null) return { nodes: new Set(), edges: new Set(), summary: "no path", truncated: false };
  const hops = path.edges.length;
  const kinds = [...new Set(path.edges.map((e) => model.getEdgeAttribute(e, "kind")))].join(", ");
  const summary = `${hops} hop${hops === 1 ? "" : "s"}${kinds ? ` (${kinds})` : ""}${path.directed ? "" : ", ignoring direction"}`;
  return { nodes: new Set(path.nodes), edges: new Set(path.edges), summary, truncated: false };
}
