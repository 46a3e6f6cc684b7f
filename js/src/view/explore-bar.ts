/**
 * The exploration controls under the toolbar: search with autocomplete, filters, encodings,
 * ego/path/overview, level, fit and PNG export, and the visible counts.
 *
 * Stable `data-testid`s (the contract for tests and users' scripts): gl-search,
 * gl-search-results / gl-search-result (data-id), gl-filters, gl-filter-kind / gl-filter-edge
 * (data-kind checkboxes), gl-filter-language (data-language checkboxes, one per language the
 * graph has shown so far, in order of appearance), gl-filter-path, gl-color-by, gl-size-by, gl-ego-depth, gl-ego,
 * gl-path, gl-overview, gl-auto-level, gl-fit, gl-export-png, gl-visible-node-count,
 * gl-visible-edge-count, gl-mode (data-mode overview/ego/path; text = what the focus found);
 * gl-auto-level (data-collapsed, data-mode auto/user, data-noop: already at the automatic level)
 * is never disabled, and gl-level-note says what a click that changes nothing found.
 */

import type { SearchHit } from "../explore/search.js";
import { COLOR_MODES, type ColorMode, isColorMode, isSizeMode, SIZE_MODES, type SizeMode } from "../explore/palette.js";
import { NO_FILTER, type ViewFilter } from "../explore/scope.js";
import { el, setNumber } from "./dom.js";

export const NODE_KINDS = ["package", "module", "class", "interface", "function", "method", "lambda", "external", "cell"];
export const EDGE_KINDS = ["contains", "imports", "calls", "inherits", "implements", "decorates"];

export interface ExploreHandlers {
  search(query: string): SearchHit[];
  choose(id: string): void;
  filter(filter: ViewFilter): void;
  encoding(color: ColorMode, size: SizeMode): void;
  ego(depth: number): void;
  egoDepth(depth: number): void;
  path(): void;
  overview(): void;
  autoLevel(): void;
  fit(): void;
  exportPng(): void;
}

export type FocusMode = "overview" | "ego" | "path";

/** Split a path box: prefixes separated by spaces or commas. */
export function parsePaths(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export class ExploreBar {
  readonly root: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly results: HTMLElement;
  private readonly kindBoxes = new Map<string, HTMLInputElement>();
  private readonly edgeBoxes = new Map<string, HTMLInputElement>();
  private readonly languageBoxes = new Map<string, HTMLInputElement>();
  private readonly languageSet: HTMLFieldSetElement;
  /** The filter last shown: a language that appears later is checked as this filter says. */
  private filter: ViewFilter = NO_FILTER;
  private readonly pathBox: HTMLInputElement;
  private readonly colorBy: HTMLSelectElement;
  private readonly sizeBy: HTMLSelectElement;
  private readonly depth: HTMLInputElement;
  private readonly egoButton: HTMLButtonElement;
  private readonly pathButton: HTMLButtonElement;
  private readonly overviewButton: HTMLButtonElement;
  private readonly levelButton: HTMLButtonElement;
  private readonly levelNote: HTMLElement;
  private level = { collapsed: false, mode: "auto" as "auto" | "user" };
  private shownNodes = 0;
  private readonly visibleNodes: HTMLElement;
  private readonly visibleEdges: HTMLElement;
  private readonly mode: HTMLElement;
  private hits: SearchHit[] = [];
  private active = -1;

  constructor(
    private readonly doc: Document,
    private readonly handlers: ExploreHandlers,
  ) {
    this.root = el(doc, "div", { class: "gl-explore-bar", "data-testid": "gl-explore" });

    // Search with autocomplete.
    const searchWrap = el(doc, "div", { class: "gl-search" });
    const listId = `gl-search-${Math.random().toString(36).slice(2, 10)}`;
    this.search = el(doc, "input", {
      type: "search",
      class: "gl-search-input",
      "data-testid": "gl-search",
      placeholder: "Search…",
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": listId,
      "aria-label": "Search code elements by name",
      autocomplete: "off",
    });
    this.results = el(doc, "ul", { class: "gl-search-results", "data-testid": "gl-search-results", role: "listbox", id: listId });
    this.results.hidden = true;
    this.search.addEventListener("input", () => this.updateResults());
    this.search.addEventListener("keydown", (e) => this.onKey(e));
    this.search.addEventListener("blur", () => {
      // Let a click on a result land before the list closes.
      setTimeout(() => this.closeResults(), 150);
    });
    searchWrap.append(this.search, this.results);

    // Filters.
    const filters = el(doc, "details", { class: "gl-filters", "data-testid": "gl-filters" });
    filters.append(el(doc, "summary", { "data-testid": "gl-filters-toggle" }, "Filters"));
    const panel = el(doc, "div", { class: "gl-filters-panel" });
    const kinds = el(doc, "fieldset", {}, "");
    kinds.append(el(doc, "legend", {}, "Node kinds"));
    for (const kind of NODE_KINDS) kinds.append(this.checkbox(kind, "gl-filter-kind", this.kindBoxes));
    const edges = el(doc, "fieldset");
    edges.append(el(doc, "legend", {}, "Edge kinds"));
    for (const kind of EDGE_KINDS) edges.append(this.checkbox(kind, "gl-filter-edge", this.edgeBoxes));
    // Filled by setLanguages as the graph shows languages; hidden until it has one.
    this.languageSet = el(doc, "fieldset", { "data-testid": "gl-filter-languages" });
    this.languageSet.append(el(doc, "legend", {}, "Languages"));
    this.languageSet.hidden = true;
    this.pathBox = el(doc, "input", {
      type: "text",
      class: "gl-filter-path",
      "data-testid": "gl-filter-path",
      placeholder: "path prefix, e.g. pkg/core/",
      "aria-label": "Show only files under these path prefixes (Enter to apply)",
    });
    this.pathBox.addEventListener("change", () => this.emitFilter());
    const pathLabel = el(doc, "label", { class: "gl-filter-path-label" }, "Path ");
    pathLabel.append(this.pathBox);
    panel.append(kinds, edges, this.languageSet, pathLabel);
    filters.append(panel);

    // Encodings.
    this.colorBy = this.select("gl-color-by", "Colour by", COLOR_MODES);
    this.sizeBy = this.select("gl-size-by", "Size by", SIZE_MODES);
    const onEncoding = (): void => {
      const c = this.colorBy.value;
      const s = this.sizeBy.value;
      if (isColorMode(c) && isSizeMode(s)) this.handlers.encoding(c, s);
    };
    this.colorBy.addEventListener("change", onEncoding);
    this.sizeBy.addEventListener("change", onEncoding);

    // Focus.
    this.depth = el(doc, "input", { type: "number", min: "1", max: "6", value: "1", class: "gl-ego-depth", "data-testid": "gl-ego-depth", "aria-label": "Ego network depth" });
    this.depth.addEventListener("change", () => this.handlers.egoDepth(this.depthValue()));
    this.egoButton = this.button("gl-ego", "Ego", "Show the selected node and its neighbours up to the depth", () => this.handlers.ego(this.depthValue()));
    this.pathButton = this.button("gl-path", "Path", "Shortest path between the last two selected nodes (shift-click to select two)", () => this.handlers.path());
    this.overviewButton = this.button("gl-overview", "All", "Back to the whole graph", () => this.handlers.overview());
    this.levelButton = this.button("gl-auto-level", "Auto level", "", () => this.onAutoLevel());
    this.levelNote = el(doc, "span", { class: "gl-level-note", "data-testid": "gl-level-note", role: "status" }, "");
    const fit = this.button("gl-fit", "Fit", "Fit the graph to the view", () => this.handlers.fit());
    const png = this.button("gl-export-png", "PNG", "Download the picture as PNG", () => this.handlers.exportPng());

    const [vn, vnWrap] = this.stat("gl-visible-node-count", "shown");
    const [ve, veWrap] = this.stat("gl-visible-edge-count", "/");
    this.visibleNodes = vn;
    this.visibleEdges = ve;
    this.mode = el(doc, "span", { class: "gl-mode", "data-testid": "gl-mode", "data-mode": "overview" }, "");

    const egoGroup = el(doc, "span", { class: "gl-group" });
    egoGroup.append(this.depth, this.egoButton, this.pathButton, this.overviewButton);
    this.root.append(searchWrap, filters, this.colorBy, this.sizeBy, egoGroup, this.levelButton, this.levelNote, fit, png, vnWrap, veWrap, this.mode);
    this.setSelectionCount(0);
  }

  // ------------------------------------------------------------------ state → DOM

  setFilter(filter: ViewFilter): void {
    this.filter = filter;
    for (const [kind, box] of this.kindBoxes) box.checked = filter.nodeKinds.length === 0 || filter.nodeKinds.includes(kind);
    for (const [kind, box] of this.edgeBoxes) box.checked = filter.edgeKinds.length === 0 || filter.edgeKinds.includes(kind);
    for (const [language, box] of this.languageBoxes) box.checked = languageShown(filter, language);
    const text = filter.paths.join(" ");
    if (this.pathBox.value !== text && this.doc.activeElement !== this.pathBox) this.pathBox.value = text;
  }

  /** The languages the graph has shown so far: one checkbox each, new ones appended. */
  setLanguages(languages: readonly string[]): void {
    for (const language of languages) {
      if (this.languageBoxes.has(language)) continue;
      this.languageSet.append(this.checkbox(language, "gl-filter-language", this.languageBoxes, "data-language"));
      (this.languageBoxes.get(language) as HTMLInputElement).checked = languageShown(this.filter, language);
    }
    this.languageSet.hidden = this.languageBoxes.size === 0;
  }

  setEncoding(color: ColorMode, size: SizeMode): void {
    this.colorBy.value = color;
    this.sizeBy.value = size;
  }

  setDepth(depth: number): void {
    this.depth.value = String(depth);
  }

  setVisible(nodes: number, edges: number): void {
    this.shownNodes = nodes;
    setNumber(this.visibleNodes, nodes);
    setNumber(this.visibleEdges, edges);
  }

  setMode(mode: FocusMode, summary: string): void {
    this.mode.setAttribute("data-mode", mode);
    this.mode.textContent = mode === "overview" ? "" : `${mode}: ${summary}`;
    this.overviewButton.disabled = mode === "overview";
  }

  setSelectionCount(n: number): void {
    this.egoButton.disabled = n < 1;
    this.pathButton.disabled = n < 2;
  }

  /**
   * The level shown. Auto level stays enabled at every size: at the automatic level a click
   * changes nothing and the note says why (small graphs are shown whole).
   */
  setLevel(collapsed: boolean, mode: "auto" | "user"): void {
    if (collapsed !== this.level.collapsed || mode !== this.level.mode) this.levelNote.textContent = "";
    this.level = { collapsed, mode };
    this.levelButton.setAttribute("data-collapsed", String(collapsed));
    this.levelButton.setAttribute("data-mode", mode);
    this.levelButton.setAttribute("data-noop", String(mode === "auto"));
    this.levelButton.title =
      mode === "user"
        ? "Back to the automatic level: packages and modules collapsed to a readable overview"
        : collapsed
          ? "Already at the automatic level: packages and modules collapsed to a readable overview"
          : "Already at the automatic level: the graph is small enough to be shown whole";
  }

  // ------------------------------------------------------------------ internals

  private onAutoLevel(): void {
    const { collapsed, mode } = this.level;
    this.handlers.autoLevel();
    if (mode !== "auto") return;
    this.levelNote.textContent = collapsed
      ? "already at the automatic level"
      : `all ${this.shownNodes} nodes shown: small enough, nothing to collapse`;
  }

  private depthValue(): number {
    const v = Math.round(Number(this.depth.value));
    return Number.isFinite(v) ? Math.min(6, Math.max(1, v)) : 1;
  }

  private emitFilter(): void {
    const pick = (boxes: Map<string, HTMLInputElement>): string[] => {
      const on = [...boxes].filter(([, b]) => b.checked).map(([k]) => k);
      // All checked means "no restriction", so kinds this list does not know still show.
      return on.length === boxes.size ? [] : on.length === 0 ? ["∅"] : on;
    };
    this.handlers.filter({
      nodeKinds: pick(this.kindBoxes),
      edgeKinds: pick(this.edgeBoxes),
      paths: parsePaths(this.pathBox.value),
      languages: pick(this.languageBoxes),
    });
  }

  private checkbox(kind: string, testid: string, into: Map<string, HTMLInputElement>, attribute = "data-kind"): HTMLElement {
    const label = el(this.doc, "label", { class: "gl-check" });
    const box = el(this.doc, "input", { type: "checkbox", "data-testid": testid, [attribute]: kind });
    box.checked = true;
    box.addEventListener("change", () => this.emitFilter());
    into.set(kind, box);
    label.append(box, this.doc.createTextNode(` ${kind}`));
    return label;
  }

  private select(testid: string, label: string, options: readonly string[]): HTMLSelectElement {
    const select = el(this.doc, "select", { "data-testid": testid, "aria-label": label, title: label, class: "gl-select" });
    for (const o of options) select.append(el(this.doc, "option", { value: o }, `${label.split(" ")[0]}: ${o}`));
    return select;
  }

  private button(testid: string, text: string, title: string, onClick: () => void): HTMLButtonElement {
    const b = el(this.doc, "button", { type: "button", class: "gl-button gl-small", "data-testid": testid, title }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  private stat(testid: string, label: string): [HTMLElement, HTMLElement] {
    const wrap = el(this.doc, "span", { class: "gl-stat" });
    wrap.append(el(this.doc, "span", { class: "gl-stat-label" }, label));
    const value = el(this.doc, "b", { "data-testid": testid, "data-value": "0" }, "0");
    wrap.append(value);
    return [value, wrap];
  }

  private updateResults(): void {
    this.hits = this.handlers.search(this.search.value);
    this.active = this.hits.length > 0 ? 0 : -1;
    const items = this.hits.map((hit, i) => {
      const li = el(this.doc, "li", { class: "gl-search-result", "data-testid": "gl-search-result", "data-id": hit.id, role: "option", "aria-selected": String(i === this.active) });
      li.append(el(this.doc, "span", { class: "gl-search-name" }, hit.name));
      const where = hit.file ? ` ${hit.file}${hit.line !== null ? `:${hit.line}` : ""}` : "";
      li.append(el(this.doc, "small", {}, ` ${hit.kind}${where}`));
      li.title = hit.id;
      // mousedown, not click: it fires before the input's blur closes the list.
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        this.pick(hit.id);
      });
      return li;
    });
    this.results.replaceChildren(...items);
    this.results.hidden = items.length === 0;
    this.search.setAttribute("aria-expanded", String(items.length > 0));
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (this.hits.length === 0) return;
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.hits.length) % this.hits.length;
      this.results.querySelectorAll("li").forEach((li, i) => li.setAttribute("aria-selected", String(i === this.active)));
    } else if (e.key === "Enter") {
      const hit = this.hits[this.active] ?? this.hits[0];
      if (hit !== undefined) {
        e.preventDefault();
        this.pick(hit.id);
      }
    } else if (e.key === "Escape") {
      this.closeResults();
    }
  }

  private pick(id: string): void {
    const hit = this.hits.find((h) => h.id === id);
    this.search.value = hit?.name ?? id;
    this.closeResults();
    this.handlers.choose(id);
  }

  private closeResults(): void {
    this.results.hidden = true;
    this.results.replaceChildren();
    this.hits = [];
    this.search.setAttribute("aria-expanded", "false");
  }
}

function languageShown(filter: ViewFilter, language: string): boolean {
  const languages = filter.languages ?? [];
  return languages.length === 0 || languages.includes(language);
}
