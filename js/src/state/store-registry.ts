/**
 * One GraphStore per (server, graph) and page: a second view of a graph that is already shown
 * attaches to the same model and draws at once instead of asking the server for a snapshot.
 * Stores are reference counted; the last release unsubscribes the graph and gives the shared
 * connection back.
 */

import type { StartPoint } from "../client/channel.js";
import type { ConnectionOptions } from "../client/connection.js";
import { acquireConnection, type Lease } from "../client/registry.js";
import { GraphStore, type GraphStoreOptions } from "./store.js";

export interface StoreLease {
  readonly store: GraphStore;
  readonly connection: Lease["connection"];
  release(): void;
}

interface Entry {
  store: GraphStore;
  lease: Lease;
  refs: number;
  /** Disposers of things created with the store (e.g. its layout worker). */
  extras: Array<() => void>;
}

const stores = new Map<string, Entry>();

export interface StoreRequest {
  /** Shared-connection key (server.ts `serverKey`). */
  serverKey: string;
  connection: ConnectionOptions;
  graph: string;
  start: StartPoint;
  storeOptions?: GraphStoreOptions;
  /** Called once when the store is created; returns a disposer run when it is released. */
  onCreate?: (store: GraphStore) => () => void;
}

export function acquireStore(req: StoreRequest): StoreLease {
  const key = `${req.serverKey}\n${req.graph}`;
  let entry = stores.get(key);
  if (entry === undefined) {
    const lease = acquireConnection(req.serverKey, req.connection);
    const store = new GraphStore(req.graph, req.storeOptions);
    entry = { store, lease, refs: 0, extras: [] };
    stores.set(key, entry);
    if (req.onCreate) entry.extras.push(req.onCreate(store));
    store.bind(lease.connection, req.start);
  }
  entry.refs += 1;
  const held = entry;
  let released = false;
  return {
    store: held.store,
    connection: held.lease.connection,
    release: () => {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs > 0 || stores.get(key) !== held) return;
      stores.delete(key);
      for (const dispose of held.extras) dispose();
      held.store.dispose();
      held.lease.release();
    },
  };
}

export function storeCount(): number {
  return stores.size;
}
