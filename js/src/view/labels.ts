/**
 * Which node labels a frame shows: the most connected nodes first, never two labels on top of
 * each other.
 *
 * sigma 3 picks labels with a grid (`labelGridCellSize`, `labelDensity`): the largest nodes of
 * each cell, whatever the length of their labels — so long labels of neighbouring cells overlap,
 * and forced labels (`forceLabel`) ignore the grid altogether. Here sigma's own label pass is
 * off (`renderLabels: false`) and this module draws the labels on sigma's label canvas after
 * each frame, choosing them in viewport pixels:
 *
 * 1. candidates are ranked by how connected they are in the drawn graph — the sum of the
 *    model edges their drawn edges stand for (a bundled edge counts its members) — then by
 *    drawn size and key, so the choice is deterministic;
 * 2. highlighted nodes (selection, path) come first: sigma draws their labels itself on the hover
 *    layer, so their boxes are only reserved; then at most {@link MAX_LABEL_CANDIDATES} nodes on
 *    screen, most connected first (a frame's work is bounded, whatever the size of the graph);
 * 3. each label's box (text width measured with the label font, plus a margin) goes right of
 *    its node, else left of it: the first that lies wholly on screen and overlaps no box
 *    accepted before is taken, else the label is left out (a uniform grid of accepted boxes
 *    keeps this linear).
 *
 * Zooming in spreads the nodes, so more labels fit; zooming out shows only the hubs. Drawn
 * labels get a translucent backdrop so edges do not cross the text. What was drawn in the last
 * frame is kept ({@link LabelLayout.boxes}) for tests and tools.
 */

import type Sigma from "sigma";

/** One label on screen, in CSS pixels relative to the canvas (top-left origin). */
export interface LabelBox {
  key: string;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Where the text starts, and its baseline (the node's y + font size / 3, as sigma draws). */
  textX: number;
  baseline: number;
}

export interface LabelCandidate {
  key: string;
  label: string;
  /** Node centre and drawn radius in viewport pixels. */
  x: number;
  y: number;
  size: number;
  /** Reserved: sigma draws this label itself (highlighted); its box only keeps others away. */
  reserved: boolean;
}

export interface LabelFont {
  /** Pixel size of the label font. */
  size: number;
  /** Width of `text` in pixels with the label font. */
  measure(text: string): number;
}

/** Space kept free around each label box, in pixels. */
export const LABEL_MARGIN = 2;
/** Gap between a node's disc and its label (as sigma draws it). */
const GAP = 3;
/** Accepted boxes are bucketed in cells of this size for the overlap test. */
const CELL = 64;
/**
 * On-screen nodes examined per frame, most connected first: bounds a frame's label work on
 * big pictures (10,000 nodes drawn whole), where labels beyond these rarely find room anyway.
 */
export const MAX_LABEL_CANDIDATES = 2_000;
/** Pictures up to this many nodes are ranked again at every change; bigger ones ... */
const RERANK_AT_ONCE_UP_TO = 2_000;
/** ... at most this often. */
const RERANK_EVERY_MS = 1_000;

/**
 * The box the label of `c` occupies right of its node (as sigma draws it: text at
 * x + size + 3, baseline y + font size / 3), or left of it.
 */
export function labelBox(c: LabelCandidate, font: LabelFont, side: "right" | "left" = "right"): LabelBox {
  const width = font.measure(c.label);
  const ascent = font.size * 0.8;
  const descent = font.size * 0.25;
  const baseline = c.y + font.size / 3;
  const textX = side === "right" ? c.x + c.size + GAP : c.x - c.size - GAP - width;
  return {
    key: c.key,
    label: c.label,
    x: textX - LABEL_MARGIN,
    y: baseline - ascent - LABEL_MARGIN,
    width: width + 2 * LABEL_MARGIN,
    height: ascent + descent + 2 * LABEL_MARGIN,
    textX,
    baseline,
  };
}

export function overlaps(a: LabelBox, b: LabelBox): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * Greedy placement: `ranked` candidates in priority order; returns the accepted boxes by key
 * (reserved ones included). Only boxes wholly inside `width` × `height` are placed; a reserved
 * label (drawn by sigma, always right of its node) is kept out of the way wherever it is.
 */
export function placeLabels(ranked: Iterable<LabelCandidate>, font: LabelFont, width: number, height: number): Map<string, LabelBox> {
  const accepted = new Map<string, LabelBox>();
  const grid = new Map<number, LabelBox[]>();
  const cols = Math.max(1, Math.ceil(width / CELL) + 2);
  const cells = (b: LabelBox, visit: (cell: number) => boolean | void): boolean => {
    const x0 = Math.max(-1, Math.floor(b.x / CELL));
    const x1 = Math.min(cols - 2, Math.floor((b.x + b.width) / CELL));
    const y0 = Math.floor(b.y / CELL);
    const y1 = Math.floor((b.y + b.height) / CELL);
    for (let gy = y0; gy <= y1; gy++) {
      for (let gx = x0; gx <= x1; gx++) if (visit(gy * cols + gx + 1) === true) return true;
    }
    return false;
  };
  const inside = (b: LabelBox): boolean => b.x >= 0 && b.y >= 0 && b.x + b.width <= width && b.y + b.height <= height;
  const free = (b: LabelBox): boolean => !cells(b, (cell) => grid.get(cell)?.some((other) => overlaps(b, other)) ?? false);
  for (const c of ranked) {
    if (!c.label) continue;
    let box: LabelBox | null = labelBox(c, font);
    if (!c.reserved && !(inside(box) && free(box))) {
      const left = labelBox(c, font, "left");
      box = inside(left) && free(left) ? left : null;
    }
    if (box === null) continue;
    accepted.set(c.key, box);
    cells(box, (cell) => {
      const list = grid.get(cell);
      if (list === undefined) grid.set(cell, [box]);
      else list.push(box);
    });
  }
  return accepted;
}

interface SigmaNodeData {
  x: number;
  y: number;
  size: number;
  label?: string | null;
  hidden?: boolean;
}

/** sigma settings for {@link LabelLayout}: sigma draws no labels but those of hovered and
 *  highlighted nodes (its hover layer); the font is the one labels are measured and drawn in. */
export const LABEL_SETTINGS = {
  renderLabels: false,
  labelFont: "Arial, Helvetica, sans-serif",
  labelSize: 13,
  labelWeight: "normal",
};

/**
 * Labels of one sigma instance: {@link LabelLayout.attach} it; call
 * {@link LabelLayout.invalidate} when the drawn graph changes.
 */
export class LabelLayout {
  private sigma: Sigma | null = null;
  private highlighted: () => ReadonlySet<string> = () => new Set();
  /** Node keys, most connected first; null = recompute from the graph. */
  private ranking: string[] | null = null;
  /** The graph changed since the ranking was made, and when it was made. */
  private stale = false;
  private rankedAt = 0;
  private rankedGraph: unknown = null;
  private drawn: LabelBox[] = [];
  private readonly widths = new Map<string, number>();
  private widthFont = "";

  /** Draw after every frame of `sigma`; `highlighted` = the nodes sigma labels itself. */
  attach(sigma: Sigma, highlighted: () => ReadonlySet<string>): void {
    this.sigma = sigma;
    this.highlighted = highlighted;
    // sigma clears its label canvas at the start of each frame; the labels go on after it.
    sigma.on("afterRender", () => this.paint());
  }

  /**
   * The drawn graph changed: rank its nodes again for the next frame — on big pictures at most
   * once a second (a stale ranking only labels new nodes late; removed ones are skipped).
   */
  invalidate(): void {
    this.stale = true;
  }

  /** Labels drawn in the last frame. */
  boxes(): LabelBox[] {
    return this.drawn.map((b) => ({ ...b }));
  }

  private paint(): void {
    const sigma = this.sigma;
    this.drawn = [];
    if (sigma === null) return;
    const context = sigma.getCanvases().labels?.getContext("2d");
    if (!context) return;
    const size = sigma.getSetting("labelSize");
    const font = `${sigma.getSetting("labelWeight")} ${size}px ${sigma.getSetting("labelFont")}`;
    const color = sigma.getSetting("labelColor").color ?? "#000";
    const plan = this.computePlan(context, font, size);
    context.font = font;
    for (const box of plan.values()) {
      context.fillStyle = "rgba(255, 255, 255, 0.78)";
      context.fillRect(box.x, box.y, box.width, box.height);
      context.fillStyle = color;
      context.fillText(box.label, box.textX, box.baseline);
      this.drawn.push(box);
    }
  }

  private computePlan(context: CanvasRenderingContext2D, font: string, fontSize: number): Map<string, LabelBox> {
    const sigma = this.sigma;
    if (sigma === null) return new Map();
    if (font !== this.widthFont || this.widths.size > 100_000) {
      this.widths.clear();
      this.widthFont = font;
    }
    context.font = font;
    const measure = (text: string): number => {
      let w = this.widths.get(text);
      if (w === undefined) {
        w = context.measureText(text).width;
        this.widths.set(text, w);
      }
      return w;
    };
    const now = performance.now();
    const graph = sigma.getGraph();
    const due = this.stale && (graph.order <= RERANK_AT_ONCE_UP_TO || now - this.rankedAt >= RERANK_EVERY_MS);
    if (this.ranking === null || graph !== this.rankedGraph || due) {
      this.ranking = this.rank();
      this.stale = false;
      this.rankedAt = now;
      this.rankedGraph = graph;
    }
    const ranking = this.ranking;
    const { width, height } = sigma.getDimensions();
    const candidate = (key: string, reserved: boolean): LabelCandidate | null => {
      const data = sigma.getNodeDisplayData(key) as SigmaNodeData | undefined;
      if (data === undefined || data.hidden || !data.label) return null;
      const { x, y } = sigma.framedGraphToViewport(data);
      // Nodes off screen are not labelled (their label could be on screen, but alone).
      if (!reserved && (x < 0 || y < 0 || x > width || y > height)) return null;
      return { key, label: data.label, x, y, size: sigma.scaleSize(data.size), reserved };
    };
    const hot = this.highlighted();
    const list: LabelCandidate[] = [];
    for (const key of hot) {
      const c = candidate(key, true);
      if (c !== null) list.push(c);
    }
    const limit = list.length + MAX_LABEL_CANDIDATES;
    for (const key of ranking) {
      if (list.length >= limit) break;
      if (hot.has(key)) continue;
      const c = candidate(key, false);
      if (c !== null) list.push(c);
    }
    const plan = placeLabels(list, { size: fontSize, measure }, width, height);
    for (const key of hot) plan.delete(key);
    return plan;
  }

  /** Node keys by connectedness in the drawn graph (bundled edges count their members). */
  private rank(): string[] {
    const graph = this.sigma?.getGraph();
    if (graph === undefined) return [];
    const keys: string[] = [];
    const index = new Map<string, number>();
    const size = new Float64Array(graph.order);
    graph.forEachNode((key, attrs) => {
      index.set(key, keys.length);
      size[keys.length] = typeof attrs.size === "number" ? attrs.size : 0;
      keys.push(key);
    });
    const weight = new Float64Array(keys.length);
    let bundled = false;
    graph.forEachEdge((_e, attrs) => {
      if (typeof attrs.count === "number" && attrs.count !== 1) bundled = true;
    });
    if (bundled) {
      graph.forEachEdge((_e, attrs, source, target) => {
        const n = typeof attrs.count === "number" ? attrs.count : 1;
        const s = index.get(source) as number;
        const t = index.get(target) as number;
        weight[s] = (weight[s] ?? 0) + n;
        weight[t] = (weight[t] ?? 0) + n;
      });
    } else {
      // One model edge per drawn edge: the degree is the weight.
      keys.forEach((key, i) => {
        weight[i] = graph.degree(key);
      });
    }
    const order = Array.from(keys.keys());
    order.sort((a, b) => (weight[b] as number) - (weight[a] as number) || (size[b] as number) - (size[a] as number) || ((keys[a] as string) < (keys[b] as string) ? -1 : 1));
    return order.map((i) => keys[i] as string);
  }
}
