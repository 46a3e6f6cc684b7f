/**
 * The bounded copy of a graph a view keeps in its `saved_graph` trait, so a notebook saved with
 * its widget state (or exported to HTML) still shows the graph with no kernel and no server.
 *
 * Two levels: "full" (the whole graph, when it has at most {@link SAVE_LIMITS} elements) and
 * "collapsed" (what the view draws: clusters of packages/modules become plain nodes of kind
 * package/module/external with `extra.members`, bundled edges become one edge each). Positions
 * are stored by display key so a reopened view draws the same picture before any layout runs.
 * Docstrings are cut short and `extra` is dropped: the copy is for looking, not for analysis.
 *
 * The kernel writes the same format (graphlive.widget) when no front end is around to do it,
 * e.g. while nbclient executes a notebook.
 */

import type { EdgeJSON, NodeJSON, Position } from "../client/protocol.js";
import type { CodeGraphModel } from "../state/graph-state.js";
import { groupKind, groupLabel, groupOfCluster, isClusterKey } from "./grouping.js";
import { DEFAULT_LANGUAGE } from "./language.js";
import type { DrawnGraph } from "./view-graph.js";

export const SAVED_VERSION = 1;
export const SAVE_LIMITS = { nodes: 5_000, edges: 20_000 };
const DOC_CHARS = 200;

export interface SavedGraph {
  v: number;
  graph: string;
  epoch: string | null;
  seq: number | null;
  level: "full" | "collapsed";
  nodes: NodeJSON[];
  edges: EdgeJSON[];
  /** Display key → [x, y]. */
  positions: Record<string, [number, number]>;
  /** Size of the whole graph the copy was made from. */
  total: { nodes: number; edges: number };
  /** Some of the collapsed level did not fit the limits and was left out. */
  truncated: boolean;
}

const KEEP = ["id", "kind", "name", "file", "line", "end_line", "language", "doc", "complexity", "loc"] as const;

function trimNode(node: NodeJSON): NodeJSON {
  const out: Record<string, unknown> = { id: node.id, kind: node.kind, name: node.name };
  for (const k of KEEP) {
    const v = node[k];
    if (v === undefined || v === null) continue;
    out[k] = k === "doc" && typeof v === "string" && v.length > DOC_CHARS ? `${v.slice(0, DOC_CHARS - 1)}…` : v;
  }
  if (node.extra && typeof node.extra.members === "number") out.extra = { members: node.extra.members };
  return out as NodeJSON;
}

function trimEdge(edge: EdgeJSON): EdgeJSON {
  return { id: edge.id, kind: edge.kind, source: edge.source, target: edge.target, line: edge.line };
}

const round = (v: number): number => Math.round(v * 100) / 100;

/** Saved id of a display key: clusters become their group key. */
function savedId(key: string): string {
  return isClusterKey(key) ? groupOfCluster(key) : key;
}

/**
 * A bounded copy of what `model` holds and `display` draws. Full when the model fits the
 * limits; otherwise the display level (largest display nodes first if even that is too big).
 */
export function buildSaved(graph: string, position: Position | null, model: CodeGraphModel, display: DrawnGraph): SavedGraph {
  const positions: Record<string, [number, number]> = {};
  const base = {
    v: SAVED_VERSION,
    graph,
    epoch: position?.epoch ?? null,
    seq: position?.seq ?? null,
    total: { nodes: model.order, edges: model.size },
  };
  if (model.order <= SAVE_LIMITS.nodes && model.size <= SAVE_LIMITS.edges) {
    display.forEachNode((key, a) => {
      positions[key] = [round(a.x), round(a.y)];
    });
    const nodes: NodeJSON[] = [];
    model.forEachNode((_k, a) => nodes.push(trimNode(a.data)));
    const edges: EdgeJSON[] = [];
    model.forEachEdge((_k, a) => edges.push(trimEdge(a.data)));
    return { ...base, level: "full", nodes, edges, positions, truncated: false };
  }
  let keys = display.nodes();
  let truncated = false;
  if (keys.length > SAVE_LIMITS.nodes) {
    keys = keys
      .map((k) => [k, (display.getNodeAttribute(k, "count") ?? 1) * 1e6 + display.degree(k)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, SAVE_LIMITS.nodes)
      .map((x) => x[0]);
    truncated = true;
  }
  const kept = new Set(keys);
  const nodes: NodeJSON[] = [];
  for (const key of keys) {
    const a = display.getNodeAttributes(key);
    const id = savedId(key);
    positions[id] = [round(a.x), round(a.y)];
    if (a.group != null) {
      const kind = groupKind(a.group);
      const node: NodeJSON = { id, kind, name: groupLabel(a.group), extra: { members: a.count ?? 1 } };
      if (kind !== "external") node.file = a.group;
      // So a reopened copy filters and colours the cluster by the language of its members.
      if (a.language !== undefined && a.language !== DEFAULT_LANGUAGE) node.language = a.language;
      nodes.push(node);
    } else if (model.hasNode(key)) {
      nodes.push(trimNode(model.getNodeAttribute(key, "data")));
    }
  }
  const edges: EdgeJSON[] = [];
  // A view drawing the model itself has parallel edges: one saved edge per pair and kind.
  const ids = new Set<string>();
  display.forEachEdge((_k, a, s, t) => {
    if (!kept.has(s) || !kept.has(t)) return;
    const source = savedId(s);
    const target = savedId(t);
    const id = `${a.kind}:${source}->${target}@0`;
    if (ids.has(id)) return;
    if (edges.length >= SAVE_LIMITS.edges) {
      truncated = true;
      return;
    }
    ids.add(id);
    edges.push({ id, kind: a.kind, source, target, line: 0 });
  });
  return { ...base, level: "collapsed", nodes, edges, positions, truncated };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The saved copy in a trait value, or null if there is none or it is malformed. */
export function parseSaved(value: unknown): SavedGraph | null {
  if (!isObject(value) || value.v !== SAVED_VERSION) return null;
  if (!Array.isArray(value.nodes) || !Array.isArray(value.edges)) return null;
  const nodes = value.nodes.filter((n): n is NodeJSON => isObject(n) && typeof n.id === "string" && typeof n.kind === "string");
  const edges = value.edges.filter(
    (e): e is EdgeJSON => isObject(e) && typeof e.id === "string" && typeof e.source === "string" && typeof e.target === "string",
  );
  const positions: Record<string, [number, number]> = {};
  if (isObject(value.positions)) {
    for (const [k, p] of Object.entries(value.positions)) {
      if (Array.isArray(p) && typeof p[0] === "number" && typeof p[1] === "number") positions[k] = [p[0], p[1]];
    }
  }
  const total = isObject(value.total) ? value.total : {};
  return {
    v: SAVED_VERSION,
    graph: typeof value.graph === "string" ? value.graph : "",
    epoch: typeof value.epoch === "string" ? value.epoch : null,
    seq: typeof value.seq === "number" ? value.seq : null,
    level: value.level === "collapsed" ? "collapsed" : "full",
    nodes,
    edges,
    positions,
    total: {
      nodes: typeof total.nodes === "number" ? total.nodes : nodes.length,
      edges: typeof total.edges === "number" ? total.edges : edges.length,
    },
    truncated: value.truncated === true,
  };
}

/** A cheap fingerprint: the copy is rewritten only when this changes. */
export function savedFingerprint(position: Position | null, model: CodeGraphModel, display: DrawnGraph): string {
  return `${position?.epoch ?? ""}:${position?.seq ?? ""}:${model.order}:${model.size}:${display.order}:${display.size}`;
}
