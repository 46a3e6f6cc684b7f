/**
 * One EventsConnection per server and page, shared by every view (docs/architecture.md, "Serving many connections": the per-frame cost
 * is per connection, so N views must not mean N sockets).
 *
 * Connections are reference counted: the first `acquire` for a key creates it, the last
 * `release` closes it. The registry lives at module level — anywidget loads the bundle once per
 * page and widget class, and all views of the class share this module instance.
 */

import { EventsConnection, type ConnectionOptions } from "./connection.js";

interface Entry {
  connection: EventsConnection;
  refs: number;
}

const entries = new Map<string, Entry>();

export interface Lease {
  readonly connection: EventsConnection;
  /** Give the connection back; idempotent. The last release closes it. */
  release(): void;
}

/**
 * The shared connection for `key` (see server.ts `serverKey`), created with `options` if there
 * is none yet (options of later callers are ignored: the first view configures the socket).
 */
export function acquireConnection(key: string, options: ConnectionOptions): Lease {
  let entry = entries.get(key);
  if (entry === undefined) {
    entry = { connection: new EventsConnection(options), refs: 0 };
    entries.set(key, entry);
  }
  entry.refs += 1;
  const held = entry;
  let released = false;
  return {
    connection: held.connection,
    release: () => {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs === 0 && entries.get(key) === held) {
        entries.delete(key);
        held.connection.close();
      }
    },
  };
}

/** Number of live shared connections (for tests and the status line). */
export function connectionCount(): number {
  return entries.size;
}
