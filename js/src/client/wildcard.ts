/**
 * Event-type globs as the filtered endpoint accepts them (`node_*`, `analysis_?tarted`, `*`).
 * `*` matches any run of characters, `?` exactly one; everything else is literal. An empty
 * pattern list means "no restriction", as in docs/protocol.md.
 */

const compiled = new Map<string, RegExp>();

function toRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    const body = pattern
      .split("")
      .map((ch) => {
        if (ch === "*") return ".*";
        if (ch === "?") return ".";
        return ch.replace(/[\\^$.+()|[\]{}]/g, "\\$&");
      })
      .join("");
    re = new RegExp(`^${body}$`);
    // Patterns come from a handful of views; the cache only avoids recompiling per event.
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** True when `value` matches the glob `pattern` as a whole. */
export function matchesGlob(value: string, pattern: string): boolean {
  return toRegExp(pattern).test(value);
}

/** True when `patterns` is empty or any of them matches `value`. */
export function matchesAny(value: string, patterns: readonly string[] | undefined): boolean {
  if (patterns === undefined || patterns.length === 0) return true;
  for (const p of patterns) if (matchesGlob(value, p)) return true;
  return false;
}

/**
 * The server-side filter that serves several views at once: the union of their patterns, or no
 * restriction at all when any view wants everything.
 */
export function unionPatterns(lists: Iterable<readonly string[] | undefined>): string[] {
  const out = new Set<string>();
  for (const list of lists) {
    if (list === undefined || list.length === 0) return [];
    for (const p of list) out.add(p);
  }
  return [...out].sort();
}
