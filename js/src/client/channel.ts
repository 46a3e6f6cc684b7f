/**
 * One graph's subscription on a connection: where the client stands in the graph's sequence and
 * which frames move it forward.
 *
 * Guarantees to its listeners: every event with a seq after the current position is delivered
 * exactly once and in order (duplicates from replays or overlapping frames are dropped by seq);
 * a frame that does not continue the position (a gap, or another epoch) is never applied — the
 * channel asks for a snapshot instead and the listeners get `resync` then `snapshot`.
 */

import type {
  ChangeEvent,
  ErrorFrame,
  EventsFrame,
  Filters,
  Position,
  SnapshotFrame,
  SubscribeMessage,
  SubscribedFrame,
} from "./protocol.js";

export interface ChannelListener {
  /** The whole graph at `frame.seq`: replace everything held for this graph. */
  snapshot(frame: SnapshotFrame): void;
  /** New events, strictly increasing seq, all after the previous position. */
  events(events: ChangeEvent[], frame: EventsFrame): void;
  /** The position became unusable; drop graph state, a snapshot follows. */
  resync(reason: string): void;
  /** An error frame about this graph (e.g. `unknown_graph`). */
  error?(frame: ErrorFrame): void;
}

/** Where a new subscription starts. */
export type StartPoint =
  | { kind: "snapshot" }
  | { kind: "live" }
  | { kind: "position"; position: Position };

export interface ChannelStats {
  /** Events frames applied. */
  frames: number;
  /** Events dropped because their seq was not after the position. */
  duplicates: number;
  /** Frames refused because they did not continue the position. */
  gaps: number;
  resyncs: number;
}

export class GraphChannel {
  readonly graph: string;
  private position: Position | null;
  /** True from a (re)subscription without position until the snapshot that ends it. */
  private awaitingSnapshot: boolean;
  /** Live-only start: the first events frame sets the position. */
  private liveStart: boolean;
  private filters: Filters = {};
  private readonly listeners = new Set<ChannelListener>();
  readonly stats: ChannelStats = { frames: 0, duplicates: 0, gaps: 0, resyncs: 0 };
  /** Head reported by the last `subscribed` frame (for progress of a replay). */
  head: number | null = null;

  /**
   * @param send  sends a control message now if the socket is open; returns false otherwise
   *              (the next open re-subscribes from the position anyway, so nothing is queued).
   */
  constructor(
    graph: string,
    start: StartPoint,
    private readonly send: (msg: SubscribeMessage | { op: string; [k: string]: unknown }) => boolean,
  ) {
    this.graph = graph;
    this.position = start.kind === "position" ? { ...start.position } : null;
    this.awaitingSnapshot = start.kind === "snapshot";
    this.liveStart = start.kind === "live";
  }

  /** The epoch and seq of the last delivered event (or snapshot), null before the first. */
  getPosition(): Position | null {
    return this.position === null ? null : { ...this.position };
  }

  addListener(listener: ChannelListener): void {
    this.listeners.add(listener);
  }

  removeListener(listener: ChannelListener): boolean {
    this.listeners.delete(listener);
    return this.listeners.size === 0;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Change the server-side filters; sent at once on an open socket, else at the next open. */
  setFilters(filters: Filters): void {
    this.filters = { ...filters };
    this.send({ op: "filter", graph: this.graph, filters: this.filters });
  }

  /** The subscribe message for the current state (used on every (re)open). */
  subscribeMessage(): SubscribeMessage {
    const msg: SubscribeMessage = { op: "subscribe", graph: this.graph, since: null };
    if (this.position !== null && !this.awaitingSnapshot) msg.since = { ...this.position };
    else if (this.liveStart && !this.awaitingSnapshot) msg.snapshot = false;
    if (hasFilters(this.filters)) msg.filters = { ...this.filters };
    return msg;
  }

  onSubscribed(frame: SubscribedFrame): void {
    this.head = frame.head;
  }

  onSnapshot(frame: SnapshotFrame): void {
    this.position = { epoch: frame.epoch, seq: frame.seq };
    this.awaitingSnapshot = false;
    this.liveStart = false;
    for (const l of [...this.listeners]) l.snapshot(frame);
  }

  onResync(reason: string): void {
    this.stats.resyncs += 1;
    this.position = null;
    this.awaitingSnapshot = true;
    for (const l of [...this.listeners]) l.resync(reason);
  }

  onError(frame: ErrorFrame): void {
    for (const l of [...this.listeners]) l.error?.(frame);
  }

  onEvents(frame: EventsFrame): void {
    if (this.awaitingSnapshot) {
      // Frames of the previous subscription still in flight: the snapshot will cover them.
      return;
    }
    if (this.position === null) {
      if (!this.liveStart) return;
      // Live-only start: nothing before this frame matters.
      this.liveStart = false;
      this.position = { epoch: frame.epoch, seq: frame.from - 1 };
    }
    const pos = this.position;
    if (frame.epoch !== pos.epoch || frame.from > pos.seq + 1) {
      this.stats.gaps += 1;
      this.requestSnapshot(frame.epoch !== pos.epoch ? "epoch" : "gap");
      return;
    }
    if (frame.through <= pos.seq) {
      this.stats.duplicates += frame.events.length;
      return;
    }
    const fresh: ChangeEvent[] = [];
    let last = pos.seq;
    for (const event of frame.events) {
      if (event.seq <= last) {
        this.stats.duplicates += 1;
        continue;
      }
      fresh.push(event);
      last = event.seq;
    }
    this.position = { epoch: pos.epoch, seq: frame.through };
    this.stats.frames += 1;
    if (fresh.length === 0) return;
    for (const l of [...this.listeners]) l.events(fresh, frame);
  }

  /**
   * The position cannot be continued: tell listeners to drop their state and re-subscribe
   * without a position, which makes the server send a snapshot.
   */
  private requestSnapshot(reason: string): void {
    this.onResync(reason);
    // A plain subscribe replaces the server's subscription for this graph; unsubscribing first
    // keeps servers that treat a second subscribe as an error working too.
    this.send({ op: "unsubscribe", graph: this.graph });
    this.send(this.subscribeMessage());
  }
}

function hasFilters(f: Filters): boolean {
  return Boolean(f.types?.length || f.kinds?.length || f.paths?.length);
}
