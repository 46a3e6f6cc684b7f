/**
 * One graph's subscription on a connection: where the client stands in the graph's sequence and
 * which frames move it forward.
 *
 * Guarantees to its listeners: every event with a seq after the current position is delivered
 * exactly once and in order (duplicates from replays or overlapping frames are dropped by seq);
 * a frame that does not continue the position (a gap, or another epoch — unless it starts with
 * the `graph_reset` of a live reset) is never applied — the channel asks for a snapshot instead
 * and the listeners get `resync` then `snapshot`.
 *
 * A large snapshot arrives in parts (a `snapshot` frame with `more: true`, then `snapshot_part`
 * frames until one with `more: false`). The channel assembles them and hands its listeners one
 * whole snapshot when the last part is in: listeners never see a half graph, and the position
 * moves to the snapshot's seq only then. Meanwhile {@link GraphChannel.snapshotProgress} says how
 * far the transfer is. A part that does not continue the assembly (another snapshot, a lost
 * part) is never applied; a new subscription (a reconnect, a resync) or a closed connection
 * drops what was assembled, and the re-subscription asks for a fresh snapshot.
 */

import {
  type ChangeEvent,
  type ClientMessage,
  type ErrorFrame,
  type EventsFrame,
  type Filters,
  filterMessage,
  type Position,
  type SnapshotFrame,
  type SnapshotPartFrame,
  type SubscribedFrame,
  type SubscribeMessage,
  subscribeMessage,
  unsubscribeMessage,
} from "./protocol.js";

export interface ChannelListener {
  /** The whole graph at `frame.seq`: replace everything held for this graph. */
  snapshot(frame: SnapshotFrame): void;
  /** New events, strictly increasing seq, all after the previous position. */
  events(events: ChangeEvent[], frame: EventsFrame, delivery: Delivery): void;
  /** The position became unusable; drop graph state, a snapshot follows. */
  resync(reason: string): void;
  /** An error frame about this graph (e.g. `unknown_graph`). */
  error?(frame: ErrorFrame): void;
  /**
   * A part of a chunked snapshot arrived, or an assembly was abandoned (progress null); the
   * graph is delivered by {@link ChannelListener.snapshot} once complete.
   */
  snapshotProgress?(progress: SnapshotProgress | null): void;
  /**
   * The server reaches Redis again: an `available` frame after an `unavailable` error, or a
   * `subscribed` (the server answers a subscribe only once it has read the graph's head).
   */
  available?(): void;
}

/** What kind of events a delivery holds. */
export interface Delivery {
  /**
   * The first `history` events were already in the stream when the subscription started (a
   * replay, the tail after a snapshot, what was missed while disconnected); the rest were
   * published since and arrive live. Only live events say how fast delivery is now.
   */
  history: number;
}

/** How far the transfer of a chunked snapshot is. */
export interface SnapshotProgress {
  /** Frames received so far (the `snapshot` frame included). */
  received: number;
  /** Frames in all, when the server said so. */
  parts: number | null;
  /** Nodes and edges received so far. */
  elements: number;
}

interface Assembly {
  frame: SnapshotFrame;
  received: number;
  parts: number | null;
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
  /** Snapshot parts dropped because they did not continue an assembly. */
  staleParts: number;
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
  readonly stats: ChannelStats = { frames: 0, duplicates: 0, gaps: 0, resyncs: 0, staleParts: 0 };
  /** A chunked snapshot being received. */
  private assembly: Assembly | null = null;
  /** Head reported by the last `subscribed` frame (for progress of a replay). */
  head: number | null = null;
  /** Epoch of that head: events of another epoch came after the subscription. */
  private headEpoch: string | null = null;

  /**
   * @param send  sends a control message now if the socket is open; returns false otherwise
   *              (the next open re-subscribes from the position anyway, so nothing is queued).
   */
  constructor(
    graph: string,
    start: StartPoint,
    private readonly send: (msg: ClientMessage) => boolean,
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
    this.send(filterMessage(this.graph, this.filters));
  }

  /** Progress of a chunked snapshot being received, null when none is. */
  snapshotProgress(): SnapshotProgress | null {
    const a = this.assembly;
    if (a === null) return null;
    return { received: a.received, parts: a.parts, elements: a.frame.nodes.length + a.frame.edges.length };
  }

  /** True until the snapshot the subscription waits for (if any) has been delivered whole. */
  get loadingSnapshot(): boolean {
    return this.awaitingSnapshot;
  }

  /**
   * The subscribe message for the current state (used on every (re)open). It starts a new
   * subscription, so parts of a snapshot still being assembled are stale from here on.
   */
  subscribeMessage(): SubscribeMessage {
    this.abandonAssembly();
    const resume = this.position !== null && !this.awaitingSnapshot;
    return subscribeMessage(this.graph, resume ? this.position : null, {
      snapshot: !resume && this.liveStart && !this.awaitingSnapshot ? false : undefined,
      filters: hasFilters(this.filters) ? this.filters : undefined,
    });
  }

  onSubscribed(frame: SubscribedFrame): void {
    this.head = frame.head;
    this.headEpoch = frame.epoch;
    // What follows belongs to this subscription: an unfinished snapshot of an older one is stale.
    this.abandonAssembly();
    for (const l of [...this.listeners]) l.available?.();
  }

  /** Redis is reachable again for the server (see {@link ChannelListener.available}). */
  onAvailable(): void {
    for (const l of [...this.listeners]) l.available?.();
  }

  /** The connection closed: a half-received snapshot is useless (the next open re-subscribes). */
  onClosed(): void {
    this.abandonAssembly();
  }

  onSnapshot(frame: SnapshotFrame): void {
    this.abandonAssembly(false);
    if (frame.more === true) {
      // The first of several parts: nothing is delivered (nor the position moved) until the last.
      const parts = typeof frame.parts === "number" ? frame.parts : null;
      this.assembly = { frame: { ...frame, nodes: [...frame.nodes], edges: [...frame.edges], more: false }, received: 1, parts };
      this.progress();
      return;
    }
    this.deliverSnapshot(frame);
  }

  onSnapshotPart(frame: SnapshotPartFrame): void {
    const a = this.assembly;
    if (a === null || frame.epoch !== a.frame.epoch || frame.seq !== a.frame.seq) {
      // Of a snapshot this channel no longer waits for (an older subscription's, or after a drop).
      this.stats.staleParts += 1;
      return;
    }
    if (frame.part !== undefined && frame.part !== a.received) {
      // A part is missing: the assembly cannot be completed; ask for a fresh snapshot.
      this.stats.staleParts += 1;
      this.requestSnapshot("snapshot_part");
      return;
    }
    append(a.frame.nodes, frame.nodes);
    append(a.frame.edges, frame.edges);
    a.received += 1;
    if (frame.more) {
      this.progress();
      return;
    }
    this.assembly = null;
    this.deliverSnapshot(a.frame);
  }

  private deliverSnapshot(frame: SnapshotFrame): void {
    this.position = { epoch: frame.epoch, seq: frame.seq };
    this.awaitingSnapshot = false;
    this.liveStart = false;
    for (const l of [...this.listeners]) l.snapshot(frame);
  }

  onResync(reason: string): void {
    this.abandonAssembly();
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
    let pos = this.position;
    if (frame.epoch !== pos.epoch && startsWithReset(frame, pos)) {
      // A graph reset while live (docs/protocol.md): the new epoch continues the sequence with a
      // `graph_reset`, which clears the listeners' graph; what follows applies on top. Resyncing
      // instead would fold the events after the reset (a re-analysis: analysis_started, its
      // progress) into a snapshot, and nobody would see them.
      pos = { epoch: frame.epoch, seq: pos.seq };
    }
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
    // Events up to the head the subscription started at are history (seqs increase, so they
    // come first); a frame may end a replay and go on with live events.
    const historyThrough = this.head !== null && this.headEpoch === pos.epoch ? this.head : 0;
    let history = 0;
    for (const event of frame.events) {
      if (event.seq <= last) {
        this.stats.duplicates += 1;
        continue;
      }
      fresh.push(event);
      last = event.seq;
      if (event.seq <= historyThrough) history += 1;
    }
    this.position = { epoch: pos.epoch, seq: frame.through };
    this.stats.frames += 1;
    if (fresh.length === 0) return;
    const delivery: Delivery = { history };
    for (const l of [...this.listeners]) l.events(fresh, frame, delivery);
  }

  private progress(): void {
    const progress = this.snapshotProgress();
    for (const l of [...this.listeners]) l.snapshotProgress?.(progress);
  }

  /** Drop a snapshot being assembled; `notify`: tell the listeners it is gone. */
  private abandonAssembly(notify = true): void {
    if (this.assembly === null) return;
    this.assembly = null;
    if (notify) this.progress();
  }

  /**
   * The position cannot be continued: tell listeners to drop their state and re-subscribe
   * without a position, which makes the server send a snapshot.
   */
  private requestSnapshot(reason: string): void {
    this.onResync(reason);
    // A plain subscribe replaces the server's subscription for this graph; unsubscribing first
    // keeps servers that treat a second subscribe as an error working too.
    this.send(unsubscribeMessage(this.graph));
    this.send(this.subscribeMessage());
  }
}

/** The frame opens a new epoch with a `graph_reset` right after `pos`. */
function startsWithReset(frame: EventsFrame, pos: Position): boolean {
  const first = frame.events[0];
  return frame.from === pos.seq + 1 && first !== undefined && first.seq === frame.from && first.type === "graph_reset";
}

/** Push `more` onto `into` (no spread: parts may hold more elements than an argument list). */
function append<T>(into: T[], more: readonly T[] | undefined): void {
  if (!Array.isArray(more)) return;
  for (const item of more) into.push(item);
}

function hasFilters(f: Filters): boolean {
  return Boolean(f.types?.length || f.kinds?.length || f.paths?.length);
}
