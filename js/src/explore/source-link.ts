/**
 * Jump to source: where a code element's file lives for the Jupyter front end the view is in.
 *
 * A node's `file` is relative to the analysed root; the view knows that root (`source_root`,
 * which the kernel makes relative to the Jupyter server's root when it can; else the `path`
 * trait) and the server root from the page config (`serverRoot`, with the home directory
 * written as `~`). The result is a path relative to the server root, which JupyterLab opens at
 * `lab/tree/<path>` (Notebook 7: `edit/<path>`).
 *
 * Lines: JupyterLab's URL router ignores fragments for files, but its file editor accepts a
 * `#line=N` fragment (0-based, RFC 5147 style) through the `rendermime:handle-local-link`
 * command. Widgets cannot call commands, but JupyterLab's CommandLinker runs the command named
 * in a clicked element's `data-commandlinker-command` attribute — so the link carries both: in
 * JupyterLab a click opens the file in the same window at the line (JupyterLab ≥ 4.5 asks the
 * user to confirm the command once), elsewhere the plain href opens the file in a new tab.
 */

export interface SourceLocation {
  /** Path relative to the Jupyter server's root, or null if it cannot be known. */
  path: string | null;
  /** `file:line` as shown. */
  label: string;
  line: number | null;
}

function isAbsolute(p: string): boolean {
  return p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith("~");
}

function clean(p: string): string {
  return p.replace(/\\/g, "/").replace(/\/+$/, "").replace(/^\.\//, "").replace(/^\.$/, "");
}

function join(a: string, b: string): string {
  if (!a) return b;
  return `${a}/${b}`;
}

/**
 * The server-relative directory of the analysed root, or null. `root` is absolute or relative
 * to the server root; `serverRoot` is the page config's value (absolute, or `~/…`).
 */
export function relativeRoot(root: string, serverRoot: string | null): string | null {
  const r = clean(root);
  if (!isAbsolute(r)) return r;
  if (!serverRoot) return null;
  const s = clean(serverRoot);
  if (!s.startsWith("~")) {
    if (r === s) return "";
    return r.startsWith(`${s}/`) ? r.slice(s.length + 1) : null;
  }
  // "~/work": the browser does not know the home directory. An absolute root under it
  // contains "/work/" right after the home directory; take what follows that part.
  const rest = s.slice(1).replace(/^\//, "");
  if (r.startsWith("~")) {
    const rr = r.slice(1).replace(/^\//, "");
    if (rest === "") return rr;
    if (rr === rest) return "";
    return rr.startsWith(`${rest}/`) ? rr.slice(rest.length + 1) : null;
  }
  if (rest === "") return null;
  const marker = `/${rest}/`;
  const at = `${r}/`.indexOf(marker);
  if (at < 0) return null;
  return `${r}/`.slice(at + marker.length).replace(/\/$/, "");
}

export function sourceLocation(file: string | undefined, line: number | undefined, root: string, serverRoot: string | null): SourceLocation | null {
  if (!file) return null;
  const f = clean(file);
  const label = typeof line === "number" ? `${f}:${line}` : f;
  const base = relativeRoot(root, serverRoot);
  return { path: base === null ? null : join(base, f), label, line: typeof line === "number" ? line : null };
}

/** The href that opens `path` in the front end at `pageUrl` (under the server's base URL). */
export function openHref(httpBase: string, path: string, pageUrl: string): string {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  let page = "";
  try {
    page = new URL(pageUrl).pathname;
  } catch {
    page = "";
  }
  // Notebook 7 opens files in its editor page; JupyterLab (and anything else) in lab/tree.
  const route = /\/(notebooks|tree|edit)\//.test(page) && !page.includes("/lab") ? "edit" : "lab/tree";
  return new URL(`${route}/${encoded}`, httpBase).toString();
}

/** The CommandLinker attributes that open `path` at `line` (1-based) inside JupyterLab. */
export function commandLinkerArgs(path: string, line: number | null): { command: string; args: string } {
  const args: Record<string, string> = { path };
  if (line !== null && line > 0) args.id = `#line=${line - 1}`;
  return { command: "rendermime:handle-local-link", args: JSON.stringify(args) };
}
