/**
 * The language of code elements: which one a node is in, a fixed colour per language, and the
 * list of languages a graph has shown so far (for the explore bar's language filter).
 *
 * A node without `language` is Python: the Python analysis predates the attribute and still
 * leaves it out, so "absent" and "python" must mean the same everywhere (filter, colour, legend).
 */

import type { NodeJSON } from "../client/protocol.js";
import type { BatchResult, CodeGraphModel } from "../state/graph-state.js";
import { hashString } from "../state/placement.js";

export const DEFAULT_LANGUAGE = "python";

export function nodeLanguage(node: NodeJSON): string {
  const language = node.language;
  return typeof language === "string" && language !== "" ? language : DEFAULT_LANGUAGE;
}

/**
 * One colour per language the analyses produce, chosen to stay apart from each other on a white
 * canvas (and close to the colours these languages are commonly shown in, so they read at a glance).
 */
const LANGUAGE_COLORS: Readonly<Record<string, string>> = {
  python: "#3572a5",
  javascript: "#d4b400",
  typescript: "#1b9e77",
  go: "#00add8",
  java: "#e76f00",
  rust: "#a0522d",
};

/** For languages without a fixed colour: still distinct from the fixed ones and stable per name. */
const SPARE_COLORS = ["#7b3294", "#c51b7d", "#4d9221", "#525252", "#8c6bb1", "#e7298a"];

export function languageColor(language: string): string {
  const fixed = LANGUAGE_COLORS[language];
  if (fixed !== undefined) return fixed;
  return SPARE_COLORS[hashString(language) % SPARE_COLORS.length] as string;
}

/**
 * Languages seen in a graph, in the order they first appeared. It only grows: a checkbox that
 * vanished when a language's last node went away would drop the user's choice with it.
 */
export class LanguageList {
  private readonly seen = new Set<string>();

  get languages(): readonly string[] {
    return [...this.seen];
  }

  /** Note every language of `model`; true if the list grew. */
  noteModel(model: CodeGraphModel): boolean {
    const before = this.seen.size;
    model.forEachNode((_key, attrs) => this.seen.add(nodeLanguage(attrs.data)));
    return this.seen.size > before;
  }

  /** Note the languages an applied batch brought in; true if the list grew. */
  noteBatch(result: BatchResult, model: CodeGraphModel): boolean {
    // A replaced model lists no changes: read it whole.
    if (result.replaced) return this.noteModel(model);
    const before = this.seen.size;
    for (const c of result.changes) if (c.op === "node+" || c.op === "node~") this.seen.add(nodeLanguage(c.node));
    return this.seen.size > before;
  }
}
