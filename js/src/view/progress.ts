/**
 * Analysis progress from analysis_* events. The progress payload is read leniently: a fraction
 * (`fraction`/`progress` in [0, 1]) or counts (`done`/`total`, `files_done`/`files_total`,
 * `current`/`total`), whichever the producer sends.
 *
 * The label says only what the events say: the step an analysis is in and how far it is,
 * "analysis complete" only after `analysis_completed`. A re-analysis this view asked for shows
 * as requested until its own events arrive, and after a resync (the events in between are lost)
 * nothing is claimed until the next event.
 */

import type { ChangeEvent } from "../client/protocol.js";

export type AnalysisPhase = "idle" | "running" | "done" | "failed";

export interface AnalysisProgress {
  phase: AnalysisPhase;
  /** In [0, 1], or null when unknown (indeterminate bar). */
  fraction: number | null;
  label: string;
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function fractionOf(data: Record<string, unknown>): number | null {
  const direct = num(data.fraction) ?? num(data.progress);
  if (direct !== null) return Math.min(1, Math.max(0, direct));
  const pairs: Array<[string, string]> = [
    ["done", "total"],
    ["files_done", "files_total"],
    ["current", "total"],
    ["completed", "total"],
  ];
  for (const [a, b] of pairs) {
    const done = num(data[a]);
    const total = num(data[b]);
    if (done !== null && total !== null && total > 0) return Math.min(1, Math.max(0, done / total));
  }
  return null;
}

export function nextProgress(current: AnalysisProgress, event: ChangeEvent): AnalysisProgress {
  const d = event.data;
  switch (event.type) {
    case "analysis_started": {
      const files = num(d.files);
      return { phase: "running", fraction: 0, label: files === null ? "analysing…" : `analysing ${files} files…` };
    }
    case "analysis_progress": {
      const fraction = fractionOf(d);
      const file = typeof d.file === "string" ? d.file : typeof d.path === "string" ? d.path : "";
      const pct = fraction === null ? "" : `${Math.round(fraction * 100)}%`;
      // Each step (parse, resolve, write) counts files from 0 again: name it, or the bar would
      // seem to go backwards.
      const step = typeof d.phase === "string" ? d.phase : "";
      return { phase: "running", fraction, label: [step, pct, file].filter(Boolean).join(" ") || "analysing…" };
    }
    case "analysis_completed": {
      const files = num(d.files);
      const seconds = num(d.seconds);
      const facts = [files === null ? "" : `${files} files`, seconds === null ? "" : `${seconds.toFixed(1)} s`].filter(Boolean);
      return { phase: "done", fraction: 1, label: facts.length ? `analysis complete (${facts.join(", ")})` : "analysis complete" };
    }
    case "analysis_failed":
      return { phase: "failed", fraction: current.fraction, label: `analysis failed: ${String(d.error ?? d.message ?? "")}` };
    default:
      return current;
  }
}

export const IDLE_PROGRESS: AnalysisProgress = { phase: "idle", fraction: null, label: "" };

/** Shown from a Re-analyze request until the run's first event (compared by identity). */
export const REQUESTED_PROGRESS: AnalysisProgress = { phase: "running", fraction: null, label: "re-analysis requested…" };
