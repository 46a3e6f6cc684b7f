/**
 * The REST calls a view makes to the graphlive server extension: the authentication probe of
 * the WebSocket connection and the re-analysis request. URLs and headers come from
 * {@link httpUrl} and {@link authHeaders} (session cookie or API token; see server.ts). Nothing
 * here touches the page: callers turn the results into status and indicators.
 */

import { authHeaders, httpUrl, type ServerInfo } from "./server.js";

/**
 * GET the graph list to learn whether the server accepts our credentials. Returns the HTTP
 * status, or null when the request could not be made (no fetch, network error) — the
 * connection treats null as "unknown" rather than as a refusal.
 */
export async function probeAuth(fetchFn: typeof fetch | undefined, server: ServerInfo, cookies: string): Promise<number | null> {
  if (fetchFn === undefined) return null;
  try {
    const res = await fetchFn(httpUrl(server, "graphlive/api/graphs"), {
      headers: authHeaders(server, cookies),
      credentials: "same-origin",
    });
    return res.status;
  } catch {
    return null;
  }
}

/** The outcome of {@link requestReanalysis}. */
export interface ReanalysisResult {
  /** The HTTP status of the POST (202 = started), or null when no response came. */
  status: number | null;
  /** Why the request was refused or failed, for the user; null when accepted. */
  error: string | null;
}

/**
 * POST a re-analysis request for `graph`; its events then arrive over the events stream. The
 * path sent is `path` when non-empty, else the path of the graph's last server-side analysis
 * (read from the graph summary), else "." (the server's root directory). Never throws: network
 * errors come back as `{ status: null, error }`.
 */
export async function requestReanalysis(
  fetchFn: typeof fetch,
  server: ServerInfo,
  cookies: string,
  graph: string,
  path: string,
): Promise<ReanalysisResult> {
  const graphUrl = httpUrl(server, `graphlive/api/graphs/${encodeURIComponent(graph)}`);
  const headers = authHeaders(server, cookies);
  try {
    let target = path;
    if (!target) {
      const res = await fetchFn(graphUrl, { headers, credentials: "same-origin" });
      const summary: unknown = res.ok ? await res.json().catch(() => null) : null;
      const analysis = (summary as { analysis?: { path?: unknown } } | null)?.analysis;
      target = typeof analysis?.path === "string" && analysis.path ? analysis.path : ".";
    }
    const res = await fetchFn(`${graphUrl}/analyze`, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ path: target }),
    });
    if (res.ok) return { status: res.status, error: null };
    const text = await res.text().catch(() => "");
    return { status: res.status, error: `re-analysis refused: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ""}` };
  } catch (err) {
    return { status: null, error: `re-analysis failed: ${String(err)}` };
  }
}
