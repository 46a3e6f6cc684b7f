import { describe, expect, it } from "vitest";

import { matchesAny, matchesGlob, unionPatterns } from "../src/client/wildcard.js";

describe("event-type wildcards", () => {
  it("matches * as any run and ? as one character, anchored at both ends", () => {
    expect(matchesGlob("node_added", "node_*")).toBe(true);
    expect(matchesGlob("edge_added", "node_*")).toBe(false);
    expect(matchesGlob("node_added", "*_added")).toBe(true);
    expect(matchesGlob("analysis_started", "analysis_?tarted")).toBe(true);
    expect(matchesGlob("analysis_started", "analysis_?")).toBe(false);
    expect(matchesGlob("xnode_added", "node_*")).toBe(false);
    expect(matchesGlob("anything", "*")).toBe(true);
    expect(matchesGlob("node_added", "node_added")).toBe(true);
  });

  it("treats regex metacharacters literally", () => {
    expect(matchesGlob("a.b", "a.b")).toBe(true);
    expect(matchesGlob("axb", "a.b")).toBe(false);
    expect(matchesGlob("(x)+", "(x)+")).toBe(true);
    expect(matchesGlob("node_[a]", "node_[a]")).toBe(true);
  });

  it("an empty or missing pattern list means no restriction", () => {
    expect(matchesAny("diagnostic", [])).toBe(true);
    expect(matchesAny("diagnostic", undefined)).toBe(true);
    expect(matchesAny("diagnostic", ["node_*", "edge_*"])).toBe(false);
    expect(matchesAny("edge_removed", ["node_*", "edge_*"])).toBe(true);
  });

  it("the server filter of several views is the union, or everything if one wants everything", () => {
    expect(unionPatterns([["node_*"], ["edge_*", "node_*"]])).toEqual(["edge_*", "node_*"]);
    expect(unionPatterns([["node_*"], []])).toEqual([]);
    expect(unionPatterns([["node_*"], undefined])).toEqual([]);
  });
});
