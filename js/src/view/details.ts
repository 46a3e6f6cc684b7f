/**
 * The side panel's readable state: the selection, the details of the selected element or
 * cluster (with jump-to-source), and the legend drawn over the canvas.
 *
 * Test ids: gl-selection (data-ids = JSON list, data-count), gl-clear-selection; gl-details
 * (data-id, data-kind; empty hint when nothing is selected) with gl-details-name,
 * gl-details-kind, gl-details-id, gl-jump (a link, or data-state="unavailable"),
 * gl-details-doc, gl-details-complexity, gl-details-loc, gl-callers, gl-callees,
 * gl-details-unresolved (the calls the analysis left without an edge: gl-unresolved-call items),
 * gl-details-group, gl-details-members and the buttons gl-details-ego, gl-details-expand,
 * gl-details-collapse; gl-legend (data-mode) with gl-legend-item (data-key) and, when the graph
 * is not all Python and the colour is not by language, gl-legend-languages (text; data-languages
 * = JSON list).
 * Node names, docstrings and paths are untrusted: text only, never markup.
 */

import type { NodeJSON } from "../client/protocol.js";
import type { LegendEntry } from "../explore/palette.js";
import { commandLinkerArgs, type SourceLocation } from "../explore/source-link.js";
import { el, setNumber } from "./dom.js";
import { breakableText, plainDocstring } from "./text.js";

export interface NodeDetails {
  node: NodeJSON;
  callers: number;
  callees: number;
  source: SourceLocation | null;
  /** href that opens the file (null: no server to open it in). */
  href: string | null;
  /** The expanded group that "collapse" would fold, if any. */
  collapsible: string | null;
  /** Shown only through filters/collapse? Explains why it is not drawn. */
  note: string | null;
}

export interface ClusterDetails {
  group: string;
  label: string;
  kind: string;
  members: number;
  children: number;
  loc: number;
  meanComplexity: number | null;
  collapsible: string | null;
}

export interface DetailsHandlers {
  ego(id: string): void;
  expand(group: string): void;
  collapse(group: string): void;
  clearSelection(): void;
}

export class DetailsPanel {
  readonly selection: HTMLElement;
  readonly legend: HTMLElement;
  private readonly selectionText: HTMLElement;

  constructor(
    private readonly doc: Document,
    private readonly details: HTMLElement,
    private readonly handlers: DetailsHandlers,
  ) {
    this.selection = el(doc, "div", { class: "gl-selection", "data-testid": "gl-selection", "data-ids": "[]", "data-count": "0" });
    this.selectionText = el(doc, "span", {}, "");
    const clear = el(doc, "button", { type: "button", class: "gl-button gl-small", "data-testid": "gl-clear-selection", title: "Clear the selection" }, "×");
    clear.addEventListener("click", () => this.handlers.clearSelection());
    this.selection.append(this.selectionText, clear);
    this.legend = el(doc, "div", { class: "gl-legend", "data-testid": "gl-legend", "data-mode": "kind", role: "group", "aria-label": "Legend: node colour by kind" });
    this.showNothing();
  }

  setSelection(ids: readonly string[]): void {
    this.selection.setAttribute("data-ids", JSON.stringify(ids));
    this.selection.setAttribute("data-count", String(ids.length));
    this.selection.classList.toggle("gl-empty", ids.length === 0);
    this.selectionText.replaceChildren(breakableText(this.doc, ids.length === 0 ? "nothing selected" : `${ids.length} selected: ${ids.join(", ")}`));
  }

  showNothing(): void {
    this.details.removeAttribute("data-id");
    this.details.removeAttribute("data-kind");
    this.details.replaceChildren(el(this.doc, "p", { class: "gl-hint" }, "Click a node for details, a package to expand it."));
  }

  showNode(d: NodeDetails): void {
    const doc = this.doc;
    const n = d.node;
    this.details.setAttribute("data-id", n.id);
    this.details.setAttribute("data-kind", n.kind);
    const dl = el(doc, "dl");
    const row = (label: string, testid: string, value: Node | string): void => {
      const dd = el(doc, "dd", { "data-testid": testid });
      if (typeof value === "string") dd.textContent = value;
      else dd.append(value);
      dl.append(el(doc, "dt", {}, label), dd);
    };
    row("kind", "gl-details-kind", n.kind);
    row("id", "gl-details-id", breakableText(doc, n.id));
    if (d.source !== null) row("source", "gl-details-source", this.jumpLink(d));
    // Docstrings are written for Sphinx (underlined headings, :param x:, ``literals``): read them as text.
    const docText = typeof n.doc === "string" ? plainDocstring(n.doc) : "";
    if (docText) {
      row("doc", "gl-details-doc", docText);
      dl.lastElementChild?.classList.add("gl-doc");
    }
    if (typeof n.complexity === "number") row("complexity", "gl-details-complexity", String(n.complexity));
    if (typeof n.loc === "number") row("lines", "gl-details-loc", String(n.loc));
    const callers = el(doc, "b", { "data-testid": "gl-callers" });
    const callees = el(doc, "b", { "data-testid": "gl-callees" });
    setNumber(callers, d.callers);
    setNumber(callees, d.callees);
    dl.append(el(doc, "dt", {}, "callers"), wrap(doc, callers), el(doc, "dt", {}, "callees"), wrap(doc, callees));
    const unresolved = unresolvedCalls(n);
    if (unresolved.length > 0) row("unresolved calls", "gl-details-unresolved", unresolvedList(doc, unresolved));
    const actions = el(doc, "div", { class: "gl-details-actions" });
    actions.append(this.action("gl-details-ego", "Ego network", () => this.handlers.ego(n.id)));
    if (d.collapsible !== null) {
      const group = d.collapsible;
      actions.append(this.action("gl-details-collapse", `Collapse ${group}`, () => this.handlers.collapse(group)));
    }
    const title = el(doc, "h4", { class: "gl-details-title", "data-testid": "gl-details-name" });
    title.append(breakableText(doc, n.name || n.id));
    const parts: Node[] = [title, dl, actions];
    if (d.note) parts.splice(1, 0, el(doc, "p", { class: "gl-hint", "data-testid": "gl-details-note" }, d.note));
    this.details.replaceChildren(...parts);
  }

  showCluster(c: ClusterDetails): void {
    const doc = this.doc;
    this.details.setAttribute("data-id", c.group);
    this.details.setAttribute("data-kind", `${c.kind}-cluster`);
    const dl = el(doc, "dl");
    const row = (label: string, testid: string, value: string | Node): void => {
      const dd = el(doc, "dd", { "data-testid": testid });
      dd.append(value);
      dl.append(el(doc, "dt", {}, label), dd);
    };
    row("collapsed", "gl-details-kind", c.kind);
    row("path", "gl-details-group", breakableText(doc, c.group));
    row("elements", "gl-details-members", String(c.members));
    if (c.children > 0) row("sub-groups", "gl-details-children", String(c.children));
    if (c.loc > 0) row("lines", "gl-details-loc", String(c.loc));
    if (c.meanComplexity !== null) row("mean complexity", "gl-details-complexity", c.meanComplexity.toFixed(1));
    const actions = el(doc, "div", { class: "gl-details-actions" });
    actions.append(this.action("gl-details-expand", "Expand", () => this.handlers.expand(c.group)));
    if (c.collapsible !== null) {
      const group = c.collapsible;
      actions.append(this.action("gl-details-collapse", `Collapse ${group}`, () => this.handlers.collapse(group)));
    }
    const title = el(doc, "h4", { class: "gl-details-title", "data-testid": "gl-details-name" });
    title.append(breakableText(doc, c.label));
    this.details.replaceChildren(title, dl, actions);
  }

  /**
   * What each colour means under `mode`; `languages` (if any) are listed below as text, so the
   * languages of the graph are known whatever the colours say.
   */
  setLegend(mode: string, entries: readonly LegendEntry[], languages: readonly string[] = []): void {
    this.legend.setAttribute("data-mode", mode);
    this.legend.setAttribute("aria-label", `Legend: node colour by ${mode}`);
    const items = entries.map((e) => {
      const item = el(this.doc, "div", { class: "gl-legend-item", "data-testid": "gl-legend-item", "data-key": e.key });
      const swatch = el(this.doc, "span", { class: "gl-swatch" });
      swatch.style.background = e.color;
      item.append(swatch, this.doc.createTextNode(e.label));
      return item;
    });
    if (languages.length > 0) {
      const attrs = { class: "gl-legend-languages", "data-testid": "gl-legend-languages", "data-languages": JSON.stringify(languages) };
      items.push(el(this.doc, "div", attrs, `languages: ${languages.join(", ")}`));
    }
    this.legend.replaceChildren(...items);
  }

  private jumpLink(d: NodeDetails): HTMLElement {
    const loc = d.source as SourceLocation;
    if (d.href === null || loc.path === null) {
      return el(this.doc, "span", {
        "data-testid": "gl-jump",
        "data-state": "unavailable",
        title: "The file is outside the Jupyter server's root, or there is no server to open it in",
      }, loc.label);
    }
    const a = el(this.doc, "a", {
      "data-testid": "gl-jump",
      "data-state": "link",
      "data-path": loc.path,
      href: d.href,
      target: "_blank",
      rel: "noopener",
      title: `Open ${loc.path}${loc.line !== null ? ` at line ${loc.line}` : ""}`,
    }, loc.label);
    if (loc.line !== null) a.setAttribute("data-line", String(loc.line));
    // Inside JupyterLab its CommandLinker catches the click and opens the file at the line in
    // the same window (see source-link.ts); anywhere else the href opens it in a new tab.
    const { command, args } = commandLinkerArgs(loc.path, loc.line);
    a.setAttribute("data-commandlinker-command", command);
    a.setAttribute("data-commandlinker-args", args);
    return a;
  }

  private action(testid: string, text: string, onClick: () => void): HTMLButtonElement {
    const b = el(this.doc, "button", { type: "button", class: "gl-button gl-small", "data-testid": testid }, text);
    b.addEventListener("click", onClick);
    return b;
  }
}

function wrap(doc: Document, child: HTMLElement): HTMLElement {
  const dd = el(doc, "dd");
  dd.append(child);
  return dd;
}

/** Unresolved calls listed in the panel; the rest are counted. */
export const UNRESOLVED_SHOWN = 20;

/** The node's `extra.unresolved_calls` (`[[line, callee], ...]`), malformed entries skipped. */
export function unresolvedCalls(node: NodeJSON): Array<[number, string]> {
  const raw = node.extra?.unresolved_calls;
  if (!Array.isArray(raw)) return [];
  const out: Array<[number, string]> = [];
  for (const entry of raw) {
    if (Array.isArray(entry) && typeof entry[0] === "number" && typeof entry[1] === "string") out.push([entry[0], entry[1]]);
  }
  return out;
}

function unresolvedList(doc: Document, calls: ReadonlyArray<[number, string]>): HTMLElement {
  const list = el(doc, "ul", { class: "gl-unresolved" });
  for (const [line, callee] of calls.slice(0, UNRESOLVED_SHOWN)) {
    list.append(el(doc, "li", { "data-testid": "gl-unresolved-call", "data-line": String(line) }, `${line}: ${callee}`));
  }
  if (calls.length > UNRESOLVED_SHOWN) list.append(el(doc, "li", { class: "gl-hint" }, `and ${calls.length - UNRESOLVED_SHOWN} more`));
  return list;
}
