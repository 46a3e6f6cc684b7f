/**
 * Opening a view's data source for the transport chosen in ./transport.ts: a store leased from
 * the page-wide registry (one connection and one model per server and graph, shared by every
 * view of it) for a live transport, or a private, unconnected store for "static".
 *
 * Contract: owns nothing after returning — the caller holds the {@link Source} and must
 * `release()` it. May call ../state (stores, the registry) and ./transport.ts; knows nothing of
 * the view's DOM, its saved copy or its REST calls (the auth probe is passed in).
 */

import type { StartPoint } from "../client/channel.js";
import type { Clock } from "../client/clock.js";
import type { CommEndpoint } from "../client/comm-socket.js";
import type { AuthProbe, SocketFactory } from "../client/connection.js";
import { type ServerInfo, serverKey } from "../client/server.js";
import type { FrameScheduler } from "../state/frame-batcher.js";
import { GraphStore } from "../state/store.js";
import { acquireStore, type StoreLease } from "../state/store-registry.js";
import { type ActiveTransport, connectionOptions } from "./transport.js";

/** The data source of a view's current pipeline. */
export interface Source {
  store: GraphStore;
  release(): void;
  /** Present for live transports: the shared store's connection, for its status. */
  lease: StoreLease | null;
}

export interface SourceSetup {
  graph: string;
  start: StartPoint;
  /** Required for "websocket". */
  server: ServerInfo | null;
  /** Required for "comm". */
  comm: CommEndpoint | null;
  createSocket?: SocketFactory;
  clock?: Clock;
  schedule?: FrameScheduler;
  probeAuth: AuthProbe;
  /** The view's transport was "auto": let an unusable server fail at once so the view can fall back. */
  stopWhenUnreachable: boolean;
}

export function openSource(transport: ActiveTransport, setup: SourceSetup): Source {
  // Views lay out their own projections: placing model nodes nobody draws would only cost time.
  const storeOptions = { schedule: setup.schedule, state: { place: false } };
  if (transport === "static") {
    const store = new GraphStore(setup.graph, storeOptions);
    return { store, lease: null, release: () => store.dispose() };
  }
  const lease = acquireStore({
    serverKey: transport === "comm" ? `comm:${(setup.comm as CommEndpoint).key}` : serverKey(setup.server as ServerInfo),
    graph: setup.graph,
    start: setup.start,
    connection: connectionOptions(transport, {
      comm: setup.comm,
      server: setup.server,
      createSocket: setup.createSocket,
      clock: setup.clock,
      probeAuth: setup.probeAuth,
      stopWhenUnreachable: setup.stopWhenUnreachable,
    }),
    storeOptions,
  });
  return { store: lease.store, lease, release: () => lease.release() };
}
