/**
 * The sigma 3 renderer of one view, and the rule that keeps it fast under change.
 *
 * It draws whatever the view's {@link ViewGraph} holds: the store's model itself when nothing
 * is collapsed, filtered or focused, else the view's projection. After a change that switches
 * between the two it re-attaches to the new graph (one re-index).
 *
 * sigma 3 listens to its graphology graph and, for every dropped node or edge, re-indexes the
 * whole graph synchronously (docs/architecture.md, "Drawing on a machine without a GPU": 1,000 removals take minutes). So for a change that
 * removes anything or adds a lot, the renderer swaps an empty placeholder graph in before the
 * change and the real one back after it: the graph changes with nobody listening, then sigma
 * re-indexes once. Small additive changes stay attached (sigma's per-element partial updates
 * are cheap) and render once per frame through sigma's own scheduling.
 *
 * Highlights (selection, path) go through sigma's node/edge reducers, so they never touch the
 * graph itself. Which labels show is decided per frame by {@link LabelLayout}: the most
 * connected nodes first, never overlapping.
 */

import { MultiDirectedGraph } from "graphology";
import Sigma from "sigma";

import type { DisplayChange, ProjectionObserver } from "../explore/projection.js";
import type { DrawnEdgeAttributes, DrawnGraph, DrawnNodeAttributes } from "../explore/view-graph.js";
import { LABEL_SETTINGS, type LabelBox, LabelLayout } from "./labels.js";

/** What the renderer draws: the graph there is now (it may change between changes). */
export interface DrawnSource {
  readonly graph: DrawnGraph;
}

export interface RendererOptions {
  /** A click on a node, with the modifier state (shift/ctrl/meta add to the selection). */
  onClickNode?: (key: string, additive: boolean) => void;
  /** A click on the background. */
  onClickStage?: () => void;
  /** Called after each render with its duration in ms (benchmarks, diagnostics). */
  onRender?: (ms: number) => void;
}

export class GraphRenderer implements ProjectionObserver {
  readonly sigma: Sigma<DrawnNodeAttributes, DrawnEdgeAttributes>;
  private readonly placeholder: DrawnGraph = new MultiDirectedGraph<DrawnNodeAttributes, DrawnEdgeAttributes>();
  private attached = true;
  private highlighted = new Set<string>();
  private pathEdges = new Set<string>();
  private resizeObserver: ResizeObserver | null = null;
  private readonly labels = new LabelLayout();
  /** Full re-indexes caused by changes (one per detached change). */
  reattachments = 0;

  constructor(
    private readonly source: DrawnSource,
    container: HTMLElement,
    options: RendererOptions = {},
  ) {
    const graph = source.graph;
    this.sigma = new Sigma<DrawnNodeAttributes, DrawnEdgeAttributes>(graph, container, {
      // The widget may render into an output area that is not laid out yet.
      allowInvalidContainer: true,
      renderEdgeLabels: false,
      hideEdgesOnMove: graph.size > 20_000,
      ...LABEL_SETTINGS,
      zIndex: false,
      nodeReducer: (node, data) => {
        if (!this.highlighted.has(node)) return data;
        return { ...data, highlighted: true };
      },
      edgeReducer: (edge, data) => {
        if (!this.pathEdges.has(edge)) return data;
        return { ...data, color: "#d62728", size: Math.max(2.5, data.size) };
      },
    });
    const sigma = this.sigma;
    this.labels.attach(sigma as unknown as Sigma, () => this.highlighted);
    let last: { x: number; y: number } | null = null;
    sigma.on("clickNode", ({ node, event }) => {
      const e = event.original as MouseEvent;
      last = { x: event.x, y: event.y };
      options.onClickNode?.(node, Boolean(e.shiftKey || e.ctrlKey || e.metaKey));
    });
    // sigma turns the second of two quick clicks into a double click (and zooms). Two quick
    // clicks at different places are two clicks; a real double click (same spot) is one.
    sigma.on("doubleClickNode", ({ node, event }) => {
      event.preventSigmaDefault();
      const previous = last;
      last = null;
      if (previous !== null && Math.hypot(previous.x - event.x, previous.y - event.y) < 6) return;
      const e = event.original as MouseEvent;
      options.onClickNode?.(node, Boolean(e.shiftKey || e.ctrlKey || e.metaKey));
    });
    sigma.on("clickStage", () => options.onClickStage?.());
    if (options.onRender) {
      const report = options.onRender;
      let start = 0;
      sigma.on("beforeRender", () => {
        start = performance.now();
      });
      sigma.on("afterRender", () => report(performance.now() - start));
    }
    if (typeof ResizeObserver !== "undefined") {
      this.resizeObserver = new ResizeObserver(() => {
        sigma.resize();
        sigma.scheduleRender();
      });
      this.resizeObserver.observe(container);
    }
  }

  private get graph(): DrawnGraph {
    return this.source.graph;
  }

  beforeChange(detach: boolean): void {
    if (detach && this.attached) {
      this.attached = false;
      this.sigma.setGraph(this.placeholder);
    }
  }

  afterChange(_change: DisplayChange): void {
    this.labels.invalidate();
    if (!this.attached || this.sigma.getGraph() !== this.graph) {
      this.attached = true;
      this.reattachments += 1;
      // One full re-index and a synchronous render of the new state (of the graph drawn now:
      // the change may have switched between the model and a projection).
      this.sigma.setGraph(this.graph);
    }
  }

  /** Emphasise these display nodes (selection, path) and path edges; others stay as they are. */
  setHighlight(nodes: ReadonlySet<string>, pathEdges: ReadonlySet<string> = new Set()): void {
    const changed = new Set<string>();
    for (const k of this.highlighted) if (!nodes.has(k)) changed.add(k);
    for (const k of nodes) if (!this.highlighted.has(k)) changed.add(k);
    const edgesChanged = new Set<string>();
    for (const k of this.pathEdges) if (!pathEdges.has(k)) edgesChanged.add(k);
    for (const k of pathEdges) if (!this.pathEdges.has(k)) edgesChanged.add(k);
    this.highlighted = new Set(nodes);
    this.pathEdges = new Set(pathEdges);
    if (changed.size === 0 && edgesChanged.size === 0) return;
    // Reducer output only: a refresh of those elements, no re-index of positions.
    this.sigma.refresh({
      partialGraph: {
        nodes: [...changed].filter((k) => this.graph.hasNode(k)),
        edges: [...edgesChanged].filter((k) => this.graph.hasEdge(k)),
      },
      schedule: true,
    });
  }

  /** Show the whole graph. */
  fit(animate = true): void {
    if (animate) void this.sigma.getCamera().animatedReset({ duration: 300 });
    else this.sigma.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 });
  }

  /** Centre the camera on display node `key`, zoomed in. */
  centerOn(key: string): void {
    if (!this.graph.hasNode(key)) return;
    // Display data is in sigma's normalised frame, which is what the camera moves in.
    const data = this.sigma.getNodeDisplayData(key);
    if (data === undefined) return;
    void this.sigma.getCamera().animate({ x: data.x, y: data.y, ratio: 0.35 }, { duration: 300 });
  }

  /** Where display node `key` is drawn, in CSS pixels relative to the canvas (tests, tooltips). */
  viewportPosition(key: string): { x: number; y: number } | null {
    if (!this.graph.hasNode(key)) return null;
    const a = this.graph.getNodeAttributes(key);
    return this.sigma.graphToViewport({ x: a.x, y: a.y });
  }

  /** The labels drawn in the last frame, with their boxes in CSS pixels (tests, tools). */
  labelBoxes(): LabelBox[] {
    return this.labels.boxes();
  }

  /**
   * The current picture as a PNG data URL, on a white background. sigma's WebGL layers keep
   * no drawing buffer once composited, so the frame is rendered and copied in the same task.
   */
  toPNG(): string {
    const sigma = this.sigma;
    sigma.refresh();
    const { width, height } = sigma.getDimensions();
    const canvases = Object.values(sigma.getCanvases());
    const first = canvases[0];
    const scale = first && width > 0 ? first.width / width : 1;
    const out = document.createElement("canvas");
    out.width = Math.max(1, Math.round(width * scale));
    out.height = Math.max(1, Math.round(height * scale));
    const ctx = out.getContext("2d");
    if (ctx === null) return "";
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, out.width, out.height);
    for (const canvas of canvases) ctx.drawImage(canvas, 0, 0, out.width, out.height);
    return out.toDataURL("image/png");
  }

  kill(): void {
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    this.sigma.kill();
  }
}
