from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphlive.events import (
    ENVELOPE_VERSION,
    ChangeEvent,
    EventDecodeError,
    EventType,
    Txn,
    decode,
    decode_many,
    encode,
    encode_unpositioned,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)

events = st.builds(
    ChangeEvent,
    type=st.sampled_from(list(EventType)),
    graph=st.text(min_size=1, max_size=20),
    data=st.dictionaries(st.text(), json_values, max_size=5),
    seq=st.integers(min_value=0, max_value=2**63 - 1),
    epoch=st.text(max_size=16),
    txn=st.none() | st.builds(Txn, id=st.text(max_size=8), last=st.booleans()),
    source=st.text(max_size=20),
    time=st.floats(min_value=0, max_value=4e9, allow_nan=False),
)


@given(events)
def test_round_trip_is_exact(event: ChangeEvent) -> None:
    assert decode(encode(event)) == event


@given(events, st.integers(min_value=1, max_value=2**40), st.text(alphabet="0123456789abcdef"))
def test_unpositioned_body_plus_stamp_equals_encode(
    event: ChangeEvent, seq: int, epoch: str
) -> None:
    # The publisher's Lua script builds the stored event by string concatenation.
    body = encode_unpositioned(event)
    assert body.startswith(b'{"v":')
    stamped = b'{"seq":%d,"epoch":"%s",' % (seq, epoch.encode()) + body[1:]
    assert stamped == encode(event.positioned(seq, epoch))
    assert decode(stamped) == event.positioned(seq, epoch)


def test_unicode_and_nested_data_survive() -> None:
    event = ChangeEvent(
        EventType.NODE_ADDED,
        "g",
        {"node": {"id": "pkg.ünïcødé", "doc": "日本語 🚀", "x": [1, {"y": None}]}},
    )
    raw = encode(event)
    assert "🚀".encode() in raw  # not \u-escaped: compact UTF-8
    assert decode(raw) == event
    assert decode(raw.decode()) == event


def _valid() -> dict[str, object]:
    return json.loads(encode(ChangeEvent(EventType.NODE_ADDED, "g", {"node": {"id": "a"}})))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("type"), "missing required field 'type'"),
        (lambda d: d.update(type="node_exploded"), "unknown event type 'node_exploded'"),
        (lambda d: d.update(v=ENVELOPE_VERSION + 1), "unsupported envelope version"),
        (lambda d: d.update(seq="12"), "field 'seq' must be int, got str"),
        (lambda d: d.update(seq=True), "field 'seq' must be int, got bool"),
        (lambda d: d.update(seq=-1), "'seq' must be >= 0"),
        (lambda d: d.update(data=[1, 2]), "field 'data' must be dict, got list"),
        (lambda d: d.update(txn="t"), "'txn' must be an object"),
        (lambda d: d.update(txn={"id": "t"}), "missing required field 'last'"),
        (lambda d: d.update(time="now"), "field 'time' must be int/float"),
        (lambda d: d.update(extra=1), "unknown field(s): extra"),
    ],
)
def test_rejects_malformed_envelopes(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    d = _valid()
    mutate(d)
    with pytest.raises(EventDecodeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        decode(json.dumps(d))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8|not valid JSON"),
        (b"[]", "must be a JSON object, got list"),
        (b"null", "must be a JSON object, got NoneType"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_rejects_non_envelopes(raw: bytes, message: str) -> None:
    with pytest.raises(EventDecodeError, match=message):
        decode(raw, max_bytes=10**6)


def test_rejects_oversize_before_parsing() -> None:
    big = encode(ChangeEvent(EventType.DIAGNOSTIC, "g", {"blob": "x" * 5000}))
    with pytest.raises(EventDecodeError, match=r"over the limit of 1000"):
        decode(big, max_bytes=1000)
    assert decode(big, max_bytes=len(big)).data["blob"] == "x" * 5000


def test_decode_many_reads_batches_and_names_bad_items() -> None:
    a = ChangeEvent(EventType.NODE_ADDED, "g", {"n": 1}, seq=1, epoch="e")
    b = ChangeEvent(EventType.EDGE_ADDED, "g", {"n": 2}, seq=2, epoch="e")
    assert decode_many(b"[" + encode(a) + b"," + encode(b) + b"]") == [a, b]
    with pytest.raises(EventDecodeError, match="must be a JSON array"):
        decode_many(encode(a))
    with pytest.raises(EventDecodeError, match="unknown event type"):
        decode_many(b'[{"v":1,"type":"nope"}]')


def test_event_is_immutable_and_mutation_flag() -> None:
    e = ChangeEvent(EventType.NODE_ADDED, "g")
    with pytest.raises(AttributeError):
        e.seq = 3  # type: ignore[misc]
    assert EventType.NODE_REMOVED.is_mutation and EventType.GRAPH_RESET.is_mutation
    assert not EventType.DIAGNOSTIC.is_mutation and not EventType.ANALYSIS_PROGRESS.is_mutation
    assert e.id != ChangeEvent(EventType.NODE_ADDED, "g").id
