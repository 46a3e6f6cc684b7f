/**
 * Which package and module a node belongs to: the chain of groups a collapsed view folds it
 * into, outermost first.
 *
 * Groups come from the node's `file` (relative to the analysed root, `/` separators), so they
 * mean the same for every language: each directory is a package group, the file itself a
 * module group (`pkg/`, `pkg/sub/`, `pkg/sub/mod.py`). Nodes without a file are external
 * symbols (`os.path.join`, `<builtin>.len`) or notebook cells: they go under one synthetic
 * top group per origin, split by the first segment of their id (`⟨external⟩/os`).
 *
 * Group keys are strings that cannot be node ids of the same display graph: {@link clusterKey}
 * prefixes them before they become display nodes.
 */

import type { NodeJSON } from "../client/protocol.js";

export const EXTERNAL_GROUP = "⟨external⟩";
export const OTHER_GROUP = "⟨other⟩";

/** Display-graph key of the cluster node standing for group `group`. */
export function clusterKey(group: string): string {
  return `\u0001${group}`;
}

export function isClusterKey(key: string): boolean {
  return key.charCodeAt(0) === 1;
}

export function groupOfCluster(key: string): string {
  return key.slice(1);
}

/** First segment of a dotted id, keeping `<builtin>` whole. */
function topSegment(id: string): string {
  const dot = id.indexOf(".");
  return dot < 0 ? id : id.slice(0, dot);
}

/**
 * Group chain of `node`, outermost first; never empty. Directory groups end with "/", so a
 * directory and a file of the same name never share a key.
 */
export function groupChain(node: NodeJSON): string[] {
  const file = typeof node.file === "string" ? node.file.replace(/^\.?\/+/, "") : "";
  if (file) {
    const parts = file.split("/").filter(Boolean);
    const chain: string[] = [];
    let prefix = "";
    for (let i = 0; i < parts.length - 1; i++) {
      prefix += `${parts[i]}/`;
      chain.push(prefix);
    }
    chain.push(prefix + (parts[parts.length - 1] ?? file));
    return chain;
  }
  const top = node.kind === "external" ? EXTERNAL_GROUP : OTHER_GROUP;
  return [top, `${top}/${topSegment(node.id)}`];
}

/** Parent of a group key, or null for a top group. */
export function parentGroup(group: string): string | null {
  const trimmed = group.endsWith("/") ? group.slice(0, -1) : group;
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return null;
  return group.startsWith(EXTERNAL_GROUP) || group.startsWith(OTHER_GROUP)
    ? trimmed.slice(0, slash)
    : trimmed.slice(0, slash + 1);
}

/** What a group stands for: a directory (package), a file (module), or a synthetic bucket. */
export function groupKind(group: string): "package" | "module" | "external" {
  if (group.startsWith(EXTERNAL_GROUP) || group.startsWith(OTHER_GROUP)) return "external";
  return group.endsWith("/") ? "package" : "module";
}

/** Short label: the last path segment (`sub/`, `mod.py`, `os`). */
export function groupLabel(group: string): string {
  const trimmed = group.endsWith("/") ? group.slice(0, -1) : group;
  const slash = trimmed.lastIndexOf("/");
  const last = slash < 0 ? trimmed : trimmed.slice(slash + 1);
  return group.endsWith("/") ? `${last}/` : last;
}

/** True if `file` (relative path) lies under one of `prefixes` (all when empty). */
export function underPrefixes(file: string | undefined, prefixes: readonly string[]): boolean {
  if (prefixes.length === 0) return true;
  const f = (file ?? "").replace(/^\.?\/+/, "");
  for (const raw of prefixes) {
    const p = raw.replace(/^\.?\/+/, "");
    if (p === "" || f.startsWith(p)) return true;
  }
  return false;
}
