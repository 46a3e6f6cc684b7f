/**
 * EventsConnection: the one WebSocket a page keeps to a graphlive server, shared by every view.
 *
 * Contract:
 * - Each graph has one {@link GraphChannel} on the connection, with any number of listeners.
 *   On every (re)open the connection first re-subscribes each channel from its position (so a
 *   resumed stream continues exactly where it stopped), then sends the messages queued while
 *   it was down, in the order they were given to {@link EventsConnection.send}.
 * - Liveness: a ping goes out every `pingIntervalMs`; no pong within `pongTimeoutMs` means the
 *   connection is dead — it is dropped at once (a half-open TCP connection may take minutes to
 *   report its close) and reconnected with backoff.
 * - Close codes (docs/protocol.md): 4001 reconnects immediately; 1001, 4002, a dropped
 *   connection and a missed pong reconnect with full-jitter exponential backoff; 4429 waits at
 *   least `rateLimitFloorMs`; 4400 and 1000 do not reconnect. A handshake that fails before
 *   opening is checked with `probeAuth`: an HTTP 401/403 means missing credentials, and the
 *   client stops instead of hammering the server.
 * Socket constructor, timers and randomness are injected, so all of this is testable without
 * a network or real time.
 */

import { type BackoffPolicy, DEFAULT_BACKOFF, fullJitterDelay } from "./backoff.js";
import { type ChannelListener, GraphChannel, type StartPoint } from "./channel.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import {
  type ClientMessage,
  CloseCode,
  type Filters,
  parseFrame,
  pingMessage,
  type ServerFrame,
  unsubscribeMessage,
} from "./protocol.js";

/** The part of the browser WebSocket this client uses. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

/**
 * Status of an authenticated HTTP request to the server (e.g. GET of the graphs API), or null if
 * the server could not be reached. Browsers hide the HTTP status of a refused WebSocket
 * upgrade, so this is how a 403 is told apart from a server that is down.
 */
export type AuthProbe = () => Promise<number | null>;

export type ConnectionState = "idle" | "connecting" | "open" | "waiting" | "closed" | "failed";

export interface ConnectionStatus {
  state: ConnectionState;
  /** Consecutive failed attempts (0 once a connection has proven healthy). */
  attempt: number;
  /** When waiting: the delay before the next attempt, in ms. */
  retryInMs?: number;
  lastCloseCode?: number;
  /** Human-readable explanation of a failed or closed state. */
  reason?: string;
  /** Round trip of the last ping, in ms. */
  rttMs?: number;
  /**
   * Set with state "failed" when the very first connection could not be made and the server
   * has no graphlive endpoint (HTTP 404) or cannot be reached at all: a fallback transport
   * should take over (only with {@link ConnectionOptions.stopWhenUnreachable}).
   */
  unreachable?: boolean;
}

export interface ConnectionOptions {
  /** Absolute ws(s) URL of the events endpoint (token included when needed). */
  url: string;
  createSocket?: SocketFactory;
  clock?: Clock;
  backoff?: BackoffPolicy;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Smallest delay after a 4429 (rate limit) close. */
  rateLimitFloorMs?: number;
  /** Messages kept while disconnected; the oldest are dropped past this (with a warning). */
  maxQueued?: number;
  probeAuth?: AuthProbe;
  /**
   * Stop with `unreachable` instead of retrying when the first connection fails and the probe
   * says 404 or unreachable (the caller has a fallback). Once a connection has been open, a
   * failure always means "retry".
   */
  stopWhenUnreachable?: boolean;
}

export interface Subscription {
  readonly channel: GraphChannel;
  /** Remove the listener; the last one also unsubscribes the graph on the server. */
  unsubscribe(): void;
}

const OPEN = 1;

export class EventsConnection {
  readonly url: string;
  private readonly createSocket: SocketFactory;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;
  private readonly pingIntervalMs: number;
  private readonly pongTimeoutMs: number;
  private readonly rateLimitFloorMs: number;
  private readonly maxQueued: number;
  private readonly probeAuth: AuthProbe | undefined;
  private readonly stopWhenUnreachable: boolean;
  /** A connection has been open at least once in this object's life. */
  private hasBeenOpen = false;

  private socket: SocketLike | null = null;
  private everOpened = false;
  private readonly channels = new Map<string, GraphChannel>();
  private readonly queue: string[] = [];
  private readonly statusListeners = new Set<(s: ConnectionStatus) => void>();
  private current: ConnectionStatus = { state: "idle", attempt: 0 };
  private retryTimer: TimerHandle | null = null;
  private pingTimer: TimerHandle | null = null;
  private pongTimer: TimerHandle | null = null;
  private pingSentAt: number | null = null;
  /** Frames that were not JSON objects with an `op` (counted, never fatal). */
  badFrames = 0;
  /** Messages dropped from a full outgoing queue. */
  droppedQueued = 0;

  constructor(options: ConnectionOptions) {
    this.url = options.url;
    this.createSocket =
      options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.pingIntervalMs = options.pingIntervalMs ?? 15_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.rateLimitFloorMs = options.rateLimitFloorMs ?? 5_000;
    this.maxQueued = options.maxQueued ?? 1_000;
    this.probeAuth = options.probeAuth;
    this.stopWhenUnreachable = options.stopWhenUnreachable ?? false;
  }

  get status(): ConnectionStatus {
    return { ...this.current };
  }

  /** Call `listener` with every status change (and once now). Returns the remover. */
  onStatus(listener: (s: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    listener(this.status);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Listen to `graph`. The first listener of a graph decides where the subscription starts;
   * later ones join the running channel (their owner already holds or shares the state).
   * Connects if not connected yet.
   */
  subscribe(graph: string, listener: ChannelListener, start: StartPoint = { kind: "snapshot" }): Subscription {
    let channel = this.channels.get(graph);
    if (channel === undefined) {
      channel = new GraphChannel(graph, start, (msg) => this.sendControl(msg));
      this.channels.set(graph, channel);
      if (this.isOpen()) this.sendRaw(channel.subscribeMessage());
    }
    channel.addListener(listener);
    const ch = channel;
    this.connect();
    let active = true;
    return {
      channel: ch,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        if (ch.removeListener(listener) && this.channels.get(graph) === ch) {
          this.channels.delete(graph);
          this.sendControl(unsubscribeMessage(graph));
        }
      },
    };
  }

  /** Graphs with a live channel. */
  graphs(): string[] {
    return [...this.channels.keys()];
  }

  /** Update a graph's server-side filters (union of its views' filters). */
  setFilters(graph: string, filters: Filters): void {
    this.channels.get(graph)?.setFilters(filters);
  }

  /**
   * Send a message now if connected, else queue it; queued messages go out in order right after
   * the re-subscriptions of the next open.
   */
  send(message: ClientMessage): void {
    const text = JSON.stringify(message);
    if (this.isOpen() && this.socket) {
      this.socket.send(text);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.queue.shift();
      this.droppedQueued += 1;
      console.warn("graphlive: outgoing queue full, dropped the oldest message");
    }
    this.queue.push(text);
  }

  /** Open the socket if nothing is open, connecting or scheduled (idempotent). */
  connect(): void {
    if (this.current.state === "failed" || this.current.state === "closed") {
      // An explicit connect after a terminal state (e.g. new credentials) starts over.
      this.current = { state: "idle", attempt: 0 };
    }
    if (this.socket !== null || this.retryTimer !== null) return;
    this.open();
  }

  /** Close for good (code 1000); no reconnect. */
  close(): void {
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      detach(socket);
      socket.close(CloseCode.NORMAL, "client closed");
    }
    this.setStatus({ state: "closed", attempt: 0, reason: "closed by the page" });
  }

  // ------------------------------------------------------------------ internals

  private isOpen(): boolean {
    return this.current.state === "open" && this.socket !== null && this.socket.readyState === OPEN;
  }

  private sendRaw(message: ClientMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  /** Channel control messages: sent when open, otherwise implied by the next re-subscribe. */
  private sendControl(message: ClientMessage): boolean {
    if (!this.isOpen()) return false;
    this.sendRaw(message);
    return true;
  }

  private setStatus(status: ConnectionStatus): void {
    this.current = status;
    for (const l of [...this.statusListeners]) l(this.status);
  }

  private open(): void {
    this.retryTimer = null;
    this.everOpened = false;
    this.setStatus({ ...this.current, state: "connecting", retryInMs: undefined });
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.url);
    } catch (err) {
      // A malformed URL or a blocked scheme: retrying cannot help.
      this.setStatus({ state: "failed", attempt: this.current.attempt, reason: String(err) });
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.handleOpen(socket);
    socket.onmessage = (ev) => this.handleMessage(socket, ev.data);
    socket.onclose = (ev) => this.handleClose(socket, ev.code, ev.reason);
    socket.onerror = () => {
      // Browsers follow every error with a close event; the decision is made there.
    };
  }

  private handleOpen(socket: SocketLike): void {
    if (socket !== this.socket) return;
    this.everOpened = true;
    this.hasBeenOpen = true;
    this.setStatus({ state: "open", attempt: this.current.attempt, rttMs: this.current.rttMs });
    for (const channel of this.channels.values()) socket.send(JSON.stringify(channel.subscribeMessage()));
    const queued = this.queue.splice(0);
    for (const text of queued) socket.send(text);
    this.schedulePing();
  }

  private handleMessage(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    const frame = parseFrame(data);
    if (frame === null) {
      this.badFrames += 1;
      return;
    }
    if (this.current.attempt !== 0) {
      // The server talks to us: the connection is healthy, so the next failure starts the
      // backoff from the beginning again.
      this.setStatus({ ...this.current, attempt: 0 });
    }
    this.dispatch(frame);
  }

  private dispatch(frame: ServerFrame): void {
    switch (frame.op) {
      case "pong": {
        if (this.pingSentAt !== null) {
          const rttMs = this.clock.now() - this.pingSentAt;
          this.pingSentAt = null;
          this.current = { ...this.current, rttMs };
        }
        if (this.pongTimer !== null) {
          this.clock.clearTimeout(this.pongTimer);
          this.pongTimer = null;
        }
        return;
      }
      case "subscribed":
        this.channels.get(frame.graph)?.onSubscribed(frame);
        return;
      case "snapshot":
        this.channels.get(frame.graph)?.onSnapshot(frame);
        return;
      case "snapshot_part":
        this.channels.get(frame.graph)?.onSnapshotPart(frame);
        return;
      case "events":
        this.channels.get(frame.graph)?.onEvents(frame);
        return;
      case "resync":
        this.channels.get(frame.graph)?.onResync(frame.reason);
        return;
      case "error": {
        if (frame.graph !== undefined) {
          this.channels.get(frame.graph)?.onError(frame);
        } else {
          for (const channel of this.channels.values()) channel.onError(frame);
        }
        console.warn(`graphlive: server error ${frame.code}: ${frame.message}`);
        return;
      }
      case "available":
        // The server resumes every subscription by itself (missed events come `recovered`, or a
        // resync): only the listeners' "Redis is unreachable" notice has to go.
        for (const channel of this.channels.values()) channel.onAvailable();
        return;
      default:
        // hello, unsubscribed and future ops need no action.
        return;
    }
  }

  private schedulePing(): void {
    // A transport without half-open connections (the kernel comm) needs no liveness pings.
    if (this.pingIntervalMs <= 0) return;
    this.pingTimer = this.clock.setTimeout(() => {
      this.pingTimer = null;
      const socket = this.socket;
      if (socket === null || !this.isOpen()) return;
      this.pingSentAt = this.clock.now();
      // Arm the timeout before sending, so a pong however early always finds it to clear.
      this.pongTimer = this.clock.setTimeout(() => {
        this.pongTimer = null;
        // Dead peer: drop the socket now instead of waiting for TCP to notice.
        detach(socket);
        socket.close(CloseCode.CLIENT_PONG_TIMEOUT, "pong timeout");
        this.handleClose(socket, CloseCode.CLIENT_PONG_TIMEOUT, "no pong from the server");
      }, this.pongTimeoutMs);
      socket.send(JSON.stringify(pingMessage(Date.now() / 1000)));
      this.schedulePing();
    }, this.pingIntervalMs);
  }

  private clearTimers(): void {
    for (const t of [this.retryTimer, this.pingTimer, this.pongTimer]) {
      if (t !== null) this.clock.clearTimeout(t);
    }
    this.retryTimer = this.pingTimer = this.pongTimer = null;
    this.pingSentAt = null;
  }

  private handleClose(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    detach(socket);
    this.socket = null;
    this.clearTimers();
    for (const channel of this.channels.values()) channel.onClosed();
    const attempt = this.current.attempt;
    switch (code) {
      case CloseCode.NORMAL:
        this.setStatus({ state: "closed", attempt: 0, lastCloseCode: code, reason: reason || "closed by the server" });
        return;
      case CloseCode.PROTOCOL_ABUSE:
        this.setStatus({
          state: "failed",
          attempt,
          lastCloseCode: code,
          reason: "the server closed the connection for protocol abuse (4400); not retrying",
        });
        return;
      case CloseCode.SLOW_CONSUMER:
        // Our queue on the server overflowed: resume right away from the position.
        this.scheduleReconnect(0, code, "fell behind (4001), resuming");
        return;
      case CloseCode.RATE_LIMITED:
        this.scheduleReconnect(
          fullJitterDelay(attempt, () => this.clock.random(), this.backoff, this.rateLimitFloorMs),
          code,
          "rate limited (4429)",
        );
        return;
      default:
        if (!this.everOpened && this.probeAuth !== undefined) {
          this.checkCredentials(code);
          return;
        }
        this.scheduleReconnect(
          fullJitterDelay(attempt, () => this.clock.random(), this.backoff),
          code,
          describeClose(code, reason),
        );
    }
  }

  /** The handshake failed: find out whether we lack credentials before retrying. */
  private checkCredentials(code: number): void {
    const attempt = this.current.attempt;
    this.setStatus({ state: "waiting", attempt, lastCloseCode: code, reason: "checking credentials" });
    // The probe's result arrives asynchronously; mark the pending decision so connect() calls
    // made meanwhile do not open a second socket.
    const pending: TimerHandle = {};
    this.retryTimer = pending;
    const probe = this.probeAuth as AuthProbe;
    void probe()
      .catch(() => null)
      .then((status) => {
        if (this.retryTimer !== pending) return; // closed or reconnected meanwhile
        this.retryTimer = null;
        if (this.stopWhenUnreachable && !this.hasBeenOpen && (status === 404 || status === null)) {
          this.setStatus({
            state: "failed",
            attempt,
            lastCloseCode: code,
            unreachable: true,
            reason: status === 404 ? "no graphlive server extension (HTTP 404)" : "server unreachable",
          });
          return;
        }
        if (status === 401 || status === 403) {
          this.setStatus({
            state: "failed",
            attempt,
            lastCloseCode: code,
            reason: `the server refused the credentials (HTTP ${status}); reload the page or log in again`,
          });
          return;
        }
        this.scheduleReconnect(
          fullJitterDelay(attempt, () => this.clock.random(), this.backoff),
          code,
          status === null ? "server unreachable" : `connection failed (HTTP ${status})`,
        );
      });
  }

  private scheduleReconnect(delayMs: number, code: number, reason: string): void {
    const attempt = this.current.attempt + 1;
    this.setStatus({ state: "waiting", attempt, retryInMs: delayMs, lastCloseCode: code, reason });
    this.retryTimer = this.clock.setTimeout(() => this.open(), delayMs);
  }
}

function detach(socket: SocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
}

function describeClose(code: number, reason: string): string {
  switch (code) {
    case CloseCode.GOING_AWAY:
      return "server going away (1001)";
    case CloseCode.PING_TIMEOUT:
      return "server saw no ping (4002)";
    case CloseCode.CLIENT_PONG_TIMEOUT:
      return "no pong from the server";
    case CloseCode.ABNORMAL:
      return "connection lost";
    default:
      return reason ? `closed (${code}): ${reason}` : `closed (${code})`;
  }
}
