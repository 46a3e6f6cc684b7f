"""The snapshot index: same bytes as a plain encoding, offsets that cut at every step."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

from graphlive.bus.snapshot_index import SnapshotIndex, encode_indexed


def content(nodes: int, edges: int) -> dict[str, list[dict[str, Any]]]:
    # Strings with brackets, braces, commas and non-ASCII: a cut that looked for "},{" in the
    # text instead of using offsets would split inside them.
    return {
        "nodes": [{"id": f"n{i}", "doc": '},{"x":[1,2]}, é'} for i in range(nodes)],
        "edges": [{"id": f"e{i}", "s": "n0", "t": f"n{i}", "l": i} for i in range(edges)],
    }


def plain(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(("nodes", "edges", "max_offsets"), [
    (0, 0, 4), (1, 0, 4), (0, 3, 4), (7, 5, 4), (10, 10, 1024), (100, 37, 8), (5, 5, 1),
])  # fmt: skip
def test_encoding_is_plain_json_and_every_span_is_the_elements_it_names(
    nodes: int, edges: int, max_offsets: int
) -> None:
    value = content(nodes, edges)
    text, index = encode_indexed(value, max_offsets=max_offsets)
    assert text == plain(value)
    assert index.check(text)
    assert len(index.offsets) <= max_offsets
    assert SnapshotIndex.from_json(index.to_json()) == index
    elements = value["nodes"] + value["edges"]
    total = len(elements)
    cuts = [*range(0, total, index.step), total]
    for i, start in enumerate(cuts):
        for stop in cuts[i:]:
            n, e = index.spans(start, stop)
            got_nodes = json.loads(b"[" + text[n] + b"]")
            got_edges = json.loads(b"[" + text[e] + b"]")
            assert got_nodes + got_edges == elements[start:stop], (start, stop)
            assert got_nodes == value["nodes"][start:stop]


def test_spans_refuse_cuts_between_offsets() -> None:
    _, index = encode_indexed(content(20, 0), max_offsets=5)
    assert index.step == 4
    with pytest.raises(ValueError, match="start"):
        index.spans(2, 8)
    with pytest.raises(ValueError, match="end"):
        index.spans(0, 6)
    assert index.spans(16, 20) == (slice(index.offsets[4], index.nodes_end), slice(0, 0))


def test_an_index_of_other_content_is_rejected() -> None:
    text, index = encode_indexed(content(30, 30), max_offsets=10)
    other, _ = encode_indexed(content(31, 30), max_offsets=10)
    assert not index.check(other)  # another length
    same_length = text.replace(b'"n0"', b'"m0"')
    assert len(same_length) == len(text) and not index.check(same_length)  # another CRC
    moved = SnapshotIndex(**{**_fields(index), "offsets": (index.offsets[0] + 1,
                                                           *index.offsets[1:])})  # fmt: skip
    assert not moved.check(text)  # an offset that is not an element's start
    assert zlib.crc32(text) == index.crc


@pytest.mark.parametrize("raw", [b"[]", b"{}", b"nope", b'{"step":0,"nodes":0,"edges":0,'
    b'"length":0,"crc":0,"nodes_end":0,"edges_begin":0,"offsets":[]}',
    b'{"step":1,"nodes":2,"edges":0,"length":0,"crc":0,"nodes_end":0,"edges_begin":0,'
    b'"offsets":[10]}'])  # fmt: skip
def test_malformed_indexes_raise_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError, match="not a snapshot index"):
        SnapshotIndex.from_json(raw)


def _fields(index: SnapshotIndex) -> dict[str, Any]:
    return {f: getattr(index, f) for f in SnapshotIndex.__dataclass_fields__}
