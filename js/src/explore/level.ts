/**
 * The automatic level: which package and module groups a collapsed view opens with.
 *
 * A code map is readable when it shows the code's own structure first: packages (directories)
 * are opened before modules (files), and modules before the buckets of external symbols
 * (`⟨external⟩/os`), which are not the project's structure; among groups of the same kind the
 * shallower come first, then the larger. A group is opened while the picture stays within
 * the node budget; one that does not fit is skipped, so smaller ones after it may still open.
 * (docs/widget.md, "A readable first view".)
 */

import { groupKind } from "./grouping.js";

/**
 * Scopes of more elements than this open collapsed, and the automatic level draws at most this
 * many nodes: a few hundred nodes, with the hubs labelled, is what one screen shows legibly.
 */
export const COLLAPSE_ABOVE = 300;
/** Display nodes the automatic collapsed level aims for at most (never above `collapseAbove`). */
export const MAX_VISIBLE = 300;
/** Bundled edges the automatic level aims for at most, per node of its budget. */
export const EDGES_PER_NODE = 3;

/** What the level choice reads of a group. */
export interface LevelGroup {
  readonly key: string;
  readonly children: ReadonlySet<LevelGroup>;
  /** Elements whose innermost group this is (drawn one by one when it is open). */
  readonly members: ReadonlySet<string>;
  /** Elements in this group and below. */
  readonly total: number;
}

const KIND_ORDER = { package: 0, module: 1, external: 2 } as const;

interface Candidate {
  group: LevelGroup;
  rank: number;
  depth: number;
}

function before(a: Candidate, b: Candidate): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.depth !== b.depth) return a.depth < b.depth;
  if (a.group.total !== b.group.total) return a.group.total > b.group.total;
  return a.group.key < b.group.key;
}

/** A binary heap of candidates, best first. */
class Queue {
  private readonly items: Candidate[] = [];

  get size(): number {
    return this.items.length;
  }

  push(c: Candidate): void {
    const a = this.items;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i] as Candidate, a[p] as Candidate)) break;
      [a[i], a[p]] = [a[p] as Candidate, a[i] as Candidate];
      i = p;
    }
  }

  pop(): Candidate {
    const a = this.items;
    const top = a[0] as Candidate;
    const last = a.pop() as Candidate;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && before(a[l] as Candidate, a[best] as Candidate)) best = l;
        if (r < a.length && before(a[r] as Candidate, a[best] as Candidate)) best = r;
        if (best === i) break;
        [a[i], a[best]] = [a[best] as Candidate, a[i] as Candidate];
        i = best;
      }
    }
    return top;
  }
}

/**
 * Groups to open, from the top groups `tops`, for at most `budget` display nodes (the top
 * groups themselves are drawn in any case).
 */
export function chooseLevel(tops: readonly LevelGroup[], budget: number): Set<string> {
  const expanded = new Set<string>();
  const queue = new Queue();
  const offer = (group: LevelGroup, depth: number): void => {
    queue.push({ group, depth, rank: KIND_ORDER[groupKind(group.key)] });
  };
  for (const g of tops) offer(g, 0);
  let visible = tops.length;
  while (queue.size > 0) {
    const { group, depth } = queue.pop();
    // Opening replaces the group's node by its sub-groups and its own elements.
    const cost = group.children.size + group.members.size - 1;
    if (visible + cost > budget) continue;
    expanded.add(group.key);
    visible += cost;
    for (const c of group.children) offer(c, depth + 1);
  }
  return expanded;
}

/**
 * How many bundled edges a level would draw, for several candidate levels of one scope: the
 * members' group chains and the scope's edges are turned into small integers once, so each
 * count is one pass over integer arrays (the 100k-element benchmark: ~40 ms instead of ~230).
 */
export class BundleCounter {
  private readonly groupIndex = new Map<LevelGroup, number>();
  private readonly groups: string[] = [];
  private readonly memberIndex = new Map<string, number>();
  /** Per member, its chain as group indexes, outermost first. */
  private readonly chains: number[][] = [];
  /** Member index pairs, source then target. */
  private readonly edges: number[] = [];

  addMember(id: string, chain: readonly LevelGroup[]): void {
    const ids: number[] = [];
    for (const g of chain) {
      let i = this.groupIndex.get(g);
      if (i === undefined) {
        i = this.groups.length;
        this.groupIndex.set(g, i);
        this.groups.push(g.key);
      }
      ids.push(i);
    }
    this.memberIndex.set(id, this.chains.length);
    this.chains.push(ids);
  }

  /** An edge of the scope; ignored unless both ends are members. */
  addEdge(source: string, target: string): void {
    const s = this.memberIndex.get(source);
    const t = this.memberIndex.get(target);
    if (s !== undefined && t !== undefined && s !== t) this.edges.push(s, t);
  }

  /** Distinct ordered pairs of display nodes joined by an edge with `expanded` groups open. */
  count(expanded: ReadonlySet<string>): number {
    const open = new Uint8Array(this.groups.length);
    this.groups.forEach((key, i) => {
      if (expanded.has(key)) open[i] = 1;
    });
    const g = this.groups.length;
    // Display node of each member: its outermost closed group, else itself (after the groups).
    const rep = new Float64Array(this.chains.length);
    this.chains.forEach((chain, m) => {
      let r = g + m;
      for (const i of chain) {
        if (open[i] === 0) {
          r = i;
          break;
        }
      }
      rep[m] = r;
    });
    const n = g + this.chains.length;
    const pairs = new Set<number>();
    const e = this.edges;
    for (let k = 0; k < e.length; k += 2) {
      const rs = rep[e[k] as number] as number;
      const rt = rep[e[k + 1] as number] as number;
      if (rs !== rt) pairs.add(rs * n + rt);
    }
    return pairs.size;
  }
}
