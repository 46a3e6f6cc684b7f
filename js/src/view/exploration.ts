/**
 * A view's exploration: its state (filters, focus, selection, encodings, level), the controls
 * that show and change it (the exploration toolbar, the details panel and legend, slotted into
 * the indicators' frame) and its application to the current pipeline (scope, highlight, camera).
 *
 * Contract: owns the {@link ExploreState} and the toolbar and details panel. It reaches the
 * current store, projection and renderer only through `hooks.pipeline()` (null between sources)
 * and everything else through the hooks: it reports the user's changes (`explored`), asks for a
 * saved-copy rewrite (`save`) and a repaint of the readouts (`repaint`), and gets source links
 * from the REST part (`sourceLink`). It never opens sources or talks to the server itself.
 */

import { groupLabel, groupOfCluster, isClusterKey } from "../explore/grouping.js";
import { DEFAULT_LANGUAGE, LanguageList } from "../explore/language.js";
import { legendFor } from "../explore/palette.js";
import { type FocusSet, resolveFocus, sameFilter, sameFocus } from "../explore/scope.js";
import { searchNodes } from "../explore/search.js";
import type { BatchResult } from "../state/graph-state.js";
import { DetailsPanel } from "./details.js";
import { ExploreBar, type FocusMode } from "./explore-bar.js";
import type { Indicators } from "./indicators.js";
import type { Pipeline } from "./pipeline.js";
import type { SourceLink } from "./server-calls.js";
import { DEFAULT_EXPLORE, type ExploreState } from "./view-config.js";

export interface ExplorationHooks {
  /** The current pipeline; null before a source exists. */
  pipeline(): Pipeline | null;
  /** The saved copy is on screen (its level must not be overridden by a level trait). */
  showingSaved(): boolean;
  /** The user changed exploration state (the widget writes it to traits). */
  explored(change: Partial<ExploreState>): void;
  /** What the saved copy records changed. */
  save(): void;
  /** The readouts need repainting. */
  repaint(): void;
  sourceLink(file: string | undefined, line: number | undefined): SourceLink;
  /** The toolbar's PNG button. */
  exportPng(): void;
}

export class Exploration {
  readonly bar: ExploreBar;
  readonly details: DetailsPanel;
  private readonly state: ExploreState;
  private focusSet: FocusSet | null = null;
  /** The toolbar's depth, kept while the focus is not an ego network. */
  private egoDepth = 1;
  /** Changes of the drawn graph so far, and the one the legend was computed for. */
  private drawnVersion = 0;
  private legendKey = "";
  /** Languages of the graph so far: the explore bar's language checkboxes and the legend. */
  private readonly languages = new LanguageList();

  constructor(
    doc: Document,
    indicators: Indicators,
    initial: Partial<ExploreState> | undefined,
    private readonly hooks: ExplorationHooks,
  ) {
    this.state = { ...DEFAULT_EXPLORE, ...(initial ?? {}) };
    if (this.state.focus?.mode === "ego") this.egoDepth = this.state.focus.depth;
    this.bar = new ExploreBar(doc, {
      search: (q) => {
        const store = hooks.pipeline()?.store;
        return store ? searchNodes(store.state.graph, q) : [];
      },
      choose: (id) => this.reveal(id),
      filter: (f) => this.userChange({ filter: f }),
      encoding: (c, s) => this.userChange({ colorBy: c, sizeBy: s }),
      ego: (depth) => this.egoOfSelection(depth),
      egoDepth: (depth) => {
        this.egoDepth = depth;
        if (this.state.focus?.mode === "ego") this.userChange({ focus: { ...this.state.focus, depth } });
      },
      path: () => this.pathOfSelection(),
      overview: () => this.userChange({ focus: null }),
      autoLevel: () => this.autoLevel(),
      fit: () => hooks.pipeline()?.renderer.fit(),
      exportPng: () => hooks.exportPng(),
    });
    indicators.exploreSlot.append(this.bar.root);
    this.details = new DetailsPanel(doc, indicators.details, {
      ego: (id) => this.userChange({ focus: { mode: "ego", node: id, depth: this.egoDepth } }),
      expand: (group) => this.expand(group),
      collapse: (group) => this.collapse(group),
      clearSelection: () => this.select([], true),
    });
    indicators.sideSlot.append(this.details.selection);
    indicators.stage.append(this.details.legend);
    this.bar.setFilter(this.state.filter);
    this.bar.setEncoding(this.state.colorBy, this.state.sizeBy);
    this.bar.setDepth(this.egoDepth);
  }

  /** The live state object (read-only for callers: the pipeline starts from it). */
  get current(): Readonly<ExploreState> {
    return this.state;
  }

  /** A copy of the state, safe to hand out. */
  snapshot(): ExploreState {
    return { ...this.state, selection: [...this.state.selection] };
  }

  // ------------------------------------------------------------------ actions

  /** Select `ids` (most recent last); `report` = it came from the user. */
  select(ids: readonly string[], report = false): void {
    const next = [...new Set(ids)];
    if (next.join("\n") === this.state.selection.join("\n")) return;
    this.apply({ selection: next }, report);
  }

  /** Select `id`, expand what hides it, and centre the camera on it. */
  reveal(id: string): void {
    this.apply({ selection: [id] }, true);
    const pipeline = this.hooks.pipeline();
    if (pipeline === null) return;
    const p = pipeline.projection;
    if (p.reveal(id)) this.levelChanged();
    const key = p.displayKeyOf(id);
    if (key !== null) pipeline.renderer.centerOn(key);
  }

  expand(target: string): void {
    const p = this.hooks.pipeline()?.projection;
    if (p === undefined) return;
    // A node id expands what hides it; anything else is a group key.
    const changed = p.inScope(target) ? p.reveal(target) : p.expand(target);
    if (changed) this.levelChanged();
    this.showDetails();
  }

  collapse(group: string): void {
    if (this.hooks.pipeline()?.projection.collapse(group)) this.levelChanged();
    this.showDetails();
  }

  autoLevel(): void {
    this.hooks.pipeline()?.projection.resetLevel();
    this.state.expanded = null;
    this.hooks.explored({ expanded: null });
    this.hooks.repaint();
  }

  /** Change the state; `report` = it came from the user (Python's own changes are not echoed back). */
  apply(change: Partial<ExploreState>, report: boolean): void {
    const s = this.state;
    const p = this.hooks.pipeline()?.projection ?? null;
    let rescope = false;
    if (change.filter !== undefined && !sameFilter(change.filter, s.filter)) {
      s.filter = change.filter;
      this.bar.setFilter(s.filter);
      rescope = true;
    }
    if (change.focus !== undefined && !sameFocus(change.focus, s.focus)) {
      s.focus = change.focus;
      if (s.focus?.mode === "ego") {
        this.egoDepth = s.focus.depth;
        this.bar.setDepth(s.focus.depth);
      }
      rescope = true;
    }
    if (change.colorBy !== undefined || change.sizeBy !== undefined) {
      s.colorBy = change.colorBy ?? s.colorBy;
      s.sizeBy = change.sizeBy ?? s.sizeBy;
      this.bar.setEncoding(s.colorBy, s.sizeBy);
      p?.setEncoding(s.colorBy, s.sizeBy);
    }
    if (change.expanded !== undefined && p !== null) {
      s.expanded = change.expanded;
      if (change.expanded === null) {
        if (p.levelMode !== "auto") p.resetLevel();
      } else if (!this.hooks.showingSaved() || p.scopeSize === 0) {
        const current = p.expandedGroups();
        if (p.levelMode !== "user" || current.join("\n") !== [...change.expanded].sort().join("\n")) p.setExpanded(change.expanded);
      }
    } else if (change.expanded !== undefined) {
      s.expanded = change.expanded;
    }
    if (rescope) this.rescope();
    if (change.selection !== undefined) s.selection = [...change.selection];
    this.highlight();
    this.showDetails();
    if (report) this.hooks.explored(change);
    this.hooks.save();
    this.hooks.repaint();
  }

  /** A node or the stage was clicked on the canvas. */
  clickNode(key: string, additive: boolean): void {
    if (isClusterKey(key)) {
      // Clicking a collapsed package or module opens it.
      const group = groupOfCluster(key);
      this.expand(group);
      this.showCluster(group);
      return;
    }
    const sel = this.state.selection;
    let next: string[];
    if (additive) next = sel.includes(key) ? sel.filter((x) => x !== key) : [...sel, key];
    else next = [key];
    this.select(next, true);
  }

  // ------------------------------------------------------------------ following the pipeline

  /** A new pipeline exists: a store shared with another view may hold the graph already. */
  attached(): void {
    const pipeline = this.hooks.pipeline();
    if (pipeline !== null && this.languages.noteModel(pipeline.store.state.graph)) this.bar.setLanguages(this.languages.languages);
    this.rescope();
    this.highlight();
    this.showDetails();
  }

  /** The store applied a batch to the model. */
  modelChanged(result: BatchResult): void {
    const pipeline = this.hooks.pipeline();
    if (pipeline === null) return;
    if (this.languages.noteBatch(result, pipeline.store.state.graph)) this.bar.setLanguages(this.languages.languages);
    const structural = result.replaced || result.changes.some((c) => c.op !== "node~");
    if (this.state.focus !== null && structural) {
      // The focus (ego network, path) may have changed with the graph: recompute it; the
      // rebuild covers this batch's changes.
      this.rescope();
    } else {
      pipeline.projection.applyBatch(result);
    }
    if (result.replaced) {
      this.highlight();
      pipeline.renderer.fit(false);
    }
    this.showDetails();
    this.hooks.repaint();
  }

  /** The drawn graph changed (the legend is recomputed at the next paint). */
  drawn(): void {
    this.drawnVersion += 1;
  }

  /** Bring the toolbar's counts, mode and level, and the legend, up to date with the projection. */
  paint(): void {
    const p = this.hooks.pipeline()?.projection;
    if (p === undefined) return;
    this.bar.setVisible(p.graph.order, p.graph.size);
    const mode: FocusMode = this.state.focus?.mode ?? "overview";
    this.bar.setMode(mode, this.focusSet?.summary ?? "");
    this.bar.setLevel(p.collapsed, p.levelMode);
    this.updateLegend();
  }

  // ------------------------------------------------------------------ internals

  private userChange(change: Partial<ExploreState>): void {
    this.apply(change, true);
  }

  /** Recompute the focus on the model and rebuild the projection's scope. */
  private rescope(): void {
    const pipeline = this.hooks.pipeline();
    if (pipeline === null) return;
    this.focusSet = resolveFocus(pipeline.store.state.graph, this.state.filter, this.state.focus);
    pipeline.projection.setScope(this.state.filter, this.focusSet);
  }

  private egoOfSelection(depth: number): void {
    const id = this.state.selection[this.state.selection.length - 1];
    if (id === undefined) return;
    this.userChange({ focus: { mode: "ego", node: id, depth } });
  }

  private pathOfSelection(): void {
    const sel = this.state.selection;
    if (sel.length < 2) return;
    this.userChange({ focus: { mode: "path", source: sel[sel.length - 2] as string, target: sel[sel.length - 1] as string } });
  }

  private levelChanged(): void {
    const p = this.hooks.pipeline()?.projection;
    if (p === undefined) return;
    this.state.expanded = p.levelMode === "auto" ? null : p.expandedGroups();
    this.hooks.explored({ expanded: this.state.expanded });
    this.highlight();
    this.hooks.save();
    this.hooks.repaint();
  }

  /** Emphasise the selection and the path on screen. */
  private highlight(): void {
    const pipeline = this.hooks.pipeline();
    if (pipeline === null) return;
    const p = pipeline.projection;
    const nodes = new Set<string>();
    for (const id of this.state.selection) {
      const key = p.displayKeyOf(id);
      if (key !== null) nodes.add(key);
    }
    const pathEdges = new Set<string>();
    if (this.state.focus?.mode === "path" && this.focusSet !== null) {
      const ids = [...this.focusSet.nodes];
      for (const id of ids) {
        const key = p.displayKeyOf(id);
        if (key !== null) nodes.add(key);
      }
      p.graph.forEachEdge((e) => pathEdges.add(e));
    }
    pipeline.renderer.setHighlight(nodes, pathEdges);
    this.bar.setSelectionCount(this.state.selection.length);
    this.details.setSelection(this.state.selection);
  }

  private showDetails(): void {
    const id = this.state.selection[this.state.selection.length - 1];
    const pipeline = this.hooks.pipeline();
    if (id === undefined || pipeline === null) {
      this.details.showNothing();
      return;
    }
    const model = pipeline.store.state.graph;
    if (!model.hasNode(id)) {
      this.details.showNothing();
      return;
    }
    const node = model.getNodeAttribute(id, "data");
    const callers = new Set<string>();
    const callees = new Set<string>();
    model.forEachInEdge(id, (_e, a, s) => {
      if (a.kind === "calls") callers.add(s);
    });
    model.forEachOutEdge(id, (_e, a, _s, t) => {
      if (a.kind === "calls") callees.add(t);
    });
    const { source, href } = this.hooks.sourceLink(node.file, node.line);
    const p = pipeline.projection;
    let note: string | null = null;
    if (!p.inScope(id)) note = "Not drawn: outside the current filters or focus.";
    else if (p.displayKeyOf(id) !== id) note = "Drawn inside a collapsed package.";
    this.details.showNode({
      node,
      callers: callers.size,
      callees: callees.size,
      source,
      href,
      collapsible: p.enclosingExpandedGroup(id),
      note,
    });
  }

  private showCluster(group: string): void {
    const p = this.hooks.pipeline()?.projection;
    const stats = p?.groupStats(group);
    if (!stats) return;
    this.details.showCluster({
      group,
      label: groupLabel(group),
      kind: stats.kind,
      members: stats.count,
      children: stats.children,
      loc: stats.loc,
      meanComplexity: stats.complexityCount > 0 ? stats.complexitySum / stats.complexityCount : null,
      collapsible: p?.groupStats(group) ? group : null,
    });
  }

  private updateLegend(): void {
    const p = this.hooks.pipeline()?.projection;
    if (p === undefined) return;
    const colorBy = this.state.colorBy;
    // Once per change of the picture, not once per frame (it reads every drawn node).
    const present = this.languages.languages;
    const key = `${this.drawnVersion}:${colorBy}:${present.length}`;
    if (key === this.legendKey) return;
    this.legendKey = key;
    const kinds = new Set<string>();
    const drawnLanguages = new Set<string>();
    const modules = new Map<string, number>();
    p.graph.forEachNode((_k, a) => {
      kinds.add(a.kind);
      // Colouring by language always draws a projection, whose nodes know their language.
      if (colorBy === "language" && a.language !== undefined) drawnLanguages.add(a.language);
      if (colorBy === "module" && a.group != null) modules.set(a.group, a.count ?? 1);
    });
    if (colorBy === "module" && modules.size === 0) {
      p.graph.forEachNode((k) => {
        const chain = p.chainOf(k);
        const m = chain[chain.length - 1];
        if (m !== undefined) modules.set(m, (modules.get(m) ?? 0) + 1);
      });
    }
    const ranked = [...modules].sort((a, b) => b[1] - a[1]).map(([m]) => m);
    // Under other colours the languages are still named, unless the graph is all Python (the
    // usual case, where the line would say nothing).
    const named = colorBy !== "language" && present.some((l) => l !== DEFAULT_LANGUAGE) ? present : [];
    this.details.setLegend(colorBy, legendFor(colorBy, kinds, ranked, drawnLanguages), named);
  }
}
