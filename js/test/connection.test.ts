import { afterEach, describe, expect, it, vi } from "vitest";

import type { ChannelListener } from "../src/client/channel.js";
import { EventsConnection, type ConnectionStatus } from "../src/client/connection.js";
import { type ChangeEvent, pingMessage, type SnapshotFrame } from "../src/client/protocol.js";
import { acquireConnection, connectionCount } from "../src/client/registry.js";
import { acquireStore, storeCount } from "../src/state/store-registry.js";
import { eventsFrame, FakeClock, node, nodeEvents, socketFactory } from "./fakes.js";

const URL = "ws://localhost:8888/base/graphlive/ws/events/filtered";
const backoff = { baseMs: 1000, capMs: 8000 };

class Recorder implements ChannelListener {
  seqs: number[] = [];
  snapshots: SnapshotFrame[] = [];
  resyncs: string[] = [];
  log: string[] = [];
  snapshot(frame: SnapshotFrame): void {
    this.snapshots.push(frame);
    this.log.push(`snapshot@${frame.seq}`);
  }
  events(events: ChangeEvent[]): void {
    for (const e of events) this.seqs.push(e.seq);
    this.log.push(`events ${events.map((e) => e.seq).join(",")}`);
  }
  resync(reason: string): void {
    this.resyncs.push(reason);
    this.log.push(`resync ${reason}`);
  }
}

function setup(extra: Partial<ConstructorParameters<typeof EventsConnection>[0]> = {}) {
  const clock = new FakeClock();
  const sockets = socketFactory();
  const conn = new EventsConnection({
    url: URL,
    createSocket: sockets.create,
    clock,
    backoff,
    pingIntervalMs: 20_000,
    pongTimeoutMs: 5_000,
    ...extra,
  });
  const statuses: ConnectionStatus[] = [];
  conn.onStatus((s) => statuses.push(s));
  return { clock, sockets, conn, statuses };
}

function snapshotFrame(seq: number, nodes = [node("m.a")], epoch = "e1"): SnapshotFrame {
  return { op: "snapshot", graph: "demo", epoch, seq, nodes, edges: [] };
}

/** Subscribe, open, deliver a snapshot at seq 10 and events 11..15. */
function liveAt15() {
  const env = setup();
  const rec = new Recorder();
  env.conn.subscribe("demo", rec);
  const s1 = env.sockets.last();
  s1.open();
  s1.receive({ op: "hello", protocol: 1 });
  s1.receive(snapshotFrame(10));
  s1.receive(eventsFrame(nodeEvents(11, 5)));
  return { ...env, rec, s1 };
}

describe("EventsConnection: subscribing and resuming", () => {
  it("subscribes with a snapshot request on open", () => {
    const { sockets, conn } = setup();
    conn.subscribe("demo", new Recorder());
    const s = sockets.last();
    expect(s.url).toBe(URL);
    expect(s.sent).toEqual([]); // nothing before open
    s.open();
    expect(s.messages()).toEqual([{ op: "subscribe", graph: "demo", since: null }]);
  });

  it("resumes from the last applied position after a drop, with exact continuity", () => {
    const { clock, sockets, conn, rec, s1 } = liveAt15();
    expect(rec.seqs).toEqual([11, 12, 13, 14, 15]);
    s1.drop(1006);
    expect(conn.status.state).toBe("waiting");
    clock.advance(backoff.capMs);
    const s2 = sockets.last();
    expect(s2).not.toBe(s1);
    s2.open();
    expect(s2.messages()[0]).toEqual({ op: "subscribe", graph: "demo", since: { epoch: "e1", seq: 15 } });
    // The server replays from its own view of the position, overlapping what we have.
    s2.receive(eventsFrame(nodeEvents(14, 4))); // 14..17
    s2.receive(eventsFrame(nodeEvents(18, 3))); // 18..20
    expect(rec.seqs).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(rec.snapshots).toHaveLength(1);
    expect(rec.resyncs).toEqual([]);
    expect(conn.graphs()).toEqual(["demo"]);
  });

  it("drops duplicates by seq inside and across frames", () => {
    const { s1, rec, conn } = liveAt15();
    s1.receive(eventsFrame(nodeEvents(11, 5))); // whole frame already applied
    s1.receive(eventsFrame([...nodeEvents(15, 2), ...nodeEvents(16, 2)], { from: 15, through: 17 }));
    expect(rec.seqs).toEqual([11, 12, 13, 14, 15, 16, 17]);
    const stats = conn.subscribe("demo", new Recorder()).channel.stats;
    expect(stats.duplicates).toBe(5 + 2);
  });

  it("treats a gap as an unusable position: resync, resubscribe without position, snapshot", () => {
    const { s1, rec } = liveAt15();
    s1.sent.length = 0;
    s1.receive(eventsFrame(nodeEvents(18, 2))); // 16 and 17 are missing
    expect(rec.seqs).toEqual([11, 12, 13, 14, 15]);
    expect(rec.resyncs).toEqual(["gap"]);
    expect(s1.messages()).toEqual([
      { op: "unsubscribe", graph: "demo" },
      { op: "subscribe", graph: "demo", since: null },
    ]);
    // Frames of the old subscription still in flight are not applied before the snapshot.
    s1.receive(eventsFrame(nodeEvents(20, 1)));
    s1.receive(snapshotFrame(21));
    s1.receive(eventsFrame(nodeEvents(22, 2)));
    expect(rec.seqs).toEqual([11, 12, 13, 14, 15, 22, 23]);
    expect(rec.log.slice(-3)).toEqual(["resync gap", "snapshot@21", "events 22,23"]);
  });

  it("treats a frame of another epoch like a gap", () => {
    const { s1, rec } = liveAt15();
    s1.receive(eventsFrame(nodeEvents(16, 1, "e2"), undefined, "e2"));
    expect(rec.resyncs).toEqual(["epoch"]);
    expect(rec.seqs).toEqual([11, 12, 13, 14, 15]);
  });

  it("on the filtered endpoint, from/through advance the position past filtered-out events", () => {
    const { s1, rec, clock, sockets } = liveAt15();
    // Events 16..19 were filtered out by the server; only 20 is in the frame.
    s1.receive(eventsFrame(nodeEvents(20, 1), { from: 16, through: 20 }));
    s1.receive(eventsFrame([], { from: 21, through: 25 }));
    expect(rec.seqs).toEqual([11, 12, 13, 14, 15, 20]);
    s1.drop(1001);
    clock.advance(backoff.capMs);
    sockets.last().open();
    expect(sockets.last().messages()[0]).toMatchObject({ since: { epoch: "e1", seq: 25 } });
  });

  it("a resync frame drops state and waits for the snapshot that follows", () => {
    const { s1, rec } = liveAt15();
    s1.receive({ op: "resync", graph: "demo", reason: "trimmed" });
    s1.receive(eventsFrame(nodeEvents(16, 1)));
    s1.receive(snapshotFrame(40, [node("m.b")]));
    s1.receive(eventsFrame(nodeEvents(41, 1)));
    expect(rec.log.slice(-3)).toEqual(["resync trimmed", "snapshot@40", "events 41"]);
  });

  it("a live-only subscription starts at the first frame it sees", () => {
    const { sockets, conn } = setup();
    const rec = new Recorder();
    conn.subscribe("demo", rec, { kind: "live" });
    const s = sockets.last();
    s.open();
    expect(s.messages()[0]).toEqual({ op: "subscribe", graph: "demo", since: null, snapshot: false });
    s.receive(eventsFrame(nodeEvents(100, 2)));
    s.receive(eventsFrame(nodeEvents(102, 1)));
    expect(rec.seqs).toEqual([100, 101, 102]);
  });

  it("starting from a given position subscribes with it", () => {
    const { sockets, conn } = setup();
    conn.subscribe("demo", new Recorder(), { kind: "position", position: { epoch: "e9", seq: 7 } });
    sockets.last().open();
    expect(sockets.last().messages()[0]).toEqual({ op: "subscribe", graph: "demo", since: { epoch: "e9", seq: 7 } });
  });

  it("counts malformed frames without failing", () => {
    const { s1, conn, rec } = liveAt15();
    s1.receiveRaw("not json");
    s1.receiveRaw("[1,2]");
    s1.receiveRaw(new ArrayBuffer(4));
    s1.receive(eventsFrame(nodeEvents(16, 1)));
    expect(conn.badFrames).toBe(3);
    expect(rec.seqs.at(-1)).toBe(16);
  });

  it("a graph stays subscribed while any of its listeners remains", () => {
    const { s1, conn } = liveAt15();
    const extra = conn.subscribe("demo", new Recorder());
    s1.sent.length = 0;
    extra.unsubscribe();
    expect(s1.sent).toEqual([]);
    expect(conn.graphs()).toEqual(["demo"]);
  });
});

describe("EventsConnection: outgoing queue", () => {
  it("queues messages while disconnected and flushes them in order after re-subscribing", () => {
    const { sockets, conn, clock } = setup();
    conn.subscribe("demo", new Recorder());
    conn.send(pingMessage(1));
    conn.send(pingMessage(2));
    const s1 = sockets.last();
    s1.open();
    expect(s1.messages().map((m) => m.op === "ping" ? m.t : m.op)).toEqual(["subscribe", 1, 2]);
    s1.drop(1006);
    conn.send(pingMessage(3));
    conn.send(pingMessage(4));
    conn.send(pingMessage(5));
    clock.advance(backoff.capMs);
    const s2 = sockets.last();
    s2.open();
    expect(s2.messages().map((m) => m.op === "ping" ? m.t : m.op)).toEqual(["subscribe", 3, 4, 5]);
    conn.send(pingMessage(6));
    expect(s2.messages().at(-1)).toEqual(pingMessage(6));
  });

  it("bounds the queue by dropping the oldest", () => {
    const { conn, sockets } = setup({ maxQueued: 2 });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    conn.connect();
    for (let n = 1; n <= 4; n++) conn.send(pingMessage(n));
    sockets.last().open();
    expect(sockets.last().messages().map((m) => m.t)).toEqual([3, 4]);
    expect(conn.droppedQueued).toBe(2);
    warn.mockRestore();
  });
});

describe("EventsConnection: close codes and backoff", () => {
  function openThenClose(code: number, randoms = [0.5]) {
    const env = setup();
    env.clock.randoms = randoms;
    env.conn.subscribe("demo", new Recorder());
    const s1 = env.sockets.last();
    s1.open();
    s1.drop(code);
    return { ...env, s1 };
  }

  it("4001 (slow consumer) reconnects at once", () => {
    const { clock, sockets, conn } = openThenClose(4001);
    expect(conn.status).toMatchObject({ state: "waiting", retryInMs: 0, lastCloseCode: 4001 });
    clock.advance(0);
    expect(sockets.sockets).toHaveLength(2);
  });

  it.each([1001, 4002, 1006])("%i reconnects after a full-jitter delay", (code) => {
    const { clock, sockets, conn } = openThenClose(code, [0.75]);
    expect(conn.status.retryInMs).toBe(0.75 * backoff.baseMs);
    clock.advance(0.75 * backoff.baseMs - 1);
    expect(sockets.sockets).toHaveLength(1);
    clock.advance(1);
    expect(sockets.sockets).toHaveLength(2);
  });

  it("consecutive failures grow the jitter ceiling up to the cap, and success resets it", () => {
    const { clock, sockets, conn } = openThenClose(1006, [0.999]);
    const delays: number[] = [conn.status.retryInMs as number];
    for (let i = 0; i < 6; i++) {
      clock.advance(backoff.capMs);
      sockets.last().open();
      sockets.last().drop(1006);
      delays.push(conn.status.retryInMs as number);
    }
    const ceilings = [1000, 2000, 4000, 8000, 8000, 8000, 8000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(ceilings[i] as number);
      expect(d).toBeCloseTo(0.999 * (ceilings[i] as number), 6);
    });
    // A healthy connection (the server talked) starts the sequence over.
    clock.advance(backoff.capMs);
    const s = sockets.last();
    s.open();
    s.receive({ op: "hello", protocol: 1 });
    s.drop(1006);
    expect(conn.status.retryInMs).toBeCloseTo(0.999 * 1000, 6);
  });

  it("4429 (rate limit) waits at least 5 s", () => {
    const { clock, sockets, conn } = openThenClose(4429, [0]);
    expect(conn.status.retryInMs).toBe(5000);
    clock.advance(4999);
    expect(sockets.sockets).toHaveLength(1);
    clock.advance(1);
    expect(sockets.sockets).toHaveLength(2);
  });

  it("4400 (protocol abuse) never retries", () => {
    const { clock, sockets, conn } = openThenClose(4400);
    expect(conn.status.state).toBe("failed");
    clock.advance(10 * 60_000);
    expect(sockets.sockets).toHaveLength(1);
    expect(clock.pending()).toEqual([]);
  });

  it("1000 from the server is a normal end: no reconnect", () => {
    const { clock, sockets, conn } = openThenClose(1000);
    expect(conn.status.state).toBe("closed");
    clock.advance(60_000);
    expect(sockets.sockets).toHaveLength(1);
  });

  it("a handshake refused with HTTP 403 is not retried", async () => {
    const probe = vi.fn(async () => 403);
    const { clock, sockets, conn } = setup({ probeAuth: probe });
    conn.subscribe("demo", new Recorder());
    sockets.last().drop(1006); // failed before open, as browsers report a refused upgrade
    await vi.waitFor(() => expect(conn.status.state).toBe("failed"));
    expect(conn.status.reason).toMatch(/403/);
    expect(probe).toHaveBeenCalledTimes(1);
    clock.advance(10 * 60_000);
    expect(sockets.sockets).toHaveLength(1);
  });

  it("a handshake failure with the server down (probe unreachable) is retried with backoff", async () => {
    const { clock, sockets, conn } = setup({ probeAuth: async () => null });
    clock.randoms = [0.5];
    conn.subscribe("demo", new Recorder());
    sockets.last().drop(1006);
    await vi.waitFor(() => expect(conn.status.state).toBe("waiting"));
    await vi.waitFor(() => expect(conn.status.retryInMs).toBe(500));
    clock.advance(500);
    expect(sockets.sockets).toHaveLength(2);
  });

  it("close() ends everything and cancels timers", () => {
    const { clock, sockets, conn, s1 } = openThenClose(1006);
    conn.close();
    expect(conn.status.state).toBe("closed");
    clock.advance(60_000);
    expect(sockets.sockets).toEqual([s1]);
  });
});

describe("EventsConnection: heartbeat", () => {
  it("pings on an interval and keeps a connection that answers", () => {
    const { clock, s1, conn } = liveAt15();
    clock.advance(20_000);
    const ping = s1.messages().at(-1);
    expect(ping?.op).toBe("ping");
    clock.advance(30);
    s1.receive({ op: "pong", t: ping?.t as number });
    clock.advance(5_000);
    expect(conn.status.state).toBe("open");
    expect(conn.status.rttMs).toBe(30);
    expect(s1.closedWith).toBeNull();
  });

  it("treats a missing pong as a dead connection and reconnects with resume", () => {
    const { clock, s1, conn, sockets } = liveAt15();
    clock.advance(20_000 + 5_000);
    expect(s1.closedWith?.code).toBe(4990);
    expect(conn.status.state).toBe("waiting");
    clock.advance(backoff.capMs);
    const s2 = sockets.last();
    expect(s2).not.toBe(s1);
    s2.open();
    expect(s2.messages()[0]).toMatchObject({ op: "subscribe", since: { epoch: "e1", seq: 15 } });
    // A late close event of the dead socket changes nothing.
    s1.onclose?.({ code: 1006, reason: "" });
    expect(conn.status.state).toBe("open");
  });
});

describe("one connection per page", () => {
  afterEach(() => {
    expect(connectionCount()).toBe(0);
    expect(storeCount()).toBe(0);
  });

  it("views of one server share a connection; the last release closes it", () => {
    const sockets = socketFactory();
    const opts = { url: URL, createSocket: sockets.create, clock: new FakeClock() };
    const a = acquireConnection("srv", opts);
    const b = acquireConnection("srv", opts);
    expect(a.connection).toBe(b.connection);
    const other = acquireConnection("srv2", { ...opts });
    expect(other.connection).not.toBe(a.connection);
    a.release();
    a.release(); // idempotent
    expect(connectionCount()).toBe(2);
    b.release();
    other.release();
  });

  it("two views of one graph share one socket, one subscription and one model", () => {
    const sockets = socketFactory();
    const clock = new FakeClock();
    const request = {
      serverKey: "srv",
      connection: { url: URL, createSocket: sockets.create, clock },
      graph: "demo",
      start: { kind: "snapshot" } as const,
      storeOptions: { schedule: () => () => undefined },
    };
    const view1 = acquireStore(request);
    const view2 = acquireStore(request);
    const view3 = acquireStore({ ...request, graph: "other" });
    expect(view1.store).toBe(view2.store);
    expect(view3.store).not.toBe(view1.store);
    expect(view1.connection).toBe(view3.connection);
    expect(sockets.sockets).toHaveLength(1);
    const s = sockets.last();
    s.open();
    expect(s.messages()).toEqual([
      { op: "subscribe", graph: "demo", since: null },
      { op: "subscribe", graph: "other", since: null },
    ]);
    s.receive(snapshotFrame(3, [node("m.a"), node("m.b")]));
    view1.store.batcher.flushNow();
    expect(view2.store.state.graph.order).toBe(2);
    view1.release();
    expect(s.closedWith).toBeNull();
    view2.release();
    expect(s.messages().at(-1)).toEqual({ op: "unsubscribe", graph: "demo" });
    view3.release();
    expect(s.closedWith?.code).toBe(1000);
  });

  it("the server filter is the union of the views' type filters", () => {
    const sockets = socketFactory();
    const request = {
      serverKey: "srv",
      connection: { url: URL, createSocket: sockets.create, clock: new FakeClock() },
      graph: "demo",
      start: { kind: "snapshot" } as const,
      storeOptions: { schedule: () => () => undefined },
    };
    const lease = acquireStore(request);
    const s = sockets.last();
    s.open();
    const v1 = {};
    const v2 = {};
    lease.store.setViewFilter(v1, ["node_*"]);
    lease.store.setViewFilter(v2, ["edge_*"]);
    lease.store.setViewFilter(v2, []);
    expect(s.messages().slice(1)).toEqual([
      { op: "filter", graph: "demo", filters: { types: ["node_*"] } },
      { op: "filter", graph: "demo", filters: { types: ["edge_*", "node_*"] } },
      { op: "filter", graph: "demo", filters: { types: [] } },
    ]);
    // After a reconnect the subscription carries the current filter.
    lease.store.setViewFilter(v2, ["diagnostic"]);
    s.drop(1006);
    (request.connection.clock as FakeClock).advance(60_000);
    sockets.last().open();
    expect(sockets.last().messages()[0]).toEqual({
      op: "subscribe",
      graph: "demo",
      since: null,
      filters: { types: ["diagnostic", "node_*"] },
    });
    lease.release();
  });
});


describe("EventsConnection: heartbeat edge cases", () => {
  it("a pong delivered synchronously during the ping's send still counts", () => {
    const { clock, s1, conn } = liveAt15();
    const send = s1.send.bind(s1);
    s1.send = (data: string) => {
      send(data);
      const msg = JSON.parse(data) as { op: string; t: number };
      if (msg.op === "ping") s1.receive({ op: "pong", t: msg.t });
    };
    clock.advance(20_000 + 5_000 + 1);
    expect(conn.status.state).toBe("open");
    expect(s1.closedWith).toBeNull();
  });
});
