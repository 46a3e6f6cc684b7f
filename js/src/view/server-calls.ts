/**
 * The HTTP side of one view: which Jupyter server it talks to, the REST calls it makes to the
 * graphlive server extension (the WebSocket's authentication probe, re-analysis) and the
 * jump-to-source links it hands out.
 *
 * Contract: owns the view's server, fetch function, page location and server root, so no other
 * part of the view handles credentials or URLs. It may call ../client/graph-api.ts,
 * ../client/server.ts and ../explore/source-link.ts; it reads the page (config element, cookie)
 * but never writes to it, and reports only through return values — the caller decides what the
 * user sees.
 */

import { probeAuth, type ReanalysisResult, requestReanalysis } from "../client/graph-api.js";
import { readPageConfig, resolveServer, type ServerInfo } from "../client/server.js";
import { openHref, type SourceLocation, sourceLocation } from "../explore/source-link.js";
import type { GraphViewConfig, GraphViewEnvironment } from "./view-config.js";

/** Where a node's file is, and the link that opens it (null when the server or path is unknown). */
export interface SourceLink {
  source: SourceLocation | null;
  href: string | null;
}

export class ServerCalls {
  /** The page's Jupyter server (or the configured one); null when none can be known (VS Code, Colab). */
  readonly server: ServerInfo | null;
  private readonly fetchFn: typeof fetch | undefined;
  private readonly location: { href: string };
  private readonly serverRoot: string | null;

  constructor(
    private readonly config: Pick<GraphViewConfig, "graph" | "serverUrl" | "baseUrl" | "token" | "path" | "sourceRoot">,
    private readonly doc: Document,
    env: Pick<GraphViewEnvironment, "fetch" | "location"> = {},
  ) {
    this.fetchFn = env.fetch ?? (typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
    this.location = env.location ?? (typeof window !== "undefined" ? window.location : { href: "about:blank" });
    const pageConfig = readPageConfig(doc);
    this.serverRoot = typeof pageConfig.serverRoot === "string" ? pageConfig.serverRoot : null;
    this.server = resolveServer({ serverUrl: config.serverUrl, baseUrl: config.baseUrl, token: config.token }, { location: this.location, document: doc });
  }

  /** A request can be sent at all (a server and a fetch function). */
  get canRequest(): boolean {
    return this.server !== null && this.fetchFn !== undefined;
  }

  /**
   * The WebSocket connection's auth probe. Only asked for while the WebSocket transport is in
   * use, which implies a server; the cookie is read per call because the session may renew it.
   */
  probeAuth(): Promise<number | null> {
    return probeAuth(this.fetchFn, this.server as ServerInfo, this.doc.cookie ?? "");
  }

  /**
   * Ask the server to re-analyse the graph (`path`, else its last analysis path; see
   * {@link requestReanalysis}). Only when {@link canRequest}; never throws.
   */
  reanalyze(): Promise<ReanalysisResult> {
    return requestReanalysis(this.fetchFn as typeof fetch, this.server as ServerInfo, this.doc.cookie ?? "", this.config.graph, this.config.path || "");
  }

  /** The location of a node's `file`/`line` under the analysed root, and a link to open it in the page's front end. */
  sourceLink(file: string | undefined, line: number | undefined): SourceLink {
    const root = this.config.sourceRoot || this.config.path || "";
    const source = sourceLocation(file, line, root, this.serverRoot);
    const href = source?.path != null && this.server !== null ? openHref(this.server.httpBase, source.path, this.location.href) : null;
    return { source, href };
  }
}
