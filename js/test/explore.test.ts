import { describe, expect, it } from "vitest";

import { EXTERNAL_GROUP, groupChain, groupKind, groupLabel, parentGroup, underPrefixes } from "../src/explore/grouping.js";
import { complexityColor, legendFor } from "../src/explore/palette.js";
import { Projection } from "../src/explore/projection.js";
import { buildSaved, parseSaved, SAVE_LIMITS } from "../src/explore/saved.js";
import { searchNodes } from "../src/explore/search.js";
import { commandLinkerArgs, openHref, relativeRoot, sourceLocation } from "../src/explore/source-link.js";
import { GraphState } from "../src/state/graph-state.js";
import { edge, node } from "./fakes.js";

describe("grouping", () => {
  it("groups by directory and file, externals by top-level name", () => {
    expect(groupChain(node("pkg.sub.mod.f", "function", { file: "pkg/sub/mod.py" }))).toEqual(["pkg/", "pkg/sub/", "pkg/sub/mod.py"]);
    expect(groupChain(node("graphlive.events", "module", { file: "events.py" }))).toEqual(["events.py"]);
    expect(groupChain(node("os.path.join", "external"))).toEqual([EXTERNAL_GROUP, `${EXTERNAL_GROUP}/os`]);
    expect(groupChain(node("<builtin>.len", "external"))).toEqual([EXTERNAL_GROUP, `${EXTERNAL_GROUP}/<builtin>`]);
    expect(parentGroup("pkg/sub/mod.py")).toBe("pkg/sub/");
    expect(parentGroup("pkg/sub/")).toBe("pkg/");
    expect(parentGroup("pkg/")).toBeNull();
    expect(parentGroup(`${EXTERNAL_GROUP}/os`)).toBe(EXTERNAL_GROUP);
    expect([groupKind("pkg/"), groupKind("pkg/a.py"), groupKind(`${EXTERNAL_GROUP}/os`)]).toEqual(["package", "module", "external"]);
    expect([groupLabel("pkg/sub/"), groupLabel("pkg/sub/mod.py")]).toEqual(["sub/", "mod.py"]);
    expect(underPrefixes("pkg/sub/mod.py", ["./pkg/"])).toBe(true);
    expect(underPrefixes("other/x.py", ["pkg/"])).toBe(false);
    expect(underPrefixes(undefined, ["pkg/"])).toBe(false);
  });
});

describe("search", () => {
  it("ranks exact names, then prefixes, then substrings; shorter ids first", () => {
    const s = new GraphState();
    s.applySnapshot({
      nodes: [
        node("pkg.util.parse_args", "function"),
        node("pkg.parse", "function"),
        node("pkg.cli.Parser", "class"),
        node("pkg.io.reparse", "function"),
        node("pkg.other", "function"),
      ],
      edges: [],
    });
    expect(searchNodes(s.graph, "parse").map((h) => h.id)).toEqual(["pkg.parse", "pkg.cli.Parser", "pkg.util.parse_args", "pkg.io.reparse"]);
    expect(searchNodes(s.graph, "PARSE", 2)).toHaveLength(2);
    expect(searchNodes(s.graph, "  ")).toEqual([]);
  });
});

describe("jump to source", () => {
  it("makes the analysed root relative to the server root", () => {
    expect(relativeRoot("proj", "/home/u")).toBe("proj");
    expect(relativeRoot("/home/u/work/proj", "/home/u")).toBe("work/proj");
    expect(relativeRoot("/home/u", "/home/u")).toBe("");
    expect(relativeRoot("/elsewhere/proj", "/home/u")).toBeNull();
    // The page config writes the home directory as "~".
    expect(relativeRoot("/home/u/work/proj", "~/work")).toBe("proj");
    expect(relativeRoot("~/work/proj", "~/work")).toBe("proj");
    expect(relativeRoot("/srv/proj", "~")).toBeNull();
    expect(relativeRoot("/abs", null)).toBeNull();
  });

  it("builds the lab/tree link and the CommandLinker arguments with a 0-based line", () => {
    const loc = sourceLocation("pkg/mod.py", 42, "/home/u/work/proj", "/home/u/work");
    expect(loc).toEqual({ path: "proj/pkg/mod.py", label: "pkg/mod.py:42", line: 42 });
    expect(openHref("http://h:8888/user/a/", "proj/pkg/my mod.py", "http://h:8888/user/a/lab/tree/x.ipynb")).toBe(
      "http://h:8888/user/a/lab/tree/proj/pkg/my%20mod.py",
    );
    expect(openHref("http://h/", "a.py", "http://h/notebooks/x.ipynb")).toBe("http://h/edit/a.py");
    expect(commandLinkerArgs("proj/pkg/mod.py", 42)).toEqual({
      command: "rendermime:handle-local-link",
      args: JSON.stringify({ path: "proj/pkg/mod.py", id: "#line=41" }),
    });
    expect(sourceLocation(undefined, 3, "x", null)).toBeNull();
  });
});

describe("palette", () => {
  it("ramps complexity and lists legends for what is drawn", () => {
    expect(complexityColor(1)).toBe("#1a9850");
    expect(complexityColor(50)).toBe("#d73027");
    expect(complexityColor(null)).toBe("#bdbdbd");
    expect(complexityColor(7.5)).not.toBe(complexityColor(5));
    expect(legendFor("kind", ["method", "class", "method"], []).map((e) => e.key)).toEqual(["class", "method"]);
    expect(legendFor("module", [], ["a.py", "b.py"]).map((e) => e.label)).toEqual(["a.py", "b.py"]);
  });
});

describe("saved copy", () => {
  it("keeps a small graph whole with positions, and parses back", () => {
    const s = new GraphState({ place: false });
    const p = new Projection(s.graph, { schedule: () => () => undefined });
    p.applyBatch(s.applySnapshot({ nodes: [node("m.a", "function", { file: "m.py", doc: "x".repeat(500) }), node("m.b")], edges: [edge("m.a", "m.b")] }));
    const saved = buildSaved("demo", { epoch: "e1", seq: 9 }, s.graph, p.graph);
    expect(saved.level).toBe("full");
    expect(saved.nodes).toHaveLength(2);
    expect((saved.nodes[0]?.doc as string).length).toBeLessThanOrEqual(200);
    expect(Object.keys(saved.positions).sort()).toEqual(["m.a", "m.b"]);
    const back = parseSaved(JSON.parse(JSON.stringify(saved)));
    expect(back).toMatchObject({ graph: "demo", seq: 9, level: "full", total: { nodes: 2, edges: 1 } });
    expect(parseSaved({ v: 99 })).toBeNull();
    expect(parseSaved(null)).toBeNull();
  });

  it("keeps the collapsed level of a graph above the limits", () => {
    const s = new GraphState({ place: false });
    const p = new Projection(s.graph, { schedule: () => () => undefined, collapseAbove: 100, maxVisible: 30 });
    const nodes = [];
    const edges = [];
    for (let i = 0; i < SAVE_LIMITS.nodes + 10; i++) {
      nodes.push(node(`p${i % 7}.m${i % 5}.f${i}`, "function", { file: `p${i % 7}/m${i % 5}.py` }));
      if (i > 0) edges.push(edge(`p${i % 7}.m${i % 5}.f${i}`, `p${(i - 1) % 7}.m${(i - 1) % 5}.f${i - 1}`));
    }
    p.applyBatch(s.applySnapshot({ nodes, edges }));
    const saved = buildSaved("big", null, s.graph, p.graph);
    expect(saved.level).toBe("collapsed");
    expect(saved.nodes.length).toBe(p.graph.order);
    expect(saved.edges.length).toBe(p.graph.size);
    const members = saved.nodes.reduce((n, x) => n + ((x.extra?.members as number) ?? 0), 0);
    expect(members).toBe(nodes.length);
    expect(saved.total).toEqual({ nodes: nodes.length, edges: edges.length });
  });
});
