// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";

import type { NodeJSON } from "../src/client/protocol.js";
import { DetailsPanel, UNRESOLVED_SHOWN, unresolvedCalls } from "../src/view/details.js";

function panel() {
  const details = document.createElement("div");
  const handlers = { ego: vi.fn(), expand: vi.fn(), collapse: vi.fn(), clearSelection: vi.fn() };
  const p = new DetailsPanel(document, details, handlers);
  document.body.replaceChildren(details);
  return { p, details };
}

function show(p: DetailsPanel, node: NodeJSON) {
  p.showNode({ node, callers: 0, callees: 1, source: null, href: null, collapsible: null, note: null });
}

describe("details panel: unresolved calls", () => {
  it("lists the calls left without an edge, as text", () => {
    const { p, details } = panel();
    const node: NodeJSON = {
      id: "m.run",
      kind: "function",
      name: "run",
      extra: { unresolved_calls: [[6, "obj.process"], [8, "<img src=x onerror=alert(1)>"]] },
    };
    show(p, node);
    const items = [...details.querySelectorAll("[data-testid=gl-unresolved-call]")];
    expect(items.map((li) => li.textContent)).toEqual(["6: obj.process", "8: <img src=x onerror=alert(1)>"]);
    expect(items.map((li) => li.getAttribute("data-line"))).toEqual(["6", "8"]);
    expect(details.querySelector("img")).toBeNull(); // untrusted text, never markup
  });

  it("shows no row when there are none, and counts what it does not list", () => {
    const { p, details } = panel();
    show(p, { id: "m.ok", kind: "function", name: "ok" });
    expect(details.querySelector("[data-testid=gl-details-unresolved]")).toBeNull();
    const many = Array.from({ length: UNRESOLVED_SHOWN + 3 }, (_, i) => [i + 1, `f${i}`]);
    show(p, { id: "m.many", kind: "function", name: "many", extra: { unresolved_calls: many } });
    expect(details.querySelectorAll("[data-testid=gl-unresolved-call]").length).toBe(UNRESOLVED_SHOWN);
    expect(details.querySelector("[data-testid=gl-details-unresolved]")?.textContent).toContain("and 3 more");
  });

  it("skips malformed entries", () => {
    const node = { id: "m.x", kind: "function", name: "x", extra: { unresolved_calls: [[1, "a"], ["2", "b"], [3], "c", [4, "d"]] } } as NodeJSON;
    expect(unresolvedCalls(node)).toEqual([[1, "a"], [4, "d"]]);
    expect(unresolvedCalls({ id: "m.y", kind: "function", name: "y", extra: { unresolved_calls: "nope" } })).toEqual([]);
  });
});
