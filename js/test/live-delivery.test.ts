/**
 * What the client makes of an outage's end (`available`), of history versus live events (which
 * only the latter say how fast delivery is), and of a graph reset while live — over the real
 * connection, channel and store, with the server played by a fake socket.
 */
import { describe, expect, it } from "vitest";

import type { ChannelListener, Delivery } from "../src/client/channel.js";
import { EventsConnection } from "../src/client/connection.js";
import type { ChangeEvent, SnapshotFrame } from "../src/client/protocol.js";
import { GraphStore } from "../src/state/store.js";
import { LatencyMeter } from "../src/view/rate-meter.js";
import { event, eventsFrame, FakeClock, node, nodeEvents, socketFactory } from "./fakes.js";

class Recorder {
  seqs: number[] = [];
  deliveries: Array<{ seqs: number[]; history: number }> = [];
  resyncs: string[] = [];
  available = 0;
  errors: string[] = [];
  snapshot(_frame: SnapshotFrame): void {}
  events(events: ChangeEvent[], _frame: unknown, delivery: Delivery): void {
    for (const e of events) this.seqs.push(e.seq);
    this.deliveries.push({ seqs: events.map((e) => e.seq), history: delivery.history });
  }
  resync(reason: string): void {
    this.resyncs.push(reason);
  }
  error(frame: { code: string }): void {
    this.errors.push(frame.code);
  }
  availableAgain(): void {
    this.available += 1;
  }
}

/** A Recorder as the channel sees it (`available` is the listener hook's name). */
function listener(rec: Recorder): ChannelListener {
  return {
    snapshot: (f) => rec.snapshot(f),
    events: (e, f, d) => rec.events(e, f, d),
    resync: (r) => rec.resync(r),
    error: (f) => rec.error(f),
    available: () => rec.availableAgain(),
  };
}

function connection() {
  const sockets = socketFactory();
  const clock = new FakeClock();
  const conn = new EventsConnection({ url: "ws://h/graphlive/ws/events", createSocket: sockets.create, clock, pingIntervalMs: 0 });
  return { conn, sockets, clock };
}

function snapshot(seq: number, epoch = "e1", graph = "demo"): SnapshotFrame {
  return { op: "snapshot", graph, epoch, seq, nodes: [node("m.a")], edges: [] };
}

describe("available: the end of a Redis outage", () => {
  it("reaches every graph's listeners; the server resumes, so nothing is re-sent", () => {
    const { conn, sockets } = connection();
    const a = new Recorder();
    const b = new Recorder();
    conn.subscribe("demo", listener(a));
    conn.subscribe("other", listener(b));
    const s = sockets.last();
    s.open();
    s.receive({ op: "error", code: "unavailable", message: "Redis is unreachable; the server keeps retrying" });
    expect([a.errors, b.errors]).toEqual([["unavailable"], ["unavailable"]]);
    s.sent.length = 0;
    s.receive({ op: "available" });
    expect([a.available, b.available]).toEqual([1, 1]);
    expect(s.sent).toEqual([]);
  });

  it("a subscription's `subscribed` also says Redis is reachable (a reconnect during the outage)", () => {
    const { conn, sockets } = connection();
    const a = new Recorder();
    conn.subscribe("demo", listener(a));
    sockets.last().open();
    sockets.last().receive({ op: "subscribed", graph: "demo", epoch: "e1", head: 3, mode: "snapshot" });
    expect(a.available).toBe(1);
  });

  it("the store passes it on to its observers", () => {
    const { conn, sockets } = connection();
    const store = new GraphStore("demo", { schedule: () => () => undefined });
    let heard = 0;
    store.addObserver({ available: () => (heard += 1) });
    store.bind(conn, { kind: "snapshot" });
    sockets.last().open();
    sockets.last().receive({ op: "available" });
    expect(heard).toBe(1);
  });
});

describe("history and live events", () => {
  it("events up to the head at subscription are history, the rest live — within one frame too", () => {
    const { conn, sockets, clock } = connection();
    const rec = new Recorder();
    conn.subscribe("demo", listener(rec));
    const s = sockets.last();
    s.open();
    s.receive({ op: "subscribed", graph: "demo", epoch: "e1", head: 20, mode: "snapshot" });
    s.receive(snapshot(15));
    s.receive(eventsFrame(nodeEvents(16, 3))); // 16..18: the stream's tail after the snapshot
    s.receive(eventsFrame(nodeEvents(19, 4))); // 19, 20 history; 21, 22 published since
    s.receive(eventsFrame(nodeEvents(23, 1)));
    expect(rec.deliveries).toEqual([
      { seqs: [16, 17, 18], history: 3 },
      { seqs: [19, 20, 21, 22], history: 2 },
      { seqs: [23], history: 0 },
    ]);
    // A resume after a drop: what was missed meanwhile is history again.
    s.drop(1006);
    rec.deliveries.length = 0;
    clock.advance(60_000); // past the reconnect backoff
    expect(sockets.last()).not.toBe(s);
    sockets.last().open();
    expect(sockets.last().messages()[0]).toMatchObject({ since: { epoch: "e1", seq: 23 } });
    sockets.last().receive({ op: "subscribed", graph: "demo", epoch: "e1", head: 26, mode: "replay" });
    sockets.last().receive(eventsFrame(nodeEvents(24, 4)));
    expect(rec.deliveries).toEqual([{ seqs: [24, 25, 26, 27], history: 3 }]);
  });

  it("without a `subscribed` (e.g. an older server) everything counts as live", () => {
    const { conn, sockets } = connection();
    const rec = new Recorder();
    conn.subscribe("demo", listener(rec));
    sockets.last().open();
    sockets.last().receive(snapshot(0));
    sockets.last().receive(eventsFrame(nodeEvents(1, 2)));
    expect(rec.deliveries).toEqual([{ seqs: [1, 2], history: 0 }]);
  });

  it("replayed history never reaches the latency meter fed by the store", () => {
    const { conn, sockets } = connection();
    const store = new GraphStore("demo", { schedule: () => () => undefined });
    const latency = new LatencyMeter();
    const now = 1_700_000_100_000; // ms; the fakes' events were made at ~1_700_000_000 s
    store.addObserver({ delivered: (events, _f, delivery) => latency.recordLive(events, delivery.history, now) });
    store.bind(conn, { kind: "snapshot" });
    const s = sockets.last();
    s.open();
    s.receive({ op: "subscribed", graph: "demo", epoch: "e1", head: 40, mode: "snapshot" });
    s.receive(snapshot(0));
    s.receive(eventsFrame(nodeEvents(1, 40))); // 100 s old history
    expect(latency.smoothed).toBeNull();
    const fresh = { ...event(41, "node_added", { node: node("m.new") }), time: (now - 25) / 1000 };
    s.receive(eventsFrame([fresh]));
    expect(latency.last).toBeCloseTo(25, 3);
  });
});

describe("a graph reset while live", () => {
  function liveAt15() {
    const { conn, sockets } = connection();
    const rec = new Recorder();
    conn.subscribe("demo", listener(rec));
    const s = sockets.last();
    s.open();
    s.receive({ op: "subscribed", graph: "demo", epoch: "e1", head: 10, mode: "snapshot" });
    s.receive(snapshot(10));
    s.receive(eventsFrame(nodeEvents(11, 5)));
    s.sent.length = 0;
    return { conn, s, rec };
  }

  it("continues into the new epoch when its first event is the graph_reset right after the position", () => {
    const { conn, s, rec } = liveAt15();
    const reset = [event(16, "graph_reset", {}, "e2"), event(17, "analysis_started", { files: 3 }, "e2"), ...nodeEvents(18, 2, "e2")];
    s.receive(eventsFrame(reset, undefined, "e2"));
    expect(rec.resyncs).toEqual([]);
    expect(s.sent).toEqual([]); // no unsubscribe/subscribe: nothing was lost
    expect(rec.deliveries.at(-1)).toEqual({ seqs: [16, 17, 18, 19], history: 0 });
    expect(conn.subscribe("demo", listener(new Recorder())).channel.getPosition()).toEqual({ epoch: "e2", seq: 19 });
  });

  it("still resyncs for a new epoch that does not start with a reset at the next seq", () => {
    const { s, rec } = liveAt15();
    s.receive(eventsFrame([event(18, "graph_reset", {}, "e2")], undefined, "e2")); // 16, 17 missing
    expect(rec.resyncs).toEqual(["epoch"]);
  });

  it("the store clears its graph at the reset and applies what follows", () => {
    const { conn, sockets } = connection();
    let run: (() => void) | null = null;
    const store = new GraphStore("demo", {
      schedule: (cb) => {
        run = cb;
        return () => (run = null);
      },
    });
    const flush = (): void => {
      const cb = run;
      run = null;
      cb?.();
    };
    store.bind(conn, { kind: "snapshot" });
    const s = sockets.last();
    s.open();
    s.receive(snapshot(1));
    s.receive(eventsFrame(nodeEvents(2, 2)));
    flush();
    expect(store.state.graph.order).toBe(3);
    s.receive(eventsFrame([event(4, "graph_reset", {}, "e2"), event(5, "node_added", { node: node("m.fresh") }, "e2")], undefined, "e2"));
    flush();
    expect(store.state.graph.nodes()).toEqual(["m.fresh"]);
    expect(store.position()).toEqual({ epoch: "e2", seq: 5 });
  });
});
