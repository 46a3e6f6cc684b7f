/**
 * Finding the Jupyter server from inside a notebook page, and authenticating to it the way
 * Jupyter's own front end does.
 *
 * The widget's ES module is loaded from a blob: URL, so relative URLs would resolve against the
 * blob and break: every URL here is made absolute from the page's `location` and the server's
 * `baseUrl` (JupyterLab and Notebook 7 put it in the `jupyter-config-data` script element).
 * Same-origin requests carry the session cookie by themselves; a token from the page config is
 * added as `?token=` (WebSocket, which cannot carry headers) or `Authorization: token …` (REST).
 * Cookie-authenticated POSTs need the `_xsrf` cookie echoed as `X-XSRFToken`.
 */

export interface ServerInfo {
  /** Absolute http(s) URL of the server's base_url, always ending with "/". */
  httpBase: string;
  /** The same location with the ws(s) scheme. */
  wsBase: string;
  /** API token, or "" to rely on the session cookie. */
  token: string;
}

/** What the Python side may set to point the view at another server or base path. */
export interface ServerOverrides {
  /** Absolute URL of the server including its base_url (may carry `?token=`). */
  serverUrl?: string | null;
  /** A base_url path on the page's own origin, e.g. "/user/alice/". */
  baseUrl?: string | null;
  token?: string | null;
}

export interface PageEnvironment {
  location: { href: string };
  document?: Pick<Document, "getElementById" | "cookie" | "body"> | null;
}

/** The parsed `jupyter-config-data` element, or {} when the page has none (e.g. VS Code). */
export function readPageConfig(doc: PageEnvironment["document"]): Record<string, unknown> {
  const el = doc?.getElementById("jupyter-config-data");
  if (!el?.textContent) return {};
  try {
    const value: unknown = JSON.parse(el.textContent);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

function stringOption(config: Record<string, unknown>, key: string): string | undefined {
  const value = config[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Resolve the server from the overrides, else the page config, else the page's own origin root.
 * Returns null when the page is not served over http(s) and no override says where to go
 * (a notebook rendered elsewhere: there is no server to talk to).
 */
export function resolveServer(overrides: ServerOverrides, env: PageEnvironment): ServerInfo | null {
  const config = readPageConfig(env.document);
  const page = new URL(env.location.href);
  let base: URL;
  if (overrides.serverUrl) {
    base = new URL(overrides.serverUrl, page);
    base.pathname = withSlash(base.pathname);
  } else {
    if (page.protocol !== "http:" && page.protocol !== "https:") return null;
    const path = overrides.baseUrl || stringOption(config, "baseUrl") || "/";
    base = new URL(withSlash(path), page.origin);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") return null;
  const token =
    overrides.token ||
    base.searchParams.get("token") ||
    stringOption(config, "token") ||
    env.document?.body?.dataset?.jupyterApiToken ||
    // The page was opened with ?token=...; Jupyter also sets a cookie then, but only for the
    // origin that served it, so keep the token for the cross-origin override case.
    (overrides.serverUrl ? "" : page.searchParams.get("token")) ||
    "";
  base.search = "";
  base.hash = "";
  const httpBase = base.toString();
  const wsBase = httpBase.replace(/^http/, "ws");
  return { httpBase, wsBase, token };
}

/** Absolute WebSocket URL of `path` (relative to base_url), with the token when there is one. */
export function wsUrl(server: ServerInfo, path: string): string {
  const url = new URL(path.replace(/^\//, ""), server.wsBase);
  if (server.token) url.searchParams.set("token", server.token);
  return url.toString();
}

/** Absolute http URL of `path` relative to base_url. */
export function httpUrl(server: ServerInfo, path: string): string {
  return new URL(path.replace(/^\//, ""), server.httpBase).toString();
}

/** Value of cookie `name` in a `document.cookie` string, or undefined. */
export function readCookie(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Headers a Jupyter REST request needs: the token, and the XSRF echo for cookie auth. */
export function authHeaders(server: ServerInfo, cookies: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (server.token) headers.Authorization = `token ${server.token}`;
  const xsrf = readCookie(cookies, "_xsrf");
  if (xsrf !== undefined) headers["X-XSRFToken"] = xsrf;
  return headers;
}

/** A stable key for "the same server": one WebSocket per key and page. */
export function serverKey(server: ServerInfo): string {
  return `${server.wsBase}#${server.token}`;
}
