/**
 * How code elements look: colour by kind, size by kind and weight. Kept apart from the reducer
 * so the palette can change without touching state logic.
 */

import type { EdgeJSON, NodeJSON } from "../client/protocol.js";

const NODE_COLORS: Record<string, string> = {
  package: "#7b3294",
  module: "#2166ac",
  class: "#d6604d",
  // A lighter shade of the class colour: interfaces (and Rust traits) read as class-like, yet
  // stay distinguishable from the classes that implement them.
  interface: "#f4a582",
  function: "#1a9850",
  method: "#66bd63",
  lambda: "#a6d96a",
  external: "#9e9e9e",
  cell: "#f1a340",
};

const NODE_SIZES: Record<string, number> = {
  package: 9,
  module: 7,
  class: 5,
  interface: 4.5,
  function: 3.5,
  method: 3,
  lambda: 2,
  external: 2.5,
  cell: 6,
};

const EDGE_COLORS: Record<string, string> = {
  contains: "#c7c7c7",
  imports: "#6baed6",
  calls: "#969696",
  inherits: "#e6550d",
  // The lighter orange of the same hue as inherits: both say "is a", implements of an interface.
  implements: "#fdae6b",
  decorates: "#9e9ac8",
};

export function nodeColor(kind: string): string {
  return NODE_COLORS[kind] ?? "#666666";
}

/** Base size by kind, grown a little with the element's complexity so hot spots stand out. */
export function nodeSize(node: NodeJSON): number {
  // A saved collapsed copy stores packages/modules as plain nodes that know their member count.
  const members = node.extra?.members;
  if (typeof members === "number") return Math.min(28, 5 + 2 * Math.log2(1 + members));
  const base = NODE_SIZES[node.kind] ?? 3;
  const complexity = typeof node.complexity === "number" ? node.complexity : 0;
  return base + Math.min(6, Math.log2(1 + Math.max(0, complexity - 1)));
}

export function nodeLabel(node: NodeJSON): string {
  const members = node.extra?.members;
  return typeof members === "number" ? `${node.name || node.id} (${members})` : node.name || node.id;
}

export function edgeColor(kind: string): string {
  return EDGE_COLORS[kind] ?? "#bdbdbd";
}

export function edgeSize(edge: EdgeJSON): number {
  return edge.kind === "inherits" || edge.kind === "implements" ? 1.5 : 1;
}

/** Legend entries for the view (kind, colour). */
export function nodeLegend(): Array<[string, string]> {
  return Object.entries(NODE_COLORS);
}
