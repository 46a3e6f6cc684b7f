/**
 * The layout worker: runs ForceAtlas2 (graphology-layout-forceatlas2's iteration function) on
 * the nodes it is sent, in chunks so a cancel or a newer run can interrupt it, and posts
 * positions back as it goes. Fixed nodes use the library's NODE_FIXED flag: they take part in
 * the forces but keep their positions.
 *
 * Built by build.mjs into a standalone script and inlined into the widget bundle as a string.
 */

import iterate from "graphology-layout-forceatlas2/iterate.js";

import { type LayoutReply, type LayoutRequest, NODE_STRIDE, type RunRequest } from "./worker-messages.js";

// Matrix layout of graphology-layout-forceatlas2 (helpers.js): 10 floats per node, 3 per edge,
// edges refer to nodes by their offset in the node matrix.
const PPN = 10;
const PPE = 3;

interface WorkerScope {
  postMessage(message: LayoutReply, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<LayoutRequest>) => void) | null;
}

const scope = self as unknown as WorkerScope;
let current = 0;

function matrices(req: RunRequest): { nodes: Float32Array; edges: Float32Array } {
  const order = req.nodes.length / NODE_STRIDE;
  const nodes = new Float32Array(order * PPN);
  for (let i = 0; i < order; i++) {
    const src = i * NODE_STRIDE;
    const dst = i * PPN;
    nodes[dst] = req.nodes[src] as number;
    nodes[dst + 1] = req.nodes[src + 1] as number;
    nodes[dst + 6] = 1; // mass: 1 + weighted degree, completed below
    nodes[dst + 7] = 1; // convergence
    nodes[dst + 8] = req.nodes[src + 2] as number;
    nodes[dst + 9] = req.nodes[src + 3] as number;
  }
  const size = req.edges.length / 2;
  const edges = new Float32Array(size * PPE);
  for (let e = 0; e < size; e++) {
    const s = (req.edges[2 * e] as number) * PPN;
    const t = (req.edges[2 * e + 1] as number) * PPN;
    edges[e * PPE] = s;
    edges[e * PPE + 1] = t;
    edges[e * PPE + 2] = 1;
    nodes[s + 6] = (nodes[s + 6] as number) + 1;
    nodes[t + 6] = (nodes[t + 6] as number) + 1;
  }
  return { nodes, edges };
}

function positions(nodes: Float32Array): Float32Array {
  const order = nodes.length / PPN;
  const xy = new Float32Array(order * 2);
  for (let i = 0; i < order; i++) {
    xy[2 * i] = nodes[i * PPN] as number;
    xy[2 * i + 1] = nodes[i * PPN + 1] as number;
  }
  return xy;
}

function run(req: RunRequest): void {
  current = req.runId;
  const { nodes, edges } = matrices(req);
  let done = 0;
  let lastReport = Date.now();
  const step = (): void => {
    if (current !== req.runId) return; // cancelled or superseded
    const chunkEnd = Date.now() + 50;
    try {
      while (done < req.iterations && Date.now() < chunkEnd) {
        iterate(req.settings as unknown as Record<string, unknown>, nodes, edges);
        done += 1;
      }
    } catch (err) {
      scope.postMessage({ type: "error", runId: req.runId, message: String(err) });
      return;
    }
    const finished = done >= req.iterations;
    if (finished || Date.now() - lastReport >= req.reportEveryMs) {
      lastReport = Date.now();
      const xy = positions(nodes);
      scope.postMessage({ type: "positions", runId: req.runId, xy, iterations: done, done: finished }, [xy.buffer]);
    }
    // Yield between chunks so cancel and newer runs are seen.
    if (!finished) setTimeout(step, 0);
  };
  step();
}

scope.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === "run") run(msg);
  else if (msg.type === "cancel" && msg.runId === current) current = -1;
};
