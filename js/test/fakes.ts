/**
 * Deterministic stand-ins for the events client's environment: a manual clock with timers and a
 * scripted random source, and WebSocket doubles that record what the client sends and let the
 * test play the server.
 */

import type { Clock, TimerHandle } from "../src/client/clock.js";
import type { SocketLike } from "../src/client/connection.js";
import type { ChangeEvent, EdgeJSON, NodeJSON, ServerFrame } from "../src/client/protocol.js";
import { ExploreBar, type ExploreHandlers } from "../src/view/explore-bar.js";
import { vi } from "vitest";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers: Timer[] = [];
  /** Values returned by random(), cycled; default 0.5. */
  randoms: number[] = [0.5];
  private randomIndex = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  random(): number {
    const r = this.randoms[this.randomIndex % this.randoms.length] ?? 0.5;
    this.randomIndex += 1;
    return r;
  }

  /** Pending timer delays relative to now, soonest first. */
  pending(): number[] {
    return this.timers.map((t) => t.at - this.t).sort((a, b) => a - b);
  }

  /** Advance time by `ms`, firing due timers in order (timers they set fire too if due). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

export class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  /** Messages the client sent, parsed. */
  messages(): Array<Record<string, unknown>> {
    return this.sent.map((s) => JSON.parse(s) as Record<string, unknown>);
  }

  ops(): string[] {
    return this.messages().map((m) => String(m.op));
  }

  // ---- server side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: ServerFrame | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  receiveRaw(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The server (or the network) closes the connection. */
  drop(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** A socket factory that keeps every socket it made. */
export function socketFactory(): { create: (url: string) => FakeSocket; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    create: (url: string) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    last: () => {
      const s = sockets[sockets.length - 1];
      if (s === undefined) throw new Error("no socket created");
      return s;
    },
  };
}

let eventCounter = 0;

/** A positioned event envelope as the server sends it. */
export function event(seq: number, type: string, data: Record<string, unknown>, epoch = "e1", graph = "demo"): ChangeEvent {
  eventCounter += 1;
  return { seq, epoch, v: 1, id: `ev${eventCounter}`, graph, type, time: 1_700_000_000 + seq / 1000, source: "test", data };
}

export function node(id: string, kind = "function", extra: Record<string, unknown> = {}): NodeJSON {
  return { id, kind, name: id.split(".").pop() ?? id, ...extra };
}

export function edge(source: string, target: string, kind = "calls", line = 1): EdgeJSON {
  return { id: `${kind}:${source}->${target}@${line}`, kind, source, target, line };
}

/** An events frame covering `events` (or an explicit from/through range). */
export function eventsFrame(
  events: ChangeEvent[],
  range?: { from: number; through: number },
  epoch = "e1",
  graph = "demo",
): Record<string, unknown> {
  const from = range?.from ?? events[0]?.seq ?? 0;
  const through = range?.through ?? events[events.length - 1]?.seq ?? 0;
  return { op: "events", graph, epoch, from, through, events, recovered: false };
}

/** Node-added events with seq first..first+n-1. */
export function nodeEvents(first: number, n: number, epoch = "e1"): ChangeEvent[] {
  return Array.from({ length: n }, (_, i) => event(first + i, "node_added", { node: node(`m.f${first + i}`) }, epoch));
}

/** A deterministic random source in [0, 1): a linear congruential generator started at `seed`. */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** An explore bar mounted in the test document, with every handler a spy. */
export function mountExploreBar(): { b: ExploreBar; handlers: ExploreHandlers } {
  const handlers: ExploreHandlers = {
    search: () => [],
    choose: vi.fn(),
    filter: vi.fn(),
    encoding: vi.fn(),
    ego: vi.fn(),
    egoDepth: vi.fn(),
    path: vi.fn(),
    overview: vi.fn(),
    autoLevel: vi.fn(),
    fit: vi.fn(),
    exportPng: vi.fn(),
  };
  const b = new ExploreBar(document, handlers);
  document.body.replaceChildren(b.root);
  return { b, handlers };
}
