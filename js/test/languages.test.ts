// @vitest-environment happy-dom
/**
 * Languages in the view: the language filter (scope, projection, explore bar), the language list
 * growing as languages appear, colouring by language and back, the legend, and the interface /
 * implements kinds.
 */
import { describe, expect, it, vi } from "vitest";

import type { ChangeEvent, EdgeJSON, NodeJSON } from "../src/client/protocol.js";
import { clusterKey } from "../src/explore/grouping.js";
import { DEFAULT_LANGUAGE, LanguageList, languageColor, nodeLanguage } from "../src/explore/language.js";
import { COLOR_MODES, legendFor } from "../src/explore/palette.js";
import { Projection } from "../src/explore/projection.js";
import { buildSaved, SAVE_LIMITS } from "../src/explore/saved.js";
import { NO_FILTER, nodePasses, sameFilter, type ViewFilter } from "../src/explore/scope.js";
import { ViewGraph } from "../src/explore/view-graph.js";
import { edgeColor, edgeSize, nodeColor, nodeSize } from "../src/state/appearance.js";
import { GraphState } from "../src/state/graph-state.js";
import { DetailsPanel } from "../src/view/details.js";
import { EDGE_KINDS, NODE_KINDS } from "../src/view/explore-bar.js";
import { edge, event, mountExploreBar } from "./fakes.js";

const never = (): (() => void) => () => undefined;

function def(id: string, file: string, language?: string, kind = "function"): NodeJSON {
  const n: NodeJSON = { id, kind, name: id.split(".").pop() ?? id, file, line: 1 };
  if (language !== undefined) n.language = language;
  return n;
}

/** Python (no `language`, as the Python analysis writes it), Go and TypeScript, calling across. */
const NODES: NodeJSON[] = [
  def("app.main", "app/main.py"),
  def("app.util", "app/util.py"),
  def("srv.Handle", "srv/handle.go", "go"),
  def("srv.Serve", "srv/serve.go", "go"),
  def("web.render", "web/render.ts", "typescript"),
];
const EDGES: EdgeJSON[] = [
  edge("app.main", "app.util"),
  edge("app.main", "srv.Handle"),
  edge("srv.Handle", "srv.Serve"),
  edge("web.render", "app.util"),
];

function filter(languages: string[]): ViewFilter {
  return { ...NO_FILTER, languages };
}

function projected() {
  const state = new GraphState({ place: false });
  const p = new Projection(state.graph, { schedule: never });
  p.applyBatch(state.applySnapshot({ nodes: NODES, edges: EDGES }));
  return { state, p };
}

describe("language of a node", () => {
  it("is its `language`, and Python when the attribute is absent or empty", () => {
    expect(nodeLanguage(def("a", "a.py"))).toBe("python");
    expect(nodeLanguage({ ...def("a", "a.py"), language: "" })).toBe(DEFAULT_LANGUAGE);
    expect(nodeLanguage(def("b", "b.go", "go"))).toBe("go");
  });
});

describe("language filter", () => {
  it("keeps only the checked languages' nodes, and their edges with them", () => {
    expect(nodePasses(filter(["python"]), def("a", "a.py"))).toBe(true);
    expect(nodePasses(filter(["python"]), def("b", "b.go", "go"))).toBe(false);
    expect(nodePasses(filter([]), def("b", "b.go", "go"))).toBe(true);
    // A filter written before languages existed still passes everything.
    expect(nodePasses({ nodeKinds: [], edgeKinds: [], paths: [] }, def("b", "b.go", "go"))).toBe(true);

    const { p } = projected();
    expect(p.graph.order).toBe(5);
    p.setScope(filter(["python", "typescript"]), null);
    expect(p.graph.nodes().sort()).toEqual(["app.main", "app.util", "web.render"]);
    expect(p.graph.edges().map((e) => `${p.graph.source(e)}>${p.graph.target(e)}`).sort()).toEqual(["app.main>app.util", "web.render>app.util"]);
    p.setScope(filter(["go"]), null);
    expect(p.graph.nodes().sort()).toEqual(["srv.Handle", "srv.Serve"]);
    expect(p.graph.size).toBe(1);
    p.setScope(NO_FILTER, null);
    expect(p.graph.order).toBe(5);
    expect(p.graph.size).toBe(4);
  });

  it("is part of the filter's identity, so a change of languages rescopes the view", () => {
    expect(sameFilter(filter(["go"]), filter(["go"]))).toBe(true);
    expect(sameFilter(filter(["go"]), filter(["python"]))).toBe(false);
    expect(sameFilter(filter([]), NO_FILTER)).toBe(true);
    // Drawing the model needs the plain picture: a language filter makes the view project.
    const state = new GraphState({ place: false });
    const view = new ViewGraph(state.graph, { schedule: never });
    view.setScope(NO_FILTER, null);
    view.applyBatch(state.applySnapshot({ nodes: NODES, edges: EDGES }));
    expect(view.projected).toBe(false);
    view.setScope(filter(["go"]), null);
    expect(view.projected).toBe(true);
    expect(view.graph.nodes().sort()).toEqual(["srv.Handle", "srv.Serve"]);
    view.setScope(NO_FILTER, null);
    expect(view.projected).toBe(false);
    expect(view.graph.order).toBe(5);
  });

  it("follows a node whose language changes", () => {
    const { state, p } = projected();
    p.setScope(filter(["python"]), null);
    expect(p.graph.hasNode("web.render")).toBe(false);
    const ev = (seq: number, node: NodeJSON): ChangeEvent => event(seq, "node_added", { node });
    p.applyBatch(state.apply({ snapshot: null, events: [ev(1, { ...def("web.render", "web/render.ts"), language: "python" })] }));
    expect(p.graph.hasNode("web.render")).toBe(true);
    p.applyBatch(state.apply({ snapshot: null, events: [ev(2, def("web.render", "web/render.ts", "typescript"))] }));
    expect(p.graph.hasNode("web.render")).toBe(false);
  });
});

describe("the list of languages grows as languages appear", () => {
  it("in order of appearance, from snapshots and events alike", () => {
    const state = new GraphState({ place: false });
    const list = new LanguageList();
    expect(list.noteBatch(state.applySnapshot({ nodes: NODES.slice(0, 2), edges: [] }), state.graph)).toBe(true);
    expect(list.languages).toEqual(["python"]);
    const added = state.apply({ snapshot: null, events: [event(1, "node_added", { node: def("srv.Handle", "srv/handle.go", "go") })] });
    expect(list.noteBatch(added, state.graph)).toBe(true);
    expect(list.languages).toEqual(["python", "go"]);
    const again = state.apply({ snapshot: null, events: [event(2, "node_added", { node: def("srv.Serve", "srv/serve.go", "go") })] });
    expect(list.noteBatch(again, state.graph)).toBe(false);
    expect(list.languages).toEqual(["python", "go"]);
    // A language whose nodes go away keeps its checkbox (and the user's choice on it).
    state.apply({ snapshot: null, events: [event(3, "node_removed", { node: def("srv.Handle", "srv/handle.go", "go") }), event(4, "node_removed", { node: def("srv.Serve", "srv/serve.go", "go") })] });
    expect(list.noteModel(state.graph)).toBe(false);
    expect(list.languages).toEqual(["python", "go"]);
  });
});

function bar() {
  const { b, handlers } = mountExploreBar();
  const boxes = (): HTMLInputElement[] => [...b.root.querySelectorAll<HTMLInputElement>("[data-testid=gl-filter-language]")];
  const box = (language: string): HTMLInputElement => b.root.querySelector(`[data-testid=gl-filter-language][data-language=${language}]`) as HTMLInputElement;
  const lastFilter = (): ViewFilter => vi.mocked(handlers.filter).mock.lastCall?.[0] as ViewFilter;
  return { b, handlers, boxes, box, lastFilter };
}

describe("explore bar: language checkboxes", () => {
  it("one checkbox per language shown so far, added as languages appear", () => {
    const { b, boxes } = bar();
    const set = b.root.querySelector("[data-testid=gl-filter-languages]") as HTMLElement;
    expect(boxes()).toHaveLength(0);
    expect(set.hidden).toBe(true);
    b.setLanguages(["python"]);
    expect(set.hidden).toBe(false);
    b.setLanguages(["python", "go"]);
    b.setLanguages(["python", "go", "rust"]);
    expect(boxes().map((x) => x.dataset.language)).toEqual(["python", "go", "rust"]);
    expect(boxes().every((x) => x.checked)).toBe(true);
    // Labelled by text, not only by position.
    expect(boxes().map((x) => x.parentElement?.textContent?.trim())).toEqual(["python", "go", "rust"]);
  });

  it("unchecking a language asks for the others only; all checked again means no restriction", () => {
    const { b, box, lastFilter } = bar();
    b.setLanguages(["python", "go"]);
    box("go").click();
    expect(lastFilter().languages).toEqual(["python"]);
    expect(lastFilter().nodeKinds).toEqual([]);
    box("python").click();
    expect(lastFilter().languages).toEqual(["∅"]);
    box("go").click();
    box("python").click();
    expect(lastFilter().languages).toEqual([]);
  });

  it("follows the filter set from outside, also for languages that appear later", () => {
    const { b, box } = bar();
    b.setLanguages(["python"]);
    b.setFilter(filter(["python"]));
    expect(box("python").checked).toBe(true);
    b.setLanguages(["python", "java"]);
    // The filter shows only Python: a language appearing now is not shown, and says so.
    expect(box("java").checked).toBe(false);
    b.setFilter(NO_FILTER);
    expect(box("java").checked).toBe(true);
    b.setFilter(filter(["java"]));
    expect([box("python").checked, box("java").checked]).toEqual([false, true]);
  });

  it("lists interface and implements with the other kinds", () => {
    const { b } = bar();
    expect(NODE_KINDS).toContain("interface");
    expect(EDGE_KINDS).toContain("implements");
    expect(b.root.querySelector("[data-testid=gl-filter-kind][data-kind=interface]")).not.toBeNull();
    expect(b.root.querySelector("[data-testid=gl-filter-edge][data-kind=implements]")).not.toBeNull();
  });

  it("offers colour by language next to kind", () => {
    const { b, handlers } = bar();
    const select = b.root.querySelector("[data-testid=gl-color-by]") as HTMLSelectElement;
    expect(COLOR_MODES).toContain("language");
    expect([...select.options].map((o) => o.value)).toEqual([...COLOR_MODES]);
    expect(select.value).toBe("kind");
    select.value = "language";
    select.dispatchEvent(new Event("change"));
    expect(handlers.encoding).toHaveBeenLastCalledWith("language", "kind");
  });
});

describe("colour by language", () => {
  it("has a fixed colour per language, all different", () => {
    const fixed = ["python", "javascript", "typescript", "go", "java", "rust"].map(languageColor);
    expect(new Set(fixed).size).toBe(6);
    expect(languageColor("go")).toBe(languageColor("go"));
    // A language without a fixed colour still gets a stable one.
    expect(languageColor("kotlin")).toMatch(/^#[0-9a-f]{6}$/);
    expect(languageColor("kotlin")).toBe(languageColor("kotlin"));
  });

  it("colours elements by language, and switching back restores the kind colours", () => {
    const { p } = projected();
    const colors = (): Record<string, string> => Object.fromEntries(p.graph.mapNodes((k, a) => [k, a.color]));
    const byKind = colors();
    expect(byKind["srv.Handle"]).toBe(nodeColor("function"));
    p.setEncoding("language", "kind");
    expect(colors()).toEqual({
      "app.main": languageColor("python"),
      "app.util": languageColor("python"),
      "srv.Handle": languageColor("go"),
      "srv.Serve": languageColor("go"),
      "web.render": languageColor("typescript"),
    });
    p.setEncoding("kind", "kind");
    expect(colors()).toEqual(byKind);
  });

  it("draws a projection while colouring by language, the model again after", () => {
    const state = new GraphState({ place: false });
    const view = new ViewGraph(state.graph, { schedule: never });
    view.setScope(NO_FILTER, null);
    view.applyBatch(state.applySnapshot({ nodes: NODES, edges: EDGES }));
    view.setEncoding("language", "kind");
    expect(view.projected).toBe(true);
    expect(view.graph.getNodeAttribute("srv.Serve", "color")).toBe(languageColor("go"));
    expect(view.graph.getNodeAttribute("srv.Serve", "language")).toBe("go");
    view.setEncoding("kind", "kind");
    expect(view.projected).toBe(false);
    expect(view.graph.getNodeAttribute("srv.Serve", "color")).toBe(nodeColor("function"));
  });

  it("colours a collapsed cluster by the language most of its members are in", () => {
    const state = new GraphState({ place: false });
    const nodes: NodeJSON[] = [];
    for (let i = 0; i < 30; i++) nodes.push(def(`srv.f${i}`, `srv/m${i % 3}.go`, "go"));
    for (let i = 0; i < 30; i++) nodes.push(def(`app.f${i}`, `app/m${i % 3}.py`));
    nodes.push(def("srv.tool", "srv/tool.py"));
    const p = new Projection(state.graph, { schedule: never, collapseAbove: 20, maxVisible: 4 });
    p.applyBatch(state.applySnapshot({ nodes, edges: [] }));
    p.setEncoding("language", "kind");
    const clusters = p.graph.filterNodes((_k, a) => a.group !== null);
    expect(clusters.length).toBeGreaterThan(1);
    for (const key of clusters) {
      const group = p.graph.getNodeAttribute(key, "group") as string;
      expect(p.graph.getNodeAttribute(key, "color")).toBe(languageColor(group.startsWith("srv/") ? "go" : "python"));
    }
    // srv/ holds one Python file among the Go ones: the cluster is Go.
    expect(p.graph.hasNode(clusterKey("srv/"))).toBe(true);
    expect(p.groupStats("srv/")?.language).toBe("go");
  });

  it("keeps a cluster's language in a collapsed saved copy, so a reopened copy filters and colours it", () => {
    const state = new GraphState({ place: false });
    const nodes: NodeJSON[] = [];
    for (let i = 0; i < SAVE_LIMITS.nodes + 10; i++) nodes.push(def(`g${i % 5}.f${i}`, `g${i % 5}/m${i % 3}.go`, "go"));
    for (let i = 0; i < 600; i++) nodes.push(def(`py.f${i}`, `py/m${i % 2}.py`));
    const p = new Projection(state.graph, { schedule: never, collapseAbove: 100, maxVisible: 8 });
    p.applyBatch(state.applySnapshot({ nodes, edges: [] }));
    const saved = buildSaved("g", null, state.graph, p.graph);
    expect(saved.level).toBe("collapsed");
    const clusters = saved.nodes.filter((n) => typeof n.extra?.members === "number");
    const go = clusters.filter((n) => !n.id.startsWith("py/"));
    const py = clusters.filter((n) => n.id.startsWith("py/"));
    expect([go.length > 0, py.length > 0]).toEqual([true, true]);
    for (const n of go) expect(n.language).toBe("go");
    // Python stays implicit, as the Python analysis writes it.
    for (const n of py) expect(n.language).toBeUndefined();
  });
});

describe("legend", () => {
  it("lists the languages drawn with their colours when colouring by language", () => {
    expect(legendFor("language", ["function"], [], ["python", "go", "go"])).toEqual([
      { key: "go", label: "go", color: languageColor("go") },
      { key: "python", label: "python", color: languageColor("python") },
    ]);
    // Other modes are unchanged by languages.
    expect(legendFor("kind", ["function"], [], ["go"]).map((e) => e.key)).toEqual(["function"]);
  });

  it("names the graph's languages as text under other colours", () => {
    const p = new DetailsPanel(document, document.createElement("div"), { ego: vi.fn(), expand: vi.fn(), collapse: vi.fn(), clearSelection: vi.fn() });
    p.setLegend("kind", legendFor("kind", ["function"], []), ["python", "go"]);
    const line = p.legend.querySelector("[data-testid=gl-legend-languages]") as HTMLElement;
    expect(line.textContent).toBe("languages: python, go");
    expect(JSON.parse(line.dataset.languages as string)).toEqual(["python", "go"]);
    expect(p.legend.getAttribute("aria-label")).toBe("Legend: node colour by kind");
    p.setLegend("language", legendFor("language", [], [], ["go", "python"]));
    expect(p.legend.querySelector("[data-testid=gl-legend-languages]")).toBeNull();
    const items = [...p.legend.querySelectorAll<HTMLElement>("[data-testid=gl-legend-item]")];
    expect(items.map((i) => [i.dataset.key, i.textContent])).toEqual([["go", "go"], ["python", "python"]]);
    expect(p.legend.getAttribute("aria-label")).toBe("Legend: node colour by language");
  });
});

describe("interface and implements", () => {
  it("look like class and inherits, and can be told apart from them", () => {
    expect(nodeColor("interface")).not.toBe(nodeColor("class"));
    expect(nodeColor("interface")).not.toBe(nodeColor("no such kind"));
    const iface = nodeSize(def("x.I", "x.ts", "typescript", "interface"));
    expect(iface).toBeGreaterThan(nodeSize(def("x.f", "x.ts", "typescript", "function")));
    expect(iface).toBeLessThanOrEqual(nodeSize(def("x.C", "x.ts", "typescript", "class")));
    expect(edgeColor("implements")).not.toBe(edgeColor("inherits"));
    expect(edgeColor("implements")).not.toBe(edgeColor("no such kind"));
    const implementsEdge = edge("x.C", "x.I", "implements");
    expect(edgeSize(implementsEdge)).toBe(edgeSize(edge("x.C", "x.B", "inherits")));
    expect(edgeSize(implementsEdge)).toBeGreaterThan(edgeSize(edge("x.f", "x.g", "calls")));
  });
});
