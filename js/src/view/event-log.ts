/**
 * The live event log: a ring buffer of the most recent events (bounded, so a long session does
 * not grow the page), filterable by event-type globs.
 */

import type { ChangeEvent } from "../client/protocol.js";
import { matchesAny } from "../client/wildcard.js";

export interface LogEntry {
  seq: number;
  type: string;
  time: number;
  summary: string;
}

/** A one-line description of an event for the log. */
export function summarize(event: ChangeEvent): string {
  const d = event.data;
  const node = d.node as { id?: string } | undefined;
  const edge = d.edge as { source?: string; target?: string; kind?: string } | undefined;
  switch (event.type) {
    case "node_added":
    case "node_removed":
      return node?.id ?? "";
    case "node_updated":
      return `${String(d.id ?? "")} (${Object.keys((d.after as object) ?? {}).join(", ")})`;
    case "edge_added":
    case "edge_removed":
      return edge ? `${edge.source} -${edge.kind}-> ${edge.target}` : "";
    case "diagnostic":
      return [d.file, d.message].filter((x) => typeof x === "string").join(": ");
    case "analysis_failed":
      return String(d.error ?? d.message ?? "");
    default: {
      const file = d.file ?? d.path ?? d.root;
      return typeof file === "string" ? file : "";
    }
  }
}

export class EventLog {
  private readonly ring: Array<LogEntry | undefined>;
  private next = 0;
  private count = 0;
  /** Total events ever pushed (the log shows the last `capacity`). */
  total = 0;

  constructor(readonly capacity = 200) {
    this.ring = new Array<LogEntry | undefined>(capacity);
  }

  push(event: ChangeEvent): void {
    this.ring[this.next] = { seq: event.seq, type: event.type, time: event.time, summary: summarize(event) };
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    this.total += 1;
  }

  /** Kept entries matching `patterns` (all when empty), newest first, at most `limit`. */
  entries(patterns: readonly string[] = [], limit = this.capacity): LogEntry[] {
    const out: LogEntry[] = [];
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const entry = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (entry !== undefined && matchesAny(entry.type, patterns)) out.push(entry);
    }
    return out;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.next = this.count = 0;
  }
}
