// graphology-layout-forceatlas2 ships no types for its single-iteration function.
declare module "graphology-layout-forceatlas2/iterate.js" {
  export default function iterate(
    options: Record<string, unknown>,
    nodeMatrix: Float32Array,
    edgeMatrix: Float32Array,
  ): unknown;
}
