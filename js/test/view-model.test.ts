import { describe, expect, it } from "vitest";

import { EventLog, summarize } from "../src/view/event-log.js";
import { parseFilter } from "../src/view/indicators.js";
import { fractionOf, IDLE_PROGRESS, nextProgress, REQUESTED_PROGRESS } from "../src/view/progress.js";
import { LatencyMeter, RateMeter } from "../src/view/rate-meter.js";
import { edge, event, node } from "./fakes.js";

describe("event log", () => {
  it("keeps the last N events, newest first, filterable by type globs", () => {
    const log = new EventLog(3);
    const types = ["node_added", "edge_added", "diagnostic", "node_removed", "analysis_progress"];
    types.forEach((t, i) => log.push(event(i + 1, t, {})));
    expect(log.total).toBe(5);
    expect(log.entries().map((e) => e.seq)).toEqual([5, 4, 3]);
    expect(log.entries(["node_*"]).map((e) => e.type)).toEqual(["node_removed"]);
    expect(log.entries([], 2)).toHaveLength(2);
  });

  it("summarizes events in one line", () => {
    expect(summarize(event(1, "node_added", { node: node("m.f") }))).toBe("m.f");
    expect(summarize(event(2, "edge_removed", { edge: edge("a", "b") }))).toBe("a -calls-> b");
    expect(summarize(event(3, "node_updated", { id: "m.f", before: {}, after: { line: 3, doc: "x" } }))).toBe("m.f (line, doc)");
    expect(summarize(event(4, "diagnostic", { file: "x.py", message: "bad" }))).toBe("x.py: bad");
  });

  it("parses the filter box", () => {
    expect(parseFilter(" node_*, edge_*  diagnostic ")).toEqual(["node_*", "edge_*", "diagnostic"]);
    expect(parseFilter("")).toEqual([]);
  });
});

describe("meters", () => {
  it("events per second over a sliding window decays when events stop", () => {
    const m = new RateMeter(5);
    for (let t = 0; t < 5000; t += 100) m.record(100, t); // 1,000 events/s for 5 s
    expect(m.rate(5000)).toBeGreaterThan(900);
    expect(m.rate(5000)).toBeLessThan(1100);
    expect(m.rate(20_000)).toBe(0);
  });

  it("latency is arrival minus producer time, smoothed, never negative", () => {
    const l = new LatencyMeter();
    l.record(1000, 1_000_010);
    expect(l.last).toBe(10);
    l.record(1000, 1_000_060);
    expect(l.smoothed).toBeCloseTo(20, 6);
    l.record(2000, 1_000_000); // client clock behind the producer
    expect(l.last).toBe(0);
  });

  it("latency counts live events only: a delivery of history leaves it unset", () => {
    const l = new LatencyMeter();
    const at = (time: number) => ({ time });
    l.recordLive([at(100), at(200)], 2, 1_000_000); // replayed: ~15 min old
    expect(l.smoothed).toBeNull();
    l.recordLive([at(300), at(999.99)], 1, 1_000_000); // the tail of a replay, then a live one
    expect(l.last).toBeCloseTo(10, 6);
    l.recordLive([], 0, 1_000_000);
    expect(l.last).toBeCloseTo(10, 6);
  });
});

describe("analysis progress", () => {
  it("follows started → progress → completed / failed", () => {
    let p = nextProgress(IDLE_PROGRESS, event(1, "analysis_started", {}));
    expect(p).toMatchObject({ phase: "running", fraction: 0 });
    p = nextProgress(p, event(2, "analysis_progress", { done: 3, total: 12, file: "pkg/a.py" }));
    expect(p).toMatchObject({ phase: "running", fraction: 0.25, label: "25% pkg/a.py" });
    const resolving = nextProgress(p, event(5, "analysis_progress", { phase: "resolve", done: 6, total: 12, file: "pkg/b.py" }));
    expect(resolving).toMatchObject({ phase: "running", fraction: 0.5, label: "resolve 50% pkg/b.py" });
    expect(nextProgress(p, event(3, "analysis_completed", {}))).toMatchObject({ phase: "done", fraction: 1 });
    expect(nextProgress(p, event(4, "analysis_failed", { error: "boom" }))).toMatchObject({ phase: "failed", label: "analysis failed: boom" });
  });

  it("says what the events say: requested until the run starts, its steps, complete only at the end", () => {
    const previous = nextProgress(IDLE_PROGRESS, event(1, "analysis_completed", { files: 3, seconds: 0.25 }));
    expect(previous).toMatchObject({ phase: "done", label: "analysis complete (3 files, 0.3 s)" });
    // Re-analyze pressed: the last run's outcome is not this run's.
    expect(REQUESTED_PROGRESS).toMatchObject({ phase: "running", fraction: null });
    expect(REQUESTED_PROGRESS.label).not.toContain("complete");
    let p = nextProgress(REQUESTED_PROGRESS, event(2, "analysis_started", { files: 40 }));
    expect(p).toMatchObject({ phase: "running", fraction: 0, label: "analysing 40 files…" });
    p = nextProgress(p, event(3, "analysis_progress", { phase: "parse", done: 40, total: 40, file: null }));
    expect(p).toMatchObject({ phase: "running", label: "parse 100%" });
    p = nextProgress(p, event(4, "analysis_progress", { phase: "write", done: 40, total: 40 }));
    expect(p.phase).toBe("running");
    expect(nextProgress(p, event(5, "node_added", { node: node("m.x") }))).toBe(p);
    expect(nextProgress(p, event(6, "analysis_completed", {})).label).toBe("analysis complete");
  });

  it("reads fractions or counts leniently", () => {
    expect(fractionOf({ fraction: 0.5 })).toBe(0.5);
    expect(fractionOf({ progress: 2 })).toBe(1);
    expect(fractionOf({ files_done: 1, files_total: 4 })).toBe(0.25);
    expect(fractionOf({ done: 1, total: 0 })).toBeNull();
    expect(fractionOf({})).toBeNull();
  });
});
