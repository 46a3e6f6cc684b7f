import { describe, expect, it } from "vitest";

import { requestReanalysis } from "../src/client/graph-api.js";
import type { ServerInfo } from "../src/client/server.js";
import { initialTransport, sourceStatus, startPoint } from "../src/view/transport.js";

const server: ServerInfo = { httpBase: "http://h/base/", wsBase: "ws://h/base/", token: "" };

describe("choosing a transport", () => {
  it("auto prefers the server, then the comm, then the saved copy", () => {
    expect(initialTransport("auto", true, true)).toBe("websocket");
    expect(initialTransport("auto", false, true)).toBe("comm");
    expect(initialTransport("auto", false, false)).toBe("static");
  });

  it("an explicit transport that cannot work here becomes static", () => {
    expect(initialTransport("websocket", false, true)).toBe("static");
    expect(initialTransport("comm", true, false)).toBe("static");
    expect(initialTransport("static", true, true)).toBe("static");
  });

  it("starts from a position, live, or a snapshot", () => {
    expect(startPoint({ since: { epoch: "e", seq: 3 } }).kind).toBe("position");
    expect(startPoint({ snapshot: false }).kind).toBe("live");
    expect(startPoint({}).kind).toBe("snapshot");
  });
});

describe("the source status", () => {
  const open = { state: "open" as const, attempt: 0 };
  it("names the saved copy, a static view's problem, and the kernel transport", () => {
    expect(sourceStatus(true, "websocket", "x", open, true, null)).toEqual({ label: "saved copy", state: "saved" });
    expect(sourceStatus(false, "static", null, open, true, null)).toEqual({ label: "no source", state: "failed" });
    expect(sourceStatus(false, "comm", null, open, true, null)).toEqual({ label: "live (kernel)", state: "open" });
    expect(sourceStatus(false, "websocket", "bad: x", open, true, null)).toEqual({ label: "bad: x", state: "error" });
  });

  it("shows how far a chunked snapshot is", () => {
    const loading = { received: 2, parts: 5, elements: 10 };
    expect(sourceStatus(false, "websocket", null, open, false, loading).label).toBe("loading 2/5");
    const failed = { state: "failed" as const, attempt: 1, reason: "HTTP 403" };
    expect(sourceStatus(false, "websocket", null, failed, false, null).label).toBe("forbidden");
  });
});

describe("requesting a re-analysis", () => {
  function fakeFetch(responses: Array<{ status: number; body?: unknown }>, calls: Array<[string, RequestInit | undefined]>) {
    return (async (url: string, init?: RequestInit) => {
      calls.push([url, init]);
      const r = responses.shift() ?? { status: 500 };
      return {
        ok: r.status >= 200 && r.status < 300,
        status: r.status,
        json: async () => r.body,
        text: async () => (typeof r.body === "string" ? r.body : ""),
      } as Response;
    }) as unknown as typeof fetch;
  }

  it("posts the configured path", async () => {
    const calls: Array<[string, RequestInit | undefined]> = [];
    const result = await requestReanalysis(fakeFetch([{ status: 202 }], calls), server, "", "my graph", "src");
    expect(result).toEqual({ status: 202, error: null });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[0]).toBe("http://h/base/graphlive/api/graphs/my%20graph/analyze");
    expect(JSON.parse(String(calls[0]?.[1]?.body))).toEqual({ path: "src" });
  });

  it("without a path, uses the last analysis's path, else the server root", async () => {
    const calls: Array<[string, RequestInit | undefined]> = [];
    await requestReanalysis(fakeFetch([{ status: 200, body: { analysis: { path: "pkg" } } }, { status: 202 }], calls), server, "", "g", "");
    expect(JSON.parse(String(calls[1]?.[1]?.body))).toEqual({ path: "pkg" });
    const calls2: Array<[string, RequestInit | undefined]> = [];
    await requestReanalysis(fakeFetch([{ status: 404 }, { status: 202 }], calls2), server, "", "g", "");
    expect(JSON.parse(String(calls2[1]?.[1]?.body))).toEqual({ path: "." });
  });

  it("reports a refusal and a network failure without throwing", async () => {
    const refused = await requestReanalysis(fakeFetch([{ status: 409, body: "busy" }], []), server, "", "g", "src");
    expect(refused).toEqual({ status: 409, error: "re-analysis refused: HTTP 409 busy" });
    const failing = (async () => {
      throw new Error("down");
    }) as unknown as typeof fetch;
    const failed = await requestReanalysis(failing, server, "", "g", "src");
    expect(failed.status).toBeNull();
    expect(failed.error).toContain("re-analysis failed");
  });
});
