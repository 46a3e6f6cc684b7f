/**
 * Wire types of the graphlive WebSocket protocol, version 1 (docs/protocol.md) and of the event
 * envelope (src/graphlive/events.py). Only what the client reads is typed; unknown fields are
 * ignored as the protocol requires.
 *
 * This mirrors the server's `graphlive.wire` (codes, frames, client messages); both sides are
 * checked against tests/fixtures/wire/frames.json (js/test/wire-fixtures.test.ts here,
 * tests/test_wire.py there), so a change on one side alone fails a test suite.
 */

export const PROTOCOL_VERSION = 1;

/** `code` of an `error` frame (graphlive.wire.ErrorCode). */
export const ERROR_CODES = [
  "bad_request",
  "too_large",
  "unknown_graph",
  "invalid_filter",
  "rate_limited",
  "unavailable",
  "internal",
] as const;
export type ErrorCodeName = (typeof ERROR_CODES)[number];

/** `reason` of a `resync` frame (graphlive.wire.ResyncReason). */
export const RESYNC_REASONS = ["trimmed", "epoch", "unknown_position", "retention"] as const;

/** `mode` of a `subscribed` frame (graphlive.wire.Mode). */
export const SUBSCRIBE_MODES = ["snapshot", "live", "replay", "resync"] as const;

/** Limits of a `filters` object the server accepts (graphlive.wire.filters). */
export const FILTER_LIMITS = { maxEntries: 64, maxEntryChars: 256 } as const;

/** Every event type of docs/events.md ("Event types and payloads"), in the order of graphlive.events.EventType. */
export const EVENT_TYPES = [
  "node_added",
  "node_updated",
  "node_removed",
  "edge_added",
  "edge_removed",
  "graph_reset",
  "analysis_started",
  "analysis_progress",
  "analysis_completed",
  "analysis_failed",
  "diagnostic",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** A node as `Node.to_dict` writes it: `id`, `kind` and `name` always, the rest when set. */
export interface NodeJSON {
  id: string;
  kind: string;
  name: string;
  file?: string;
  line?: number;
  end_line?: number;
  col?: number;
  end_col?: number;
  language?: string;
  doc?: string;
  complexity?: number;
  loc?: number;
  extra?: Record<string, unknown>;
  [field: string]: unknown;
}

/** An edge as `Edge.to_dict` writes it; `id` is the stable string key views use. */
export interface EdgeJSON {
  id: string;
  kind: string;
  source: string;
  target: string;
  line: number;
  file?: string;
}

/** The envelope of one positioned event (`ChangeEvent.to_dict`). */
export interface ChangeEvent {
  seq: number;
  epoch: string;
  v: number;
  id: string;
  graph: string;
  type: string;
  /** Seconds since the Unix epoch, as the producer's clock saw it. */
  time: number;
  txn?: { id: string; last: boolean };
  source: string;
  data: Record<string, unknown>;
}

/** The client's place in a graph's sequence: the epoch and seq of the last applied event. */
export interface Position {
  epoch: string;
  seq: number;
}

/** Server-side filters of the filtered endpoint; an empty or missing list means "all". */
export interface Filters {
  types?: string[];
  kinds?: string[];
  paths?: string[];
}

// ----------------------------------------------------------------- client → server

export interface SubscribeMessage {
  op: "subscribe";
  graph: string;
  since: Position | null;
  snapshot?: boolean;
  filters?: Filters;
  ref?: string;
}

export interface UnsubscribeMessage {
  op: "unsubscribe";
  graph: string;
  ref?: string;
}

export interface FilterMessage {
  op: "filter";
  graph: string;
  filters: Filters;
  ref?: string;
}

export interface PingMessage {
  op: "ping";
  t: number;
  ref?: string;
}

export type ClientMessage = SubscribeMessage | UnsubscribeMessage | FilterMessage | PingMessage;

/**
 * A `subscribe`: from `since` (the last applied event) or, with null, from a snapshot (or from
 * the head when `snapshot` is false). Fields left at their default are omitted.
 */
export function subscribeMessage(
  graph: string,
  since: Position | null,
  options: { snapshot?: boolean; filters?: Filters; ref?: string } = {},
): SubscribeMessage {
  const msg: SubscribeMessage = { op: "subscribe", graph, since: since === null ? null : { ...since } };
  if (options.snapshot === false) msg.snapshot = false;
  if (options.filters !== undefined) msg.filters = { ...options.filters };
  if (options.ref !== undefined) msg.ref = options.ref;
  return msg;
}

export function unsubscribeMessage(graph: string, ref?: string): UnsubscribeMessage {
  return ref === undefined ? { op: "unsubscribe", graph } : { op: "unsubscribe", graph, ref };
}

export function filterMessage(graph: string, filters: Filters, ref?: string): FilterMessage {
  const msg: FilterMessage = { op: "filter", graph, filters: { ...filters } };
  if (ref !== undefined) msg.ref = ref;
  return msg;
}

export function pingMessage(t: number, ref?: string): PingMessage {
  return ref === undefined ? { op: "ping", t } : { op: "ping", t, ref };
}

// ----------------------------------------------------------------- server → client

export interface HelloFrame {
  op: "hello";
  protocol: number;
  server?: string;
  /** `events`, `filtered` or `comm` (the kernel comm transport). */
  endpoint?: string;
  limits?: Record<string, unknown>;
}

export interface SubscribedFrame {
  op: "subscribed";
  graph: string;
  epoch: string;
  head: number;
  mode?: string;
  /** On the filtered endpoint (and the kernel comm): the filters in force. */
  filters?: Filters;
  ref?: string;
}

export interface SnapshotFrame {
  op: "snapshot";
  graph: string;
  epoch: string;
  seq: number;
  nodes: NodeJSON[];
  edges: EdgeJSON[];
  /**
   * A large snapshot is sent in parts: `more: true` means `snapshot_part` frames follow (the
   * last with `more: false`); absent or false, this frame is the whole snapshot.
   */
  more?: boolean;
  /** With `more`: how many frames (this one included) the snapshot consists of. */
  parts?: number;
}

/** A further part of a chunked snapshot: same graph, epoch and seq as its `snapshot` frame. */
export interface SnapshotPartFrame {
  op: "snapshot_part";
  graph: string;
  epoch: string;
  seq: number;
  /** Index of this part (the `snapshot` frame is part 0). */
  part?: number;
  nodes: NodeJSON[];
  edges: EdgeJSON[];
  more: boolean;
}

export interface EventsFrame {
  op: "events";
  graph: string;
  epoch: string;
  from: number;
  through: number;
  events: ChangeEvent[];
  recovered?: boolean;
}

export interface ResyncFrame {
  op: "resync";
  graph: string;
  reason: (typeof RESYNC_REASONS)[number] | string;
}

export interface ErrorFrame {
  op: "error";
  code: string;
  message: string;
  ref?: string;
  graph?: string;
}

/** Redis is reachable again after an `unavailable` error; the subscriptions continue by themselves. */
export interface AvailableFrame {
  op: "available";
}

export type ServerFrame =
  | HelloFrame
  | SubscribedFrame
  | SnapshotFrame
  | SnapshotPartFrame
  | EventsFrame
  | ResyncFrame
  | ErrorFrame
  | AvailableFrame
  | { op: "filtered"; graph: string; filters: Filters; ref?: string }
  | { op: "unsubscribed"; graph: string; ref?: string }
  | { op: "pong"; t: number | null; ref?: string };

/** Every `op` a server frame may carry (the status socket's `status` aside). */
export const SERVER_OPS = [
  "hello",
  "subscribed",
  "snapshot",
  "snapshot_part",
  "events",
  "resync",
  "error",
  "available",
  "filtered",
  "unsubscribed",
  "pong",
] as const;

/** Close codes of docs/protocol.md (application codes are 4xxx). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** Browsers report a connection that failed or dropped without a close frame as 1006. */
  ABNORMAL: 1006,
  SLOW_CONSUMER: 4001,
  PING_TIMEOUT: 4002,
  PROTOCOL_ABUSE: 4400,
  RATE_LIMITED: 4429,
  /** Sent by this client when a pong did not come back in time (not a server code). */
  CLIENT_PONG_TIMEOUT: 4990,
} as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parse one text frame (or take an already decoded object, as the kernel comm delivers them).
 * Returns null for anything that is not a JSON object with a string `op` (the caller counts
 * those as protocol noise rather than crashing the connection).
 */
export function parseFrame(raw: unknown): ServerFrame | null {
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (!isObject(value) || typeof value.op !== "string") return null;
  return value as unknown as ServerFrame;
}
