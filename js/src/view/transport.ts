/**
 * How a view reaches its graph: which transport it uses, where its stream starts, how its
 * connection is configured, and how the connection's status reads on screen.
 *
 * Transport choice ("auto"): the page's Jupyter server over WebSocket; the kernel comm when no
 * server is known (VS Code, Colab) or the server has no graphlive endpoint (HTTP 404) or cannot
 * be reached; a saved copy ("static") when neither can deliver (an exported notebook). The
 * user-facing description is in docs/widget.md ("Transports").
 */

import type { SnapshotProgress, StartPoint } from "../client/channel.js";
import type { Clock } from "../client/clock.js";
import { type CommEndpoint, CommSocket } from "../client/comm-socket.js";
import type { AuthProbe, ConnectionOptions, ConnectionStatus, SocketFactory } from "../client/connection.js";
import type { Position } from "../client/protocol.js";
import { type ServerInfo, wsUrl } from "../client/server.js";

/** The WebSocket endpoint the view uses: the filtered one, so views can narrow event types. */
export const EVENTS_PATH = "graphlive/ws/events/filtered";

/** The transport a view is configured with. */
export type Transport = "auto" | "websocket" | "comm" | "static";
/** The transport a view actually uses ("auto" resolved). */
export type ActiveTransport = "websocket" | "comm" | "static";

/**
 * The transport to start with. An explicit choice that cannot work here (no server, no comm)
 * becomes "static"; "auto" prefers the server, then the comm. Falling back from a server that
 * turns out to be unusable happens later, on the connection's status.
 */
export function initialTransport(wanted: Transport, hasServer: boolean, hasComm: boolean): ActiveTransport {
  switch (wanted) {
    case "static":
      return "static";
    case "comm":
      return hasComm ? "comm" : "static";
    case "websocket":
      return hasServer ? "websocket" : "static";
    default:
      if (hasServer) return "websocket";
      return hasComm ? "comm" : "static";
  }
}

/**
 * The transport to move to when the WebSocket's server turns out to be unusable (no graphlive
 * endpoint, unreachable): the kernel comm when there is one, else the saved copy.
 */
export function fallbackTransport(hasComm: boolean): ActiveTransport {
  return hasComm ? "comm" : "static";
}

/** Where the stream starts: after `since` (replay), live only (`snapshot: false`), else a snapshot. */
export function startPoint(config: { since?: Position | null; snapshot?: boolean }): StartPoint {
  if (config.since) return { kind: "position", position: config.since };
  if (config.snapshot === false) return { kind: "live" };
  return { kind: "snapshot" };
}

/** The status label of a live connection; `loaded` = the graph has arrived (or none is expected). */
function statusLabel(s: ConnectionStatus, loaded: boolean, loading: SnapshotProgress | null): string {
  switch (s.state) {
    case "open":
      if (loaded) return "live";
      // A chunked snapshot on its way: say how far it is (the graph shows when it is complete).
      if (loading !== null && loading.received > 0) {
        return loading.parts !== null ? `loading ${loading.received}/${loading.parts}` : `loading (${loading.elements})`;
      }
      return "loading";
    case "waiting":
      return s.retryInMs !== undefined ? `reconnecting in ${Math.ceil(s.retryInMs / 1000)}s` : "reconnecting";
    case "failed":
      return s.reason?.includes("HTTP 403") || s.reason?.includes("HTTP 401") ? "forbidden" : "offline";
    default:
      return s.state;
  }
}

/**
 * The status indicator's label and state (the `data-state` of the status element, and
 * `status["state"]` in Python): the saved copy when one is shown in place of live data; a
 * static view's problem; else the live connection's status, its problem (state "error") taking
 * precedence, marked "(kernel)" over the comm. `loaded` and `loading` as for the live label.
 */
export function sourceStatus(
  showingSaved: boolean,
  transport: ActiveTransport,
  problem: string | null,
  connection: ConnectionStatus,
  loaded: boolean,
  loading: SnapshotProgress | null,
): { label: string; state: string } {
  if (showingSaved) return { label: "saved copy", state: "saved" };
  if (transport === "static") return { label: problem ?? "no source", state: "failed" };
  let label = problem ?? statusLabel(connection, loaded, loading);
  if (transport === "comm" && !problem) label = `${label} (kernel)`;
  return { label, state: problem ? "error" : connection.state };
}

/** What {@link connectionOptions} needs besides the transport. */
export interface ConnectionSetup {
  /** Required for "comm". */
  comm: CommEndpoint | null;
  /** Required for "websocket". */
  server: ServerInfo | null;
  createSocket?: SocketFactory;
  clock?: Clock;
  probeAuth: AuthProbe;
  /** Give up (status "failed", unreachable) instead of retrying when the server cannot serve us, so "auto" can fall back. */
  stopWhenUnreachable: boolean;
}

/**
 * Connection options for a live transport: the comm runs without keep-alive pings
 * (`pingIntervalMs: 0`); the WebSocket uses the default pings and `setup.probeAuth` to tell a
 * refusal (401/403) from a missing endpoint (404) or an unreachable server.
 */
export function connectionOptions(transport: "websocket" | "comm", setup: ConnectionSetup): ConnectionOptions {
  if (transport === "comm") {
    const comm = setup.comm as CommEndpoint;
    return { url: `comm:${comm.key}`, createSocket: () => new CommSocket(comm), clock: setup.clock, pingIntervalMs: 0 };
  }
  return {
    url: wsUrl(setup.server as ServerInfo, EVENTS_PATH),
    createSocket: setup.createSocket,
    clock: setup.clock,
    probeAuth: setup.probeAuth,
    stopWhenUnreachable: setup.stopWhenUnreachable,
  };
}
