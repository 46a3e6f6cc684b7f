"""Unit tests of the extension's pure parts: frame assembly, filters, parsing, limits, paths."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from graphlive.bus.reader import Position
from graphlive.bus.snapshot_index import encode_indexed
from graphlive.events import ChangeEvent, EventType
from graphlive.graph import Edge, EdgeKind, Node, NodeKind
from graphlive.wire import (
    ErrorCode,
    Ping,
    ProtocolError,
    ResyncReason,
    SetFilter,
    Subscribe,
    parse_client_message,
)
from graphlive.wire.filters import EventFilter
from graphlive.wire.ratelimit import TokenBucket
from graphlive_server.analysis_service import PathRefused, confine, server_relative
from graphlive_server.feed import GraphFeed
from graphlive_server.metrics import LatencyHistogram, RateMeter
from graphlive_server.outbox import ControlFrame, EventChunk, Outbox
from graphlive_server.snapshots import SnapshotParts, SplicedParts, StoredSnapshot
from graphlive_server.subscriptions import Subscription


def ev(
    seq: int, epoch: str = "e1", etype: EventType = EventType.NODE_ADDED, **data: Any
) -> ChangeEvent:
    node = Node.make(f"m{seq}", NodeKind.MODULE, file=f"pkg/m{seq}.py").to_dict()
    return ChangeEvent(etype, "g", data or {"node": node}, seq=seq, epoch=epoch)


def chunk(first: int, last: int, epoch: str = "e1", keep: Any = None) -> EventChunk:
    events = [ev(s, epoch) for s in range(first, last + 1) if keep is None or keep(s)]
    return EventChunk("g", epoch, first, last, events)


def frames_of(outbox: Outbox) -> list[dict[str, Any]]:
    return [json.loads(f.data) for f in outbox.take_frames()]


# ---------------------------------------------------------------------------- outbox


def test_consecutive_chunks_of_a_graph_merge_into_one_frame() -> None:
    box = Outbox(1 << 20, 1000)
    for a in range(1, 30, 3):
        box.put(chunk(a, a + 2))
    (frame,) = frames_of(box)
    assert (frame["from"], frame["through"]) == (1, 30)
    assert [e["seq"] for e in frame["events"]] == list(range(1, 31))
    assert box.queued_bytes > 0  # still counted until sent


def test_frames_split_at_max_frame_events_and_stay_contiguous() -> None:
    box = Outbox(1 << 20, 4)
    box.put(chunk(1, 10, keep=lambda s: s != 5))  # filtered: 9 events cover 1..10
    frames = frames_of(box)
    assert [(f["from"], f["through"], len(f["events"])) for f in frames] == [
        (1, 4, 4),
        (5, 9, 4),
        (10, 10, 1),
    ]


def test_epoch_change_and_control_frames_start_new_frames() -> None:
    box = Outbox(1 << 20, 1000)
    box.put(chunk(1, 2, "e1"))
    box.put(chunk(3, 3, "e2"))  # a reset opened a new epoch
    box.put(ControlFrame(b'{"op":"filtered","graph":"g"}', "g"))
    box.put(chunk(4, 5, "e2"))
    box.put(ControlFrame(b'{"op":"pong"}'))
    frames = frames_of(box)
    assert [(f["op"], f.get("epoch"), f.get("from"), f.get("through")) for f in frames] == [
        ("events", "e1", 1, 2),
        ("events", "e2", 3, 3),
        ("filtered", None, None, None),
        ("events", "e2", 4, 5),
        ("pong", None, None, None),
    ]


def test_offer_respects_the_byte_limit_but_an_idle_connection_takes_any_chunk() -> None:
    big = chunk(1, 50)
    box = Outbox(big.size // 2, 1000)
    assert box.offer(big)  # nothing pending: accepted although larger than the limit
    assert not box.offer(chunk(51, 51))  # now there is a backlog over the limit
    frames = box.take_frames()
    for f in frames:
        box.sent(f)
    assert box.queued_bytes == 0
    assert box.offer(chunk(51, 51))


def test_a_shared_chunk_is_encoded_once() -> None:
    shared = chunk(1, 3)
    boxes = [Outbox(1 << 20, 1000) for _ in range(3)]
    for box in boxes:
        box.offer(shared)
    data = [box.take_frames()[0].data for box in boxes]
    assert data[0] is data[1] is data[2]  # one frame, shared
    assert shared.body is shared.body  # cached bytes object


# ---------------------------------------------------------------------------- subscription


class StubSession:
    filtered = False

    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(self, item: Any) -> None:
        self.items.append(item)

    def offer(self, chunk: EventChunk) -> bool:
        self.items.append(chunk)
        return True


def test_live_delivery_cuts_what_the_replay_already_sent() -> None:
    session = StubSession()
    sub = Subscription(
        session,  # type: ignore[arg-type]
        "g",
        EventFilter(),
        history=None,  # type: ignore[arg-type]
        broadcaster=None,  # type: ignore[arg-type]
        metrics=None,  # type: ignore[arg-type]
        retention=0,
    )
    sub.position = Position("e1", 12)  # the replay went further than the feed
    sub.deliver(chunk(8, 10))  # entirely sent already
    sub.deliver(chunk(11, 15))  # overlaps
    sub.deliver(chunk(16, 16))
    assert [(c.first, c.last, [e.seq for e in c.events]) for c in session.items] == [
        (13, 15, [13, 14, 15]),
        (16, 16, [16]),
    ]
    assert sub.position == Position("e1", 16)


# ---------------------------------------------------------------------------- graph feed


class StubSubscriber:
    """What a feed calls on its subscribers, recorded."""

    def __init__(self, filters: EventFilter) -> None:
        self.filters = filters
        self.chunks: list[EventChunk] = []
        self.restarts: list[str] = []

    def deliver(self, chunk: EventChunk) -> None:
        self.chunks.append(chunk)

    def restart(self, reason: Any) -> None:
        self.restarts.append(reason.value)


def _run(first: int, last: int) -> list[ChangeEvent]:
    node = Node.make("m", NodeKind.MODULE, file="m.py").to_dict()
    edge = Edge(EdgeKind.CONTAINS, "m", "m.f", 0, "m.py").to_dict()
    return [
        ChangeEvent(EventType.NODE_ADDED, "g", {"node": node}, seq=s, epoch="e1")
        if s % 2
        else ChangeEvent(EventType.EDGE_ADDED, "g", {"edge": edge}, seq=s, epoch="e1")
        for s in range(first, last + 1)
    ]


def test_the_feed_alone_decides_who_is_live_and_groups_them_by_filter() -> None:
    feed = GraphFeed("g")
    nodes_only = EventFilter.parse({"types": ["node_*"]})
    a, b, c = StubSubscriber(EventFilter()), StubSubscriber(nodes_only), StubSubscriber(nodes_only)
    for sub in (a, b, c):
        feed.join(sub)  # type: ignore[arg-type]
    # No position yet, or a subscriber behind the feed: not live.
    assert not feed.go_live(a, Position("e1", 10))  # type: ignore[arg-type]
    feed.position = Position("e1", 10)
    assert not feed.go_live(a, Position("e1", 9))  # type: ignore[arg-type]
    assert not feed.go_live(a, Position("e0", 10))  # type: ignore[arg-type]
    for sub in (a, b, c):
        assert feed.go_live(sub, Position("e1", 10))  # type: ignore[arg-type]
    feed.fan_out(_run(11, 14), recovered=False)
    # One chunk per distinct filter, shared by the subscribers with that filter.
    assert [e.seq for e in a.chunks[0].events] == [11, 12, 13, 14]
    assert b.chunks[0] is c.chunks[0] and [e.seq for e in b.chunks[0].events] == [11, 13]
    assert (b.chunks[0].first, b.chunks[0].last) == (11, 14)
    # Refiltered while live: filed under the new filter; paused: skipped; gone: forgotten.
    feed.refilter(c, EventFilter())  # type: ignore[arg-type]
    feed.pause(a)  # type: ignore[arg-type]
    assert feed.leave(b) and not feed.leave(b)  # type: ignore[arg-type]
    feed.fan_out(_run(15, 16), recovered=True)
    assert (len(a.chunks), len(b.chunks)) == (1, 1)
    assert [e.seq for e in c.chunks[-1].events] == [15, 16] and c.chunks[-1].recovered
    assert feed.status()["subscribers"] == 2 and feed.status()["live"] == 1
    # A resync restarts only the live subscribers.
    feed.restart_live(ResyncReason.TRIMMED)
    assert (a.restarts, c.restarts) == ([], ["trimmed"])


# ---------------------------------------------------------------------------- filters


def test_filters_select_by_type_kind_and_path() -> None:
    f = EventFilter.parse({"types": ["node_*", "edge_added"], "kinds": ["function", "calls"],
                           "paths": ["pkg/core/"]})  # fmt: skip
    fn = Node.make("a.f", NodeKind.FUNCTION, file="pkg/core/a.py").to_dict()
    cls = Node.make("a.C", NodeKind.CLASS, file="pkg/core/a.py").to_dict()
    other = Node.make("b.f", NodeKind.FUNCTION, file="pkg/util/b.py").to_dict()
    call = Edge(EdgeKind.CALLS, "a.f", "a.C", 3, "pkg/core/a.py").to_dict()
    contains = Edge(EdgeKind.CONTAINS, "a", "a.f", 0, "pkg/core/a.py").to_dict()
    assert f.matches(ChangeEvent(EventType.NODE_ADDED, "g", {"node": fn}))
    assert not f.matches(ChangeEvent(EventType.NODE_ADDED, "g", {"node": cls}))
    assert not f.matches(ChangeEvent(EventType.NODE_REMOVED, "g", {"node": other}))
    assert f.matches(ChangeEvent(EventType.EDGE_ADDED, "g", {"edge": call}))
    assert not f.matches(ChangeEvent(EventType.EDGE_ADDED, "g", {"edge": contains}))
    assert not f.matches(ChangeEvent(EventType.EDGE_REMOVED, "g", {"edge": call}))  # type
    assert not f.matches(ChangeEvent(EventType.ANALYSIS_PROGRESS, "g", {}))  # type
    lifecycle = EventFilter.parse({"kinds": ["class"], "paths": ["x/"]})
    assert lifecycle.matches(ChangeEvent(EventType.ANALYSIS_PROGRESS, "g", {"done": 1}))
    assert lifecycle.matches(ChangeEvent(EventType.GRAPH_RESET, "g", {}))

    # node_updated is judged on the node's kind and file after the update, which it carries.
    def updated(kind: str, where: str | None, **after: object) -> ChangeEvent:
        data: dict[str, object] = {"id": "a.f", "kind": kind, "before": {}, "after": after}
        if where is not None:
            data["file"] = where
        return ChangeEvent(EventType.NODE_UPDATED, "g", data)

    assert f.matches(updated("function", "pkg/core/a.py", doc="d"))
    assert not f.matches(updated("class", "pkg/core/a.py", doc="d"))  # kind
    assert not f.matches(updated("function", "x/a.py", doc="d"))  # path
    assert not f.matches(updated("function", "x/a.py", file="x/a.py"))  # moved out
    assert not f.matches(updated("function", None, doc="d"))  # no file, paths given
    # Updates written before they carried kind and file: judged on the changed fields.
    moved = {"id": "a.f", "before": {"file": "pkg/core/a.py"}, "after": {"file": "x/a.py"}}
    doc = {"id": "a.f", "before": {}, "after": {"doc": "d"}}
    assert not f.matches(ChangeEvent(EventType.NODE_UPDATED, "g", moved))
    assert f.matches(ChangeEvent(EventType.NODE_UPDATED, "g", doc))
    assert EventFilter.parse({"types": ["node_*"]}) == EventFilter.parse({"types": ["node_*"] * 2})
    assert EventFilter.parse(None).passes_everything


# ---------------------------------------------------------------------------- protocol


def test_parse_client_messages() -> None:
    sub = parse_client_message(
        '{"op":"subscribe","graph":"g","since":{"epoch":"e","seq":3},"ref":"r"}',
        max_bytes=1000,
        filtered=False,
    )
    assert sub == Subscribe("g", Position("e", 3), True, None, "r")
    assert parse_client_message('{"op":"ping"}', max_bytes=100, filtered=False) == Ping()
    flt = parse_client_message(
        '{"op":"filter","graph":"g","filters":{"kinds":["class"]}}', max_bytes=100, filtered=True
    )
    assert isinstance(flt, SetFilter) and flt.filters.kinds == ("class",)
    # Multi-byte characters count as bytes.
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps({"op": "ping", "x": "é" * 60}), max_bytes=100,
                             filtered=False)  # fmt: skip
    assert info.value.code is ErrorCode.TOO_LARGE
    for bad in ("", "null", '{"op":"subscribe","graph":"g","since":{"epoch":"e","seq":true}}'):
        with pytest.raises(ProtocolError) as info:
            parse_client_message(bad, max_bytes=100, filtered=False)
        assert info.value.code is ErrorCode.BAD_REQUEST


# ---------------------------------------------------------------------------- limits, metrics


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=2, burst=4)
    assert [bucket.take(0.0) for _ in range(5)] == [True] * 4 + [False]
    assert bucket.take(0.5) and not bucket.take(0.5)  # one token per half second
    assert TokenBucket(rate=0, burst=1).take(0.0)  # disabled


def test_latency_quantiles_and_rates() -> None:
    now = [0.0]
    hist = LatencyHistogram(window=60, clock=lambda: now[0])
    for _ in range(98):
        hist.observe(0.001)
    hist.observe(0.5, weight=2)
    assert 0.0009 < (hist.quantile(0.5) or 0) < 0.0013
    assert 0.45 < (hist.quantile(0.99) or 0) < 0.6
    now[0] = 200.0  # old samples leave the window
    assert hist.quantile(0.5) is None
    meter = RateMeter(window=10, clock=lambda: now[0])
    now[0] = 205.0
    for _ in range(50):
        meter.add(2)
    now[0] = 210.0
    assert meter.rate() == 10.0


# ---------------------------------------------------------------------------- paths


def test_server_relative_hides_the_servers_absolute_paths(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    configured = str(tmp_path / "alias")
    text = f"OSError: cannot read {real}/project/x.py or {configured}/y, nor {real}"
    assert server_relative(text, real, configured) == (
        "OSError: cannot read project/x.py or y, nor ."
    )


def test_confine(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "out", root / "link")
    assert confine(root, "a/b") == (root / "a" / "b").resolve()
    assert confine(root, ".") == root.resolve()
    assert confine(root, str(root / "a")) == (root / "a").resolve()
    for path, status in [("a/../a", 400), ("..", 400), ("link", 403), (str(tmp_path), 403),
                         ("nope", 404), ("a\x00", 400)]:  # fmt: skip
        with pytest.raises(PathRefused) as info:
            confine(root, path)
        assert info.value.status == status, path


def test_snapshot_parts_cut_nodes_then_edges_and_small_snapshots_stay_whole() -> None:
    nodes = [Node.make(f"m.f{i}", NodeKind.FUNCTION, file=f"{'ab'[i % 2]}/m.py").to_dict()
             for i in range(7)]  # fmt: skip
    edges = [
        Edge(EdgeKind.CALLS, f"m.f{i}", f"m.f{i + 1}", 1, "a/m.py").to_dict() for i in range(3)
    ]
    content = json.dumps({"nodes": nodes, "edges": edges}, separators=(",", ":")).encode()
    snap = StoredSnapshot("g", Position("e1", 9), content)
    assert snap.parts(10, 1 << 20) is None  # 10 elements fit one part
    assert snap.frame(EventFilter()).startswith(b'{"op":"snapshot"')
    assert not StoredSnapshot.empty("g", Position("e1", 0)).may_need_parts(1, 1 << 20)
    assert not snap.may_need_parts(0, 1)  # 0 disables parts
    parts = snap.parts(4, 1 << 20)
    assert parts is not None and parts.count == 3
    frames = [json.loads(parts.frame(i, EventFilter())) for i in range(3)]
    assert [f["op"] for f in frames] == ["snapshot", "snapshot_part", "snapshot_part"]
    assert frames[0]["parts"] == 3 and [f.get("part") for f in frames] == [None, 1, 2]
    assert [f["more"] for f in frames] == [True, True, False]
    assert [(len(f["nodes"]), len(f["edges"])) for f in frames] == [(4, 0), (3, 1), (0, 2)]
    assert [n for f in frames for n in f["nodes"]] == nodes
    assert [e for f in frames for e in f["edges"]] == edges
    only_a = EventFilter.parse({"paths": ["a/"]})
    kept = [json.loads(parts.frame(i, only_a)) for i in range(3)]
    assert [n["id"] for f in kept for n in f["nodes"]] == ["m.f0", "m.f2", "m.f4", "m.f6"]
    # Big elements make smaller parts: about max_bytes each.
    by_bytes = snap.parts(100, len(content) // 5 + 1)
    assert by_bytes is not None and by_bytes.size == 2 and by_bytes.count == 5


def test_snapshot_part_frames_are_encoded_once_per_filter() -> None:
    """Every subscription sending a snapshot's parts sends the same bytes (one encoding per
    part and filter), and filters still get their own frames."""
    content = json.dumps(
        {
            "nodes": [{"id": f"m{i}", "kind": "module", "name": f"m{i}"} for i in range(10)],
            "edges": [],
        }
    ).encode()
    parts = StoredSnapshot("g", Position("e", 5), content).parts(4, 1 << 20)
    assert parts is not None and parts.count == 3
    everything, classes = EventFilter(), EventFilter.parse({"kinds": ["class"]})
    assert parts.frame(1, everything) is parts.frame(1, everything)
    assert json.loads(parts.frame(1, everything))["nodes"][0]["id"] == "m4"
    assert json.loads(parts.frame(1, classes))["nodes"] == []


@pytest.mark.parametrize(("size", "max_bytes"), [(4, 1 << 20), (6, 1 << 20), (8, 1 << 20),
                                                 (100, 700)])  # fmt: skip
def test_parts_spliced_by_the_index_are_the_parsed_parts_bytes(size: int, max_bytes: int) -> None:
    """Cutting at the stored index's offsets (no parse) sends the very bytes that parsing and
    encoding each part does, with and without a filter."""
    nodes = [Node.make(f"m.f{i}", NodeKind.FUNCTION, file=f"{'ab'[i % 2]}/m.py", doc="},{é")
             for i in range(13)]  # fmt: skip
    edges = [Edge(EdgeKind.CALLS, nodes[i].id, nodes[i + 1].id, i, "a/m.py") for i in range(9)]
    value = {"nodes": [n.to_dict() for n in nodes], "edges": [e.to_dict() for e in edges]}
    text, index = encode_indexed(value, max_offsets=11)  # step 2
    indexed = StoredSnapshot("g", Position("e1", 9), text, index)
    plain = StoredSnapshot("g", Position("e1", 9), text)
    assert indexed.splices(size, max_bytes) and not plain.splices(size, max_bytes)
    spliced, parsed = indexed.parts(size, max_bytes), plain.parts(size, max_bytes)
    assert isinstance(spliced, SplicedParts) and isinstance(parsed, SnapshotParts)
    # A size between two offsets rounds down to the index's step.
    assert spliced.size == parsed.size - parsed.size % index.step
    assert spliced.count == -(-22 // spliced.size)
    for filters in (EventFilter(), EventFilter.parse({"paths": ["a/"]})):
        assert spliced.parses(filters) is not filters.passes_everything
        frames = [json.loads(spliced.frame(i, filters)) for i in range(spliced.count)]
        assert [f.get("part") for f in frames] == [None, *range(1, spliced.count)]
        assert frames[0]["parts"] == spliced.count and not frames[-1]["more"]
        if spliced.size == parsed.size:
            assert [spliced.frame(i, filters) for i in range(spliced.count)] == [
                parsed.frame(i, filters) for i in range(parsed.count)
            ]
        want = [n for n in value["nodes"] if filters.keeps_node(n)]
        assert [n for f in frames for n in f["nodes"]] == want
        assert [e for f in frames for e in f["edges"]] == value["edges"]


def test_parts_finer_than_the_index_step_parse_instead() -> None:
    value = {"nodes": [{"id": f"n{i}", "kind": "module", "name": "n"} for i in range(40)]}
    text, index = encode_indexed({**value, "edges": []}, max_offsets=4)  # step 10
    snap = StoredSnapshot("g", Position("e", 1), text, index)
    assert not snap.splices(5, 1 << 20)
    parts = snap.parts(5, 1 << 20)
    assert isinstance(parts, SnapshotParts) and parts.count == 8
