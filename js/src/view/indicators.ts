/**
 * The view's DOM: toolbar indicators, the canvas container, node details and the event log.
 *
 * Every indicator has a stable `data-testid` (the contract for end-to-end tests and for users'
 * own scripts): gl-status, gl-node-count, gl-edge-count, gl-rate, gl-latency, gl-progress,
 * gl-reanalyze, gl-log (with gl-log-filter and gl-log-entry items) and gl-details. Numeric
 * indicators hold the bare number as text and in `data-value`. All text from events goes
 * through textContent, never innerHTML: node names and docstrings are untrusted input.
 */

import { el, setNumber } from "./dom.js";
import type { LogEntry } from "./event-log.js";
import type { AnalysisProgress } from "./progress.js";

export interface IndicatorHandlers {
  onReanalyze(): void;
  onLogFilter(patterns: string[]): void;
}

function stat(doc: Document, label: string, testid: string, suffix = ""): [HTMLElement, HTMLElement] {
  const wrap = el(doc, "span", { class: "gl-stat" });
  if (label) wrap.append(el(doc, "span", { class: "gl-stat-label" }, label));
  const value = el(doc, "b", { "data-testid": testid, "data-value": "0" }, "0");
  wrap.append(value);
  if (suffix) wrap.append(el(doc, "span", { class: "gl-stat-label" }, suffix));
  return [wrap, value];
}

/** Parse the log filter box: globs separated by spaces or commas. */
export function parseFilter(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Narrowest and (as a share of the view) widest the side panel can be dragged. */
export const SIDE_MIN_PX = 220;
export const SIDE_MAX_SHARE = 0.7;

/**
 * A handle on the side panel's left edge: dragging it (or ←/→ when focused) sets the panel's
 * width, so long ids and docstrings can get the room they need. The canvas follows through the
 * renderer's ResizeObserver.
 */
function sideGrip(doc: Document, side: HTMLElement): HTMLElement {
  const grip = el(doc, "div", {
    class: "gl-side-grip",
    "data-testid": "gl-side-grip",
    role: "separator",
    "aria-orientation": "vertical",
    "aria-label": "Resize the side panel",
    tabindex: "0",
    title: "Drag to resize the panel",
  });
  const setWidth = (px: number): void => {
    const room = side.parentElement?.clientWidth ?? 0;
    const max = room > 0 ? Math.max(SIDE_MIN_PX, room * SIDE_MAX_SHARE) : Infinity;
    side.style.width = `${Math.round(Math.min(max, Math.max(SIDE_MIN_PX, px)))}px`;
  };
  grip.addEventListener("pointerdown", (down: PointerEvent) => {
    down.preventDefault();
    const startX = down.clientX;
    const startWidth = side.getBoundingClientRect().width;
    grip.setPointerCapture?.(down.pointerId);
    const move = (ev: PointerEvent): void => setWidth(startWidth + startX - ev.clientX);
    const up = (): void => {
      grip.removeEventListener("pointermove", move);
      grip.removeEventListener("pointerup", up);
      grip.removeEventListener("pointercancel", up);
    };
    grip.addEventListener("pointermove", move);
    grip.addEventListener("pointerup", up);
    grip.addEventListener("pointercancel", up);
  });
  grip.addEventListener("keydown", (ev: KeyboardEvent) => {
    const step = ev.key === "ArrowLeft" ? 24 : ev.key === "ArrowRight" ? -24 : 0;
    if (step === 0) return;
    ev.preventDefault();
    setWidth(side.getBoundingClientRect().width + step);
  });
  return grip;
}

export class Indicators {
  readonly root: HTMLElement;
  /** Where the renderer draws. */
  readonly canvas: HTMLElement;
  /** The drawing area: the canvas plus overlays (legend). */
  readonly stage: HTMLElement;
  /** Row under the toolbar for the exploration controls. */
  readonly exploreSlot: HTMLElement;
  /** Side panel slot above the details (selection). */
  readonly sideSlot: HTMLElement;
  private readonly status: HTMLElement;
  private readonly nodeCount: HTMLElement;
  private readonly edgeCount: HTMLElement;
  private readonly rate: HTMLElement;
  private readonly latency: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly progressBar: HTMLElement;
  private readonly progressLabel: HTMLElement;
  private readonly reanalyze: HTMLButtonElement;
  /** The side panel's details box (filled by the view's DetailsPanel). */
  readonly details: HTMLElement;
  private readonly logList: HTMLElement;
  private readonly logFilter: HTMLInputElement;
  private lastLogKey = "";

  constructor(doc: Document, graphName: string, heightPx: number, handlers: IndicatorHandlers, initialFilter: string[] = []) {
    this.root = el(doc, "div", { class: "gl-root", "data-testid": "gl-root" });
    this.root.style.height = `${heightPx}px`;

    const bar = el(doc, "div", { class: "gl-toolbar" });
    bar.append(el(doc, "span", { class: "gl-title", title: "graph" }, graphName));
    this.status = el(doc, "span", { class: "gl-status", "data-testid": "gl-status", "data-state": "idle" }, "idle");
    bar.append(this.status);
    const [nodesWrap, nodes] = stat(doc, "nodes", "gl-node-count");
    const [edgesWrap, edges] = stat(doc, "edges", "gl-edge-count");
    const [rateWrap, rate] = stat(doc, "", "gl-rate", "ev/s");
    const [latWrap, lat] = stat(doc, "latency", "gl-latency", "ms");
    lat.textContent = "–";
    lat.setAttribute("data-value", "");
    this.nodeCount = nodes;
    this.edgeCount = edges;
    this.rate = rate;
    this.latency = lat;
    bar.append(nodesWrap, edgesWrap, rateWrap, latWrap);

    this.progress = el(doc, "div", {
      class: "gl-progress",
      "data-testid": "gl-progress",
      "data-phase": "idle",
      role: "progressbar",
      "aria-valuemin": "0",
      "aria-valuemax": "100",
    });
    this.progressBar = el(doc, "div", { class: "gl-progress-bar" });
    this.progressLabel = el(doc, "span", { class: "gl-progress-label" });
    this.progress.append(this.progressBar, this.progressLabel);
    bar.append(this.progress);

    this.reanalyze = el(doc, "button", { class: "gl-button", type: "button", "data-testid": "gl-reanalyze", title: "Analyse the graph's root again on the server" }, "Re-analyze");
    this.reanalyze.addEventListener("click", () => handlers.onReanalyze());
    bar.append(this.reanalyze);

    this.exploreSlot = el(doc, "div", { class: "gl-explore" });
    const body = el(doc, "div", { class: "gl-body" });
    this.stage = el(doc, "div", { class: "gl-stage" });
    this.canvas = el(doc, "div", { class: "gl-canvas", "data-testid": "gl-canvas" });
    this.stage.append(this.canvas);
    const side = el(doc, "aside", { class: "gl-side" });
    this.sideSlot = el(doc, "div", { class: "gl-side-slot" });
    this.details = el(doc, "div", { class: "gl-details", "data-testid": "gl-details" });
    const log = el(doc, "div", { class: "gl-log", "data-testid": "gl-log" });
    this.logFilter = el(doc, "input", {
      class: "gl-log-filter",
      "data-testid": "gl-log-filter",
      type: "search",
      placeholder: "filter: node_* edge_* …",
      "aria-label": "Filter the event log by event type (globs)",
    });
    this.logFilter.value = initialFilter.join(" ");
    this.logFilter.addEventListener("input", () => handlers.onLogFilter(parseFilter(this.logFilter.value)));
    this.logList = el(doc, "ol", { class: "gl-log-entries" });
    log.append(this.logFilter, this.logList);
    side.append(sideGrip(doc, side), this.sideSlot, this.details, log);
    body.append(this.stage, side);
    this.root.append(bar, this.exploreSlot, body);
  }

  setLogFilterText(patterns: readonly string[]): void {
    this.logFilter.value = patterns.join(" ");
  }

  setCounts(nodes: number, edges: number): void {
    setNumber(this.nodeCount, nodes);
    setNumber(this.edgeCount, edges);
  }

  setStatus(label: string, state: string, title = ""): void {
    this.status.textContent = label;
    this.status.setAttribute("data-state", state);
    this.status.title = title;
  }

  setRate(eventsPerSecond: number): void {
    setNumber(this.rate, Math.round(eventsPerSecond));
  }

  setLatency(ms: number | null): void {
    if (ms === null) {
      this.latency.textContent = "–";
      this.latency.setAttribute("data-value", "");
    } else {
      setNumber(this.latency, Math.round(ms));
    }
  }

  setProgress(p: AnalysisProgress): void {
    this.progress.setAttribute("data-phase", p.phase);
    if (p.fraction === null) {
      this.progress.removeAttribute("aria-valuenow");
      this.progressBar.style.width = "100%";
      this.progress.classList.add("gl-indeterminate");
    } else {
      const pct = Math.round(p.fraction * 100);
      this.progress.setAttribute("aria-valuenow", String(pct));
      this.progressBar.style.width = `${pct}%`;
      this.progress.classList.remove("gl-indeterminate");
    }
    this.progressLabel.textContent = p.label;
    this.progress.title = p.label;
  }

  setReanalyzeState(busy: boolean, message = ""): void {
    this.reanalyze.disabled = busy;
    this.reanalyze.title = message || "Analyse the graph's root again on the server";
    this.reanalyze.setAttribute("data-state", busy ? "busy" : message ? "error" : "idle");
  }

  /** Show `entries` (newest first); skips the DOM work when nothing changed. */
  setLog(entries: readonly LogEntry[], total: number): void {
    const key = `${total}:${entries.length}:${entries[0]?.seq ?? ""}`;
    if (key === this.lastLogKey) return;
    this.lastLogKey = key;
    const doc = this.logList.ownerDocument;
    const items = entries.map((e) => {
      const li = el(doc, "li", { class: "gl-log-entry", "data-testid": "gl-log-entry", "data-type": e.type, "data-seq": String(e.seq) });
      li.append(
        el(doc, "span", { class: "gl-log-seq" }, String(e.seq)),
        el(doc, "span", { class: `gl-log-type gl-type-${e.type}` }, e.type),
        el(doc, "span", { class: "gl-log-summary" }, e.summary),
      );
      return li;
    });
    this.logList.replaceChildren(...items);
  }
}
