import { describe, expect, it } from "vitest";

import { authHeaders, httpUrl, readCookie, resolveServer, serverKey, wsUrl } from "../src/client/server.js";

function doc(config: Record<string, unknown> | null, cookie = "", apiToken?: string) {
  return {
    cookie,
    body: { dataset: apiToken ? { jupyterApiToken: apiToken } : {} } as unknown as HTMLElement,
    getElementById: (id: string) =>
      id === "jupyter-config-data" && config ? ({ textContent: JSON.stringify(config) } as HTMLElement) : null,
  };
}

describe("finding the Jupyter server", () => {
  it("uses the page config's baseUrl on the page's origin, absolute (the bundle runs from a blob)", () => {
    const s = resolveServer({}, { location: { href: "https://hub.example/user/alice/lab/tree/x.ipynb" }, document: doc({ baseUrl: "/user/alice/" }) });
    expect(s).toEqual({ httpBase: "https://hub.example/user/alice/", wsBase: "wss://hub.example/user/alice/", token: "" });
    expect(wsUrl(s!, "graphlive/ws/events/filtered")).toBe("wss://hub.example/user/alice/graphlive/ws/events/filtered");
    expect(httpUrl(s!, "/graphlive/api/graphs")).toBe("https://hub.example/user/alice/graphlive/api/graphs");
  });

  it("adds the page-config token to WebSocket URLs and REST headers", () => {
    const s = resolveServer({}, { location: { href: "http://localhost:8888/lab" }, document: doc({ baseUrl: "/", token: "s3cr3t" }) })!;
    expect(wsUrl(s, "graphlive/ws/events")).toBe("ws://localhost:8888/graphlive/ws/events?token=s3cr3t");
    expect(authHeaders(s, "")).toEqual({ Authorization: "token s3cr3t" });
  });

  it("falls back to the body's API token, then to the page URL's token", () => {
    const a = resolveServer({}, { location: { href: "http://h/lab" }, document: doc({}, "", "from-body") })!;
    expect(a.token).toBe("from-body");
    const b = resolveServer({}, { location: { href: "http://h/lab?token=from-url" }, document: doc(null) })!;
    expect(b.token).toBe("from-url");
    expect(b.httpBase).toBe("http://h/");
  });

  it("honours server_url and base_url overrides", () => {
    const env = { location: { href: "http://localhost:8888/lab" }, document: doc({ baseUrl: "/" }) };
    const a = resolveServer({ serverUrl: "https://other:9999/base?token=t1" }, env)!;
    expect(a).toEqual({ httpBase: "https://other:9999/base/", wsBase: "wss://other:9999/base/", token: "t1" });
    const b = resolveServer({ baseUrl: "/user/bob" }, env)!;
    expect(b.httpBase).toBe("http://localhost:8888/user/bob/");
    expect(serverKey(a)).not.toBe(serverKey(b));
  });

  it("has no server on a page not served over http (e.g. an exported file) without an override", () => {
    expect(resolveServer({}, { location: { href: "file:///tmp/nb.html" }, document: doc(null) })).toBeNull();
    expect(resolveServer({ serverUrl: "http://localhost:8888/" }, { location: { href: "file:///tmp/nb.html" } })?.httpBase).toBe(
      "http://localhost:8888/",
    );
  });

  it("echoes the _xsrf cookie for cookie-authenticated POSTs", () => {
    const s = resolveServer({}, { location: { href: "http://localhost:8888/lab" }, document: doc({}) })!;
    const cookies = "username-localhost-8888=2|abc; _xsrf=2|d0e1%7C; other=1";
    expect(readCookie(cookies, "_xsrf")).toBe("2|d0e1|");
    expect(authHeaders(s, cookies)).toEqual({ "X-XSRFToken": "2|d0e1|" });
  });
});
