"""Continuing a stored graph: whether a new analysis session may keep the graph's epoch, and
whether a saved analysis still matches the graph and the tree.

A session continues the stored graph (same epoch, only the difference published) unless
(:func:`reset_reason` says why not, and docs/events.md lists the cases):

* the caller asked for a reset (``--reset``, ``reset=True``);
* the graph holds the analysis of another folder (its ``root`` digest differs), or was written
  by something that recorded no analysis (an older graphlive, a test publisher);
* it was produced by another :data:`ANALYSIS_FORMAT` (ids or edges mean something else);
* its history cannot be rebuilt from Redis (found when loading it).

A saved analysis (:mod:`graphlive.analysis_cache`) is *in sync* with the graph when the graph is
still in the epoch it was saved in and nothing but non-mutation events (lifecycle, diagnostics)
was published after the position it recorded: then the graph holds exactly what that analysis
wrote, and an update may write only what it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphlive.analysis.discover import Discovery
from graphlive.analysis.manifest import changed_files, structure_key
from graphlive.analysis_cache import Header
from graphlive.bus.connection import Client
from graphlive.bus.keys import GraphKeys
from graphlive.events import decode as decode_event

__all__ = [
    "ANALYSIS_FORMAT",
    "GraphRecord",
    "changed_since",
    "in_sync",
    "queue_history_reads",
    "read_record",
    "read_with_history",
    "record_with_history",
    "reset_reason",
]

#: Version of what the analysis puts in a graph (ids, node and edge kinds). Bump it when a
#: change makes a stored graph's content mean something else: graphs of another format start a
#: new epoch instead of being patched.
ANALYSIS_FORMAT = 1
#: Beyond this many events after a saved position, the saved analysis is treated as out of sync
#: without reading them.
_SYNC_SCAN_MAX = 20_000


@dataclass(frozen=True, slots=True)
class GraphRecord:
    """What a graph's meta hash says about it (``epoch == ""``: no such graph)."""

    epoch: str
    seq: int
    snapshot_seq: int
    root: str
    root_name: str
    analysis_format: int | None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def read_record(client: Client, graph: str) -> GraphRecord:
    return _record(client.hgetall(GraphKeys(graph).meta))


def _record(raw: Any) -> GraphRecord:
    meta = {_text(k): _text(v) for k, v in raw.items()}
    fmt = meta.get("analysis_format", "")
    return GraphRecord(
        epoch=meta.get("epoch", ""),
        seq=int(meta.get("seq") or 0),
        snapshot_seq=int(meta.get("snapshot_seq") or 0),
        root=meta.get("root", ""),
        root_name=meta.get("root_name", ""),
        analysis_format=int(fmt) if fmt.isdigit() else None,
    )


def reset_reason(record: GraphRecord, root: str, *, reset: bool) -> str | None:
    """Why a session analysing the folder with root digest ``root`` must start a new epoch of
    the graph (``None``: it continues the stored one). The text completes "new epoch: ..."."""
    if reset:
        return "a reset was requested"
    if not record.epoch:
        return "the graph is new"
    if not record.root or record.analysis_format is None:
        return "the stored graph records no analysis (written by an older graphlive or a tool)"
    if record.root != root:
        return f"the stored graph is the analysis of another folder ({record.root_name!r})"
    if record.analysis_format != ANALYSIS_FORMAT:
        return (
            f"the stored graph has analysis format {record.analysis_format}, "
            f"this graphlive writes format {ANALYSIS_FORMAT}"
        )
    return None


def in_sync(client: Client, graph: str, header: Header, record: GraphRecord) -> bool:
    """Whether the graph still holds exactly what the analysis saved with ``header`` wrote."""
    if header.epoch != record.epoch or header.seq > record.seq:
        return False
    if header.seq == record.seq:
        return True
    if record.seq - header.seq > _SYNC_SCAN_MAX:
        return False
    first = header.seq + 1
    entries: Any = client.xrange(GraphKeys(graph).events, f"{first}-0", f"{record.seq}-0")
    if len(entries) != record.seq - header.seq:
        return False  # trimmed away: cannot tell
    for _, fields in entries:
        event = decode_event(fields[b"e"] if b"e" in fields else fields["e"])
        if event.epoch != header.epoch or event.type.is_mutation:
            return False
    return True


def read_with_history(client: Client, graph: str) -> tuple[GraphRecord, bool]:
    """The graph's record, and whether Redis still holds what rebuilds the graph: a snapshot (or
    the epoch's start) and every event after it (a cheap check of the stream's first entry, no
    replay). One round trip (the keys share the graph's slot)."""
    pipe = client.pipeline(transaction=False)
    queue_history_reads(pipe, graph)
    return record_with_history(pipe.execute())


def queue_history_reads(pipe: Any, graph: str) -> None:
    """Queue on ``pipe`` what :func:`record_with_history` reads (for a caller that sends them
    with other commands)."""
    keys = GraphKeys(graph)
    pipe.hgetall(keys.meta)
    pipe.exists(keys.snapshot)
    pipe.xrange(keys.events, "-", "+", count=1)


def record_with_history(replies: Any) -> tuple[GraphRecord, bool]:
    """:func:`read_with_history`'s answer from the replies to :func:`queue_history_reads`."""
    raw, snapshot, first = replies
    record = _record(raw)
    base = record.snapshot_seq
    if base and not snapshot:
        return record, False
    if record.seq == base:
        return record, True
    if not first:
        return record, False
    return record, int(_text(first[0][0]).partition("-")[0]) <= base + 1


def changed_since(disc: Discovery, header: Header) -> set[str] | None:
    """What changed in the tree ``disc`` walked (:func:`~graphlive.analysis.discover.discover`
    of the root) since the analysis saved with ``header``: the files whose stamp or content
    differs, or that came or went (empty: the tree is exactly what it saw); ``None`` when
    discovery names things otherwise (a structure change)."""
    if structure_key(disc) != header.structure:
        return None
    return changed_files(header.stamps, disc, header.stamped_ns)
