/**
 * Where new nodes appear. Existing nodes never move here; a new node is put next to the nodes
 * it is already connected to (the centroid of its placed neighbours plus a small deterministic
 * offset), so an edit shows up where the code it touches is drawn. Nodes without placed
 * neighbours get a deterministic position from a hash of their id, so reloading the same graph
 * draws it the same way before the layout worker refines it.
 */

import type Graph from "graphology";

export interface Placeable {
  x: number;
  y: number;
}

/** 32-bit FNV-1a of a string: cheap, stable, good enough to spread points. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Two numbers in [0, 1) derived from `id`. */
export function hashUnit2(id: string): [number, number] {
  const a = hashString(id);
  const b = hashString(id, a ^ 0x9e3779b9);
  return [a / 0x100000000, b / 0x100000000];
}

export interface Extent {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

function extentOf(graph: Graph<Placeable>, skip: ReadonlySet<string>): Extent | null {
  let ext: Extent | null = null;
  graph.forEachNode((key, attrs) => {
    if (skip.has(key)) return;
    if (ext === null) ext = { minX: attrs.x, maxX: attrs.x, minY: attrs.y, maxY: attrs.y };
    else {
      if (attrs.x < ext.minX) ext.minX = attrs.x;
      if (attrs.x > ext.maxX) ext.maxX = attrs.x;
      if (attrs.y < ext.minY) ext.minY = attrs.y;
      if (attrs.y > ext.maxY) ext.maxY = attrs.y;
    }
  });
  return ext;
}

/**
 * Give every node of `fresh` (already in `graph`) a position; nodes outside `fresh` are placed
 * already and are not touched. Runs in O(|fresh| + their edges) plus one pass for the extent.
 */
export function placeNewNodes(graph: Graph<Placeable>, fresh: readonly string[]): void {
  if (fresh.length === 0) return;
  const unplaced = new Set(fresh);
  const ext = extentOf(graph, unplaced);
  if (ext === null) {
    // Nothing to be near: spread everything over a square whose area grows with the count,
    // the same density the layout ends up with for typical code graphs.
    const side = Math.max(1, Math.sqrt(fresh.length)) * 10;
    for (const key of fresh) {
      const [u, v] = hashUnit2(key);
      graph.mergeNodeAttributes(key, { x: (u - 0.5) * side, y: (v - 0.5) * side });
    }
    return;
  }
  const width = Math.max(1, ext.maxX - ext.minX);
  const height = Math.max(1, ext.maxY - ext.minY);
  const placedCount = Math.max(1, graph.order - unplaced.size);
  // Typical distance between neighbouring nodes at the current density.
  const spacing = Math.max(0.5, Math.sqrt((width * height) / placedCount));

  const queue: string[] = [];
  let head = 0; // queue.shift() is O(n); a moving head keeps big batches linear
  const enqueueFrontier = (key: string): void => {
    graph.forEachNeighbor(key, (n) => {
      if (unplaced.has(n)) queue.push(n);
    });
  };
  for (const key of fresh) {
    if (graph.someNeighbor(key, (n) => !unplaced.has(n))) queue.push(key);
  }
  let seedIndex = 0;
  while (unplaced.size > 0) {
    while (head < queue.length) {
      const key = queue[head++] as string;
      if (!unplaced.has(key)) continue;
      let sx = 0;
      let sy = 0;
      let n = 0;
      graph.forEachNeighbor(key, (nb, attrs) => {
        if (unplaced.has(nb)) return;
        sx += attrs.x;
        sy += attrs.y;
        n += 1;
      });
      const [u, v] = hashUnit2(key);
      const angle = u * 2 * Math.PI;
      const radius = spacing * (0.5 + v);
      const cx = n > 0 ? sx / n : ext.minX + u * width;
      const cy = n > 0 ? sy / n : ext.minY + v * height;
      graph.mergeNodeAttributes(key, { x: cx + Math.cos(angle) * radius, y: cy + Math.sin(angle) * radius });
      unplaced.delete(key);
      enqueueFrontier(key);
    }
    // A component with no placed node: seed it inside the current extent, then grow from it.
    while (seedIndex < fresh.length && !unplaced.has(fresh[seedIndex] as string)) seedIndex += 1;
    if (seedIndex >= fresh.length) break;
    const seed = fresh[seedIndex] as string;
    const [u, v] = hashUnit2(seed);
    graph.mergeNodeAttributes(seed, { x: ext.minX + u * width, y: ext.minY + v * height });
    unplaced.delete(seed);
    enqueueFrontier(seed);
  }
}
