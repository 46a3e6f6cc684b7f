/**
 * Colour and size of display nodes under the view's encodings: colour by kind, language, module
 * or complexity; size by kind, degree or lines of code. Clusters (collapsed packages/modules) get
 * the same encodings from their members' aggregates, so switching encodings reads the same at
 * every level of collapse.
 */

import type { NodeJSON } from "../client/protocol.js";
import { nodeColor, nodeSize } from "../state/appearance.js";
import { hashString } from "../state/placement.js";
import { languageColor, nodeLanguage } from "./language.js";

export const COLOR_MODES = ["kind", "language", "module", "complexity"] as const;
export const SIZE_MODES = ["kind", "degree", "lines"] as const;
export type ColorMode = (typeof COLOR_MODES)[number];
export type SizeMode = (typeof SIZE_MODES)[number];

export function isColorMode(v: unknown): v is ColorMode {
  return typeof v === "string" && (COLOR_MODES as readonly string[]).includes(v);
}

export function isSizeMode(v: unknown): v is SizeMode {
  return typeof v === "string" && (SIZE_MODES as readonly string[]).includes(v);
}

/** Twelve colours that stay distinguishable next to each other (ColorBrewer Paired, reordered). */
const MODULE_PALETTE = [
  "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928",
  "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#8dd3c7",
];

export function moduleColor(group: string): string {
  return MODULE_PALETTE[hashString(group) % MODULE_PALETTE.length] as string;
}

/** Complexity ramp stops: value → colour; values between stops are interpolated. */
export const COMPLEXITY_STOPS: ReadonlyArray<[number, string]> = [
  [1, "#1a9850"],
  [5, "#d9ef8b"],
  [10, "#fdae61"],
  [20, "#d73027"],
];

const NO_VALUE = "#bdbdbd";

function hexToRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function complexityColor(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return NO_VALUE;
  const stops = COMPLEXITY_STOPS;
  const first = stops[0] as [number, string];
  if (value <= first[0]) return first[1];
  for (let i = 1; i < stops.length; i++) {
    const [v1, c1] = stops[i] as [number, string];
    if (value <= v1) {
      const [v0, c0] = stops[i - 1] as [number, string];
      const t = (value - v0) / (v1 - v0);
      const a = hexToRgb(c0);
      const b = hexToRgb(c1);
      const mix = a.map((x, k) => Math.round(x + (((b[k] as number) - x) * t)));
      return `#${mix.map((x) => x.toString(16).padStart(2, "0")).join("")}`;
    }
  }
  return (stops[stops.length - 1] as [number, string])[1];
}

const CLUSTER_COLORS: Record<string, string> = {
  package: nodeColor("package"),
  module: nodeColor("module"),
  external: nodeColor("external"),
};

/** Aggregates of a cluster's members that its encodings need. */
export interface ClusterStats {
  group: string;
  kind: "package" | "module" | "external";
  count: number;
  loc: number;
  complexitySum: number;
  complexityCount: number;
  /** The language most members are in; null for an empty group. */
  language: string | null;
}

export function realNodeColor(mode: ColorMode, node: NodeJSON, module: string): string {
  switch (mode) {
    case "language":
      return languageColor(nodeLanguage(node));
    case "module":
      return moduleColor(module);
    case "complexity":
      return complexityColor(typeof node.complexity === "number" ? node.complexity : null);
    default:
      return nodeColor(node.kind);
  }
}

export function realNodeSize(mode: SizeMode, node: NodeJSON, degree: number): number {
  const members = node.extra?.members;
  if (typeof members === "number" && mode !== "lines") return Math.min(28, 5 + 2 * Math.log2(1 + members));
  switch (mode) {
    case "degree":
      return 2 + 1.6 * Math.log2(1 + degree);
    case "lines":
      return 2 + 1.4 * Math.log2(1 + (typeof node.loc === "number" ? node.loc : 0));
    default:
      return nodeSize(node);
  }
}

export function clusterColor(mode: ColorMode, stats: ClusterStats): string {
  switch (mode) {
    case "language":
      return stats.language === null ? NO_VALUE : languageColor(stats.language);
    case "module":
      return moduleColor(stats.group);
    case "complexity":
      return complexityColor(stats.complexityCount > 0 ? stats.complexitySum / stats.complexityCount : null);
    default:
      return CLUSTER_COLORS[stats.kind] ?? NO_VALUE;
  }
}

export function clusterSize(mode: SizeMode, stats: ClusterStats): number {
  if (mode === "lines") return Math.min(28, 4 + 1.5 * Math.log2(1 + stats.loc / 10));
  return Math.min(28, 5 + 2 * Math.log2(1 + stats.count));
}

export interface LegendEntry {
  key: string;
  label: string;
  color: string;
}

/** Legend of `mode` for what is on screen (kinds or languages present, or the modules drawn). */
export function legendFor(mode: ColorMode, kinds: Iterable<string>, modules: Iterable<string>, languages: Iterable<string> = []): LegendEntry[] {
  if (mode === "language") return [...new Set(languages)].sort().map((l) => ({ key: l, label: l, color: languageColor(l) }));
  if (mode === "complexity") {
    const entries = COMPLEXITY_STOPS.map(([v, c], i) => ({
      key: String(v),
      label: i === COMPLEXITY_STOPS.length - 1 ? `complexity ≥ ${v}` : `complexity ${v}`,
      color: c,
    }));
    return [...entries, { key: "none", label: "no complexity", color: NO_VALUE }];
  }
  if (mode === "module") {
    const out: LegendEntry[] = [];
    for (const m of modules) {
      if (out.length >= 12) break;
      out.push({ key: m, label: m, color: moduleColor(m) });
    }
    return out;
  }
  return [...new Set(kinds)].sort().map((k) => ({ key: k, label: k, color: nodeColor(k) }));
}
