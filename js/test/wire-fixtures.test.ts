/**
 * The client against the shared frame fixtures (tests/fixtures/wire/frames.json), which the
 * server's graphlive.wire is checked against too (tests/test_wire.py): codes, the frames the
 * server builds, the messages the client builds, and a whole session applied to a store.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { EventsConnection } from "../src/client/connection.js";
import {
  CloseCode,
  ERROR_CODES,
  FILTER_LIMITS,
  filterMessage,
  parseFrame,
  pingMessage,
  PROTOCOL_VERSION,
  RESYNC_REASONS,
  SERVER_OPS,
  SUBSCRIBE_MODES,
  subscribeMessage,
  unsubscribeMessage,
  type ClientMessage,
} from "../src/client/protocol.js";
import { GraphStore } from "../src/state/store.js";
import { FakeClock, socketFactory } from "./fakes.js";

interface Fixtures {
  protocol_version: number;
  error_codes: string[];
  close_codes: Record<string, number>;
  resync_reasons: string[];
  modes: string[];
  filter_limits: { max_entries: number; max_entry_chars: number };
  server_frames: Array<{ name: string; frame: Record<string, unknown> }>;
  session: {
    graph: string;
    frames: string[];
    before_resync: Expected;
    after: Expected;
  };
  client_messages: Array<{ name: string; message: Record<string, unknown> }>;
}

interface Expected {
  position: { epoch: string; seq: number };
  nodes: string[];
  edges: string[];
}

const FIXTURES = JSON.parse(
  readFileSync(new URL("../../tests/fixtures/wire/frames.json", import.meta.url), "utf-8"),
) as Fixtures;
const FRAMES = new Map(FIXTURES.server_frames.map((f) => [f.name, f.frame]));
const E1 = "0123456789abcdef";

describe("wire fixtures: codes", () => {
  it("has the server's protocol version, error codes, resync reasons, modes and filter limits", () => {
    expect(PROTOCOL_VERSION).toBe(FIXTURES.protocol_version);
    expect([...ERROR_CODES]).toEqual(FIXTURES.error_codes);
    expect([...RESYNC_REASONS]).toEqual(FIXTURES.resync_reasons);
    expect([...SUBSCRIBE_MODES]).toEqual(FIXTURES.modes);
    expect(FILTER_LIMITS).toEqual({
      maxEntries: FIXTURES.filter_limits.max_entries,
      maxEntryChars: FIXTURES.filter_limits.max_entry_chars,
    });
  });

  it("knows every close code the server sends, by the same name", () => {
    const known = CloseCode as Record<string, number>;
    for (const [name, code] of Object.entries(FIXTURES.close_codes)) expect(known[name], name).toBe(code);
  });

  it("knows every frame op the server builds", () => {
    expect(new Set(FIXTURES.server_frames.map((f) => f.frame.op))).toEqual(new Set(SERVER_OPS));
  });

  it("parses every fixture frame as the server encoded it", () => {
    for (const { name, frame } of FIXTURES.server_frames) {
      expect(parseFrame(JSON.stringify(frame)), name).toEqual(frame);
    }
  });
});

describe("wire fixtures: client messages", () => {
  const built: Record<string, ClientMessage> = {
    subscribe: subscribeMessage("demo", null),
    subscribe_live: subscribeMessage("demo", null, { snapshot: false }),
    resume: subscribeMessage("demo", { epoch: E1, seq: 6 }, { filters: { types: ["node_*"], paths: ["m.py"] }, ref: "s1" }),
    unsubscribe: unsubscribeMessage("demo", "u1"),
    filter: filterMessage("demo", { kinds: ["function"] }),
    ping: pingMessage(12.5),
  };

  it("builds exactly the messages the server's parser was checked with", () => {
    expect(Object.keys(built).sort()).toEqual(FIXTURES.client_messages.map((c) => c.name).sort());
    for (const { name, message } of FIXTURES.client_messages) {
      expect(JSON.parse(JSON.stringify(built[name])), name).toEqual(message);
    }
  });
});

describe("wire fixtures: a session", () => {
  function play(names: string[]) {
    const sockets = socketFactory();
    const conn = new EventsConnection({
      url: "ws://localhost/graphlive/ws/events/filtered",
      createSocket: sockets.create,
      clock: new FakeClock(),
      pingIntervalMs: 0,
    });
    const store = new GraphStore(FIXTURES.session.graph, { schedule: () => () => undefined });
    store.bind(conn, { kind: "snapshot" });
    const socket = sockets.last();
    socket.open();
    for (const name of names) {
      const frame = FRAMES.get(name);
      if (frame === undefined) throw new Error(`no fixture frame ${name}`);
      socket.receive(frame);
    }
    store.batcher.flushNow();
    const state = {
      position: store.position(),
      nodes: store.state.graph.nodes().sort(),
      edges: store.state.graph.edges().sort(),
    };
    const sent = socket.ops();
    store.dispose();
    conn.close();
    return { state, sent };
  }

  it("holds the fixture's graph and position before and after a resync to a new epoch", () => {
    const names = FIXTURES.session.frames;
    const cut = names.indexOf("resync");
    const before = FIXTURES.session.before_resync;
    expect(play(names.slice(0, cut)).state).toEqual({ ...before, nodes: [...before.nodes].sort(), edges: [...before.edges].sort() });
    const after = FIXTURES.session.after;
    const { state, sent } = play(names);
    expect(state).toEqual({ ...after, nodes: [...after.nodes].sort(), edges: [...after.edges].sort() });
    // The server's resync was followed by its snapshot: the client asked for nothing more.
    expect(sent).toEqual(["subscribe"]);
  });
});
