import { describe, expect, it } from "vitest";

import type { ChannelListener, SnapshotProgress } from "../src/client/channel.js";
import { EventsConnection } from "../src/client/connection.js";
import type { ChangeEvent, EdgeJSON, NodeJSON, SnapshotFrame } from "../src/client/protocol.js";
import { GraphStore } from "../src/state/store.js";
import { edge, eventsFrame, FakeClock, node, nodeEvents, socketFactory } from "./fakes.js";

const URL = "ws://localhost:8888/base/graphlive/ws/events";

class Recorder implements ChannelListener {
  snapshots: SnapshotFrame[] = [];
  seqs: number[] = [];
  log: string[] = [];
  progress: Array<SnapshotProgress | null> = [];
  snapshot(frame: SnapshotFrame): void {
    this.snapshots.push(frame);
    this.log.push(`snapshot@${frame.seq} ${frame.nodes.length}+${frame.edges.length}`);
  }
  events(events: ChangeEvent[]): void {
    for (const e of events) this.seqs.push(e.seq);
    this.log.push(`events ${events.map((e) => e.seq).join(",")}`);
  }
  resync(reason: string): void {
    this.log.push(`resync ${reason}`);
  }
  snapshotProgress(progress: SnapshotProgress | null): void {
    this.progress.push(progress);
  }
}

function setup() {
  const clock = new FakeClock();
  const sockets = socketFactory();
  const conn = new EventsConnection({
    url: URL,
    createSocket: sockets.create,
    clock,
    backoff: { baseMs: 1000, capMs: 8000 },
    pingIntervalMs: 0,
  });
  const rec = new Recorder();
  const sub = conn.subscribe("demo", rec);
  const s1 = sockets.last();
  s1.open();
  s1.receive({ op: "hello", protocol: 1 });
  s1.receive({ op: "subscribed", graph: "demo", epoch: "e1", head: 30, mode: "snapshot" });
  return { clock, sockets, conn, rec, s1, channel: sub.channel };
}

const NODES = Array.from({ length: 7 }, (_, i) => node(`m.n${i}`));
const EDGES = [edge("m.n0", "m.n1"), edge("m.n1", "m.n2"), edge("m.n2", "m.n3")];

/** The frames of a snapshot at `seq` of NODES+EDGES in parts of at most `size` elements. */
function chunked(seq: number, size: number, epoch = "e1"): Array<Record<string, unknown>> {
  const elements: Array<["n", NodeJSON] | ["e", EdgeJSON]> = [
    ...NODES.map((n) => ["n", n] as ["n", NodeJSON]),
    ...EDGES.map((e) => ["e", e] as ["e", EdgeJSON]),
  ];
  const parts = Math.ceil(elements.length / size);
  const frames: Array<Record<string, unknown>> = [];
  for (let i = 0; i < parts; i++) {
    const slice = elements.slice(i * size, (i + 1) * size);
    const body = {
      graph: "demo",
      epoch,
      seq,
      nodes: slice.filter((x) => x[0] === "n").map((x) => x[1]),
      edges: slice.filter((x) => x[0] === "e").map((x) => x[1]),
      more: i < parts - 1,
    };
    frames.push(i === 0 ? { op: "snapshot", ...body, parts } : { op: "snapshot_part", ...body, part: i });
  }
  return frames;
}

describe("chunked snapshots", () => {
  it("assembles the parts into one snapshot delivered after the last, then applies events", () => {
    const { s1, rec, channel } = setup();
    const frames = chunked(20, 3); // 10 elements: 4 parts
    expect(frames).toHaveLength(4);
    for (const f of frames.slice(0, 3)) s1.receive(f);
    expect(rec.snapshots).toEqual([]);
    expect(channel.getPosition()).toBeNull();
    expect(channel.loadingSnapshot).toBe(true);
    expect(channel.snapshotProgress()).toEqual({ received: 3, parts: 4, elements: 9 });
    expect(rec.progress.map((p) => p?.received)).toEqual([1, 2, 3]);
    s1.receive(frames[3] as Record<string, unknown>);
    expect(rec.snapshots).toHaveLength(1);
    const snap = rec.snapshots[0] as SnapshotFrame;
    expect(snap.seq).toBe(20);
    expect(snap.nodes).toEqual(NODES);
    expect(snap.edges).toEqual(EDGES);
    expect(channel.getPosition()).toEqual({ epoch: "e1", seq: 20 });
    expect(channel.snapshotProgress()).toBeNull();
    expect(channel.loadingSnapshot).toBe(false);
    // Dedupe by seq continues from the snapshot's position.
    s1.receive(eventsFrame(nodeEvents(19, 4), { from: 19, through: 22 }));
    s1.receive(eventsFrame(nodeEvents(21, 3)));
    expect(rec.seqs).toEqual([21, 22, 23]);
    expect(rec.log).toEqual(["snapshot@20 7+3", "events 21,22", "events 23"]);
  });

  it("a single-frame snapshot (no `more`) still works", () => {
    const { s1, rec } = setup();
    s1.receive({ op: "snapshot", graph: "demo", epoch: "e1", seq: 5, nodes: NODES, edges: [] });
    expect(rec.log).toEqual(["snapshot@5 7+0"]);
  });

  it("a disconnect mid-snapshot drops the parts and re-subscribes for a fresh snapshot", () => {
    const { s1, rec, channel, clock, sockets } = setup();
    const frames = chunked(20, 3);
    s1.receive(frames[0] as Record<string, unknown>);
    s1.receive(frames[1] as Record<string, unknown>);
    s1.drop(1006);
    expect(channel.snapshotProgress()).toBeNull();
    expect(rec.progress.at(-1)).toBeNull();
    expect(rec.snapshots).toEqual([]);
    clock.advance(8000);
    const s2 = sockets.last();
    expect(s2).not.toBe(s1);
    s2.open();
    // No position was taken from the half snapshot.
    expect(s2.messages()[0]).toEqual({ op: "subscribe", graph: "demo", since: null });
    s2.receive({ op: "subscribed", graph: "demo", epoch: "e1", head: 31, mode: "snapshot" });
    // A late part of the old transfer cannot complete anything.
    s2.receive({ ...(frames[2] as Record<string, unknown>) });
    expect(channel.stats.staleParts).toBe(1);
    for (const f of chunked(31, 4)) s2.receive(f);
    expect(rec.snapshots).toHaveLength(1);
    expect(rec.snapshots[0]?.seq).toBe(31);
    expect(rec.snapshots[0]?.nodes).toEqual(NODES);
    expect(rec.snapshots[0]?.edges).toEqual(EDGES);
    s2.receive(eventsFrame(nodeEvents(32, 1)));
    expect(rec.seqs).toEqual([32]);
  });

  it("a resync or a new snapshot mid-transfer abandons the old parts", () => {
    const { s1, rec, channel } = setup();
    const old = chunked(20, 3);
    s1.receive(old[0] as Record<string, unknown>);
    s1.receive({ op: "resync", graph: "demo", reason: "epoch" });
    s1.receive(old[1] as Record<string, unknown>); // stale: dropped
    const fresh = chunked(40, 5, "e2");
    s1.receive(fresh[0] as Record<string, unknown>);
    s1.receive(old[2] as Record<string, unknown>); // another snapshot's part: dropped
    s1.receive(fresh[1] as Record<string, unknown>);
    expect(rec.log).toEqual(["resync epoch", "snapshot@40 7+3"]);
    expect(channel.stats.staleParts).toBe(2);
    expect(channel.getPosition()).toEqual({ epoch: "e2", seq: 40 });
  });

  it("a missing part asks for a fresh snapshot instead of delivering a hole", () => {
    const { s1, rec } = setup();
    const frames = chunked(20, 3);
    s1.receive(frames[0] as Record<string, unknown>);
    s1.sent.length = 0;
    s1.receive(frames[2] as Record<string, unknown>); // part 1 never came
    expect(rec.snapshots).toEqual([]);
    expect(rec.log).toEqual(["resync snapshot_part"]);
    expect(s1.messages()).toEqual([
      { op: "unsubscribe", graph: "demo" },
      { op: "subscribe", graph: "demo", since: null },
    ]);
  });

  it("the store reports loading progress and shows the graph only when complete", () => {
    const sockets = socketFactory();
    const conn = new EventsConnection({ url: URL, createSocket: sockets.create, clock: new FakeClock(), pingIntervalMs: 0 });
    const store = new GraphStore("demo", { schedule: () => () => undefined });
    const seen: Array<SnapshotProgress | null> = [];
    store.addObserver({ snapshotProgress: (p) => seen.push(p) });
    store.bind(conn, { kind: "snapshot" });
    const s = sockets.last();
    s.open();
    expect(store.loading()).toEqual({ received: 0, parts: null, elements: 0 });
    const frames = chunked(20, 4); // 3 parts
    s.receive(frames[0] as Record<string, unknown>);
    s.receive(frames[1] as Record<string, unknown>);
    store.batcher.flushNow();
    expect(store.state.graph.order).toBe(0);
    expect(store.loaded).toBe(false);
    expect(store.loading()).toEqual({ received: 2, parts: 3, elements: 8 });
    s.receive(frames[2] as Record<string, unknown>);
    expect(store.loading()).toBeNull();
    store.batcher.flushNow();
    expect(store.loaded).toBe(true);
    expect(store.state.graph.order).toBe(NODES.length);
    expect(store.state.graph.size).toBe(EDGES.length);
    expect(seen.map((p) => p?.received)).toEqual([1, 2]);
    // A resync while loaded: loading again until the next snapshot is complete.
    s.receive({ op: "resync", graph: "demo", reason: "trimmed" });
    expect(store.loading()).toEqual({ received: 0, parts: null, elements: 0 });
    store.dispose();
    conn.close();
  });
});
