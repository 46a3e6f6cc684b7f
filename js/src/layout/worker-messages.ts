/**
 * Messages between the page and the layout worker. Arrays are transferred, not copied.
 *
 * A run lays out a set of nodes given as packed arrays: per node x, y, size and a fixed flag
 * (fixed nodes pull and push the others but never move), and edges as pairs of node indexes.
 */

export interface ForceSettings {
  gravity: number;
  strongGravityMode: boolean;
  scalingRatio: number;
  slowDown: number;
  barnesHutOptimize: boolean;
  barnesHutTheta: number;
  linLogMode: boolean;
  adjustSizes: boolean;
  outboundAttractionDistribution: boolean;
  edgeWeightInfluence: number;
}

/** Floats per node in {@link RunRequest.nodes}: x, y, size, fixed (0 or 1). */
export const NODE_STRIDE = 4;

export interface RunRequest {
  type: "run";
  runId: number;
  nodes: Float32Array;
  /** source index, target index, ... */
  edges: Uint32Array;
  iterations: number;
  /** Post intermediate positions at most this often (ms). */
  reportEveryMs: number;
  settings: ForceSettings;
}

export interface CancelRequest {
  type: "cancel";
  runId: number;
}

export type LayoutRequest = RunRequest | CancelRequest;

export interface PositionsReply {
  type: "positions";
  runId: number;
  /** x, y per node, in the order of the request. */
  xy: Float32Array;
  iterations: number;
  done: boolean;
}

export interface ErrorReply {
  type: "error";
  runId: number;
  message: string;
}

export type LayoutReply = PositionsReply | ErrorReply;

/** ForceAtlas2 settings for `order` nodes (the library's own inference, tuned for code graphs). */
export function settingsFor(order: number, incremental: boolean): ForceSettings {
  return {
    gravity: incremental ? 0.01 : 0.05,
    strongGravityMode: !incremental,
    scalingRatio: 10,
    slowDown: 1 + Math.log(Math.max(1, order)),
    barnesHutOptimize: order > 2000,
    barnesHutTheta: 0.6,
    linLogMode: false,
    adjustSizes: false,
    outboundAttractionDistribution: false,
    edgeWeightInfluence: 1,
  };
}
