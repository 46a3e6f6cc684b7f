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
