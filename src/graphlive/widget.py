"""GraphView: the live code graph as an anywidget inside a notebook.

    from graphlive.widget import GraphView
    GraphView.for_graph("my-project")            # or GraphView(graph="my-project")

The front end (``static/graphview.js``, built from ``js/``) connects to the graphlive Jupyter
server extension over its authenticated WebSocket (docs/protocol.md), loads the graph's snapshot
and applies every later event as it arrives; the kernel is not involved in the data path, so a
busy kernel never delays the view. One WebSocket per page serves all views, and views of the same
graph share one model. See docs/widget.md for the indicators and their ``data-testid`` names.

Contract of the synced traits:

* ``graph``, ``server_url``, ``base_url``, ``since``, ``snapshot``, ``path``: what the view
  subscribes to (and re-analyses); changing any of them rebuilds the view.
* ``filters``, ``height``: applied in place.
* ``counts`` and ``status`` are written by the front end (about twice a second while it changes)
  and are only meaningful while a view is displayed; Python-side writes are overwritten.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

import anywidget
import traitlets

from graphlive.bus.keys import validate_graph_name

__all__ = ["GraphView"]

_STATIC = Path(__file__).parent / "static"

#: Event-type globs as the protocol's filters accept them (letters, digits, ``_``, ``*``, ``?``).
_GLOB = re.compile(r"[A-Za-z0-9_*?]{1,64}")
_MAX_FILTERS = 32


class _Named(Protocol):
    """Anything with a graph name, e.g. :class:`graphlive.live.LiveGraph`."""

    @property
    def name(self) -> str: ...


class GraphView(anywidget.AnyWidget):
    """A live view of a graphlive graph, for JupyterLab, Notebook 7 and other anywidget hosts.

    ``graph`` must be a valid graph name (``ValueError`` otherwise). The view finds the Jupyter
    server from the page it is displayed in; set ``server_url`` (absolute URL including the
    server's base_url) or ``base_url`` (a path on the page's origin) to point it elsewhere.
    A token in ``server_url`` (``?token=…``) is saved with the notebook like any trait value,
    so prefer the page's own login.
    """

    _esm = _STATIC / "graphview.js"
    _css = _STATIC / "graphview.css"

    graph = traitlets.Unicode("", help="Name of the graph to show.").tag(sync=True)
    server_url = traitlets.Unicode(
        "", help="Absolute URL of the Jupyter server (with its base_url); empty = this page's."
    ).tag(sync=True)
    base_url = traitlets.Unicode(
        "", help="The server's base_url on this page's origin; empty = from the page config."
    ).tag(sync=True)
    since = traitlets.Dict(
        default_value=None,
        allow_none=True,
        help='Start after this position {"epoch": str, "seq": int} instead of a snapshot.',
    ).tag(sync=True)
    snapshot = traitlets.Bool(
        True, help="Load the current graph first; False shows only events from now on."
    ).tag(sync=True)
    filters = traitlets.List(
        traitlets.Unicode(),
        help="Event-type globs (e.g. 'node_*') the view shows in its log and asks the server "
        "for; empty = all.",
    ).tag(sync=True)
    height = traitlets.Int(520, help="Height of the view in CSS pixels.").tag(sync=True)
    path = traitlets.Unicode(
        "",
        help="Directory, relative to the Jupyter server's root, that the Re-analyze button "
        "analyses; empty = the graph's last server-side analysis, else the root itself.",
    ).tag(sync=True)
    counts = traitlets.Dict(
        help="Written by the front end: nodes, edges, events received, epoch and seq."
    ).tag(sync=True)
    status = traitlets.Dict(
        help="Written by the front end: connection state, label, reason, analysis phase."
    ).tag(sync=True)

    def __init__(self, graph: str = "", **kwargs: Any) -> None:
        super().__init__(graph=graph, **kwargs)

    @classmethod
    def for_graph(cls, graph: str | _Named, **kwargs: Any) -> GraphView:
        """A view of ``graph`` (a name, or an object with a ``name`` such as a LiveGraph).

        Keyword arguments set the other traits (``height=800``, ``filters=["node_*"]``, …).
        Raises ``ValueError`` for an invalid graph name or trait value.
        """
        name = graph if isinstance(graph, str) else graph.name
        return cls(graph=name, **kwargs)

    def reanalyze(self) -> None:
        """Ask every displayed view to request a server-side re-analysis of the graph (the
        same as its Re-analyze button). Without a displayed view nothing happens."""
        self.send({"type": "reanalyze"})

    # ------------------------------------------------------------------ validation

    @traitlets.validate("graph")
    def _valid_graph(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        return value if value == "" else validate_graph_name(value)

    @traitlets.validate("since")
    def _valid_since(self, proposal: dict[str, Any]) -> dict[str, Any] | None:
        value: dict[str, Any] | None = proposal["value"]
        if value is None:
            return None
        epoch, seq = value.get("epoch"), value.get("seq")
        if (
            set(value) != {"epoch", "seq"}
            or not isinstance(epoch, str)
            or not isinstance(seq, int)
            or isinstance(seq, bool)
            or seq < 0
        ):
            raise ValueError(
                f'since must be {{"epoch": str, "seq": int >= 0}} or None, not {value!r}'
            )
        return {"epoch": epoch, "seq": seq}

    @traitlets.validate("filters")
    def _valid_filters(self, proposal: dict[str, Any]) -> list[str]:
        value: list[str] = list(proposal["value"])
        if len(value) > _MAX_FILTERS:
            raise ValueError(f"at most {_MAX_FILTERS} filters, got {len(value)}")
        for pattern in value:
            if not _GLOB.fullmatch(pattern):
                raise ValueError(
                    f"invalid event-type filter {pattern!r}: use letters, digits, '_', '*', '?'"
                )
        return value

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        value: int = proposal["value"]
        if not 120 <= value <= 10_000:
            raise ValueError(f"height must be between 120 and 10000 pixels, got {value}")
        return value
