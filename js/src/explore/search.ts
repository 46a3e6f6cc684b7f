/**
 * Search by name for the autocomplete box: every element of the model (collapsed or filtered
 * out elements included — choosing one reveals it), ranked exact name, name prefix, id suffix,
 * name substring, id substring; shorter ids first within a rank.
 *
 * A linear scan per query: 100k names take a few milliseconds, less than keeping an index in
 * step with a graph that changes on every event.
 */

import type { CodeGraphModel } from "../state/graph-state.js";

export interface SearchHit {
  id: string;
  name: string;
  kind: string;
  file: string | null;
  line: number | null;
}

function rank(query: string, id: string, name: string): number {
  const n = name.toLowerCase();
  if (n === query) return 0;
  if (n.startsWith(query)) return 1;
  const i = id.toLowerCase();
  if (i.endsWith(`.${query}`) || i === query) return 2;
  if (n.includes(query)) return 3;
  if (i.includes(query)) return 4;
  return -1;
}

/** Up to `limit` elements matching `query` (case-insensitive); [] for a blank query. */
export function searchNodes(model: CodeGraphModel, query: string, limit = 20): SearchHit[] {
  const q = query.trim().toLowerCase();
  if (q === "") return [];
  const found: Array<[number, string, SearchHit]> = [];
  model.forEachNode((id, attrs) => {
    const data = attrs.data;
    const r = rank(q, id, data.name || id);
    if (r < 0) return;
    found.push([
      r,
      id,
      {
        id,
        name: data.name || id,
        kind: data.kind,
        file: typeof data.file === "string" ? data.file : null,
        line: typeof data.line === "number" ? data.line : null,
      },
    ]);
  });
  found.sort((a, b) => a[0] - b[0] || a[1].length - b[1].length || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return found.slice(0, limit).map((f) => f[2]);
}
