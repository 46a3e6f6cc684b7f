"""graphlive.wire against the shared frame fixtures (tests/fixtures/wire/frames.json).

The TypeScript client checks the same file (js/test/wire-fixtures.test.ts): a frame the server
builds differently from what the client was tested with fails one of the two suites.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphlive.bus.reader import Position
from graphlive.events import from_dict
from graphlive.graph import CodeGraph
from graphlive.wire import (
    MAX_FILTER_ENTRIES,
    MAX_FILTER_ENTRY_CHARS,
    PROTOCOL_VERSION,
    CloseCode,
    ErrorCode,
    EventFilter,
    Frame,
    Limits,
    Mode,
    Ping,
    ProtocolError,
    ResyncReason,
    SetFilter,
    Subscribe,
    Unsubscribe,
    available_frame,
    encode_frame,
    error_frame,
    events_frame,
    events_frame_bytes,
    filtered_frame,
    hello_frame,
    needs_snapshot_position,
    parse_client_message,
    plan_subscribe,
    pong_frame,
    resync_frame,
    resync_reason,
    snapshot_frame,
    snapshot_frame_bytes,
    subscribed_frame,
    unsubscribed_frame,
)

FIXTURES = json.loads(
    (Path(__file__).parent / "fixtures" / "wire" / "frames.json").read_text(encoding="utf-8")
)
FRAMES: dict[str, Frame] = {f["name"]: f["frame"] for f in FIXTURES["server_frames"]}
E1, E2 = "0123456789abcdef", "fedcba9876543210"
ONLY_NODES = EventFilter.parse({"types": ["node_*"], "paths": ["m.py"]})


def test_codes_and_limits_are_the_fixtures() -> None:
    assert FIXTURES["protocol_version"] == PROTOCOL_VERSION
    assert FIXTURES["error_codes"] == [c.value for c in ErrorCode]
    assert FIXTURES["close_codes"] == {c.name: int(c) for c in CloseCode}
    assert FIXTURES["resync_reasons"] == [r.value for r in ResyncReason]
    assert FIXTURES["modes"] == [m.value for m in Mode]
    assert FIXTURES["filter_limits"] == {
        "max_entries": MAX_FILTER_ENTRIES,
        "max_entry_chars": MAX_FILTER_ENTRY_CHARS,
    }
    assert FIXTURES["limits"] == Limits().to_json()


def _events(name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = FRAMES[name]["events"]
    return events


def _nodes(name: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = FRAMES[name]["nodes"]
    return nodes


def _edges(name: str) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = FRAMES[name]["edges"]
    return edges


BUILDERS: dict[str, Callable[[], Frame]] = {
    "hello": lambda: hello_frame("graphlive 0.0.0", endpoint="filtered", limits=Limits()),
    "subscribed": lambda: subscribed_frame(
        "demo", Position(E1, 6), Mode.SNAPSHOT.value, ref="s1", filters=ONLY_NODES
    ),
    "snapshot": lambda: snapshot_frame(
        "demo", Position(E1, 4), _nodes("snapshot"), [], part=0, parts=2
    ),
    "snapshot_part": lambda: snapshot_frame(
        "demo", Position(E1, 4), _nodes("snapshot_part"), _edges("snapshot_part"), part=1, parts=2
    ),
    "events": lambda: events_frame("demo", E1, 5, 6, _events("events")),
    "error": lambda: error_frame(
        ErrorCode.UNAVAILABLE, "Redis is unreachable (ConnectionError); retrying"
    ),
    "available": available_frame,
    "events_filtered": lambda: events_frame(
        "demo", E1, 7, 9, _events("events_filtered"), recovered=True
    ),
    "pong": lambda: pong_frame(12.5, ref="p1"),
    "filtered": lambda: filtered_frame("demo", ONLY_NODES, ref="f1"),
    "resync": lambda: resync_frame("demo", ResyncReason.EPOCH),
    "snapshot_whole": lambda: snapshot_frame("demo", Position(E2, 2), _nodes("snapshot_whole"), []),
    "events_new_epoch": lambda: events_frame("demo", E2, 3, 3, _events("events_new_epoch")),
    "unsubscribed": lambda: unsubscribed_frame("demo", ref="u1"),
}


def test_every_fixture_frame_has_a_builder() -> None:
    assert set(BUILDERS) == set(FRAMES)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builders_make_the_fixture_frames(name: str) -> None:
    frame = BUILDERS[name]()
    assert frame == FRAMES[name]
    assert json.loads(encode_frame(frame)) == FRAMES[name]


@pytest.mark.parametrize("name", ["events", "events_filtered", "events_new_epoch"])
def test_events_frames_built_around_stored_bytes_are_the_same_frames(name: str) -> None:
    frame = FRAMES[name]
    bodies = [encode_frame(e) for e in frame["events"]]
    data = events_frame_bytes(
        "demo", frame["epoch"], frame["from"], frame["through"], frame["recovered"], bodies
    )
    assert json.loads(data) == frame


def test_a_snapshot_spliced_around_stored_content_is_the_same_frame() -> None:
    frame = FRAMES["snapshot_whole"]
    stored = encode_frame({"nodes": frame["nodes"], "edges": frame["edges"]})
    data = snapshot_frame_bytes("demo", Position(E2, 2), stored)
    assert data is not None and json.loads(data) == frame
    assert snapshot_frame_bytes("demo", Position(E2, 2), b'{"edges":[],"nodes":[]}') is None


def _apply_session(names: list[str]) -> tuple[CodeGraph, Position]:
    """What a client holds after these frames: parts assembled, events in sequence, a resync
    dropping the graph until the next snapshot (the rules of docs/protocol.md)."""
    graph = CodeGraph("demo")
    position = Position()
    parts: list[Frame] = []
    for name in names:
        frame = FRAMES[name]
        op = frame["op"]
        if op in ("snapshot", "snapshot_part"):
            parts.append(frame)
            if frame.get("more"):
                continue
            graph = CodeGraph("demo")
            graph.load_dict(
                {
                    "nodes": [n for p in parts for n in p["nodes"]],
                    "edges": [e for p in parts for e in p["edges"]],
                }
            )
            assert len({(p["epoch"], p["seq"]) for p in parts}) == 1
            position = Position(frame["epoch"], frame["seq"])
            parts = []
        elif op == "events":
            assert (frame["epoch"], frame["from"]) == (position.epoch, position.seq + 1)
            events = [from_dict(e) for e in frame["events"]]
            assert all(frame["from"] <= e.seq <= frame["through"] for e in events)
            graph.apply_all(events)
            position = Position(frame["epoch"], frame["through"])
        elif op == "resync":
            position = Position()
    return graph, position


def _state(expected: dict[str, Any]) -> tuple[Position, list[str], list[str]]:
    pos = expected["position"]
    return Position(pos["epoch"], pos["seq"]), sorted(expected["nodes"]), sorted(expected["edges"])


def test_the_fixture_session_is_a_consistent_stream() -> None:
    session = FIXTURES["session"]
    names: list[str] = session["frames"]
    cut = names.index("resync")
    graph, position = _apply_session(names[:cut])
    assert (
        position,
        sorted(n.id for n in graph.nodes()),
        sorted(e.id for e in graph.edges()),
    ) == _state(session["before_resync"])
    graph, position = _apply_session(names)
    assert (
        position,
        sorted(n.id for n in graph.nodes()),
        sorted(e.id for e in graph.edges()),
    ) == _state(session["after"])


def _parsed_json(message: Subscribe | Unsubscribe | SetFilter | Ping) -> dict[str, Any]:
    if isinstance(message, Subscribe):
        since = message.since
        return {
            "op": "subscribe",
            "graph": message.graph,
            "since": None if since is None else {"epoch": since.epoch, "seq": since.seq},
            "snapshot": message.snapshot,
            "filters": None if message.filters is None else message.filters.to_json(),
            "ref": message.ref,
        }
    if isinstance(message, Unsubscribe):
        return {"op": "unsubscribe", "graph": message.graph, "ref": message.ref}
    if isinstance(message, SetFilter):
        return {
            "op": "filter",
            "graph": message.graph,
            "filters": message.filters.to_json(),
            "ref": message.ref,
        }
    return {"op": "ping", "t": message.t, "ref": message.ref}


@pytest.mark.parametrize("case", FIXTURES["client_messages"], ids=lambda c: c["name"])
def test_client_messages_parse_as_the_fixtures_say(case: dict[str, Any]) -> None:
    raw = json.dumps(case["message"])
    parsed = parse_client_message(raw, max_bytes=64 * 1024, filtered=case["filtered"])
    assert _parsed_json(parsed) == case["parsed"]


@pytest.mark.parametrize("case", FIXTURES["invalid_client_messages"], ids=lambda c: c["name"])
def test_invalid_client_messages_get_the_fixtures_error_code(case: dict[str, Any]) -> None:
    raw: str | bytes = case["raw"] if "raw" in case else json.dumps(case["message"])
    if case.get("binary"):
        raw = raw.encode() if isinstance(raw, str) else raw
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(
            raw, max_bytes=case.get("max_bytes", 64 * 1024), filtered=case["filtered"]
        )
    assert caught.value.code.value == case["code"]


# ---------------------------------------------------------------------- the subscribe planner

HEAD = Position(E1, 1000)


@pytest.mark.parametrize(
    ("since", "snapshot", "retention", "snapshot_at", "mode", "start", "reason"),
    [
        (None, True, 0, None, Mode.SNAPSHOT, None, None),
        (None, False, 0, None, Mode.LIVE, HEAD, None),
        (Position(E2, 10), True, 0, None, Mode.RESYNC, None, ResyncReason.EPOCH),
        (Position(E1, 1001), True, 0, None, Mode.RESYNC, None, ResyncReason.UNKNOWN_POSITION),
        (Position(E1, 1000), True, 0, None, Mode.REPLAY, Position(E1, 1000), None),
        (Position(E1, 10), True, 0, Position(E1, 900), Mode.REPLAY, Position(E1, 10), None),
        # Beyond retention: a newer snapshot spares the replay; an older one or none does not.
        (Position(E1, 10), True, 100, Position(E1, 900), Mode.RESYNC, None, ResyncReason.RETENTION),
        (Position(E1, 10), True, 100, Position(E1, 5), Mode.REPLAY, Position(E1, 10), None),
        (Position(E1, 10), True, 100, None, Mode.REPLAY, Position(E1, 10), None),
        (Position(E1, 10), True, 100, Position(E2, 900), Mode.REPLAY, Position(E1, 10), None),
        # Within retention the stored snapshot is not even consulted.
        (Position(E1, 950), True, 100, Position(E1, 990), Mode.REPLAY, Position(E1, 950), None),
    ],
)
def test_plan_subscribe(
    since: Position | None,
    snapshot: bool,
    retention: int,
    snapshot_at: Position | None,
    mode: Mode,
    start: Position | None,
    reason: ResyncReason | None,
) -> None:
    plan = plan_subscribe(since, snapshot, HEAD, retention=retention, snapshot_at=snapshot_at)
    assert (plan.mode, plan.start, plan.reason) == (mode, start, reason)
    assert plan.sends_snapshot == (start is None)


def test_the_snapshot_position_is_looked_up_only_beyond_retention() -> None:
    assert needs_snapshot_position(Position(E1, 10), HEAD, 100)
    assert not needs_snapshot_position(Position(E1, 950), HEAD, 100)
    assert not needs_snapshot_position(Position(E1, 10), HEAD, 0)
    assert not needs_snapshot_position(Position(E2, 10), HEAD, 100)
    assert not needs_snapshot_position(None, HEAD, 100)


def test_reader_reasons_map_to_protocol_reasons() -> None:
    assert resync_reason("trimmed") is ResyncReason.TRIMMED
    assert resync_reason("epoch") is ResyncReason.EPOCH
    assert resync_reason("ahead") is ResyncReason.UNKNOWN_POSITION
