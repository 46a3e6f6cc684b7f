/**
 * The sigma 3 renderer of one view, and the rule that keeps it fast under change.
 *
 * sigma 3 listens to its graphology graph and, for every dropped node or edge, re-indexes the
 * whole graph synchronously (DESIGN §6: 1,000 removals take minutes). So for a batch that removes
 * anything, replaces the graph or adds a lot, the renderer swaps an empty placeholder graph in
 * before the batch and the real one back after it: the model changes with nobody listening,
 * then sigma re-indexes once. Small additive batches stay attached (sigma's per-element partial
 * updates are cheap) and render once per frame through sigma's own scheduling.
 */

import { MultiDirectedGraph } from "graphology";
import Sigma from "sigma";

import type { CodeGraphModel, EdgeAttributes, NodeAttributes } from "../state/graph-state.js";
import type { BatchPlan, StoreObserver } from "../state/store.js";

export interface RendererOptions {
  /** Called with the node key on click (null on a click on the background). */
  onSelect?: (node: string | null) => void;
  /** Called after each render with its duration in ms (benchmarks, diagnostics). */
  onRender?: (ms: number) => void;
}

export class GraphRenderer implements StoreObserver {
  readonly sigma: Sigma<NodeAttributes, EdgeAttributes>;
  private readonly placeholder: CodeGraphModel = new MultiDirectedGraph<NodeAttributes, EdgeAttributes>();
  private attached = true;
  private selected: string | null = null;
  private resizeObserver: ResizeObserver | null = null;
  /** Full re-indexes caused by batches (one per detached batch). */
  reattachments = 0;

  constructor(
    private readonly graph: CodeGraphModel,
    container: HTMLElement,
    options: RendererOptions = {},
  ) {
    this.sigma = new Sigma<NodeAttributes, EdgeAttributes>(graph, container, {
      // The widget may render into an output area that is not laid out yet.
      allowInvalidContainer: true,
      renderEdgeLabels: false,
      hideEdgesOnMove: graph.size > 20_000,
      labelRenderedSizeThreshold: 7,
      labelDensity: 0.5,
      zIndex: false,
      nodeReducer: (node, data) => {
        if (this.selected === null) return data;
        if (node === this.selected) return { ...data, highlighted: true, forceLabel: true };
        return data;
      },
    });
    const sigma = this.sigma;
    sigma.on("clickNode", ({ node }) => {
      this.selected = node;
      sigma.refresh({ partialGraph: { nodes: [node] }, skipIndexation: true, schedule: true });
      options.onSelect?.(node);
    });
    sigma.on("clickStage", () => {
      const previous = this.selected;
      this.selected = null;
      if (previous !== null && this.graph.hasNode(previous)) {
        sigma.refresh({ partialGraph: { nodes: [previous] }, skipIndexation: true, schedule: true });
      }
      options.onSelect?.(null);
    });
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

  beforeBatch(plan: BatchPlan): void {
    if (plan.detach && this.attached) {
      this.attached = false;
      this.sigma.setGraph(this.placeholder);
    }
  }

  afterBatch(): void {
    if (!this.attached) {
      this.attached = true;
      this.reattachments += 1;
      // One full re-index and a synchronous render of the new state.
      this.sigma.setGraph(this.graph);
    }
    if (this.selected !== null && !this.graph.hasNode(this.selected)) this.selected = null;
  }

  kill(): void {
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    this.sigma.kill();
  }
}
