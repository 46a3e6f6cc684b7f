// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";

import type { NodeJSON } from "../src/client/protocol.js";
import { DetailsPanel, UNRESOLVED_SHOWN, unresolvedCalls } from "../src/view/details.js";
import { breakableText, plainDocstring } from "../src/view/text.js";

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

describe("details panel: readable ids and docstrings", () => {
  it("dotted ids wrap at their dots: a <wbr> after each dot, the text unchanged", () => {
    const { p, details } = panel();
    show(p, { id: "shop.payments.processors.StripeProcessor.charge_with_retry", kind: "method", name: "charge_with_retry" });
    const id = details.querySelector("[data-testid=gl-details-id]") as HTMLElement;
    expect(id.textContent).toBe("shop.payments.processors.StripeProcessor.charge_with_retry");
    expect(id.querySelectorAll("wbr").length).toBe(4);
    // Each break sits right after a dot, never inside a name.
    for (const wbr of id.querySelectorAll("wbr")) expect(wbr.previousSibling?.textContent?.endsWith(".")).toBe(true);
    // Paths break after their slashes too.
    const parts = [...breakableText(document, "pkg/sub/mod.py").childNodes].map((n) => (n.nodeName === "WBR" ? "|" : n.textContent));
    expect(parts.join("")).toBe("pkg/|sub/|mod.|py");
  });

  it("shows the docstring as plain text", () => {
    const { p, details } = panel();
    const doc = [
      "Charge a card.",
      "",
      "    Details",
      "    =======",
      "",
      "    Uses ``stripe.Charge`` and :class:`~shop.cart.Cart`.",
      "",
      "    :param int cents: amount",
      "    :returns: the receipt id",
    ].join("\n");
    show(p, { id: "shop.charge", kind: "function", name: "charge", doc });
    const text = (details.querySelector("[data-testid=gl-details-doc]") as HTMLElement).textContent;
    expect(text).toBe("Charge a card.\n\nDetails\n\nUses stripe.Charge and Cart.\n\ncents (int): amount\nReturns: the receipt id");
  });
});

describe("plainDocstring", () => {
  it("drops section adornments, keeping the headings", () => {
    expect(plainDocstring("Summary.\n\nParameters\n----------\nx : int\n    The x.\n\nNotes\n~~~~~\nSlow.")).toBe(
      "Summary.\n\nParameters\nx : int\n    The x.\n\nNotes\nSlow.",
    );
    expect(plainDocstring("=====\nTitle\n=====\nText")).toBe("Title\nText");
  });

  it("spells out field lists", () => {
    expect(plainDocstring(":param x: the x\n:type x: int\n:param str name: who\n:raises ValueError: if bad\n:rtype: bool\n:return: ok")).toBe(
      "x: the x\nx type: int\nname (str): who\nRaises ValueError: if bad\nReturn type: bool\nReturns: ok",
    );
  });

  it("reduces roles, literals and emphasis to their text", () => {
    expect(plainDocstring("See :func:`pkg.mod.run`, :py:meth:`~a.B.go` and :ref:`the guide <guide>`.")).toBe("See pkg.mod.run, go and the guide.");
    expect(plainDocstring("Use ``x == 1`` or `y`; **never** *this*, but keep *args and a * b.")).toBe("Use x == 1 or y; never this, but keep *args and a * b.");
    expect(plainDocstring("Example::\n\n    run()\n\n.. note:: Slow.\n.. code-block:: python\n\n    go()")).toBe(
      "Example:\n\n    run()\n\nNote: Slow.\n\n    go()",
    );
  });

  it("dedents like inspect.cleandoc and collapses blank runs", () => {
    expect(plainDocstring("  First.\n\n\n\n      Second\n        indented")).toBe("First.\n\nSecond\n  indented");
    expect(plainDocstring("")).toBe("");
  });
});
