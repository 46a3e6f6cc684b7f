"""Server-side event filters of the filtered WebSocket endpoint.

A filter has three independent parts; an empty part means "no restriction":

* ``types`` — glob patterns (``fnmatch``, case-sensitive) over event type names;
* ``kinds`` — node kinds restrict node events, edge kinds restrict edge events (the two name
  sets are disjoint, so one list holds both; listing only node kinds leaves edges unrestricted);
* ``paths`` — prefixes of the ``file`` of a node or edge (``data.file`` for diagnostics).

``graph_reset`` and the ``analysis_*`` lifecycle events always pass ``kinds`` and ``paths``.
``node_updated`` events are judged on the node's ``kind`` and ``file`` after the update (both
carried by every update). So an update that moves a node out of the filter's paths is not sent:
the client keeps the node as it was. Updates in streams written before graphlive carried those
fields are judged on the changed fields and pass otherwise.

A snapshot is filtered as the ``node_added``/``edge_added`` events that would rebuild it.

Filters are immutable and hashable: sessions with equal filters share encoded frames.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphlive.events import ChangeEvent, EventType
from graphlive.graph import EdgeKind, NodeKind

__all__ = ["MAX_FILTER_ENTRIES", "MAX_FILTER_ENTRY_CHARS", "EventFilter"]

#: Longest accepted list in a filter.
MAX_FILTER_ENTRIES = 64
#: Longest accepted pattern, kind or path prefix.
MAX_FILTER_ENTRY_CHARS = 256

_NODE_KINDS = frozenset(k.value for k in NodeKind)
_EDGE_KINDS = frozenset(k.value for k in EdgeKind)
_ALL_TYPES = frozenset(EventType)
_NODE_EVENTS = frozenset({EventType.NODE_ADDED, EventType.NODE_REMOVED, EventType.NODE_UPDATED})
_EDGE_EVENTS = frozenset({EventType.EDGE_ADDED, EventType.EDGE_REMOVED})


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events of a graph a subscription receives. Build with :meth:`parse`."""

    types: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    @staticmethod
    def parse(value: object) -> EventFilter:
        """Validate a client's ``filters`` object. Raises ``ValueError`` naming the problem."""
        if value is None:
            return EventFilter()
        if not isinstance(value, Mapping):
            raise ValueError("'filters' must be an object with 'types', 'kinds', 'paths' lists")
        unknown = set(value) - {"types", "kinds", "paths"}
        if unknown:
            raise ValueError(f"unknown filter field(s): {', '.join(sorted(map(str, unknown)))}")
        types = _string_list(value, "types")
        for pattern in types:
            if not any(fnmatch.fnmatchcase(t.value, pattern) for t in EventType):
                raise ValueError(f"type pattern {pattern!r} matches no event type")
        kinds = _string_list(value, "kinds")
        for kind in kinds:
            if kind not in _NODE_KINDS and kind not in _EDGE_KINDS:
                raise ValueError(f"unknown node or edge kind {kind!r}")
        paths = _string_list(value, "paths")
        return EventFilter(
            types=tuple(sorted(set(types))),
            kinds=tuple(sorted(set(kinds))),
            paths=tuple(sorted(set(paths))),
        )

    @property
    def passes_everything(self) -> bool:
        return not (self.types or self.kinds or self.paths)

    def to_json(self) -> dict[str, list[str]]:
        return {"types": list(self.types), "kinds": list(self.kinds), "paths": list(self.paths)}

    def matches(self, event: ChangeEvent) -> bool:
        """True if ``event`` passes all three parts."""
        return _compiled(self).matches(event)

    def select(self, events: Iterable[ChangeEvent]) -> list[ChangeEvent]:
        """The events that pass, in order."""
        if self.passes_everything:
            return list(events)
        compiled = _compiled(self)
        return [e for e in events if compiled.matches(e)]

    def keeps_node(self, node: Mapping[str, Any]) -> bool:
        """Whether a snapshot node (``Node.to_dict`` form) passes, judged as its ``node_added``."""
        c = _compiled(self)
        return (
            EventType.NODE_ADDED in c.types
            and c.kind_ok(node.get("kind"), c.node_kinds)
            and c.path_ok(node.get("file"))
        )

    def keeps_edge(self, edge: Mapping[str, Any]) -> bool:
        """Whether a snapshot edge (``Edge.to_dict`` form) passes, judged as its ``edge_added``."""
        c = _compiled(self)
        return (
            EventType.EDGE_ADDED in c.types
            and c.kind_ok(edge.get("kind"), c.edge_kinds)
            and c.path_ok(edge.get("file"))
        )


def _string_list(value: Mapping[str, Any], name: str) -> list[str]:
    items = value.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError(f"filter {name!r} must be a list of strings")
    if len(items) > MAX_FILTER_ENTRIES:
        raise ValueError(f"filter {name!r} has more than {MAX_FILTER_ENTRIES} entries")
    for item in items:
        if not isinstance(item, str) or not item or len(item) > MAX_FILTER_ENTRY_CHARS:
            raise ValueError(
                f"filter {name!r} entries must be non-empty strings of at most "
                f"{MAX_FILTER_ENTRY_CHARS} characters"
            )
    return items


class _Compiled:
    """A filter turned into set lookups (built once per distinct filter)."""

    __slots__ = ("edge_kinds", "node_kinds", "paths", "types")

    def __init__(self, f: EventFilter) -> None:
        self.types = (
            frozenset(t for t in EventType if any(fnmatch.fnmatchcase(t.value, p) for p in f.types))
            if f.types
            else _ALL_TYPES
        )
        self.node_kinds = frozenset(k for k in f.kinds if k in _NODE_KINDS)
        self.edge_kinds = frozenset(k for k in f.kinds if k in _EDGE_KINDS)
        self.paths = f.paths

    @staticmethod
    def kind_ok(kind: object, allowed: frozenset[str]) -> bool:
        return not allowed or kind in allowed

    def path_ok(self, file: object) -> bool:
        if not self.paths:
            return True
        return isinstance(file, str) and file.startswith(self.paths)

    def matches(self, event: ChangeEvent) -> bool:
        t = event.type
        if t not in self.types:
            return False
        data = event.data
        if t in _NODE_EVENTS:
            if t is EventType.NODE_UPDATED:
                if "kind" in data:  # the node's kind and file as they are after the update
                    return self.kind_ok(data["kind"], self.node_kinds) and self.path_ok(
                        data.get("file")
                    )
                # Events written before updates carried them: judge the changed fields only.
                after = data.get("after")
                if not isinstance(after, Mapping):
                    return True
                kind_ok = "kind" not in after or self.kind_ok(after["kind"], self.node_kinds)
                return kind_ok and ("file" not in after or self.path_ok(after["file"]))
            node = data.get("node")
            if not isinstance(node, Mapping):
                return True
            return self.kind_ok(node.get("kind"), self.node_kinds) and self.path_ok(
                node.get("file")
            )
        if t in _EDGE_EVENTS:
            edge = data.get("edge")
            if not isinstance(edge, Mapping):
                return True
            return self.kind_ok(edge.get("kind"), self.edge_kinds) and self.path_ok(
                edge.get("file")
            )
        if t is EventType.DIAGNOSTIC and self.paths:
            return self.path_ok(data.get("file"))
        return True


_CACHE: dict[EventFilter, _Compiled] = {}


def _compiled(f: EventFilter) -> _Compiled:
    compiled = _CACHE.get(f)
    if compiled is None:
        if len(_CACHE) > 1024:  # bounded: filters come from clients
            _CACHE.clear()
        compiled = _CACHE[f] = _Compiled(f)
    return compiled
