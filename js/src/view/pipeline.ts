/**
 * The drawing half of a view for one store: the view's projection of the store's model, the
 * sigma renderer drawing it and the layout worker placing it.
 *
 * Contract: owns the projection, the renderer and the layout engine, and their observers of one
 * another; `dispose()` ends all three. It does not observe the store (the view does, and feeds
 * batches to the projection) and holds no exploration state: the encodings and level it starts
 * with are passed in, later changes are applied by exploration.ts. May call ../explore,
 * ../layout and ./renderer.ts.
 */

import type { ColorMode, SizeMode } from "../explore/palette.js";
import { ViewGraph } from "../explore/view-graph.js";
import { createInlineWorker, LayoutEngine, type WorkerLike } from "../layout/layout-engine.js";
import type { FrameScheduler } from "../state/frame-batcher.js";
import type { GraphStore } from "../state/store.js";
import { GraphRenderer } from "./renderer.js";

export interface PipelineOptions {
  collapseAbove?: number;
  maxVisible?: number;
  schedule?: FrameScheduler;
  /** Null from the factory: no layout (positions stay as given). */
  createWorker?: () => WorkerLike | null;
  colorBy: ColorMode;
  sizeBy: SizeMode;
  /** Expanded groups to start with; null = the automatic level. */
  expanded: string[] | null;
  onClickNode(key: string, additive: boolean): void;
  onClickStage(): void;
  /** The drawn graph changed (after the renderer and layout have seen it). */
  drawn(): void;
}

export class Pipeline {
  readonly projection: ViewGraph;
  readonly renderer: GraphRenderer;
  private layout: LayoutEngine | null = null;
  private readonly removers: Array<() => void> = [];

  constructor(
    readonly store: GraphStore,
    canvas: HTMLElement,
    options: PipelineOptions,
  ) {
    const projection = new ViewGraph(store.state.graph, {
      collapseAbove: options.collapseAbove,
      maxVisible: options.maxVisible,
      schedule: options.schedule,
      // Layout of the model drawn directly: applied by the store, with its next batch.
      modelPositions: (positions) => store.setPositions(positions),
    });
    this.projection = projection;
    projection.setEncoding(options.colorBy, options.sizeBy);
    if (options.expanded !== null) projection.setExpanded(options.expanded);
    const renderer = new GraphRenderer(projection, canvas, {
      onClickNode: (key, additive) => options.onClickNode(key, additive),
      onClickStage: () => options.onClickStage(),
    });
    this.renderer = renderer;
    this.removers.push(projection.addObserver(renderer));
    const worker = (options.createWorker ?? createInlineWorker)();
    if (worker !== null) {
      const engine = new LayoutEngine(projection, worker);
      this.layout = engine;
      const remove = projection.addObserver(engine);
      this.removers.push(() => {
        remove();
        engine.dispose();
        this.layout = null;
      });
    }
    // Last, so whoever hears of a change sees it drawn and handed to the layout.
    this.removers.push(projection.addObserver({ afterChange: () => options.drawn() }));
  }

  /** The layout worker is still moving nodes (benchmarks wait for a quiet page). */
  get layoutBusy(): boolean {
    return this.layout?.busy ?? false;
  }

  dispose(): void {
    for (const remove of this.removers.splice(0)) remove();
    this.renderer.kill();
    this.projection.dispose();
  }
}
