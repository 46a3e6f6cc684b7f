"""Net effect of a run of graph events: what a batch must change in a graph database.

A sink applies several events in one database statement. Cypher runs each clause over all rows
before the next clause, so the *order* of events inside one statement cannot be kept (an
"add X, remove X, add X" run would come out wrong). Instead a batch is folded, in ``seq`` order,
into a :class:`ChangeSet` whose parts are disjoint and order-free:

* ``clear``: a ``graph_reset`` happened; delete everything first.
* ``removed_edges`` then ``removed_nodes``: delete (nodes with ``DETACH``).
* ``full_nodes``: upsert, replacing every property and the kind label.
* ``patched_nodes``: merge changed properties into an existing node (``None`` removes one).
* ``added_edges``: upsert by edge id.

Applying the parts in that order to the database state before the batch gives the state after
the batch (the tests check this against :class:`graphlive.graph.CodeGraph`). This relies on the
producer's contract that ``node_removed`` comes after the removal of every incident edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphlive.events import ChangeEvent, EventType

__all__ = ["ChangeSet", "fold"]


@dataclass
class ChangeSet:
    """Disjoint, order-free parts of a batch's effect (see the module docstring).

    Node values are in :meth:`graphlive.graph.Node.to_dict` form, edge values in
    :meth:`graphlive.graph.Edge.to_dict` form, keyed by node id / edge id.
    """

    clear: bool = False
    removed_edges: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed_nodes: set[str] = field(default_factory=set)
    full_nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    patched_nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    added_edges: dict[str, dict[str, Any]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """True when applying the set changes nothing (only non-mutation events were folded)."""
        return not (
            self.clear
            or self.removed_edges
            or self.removed_nodes
            or self.full_nodes
            or self.patched_nodes
            or self.added_edges
        )

    def add(self, event: ChangeEvent) -> None:
        """Fold one more event (events must come in ``seq`` order). Non-mutations are ignored."""
        t = event.type
        data = event.data
        if t is EventType.NODE_ADDED:
            node = dict(data["node"])
            nid = node["id"]
            self.full_nodes[nid] = node
            self.patched_nodes.pop(nid, None)
            # A node removed and re-added in one batch is replaced in place: its old edges were
            # removed by their own events, so nothing else of the old node survives.
            self.removed_nodes.discard(nid)
        elif t is EventType.NODE_UPDATED:
            self._update(data["id"], data["before"], data["after"])
        elif t is EventType.NODE_REMOVED:
            nid = data["node"]["id"]
            self.full_nodes.pop(nid, None)
            self.patched_nodes.pop(nid, None)
            self.removed_nodes.add(nid)
        elif t is EventType.EDGE_ADDED:
            edge = dict(data["edge"])
            self.removed_edges.pop(edge["id"], None)
            self.added_edges[edge["id"]] = edge
        elif t is EventType.EDGE_REMOVED:
            edge = dict(data["edge"])
            self.added_edges.pop(edge["id"], None)
            self.removed_edges[edge["id"]] = edge
        elif t is EventType.GRAPH_RESET:
            # Everything before the reset is void; what follows applies to an empty graph.
            self.removed_edges.clear()
            self.removed_nodes.clear()
            self.full_nodes.clear()
            self.patched_nodes.clear()
            self.added_edges.clear()
            self.clear = True

    def _update(self, nid: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        full = self.full_nodes.get(nid)
        if full is not None:
            for key in before:
                full.pop(key, None)
            full.update(after)
            return
        patch = self.patched_nodes.setdefault(nid, {})
        for key in before:
            patch[key] = None  # absent after the update unless ``after`` sets it again
        patch.update(after)


def fold(events: Iterable[ChangeEvent]) -> ChangeSet:
    """The :class:`ChangeSet` of ``events`` (in ``seq`` order)."""
    changes = ChangeSet()
    for event in events:
        changes.add(event)
    return changes
