/**
 * What a package/module group knows of its in-scope members: how many, their lines, their
 * complexity and their languages. Kept incrementally (a member in, a member out) so a cluster's
 * encodings — size by lines, colour by complexity or language — never rescan the group.
 */

import type { NodeJSON } from "../client/protocol.js";
import { nodeLanguage } from "./language.js";

export interface Aggregate {
  /** In-scope elements in the group and its descendants. */
  total: number;
  loc: number;
  complexitySum: number;
  complexityCount: number;
  /** Members per language. */
  languages: Map<string, number>;
}

export function emptyAggregate(): Aggregate {
  return { total: 0, loc: 0, complexitySum: 0, complexityCount: 0, languages: new Map() };
}

/** Count `node` into `agg` (`sign` 1) or out of it (`sign` -1). */
export function tally(agg: Aggregate, node: NodeJSON, sign: 1 | -1): void {
  agg.total += sign;
  if (typeof node.loc === "number") agg.loc += sign * node.loc;
  if (typeof node.complexity === "number") {
    agg.complexitySum += sign * node.complexity;
    agg.complexityCount += sign;
  }
  const language = nodeLanguage(node);
  const n = (agg.languages.get(language) ?? 0) + sign;
  if (n > 0) agg.languages.set(language, n);
  else agg.languages.delete(language);
}

/** The language most members are in (ties: alphabetically first, so arrival order never matters). */
export function dominantLanguage(languages: ReadonlyMap<string, number>): string | null {
  let best: string | null = null;
  let most = 0;
  for (const [language, n] of languages) {
    if (n > most || (n === most && best !== null && language < best)) {
      best = language;
      most = n;
    }
  }
  return best;
}
