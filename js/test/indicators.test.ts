// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";

import { Indicators } from "../src/view/indicators.js";

describe("indicators DOM", () => {
  function make() {
    const handlers = { onReanalyze: vi.fn(), onLogFilter: vi.fn() };
    const ind = new Indicators(document, "demo", 400, handlers, ["node_*"]);
    document.body.replaceChildren(ind.root);
    const q = (id: string) => document.querySelector(`[data-testid=${id}]`) as HTMLElement;
    return { ind, handlers, q };
  }

  it("has every documented test id", () => {
    const { q } = make();
    for (const id of ["gl-status", "gl-node-count", "gl-edge-count", "gl-rate", "gl-latency", "gl-progress", "gl-reanalyze", "gl-log", "gl-log-filter", "gl-details", "gl-canvas"]) {
      expect(q(id), id).not.toBeNull();
    }
    expect((q("gl-log-filter") as HTMLInputElement).value).toBe("node_*");
  });

  it("shows numbers as text and data-value", () => {
    const { ind, q } = make();
    ind.setCounts(12, 34);
    ind.setRate(99.6);
    ind.setLatency(3.2);
    expect([q("gl-node-count").textContent, q("gl-edge-count").textContent]).toEqual(["12", "34"]);
    expect(q("gl-rate").getAttribute("data-value")).toBe("100");
    expect(q("gl-latency").textContent).toBe("3");
    ind.setLatency(null);
    expect(q("gl-latency").textContent).toBe("–");
  });

  it("progress, status, log entries and the re-analyze button", () => {
    const { ind, q, handlers } = make();
    ind.setProgress({ phase: "running", fraction: 0.42, label: "42% a.py" });
    expect(q("gl-progress").getAttribute("aria-valuenow")).toBe("42");
    expect(q("gl-progress").getAttribute("data-phase")).toBe("running");
    ind.setStatus("live", "open");
    expect(q("gl-status").textContent).toBe("live");
    expect(q("gl-status").getAttribute("data-state")).toBe("open");
    ind.setLog([{ seq: 2, type: "node_added", time: 0, summary: "<b>m.f</b>" }], 1);
    const entry = document.querySelector("[data-testid=gl-log-entry]") as HTMLElement;
    expect(entry.getAttribute("data-type")).toBe("node_added");
    // Event content is text, never markup.
    expect(entry.querySelector("b")).toBeNull();
    expect(entry.textContent).toContain("<b>m.f</b>");
    q("gl-reanalyze").click();
    expect(handlers.onReanalyze).toHaveBeenCalledOnce();
    const input = q("gl-log-filter") as HTMLInputElement;
    input.value = "edge_*, diagnostic";
    input.dispatchEvent(new Event("input"));
    expect(handlers.onLogFilter).toHaveBeenCalledWith(["edge_*", "diagnostic"]);
  });
});
