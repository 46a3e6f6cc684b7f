"""GraphView: the live code graph as an anywidget inside a notebook.

    from graphlive.widget import GraphView
    GraphView.for_graph("my-project")            # or GraphView(graph="my-project")

The front end (``static/graphview.js``, built from ``js/``) connects to the graphlive Jupyter
server extension over its authenticated WebSocket (docs/protocol.md), loads the graph's snapshot
and applies every later event as it arrives; the kernel is not involved in the data path, so a
busy kernel never delays the view. One WebSocket per page serves all views, and views of the same
graph share one model. See docs/widget.md for the indicators and their ``data-testid`` names.

Contract of the synced traits:

* ``graph``, ``server_url``, ``base_url``, ``since``, ``snapshot``, ``path``, ``source_root``,
  ``transport``, ``collapse_above``, ``max_visible``: what the view subscribes to and how;
  changing any of them rebuilds the view.
* ``filters``, ``height``: applied in place.
* Exploration state — ``node_kinds``, ``edge_kinds``, ``languages``, ``path_prefixes``, ``focus``,
  ``selection``, ``color_by``, ``size_by``, ``expanded`` — is two-way: set it (or call
  :meth:`GraphView.select`, :meth:`~GraphView.ego`, :meth:`~GraphView.filter`, …) to drive every
  displayed view; the views write the user's clicks back, so ``view.selection`` reads the ids
  selected on screen.
* ``counts``, ``status`` and ``level`` are written by the front end (about twice a second while
  they change) and are only meaningful while a view is displayed.
* ``saved_graph`` is a bounded copy of the graph (see :mod:`graphlive.export`): the front end
  rewrites it as the graph changes, the kernel fills it where no front end runs, and a saved
  or exported notebook shows it with no kernel and no server.

Transports (``transport``): ``"auto"`` uses the graphlive server extension's WebSocket and falls
back to the kernel comm (:mod:`graphlive.comm_transport`: the kernel reads the Redis stream and
forwards the same frames) where no extension is reachable (VS Code, Colab, a plain kernel);
``"websocket"`` and ``"comm"`` force one; ``"static"`` shows only the saved copy.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

import anywidget
import traitlets

from graphlive.bus.connection import Client
from graphlive.bus.keys import validate_graph_name
from graphlive.wire import ErrorCode, EventFilter, error_frame

if TYPE_CHECKING:
    from graphlive.bus.reader import Position
    from graphlive.comm_transport import CommTransport
    from graphlive.graph import CodeGraph

__all__ = ["GraphView", "server_relative_path"]

log = logging.getLogger(__name__)

_STATIC = Path(__file__).parent / "static"

#: Most entries, and characters per entry, of the exploration-state lists (node kinds, path
#: prefixes, selection, expanded groups). These are view state, not protocol filters: the
#: ``filters`` trait is checked by the protocol's own rules (:class:`graphlive.wire.EventFilter`).
_MAX_LIST = 1000
_MAX_ITEM = 1000
TRANSPORTS = ("auto", "websocket", "comm", "static")
COLOR_MODES = ("kind", "module", "complexity", "language")
SIZE_MODES = ("kind", "degree", "lines")


def _jupyter_server_roots() -> list[Path]:
    """Root directories of the Jupyter servers running for this user (their runtime files)."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime = Path(jupyter_runtime_dir())
        files = list(runtime.glob("jpserver-*.json"))
    except OSError:
        return []
    roots: list[Path] = []
    for f in files:
        try:
            info = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        root = info.get("root_dir") if isinstance(info, dict) else None
        if isinstance(root, str) and root:
            roots.append(Path(root).expanduser().resolve())
    return roots


def server_relative_path(path: str, roots: Iterable[Path] | None = None) -> str:
    """``path`` relative to the root of the Jupyter server that contains it, as a POSIX path.

    A relative ``path`` is taken as relative to the server root already and returned as is. An
    absolute one is matched against the roots of the running servers (or ``roots``), the
    innermost containing root winning; without a match it is returned unchanged (absolute), and
    the front end tries the page's own ``serverRoot``.
    """
    if not path or not os.path.isabs(os.path.expanduser(path)):
        return path
    target = Path(path).expanduser().resolve()
    best: Path | None = None
    for root in _jupyter_server_roots() if roots is None else roots:
        contains = target == root or root in target.parents
        if contains and (best is None or len(root.parts) > len(best.parts)):
            best = root
    if best is None:
        return path
    rel = target.relative_to(best)
    return PurePosixPath(*rel.parts).as_posix() if rel.parts else ""


def _strings(value: Any, name: str) -> list[str]:
    items = list(value)
    if len(items) > _MAX_LIST or not all(isinstance(x, str) and len(x) <= _MAX_ITEM for x in items):
        raise ValueError(f"{name} must be a list of at most {_MAX_LIST} strings")
    return items


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
    source_root = traitlets.Unicode(
        "",
        help="The analysed root for jump-to-source links, relative to the Jupyter server's "
        "root when it can be found; by default derived from `path`.",
    ).tag(sync=True)
    transport = traitlets.Enum(
        TRANSPORTS,
        "auto",
        help="auto: the server extension's WebSocket, else the kernel comm; websocket/comm "
        "force one; static shows only the saved copy.",
    ).tag(sync=True)
    node_kinds = traitlets.List(
        traitlets.Unicode(), help="Node kinds shown (e.g. ['class', 'function']); empty = all."
    ).tag(sync=True)
    edge_kinds = traitlets.List(
        traitlets.Unicode(), help="Edge kinds shown (e.g. ['calls']); empty = all."
    ).tag(sync=True)
    languages = traitlets.List(
        traitlets.Unicode(),
        help="Languages shown (e.g. ['python', 'typescript']; nodes without one are python); "
        "empty = all.",
    ).tag(sync=True)
    path_prefixes = traitlets.List(
        traitlets.Unicode(),
        help="Show only elements whose file (relative to the analysed root) starts with one of "
        "these; empty = all.",
    ).tag(sync=True)
    focus = traitlets.Dict(
        default_value=None,
        allow_none=True,
        help='None (the whole graph), {"mode": "ego", "node": id, "depth": n} or '
        '{"mode": "path", "source": id, "target": id}.',
    ).tag(sync=True)
    selection = traitlets.List(
        traitlets.Unicode(), help="Selected node ids, most recent last (two-way)."
    ).tag(sync=True)
    color_by = traitlets.Enum(COLOR_MODES, "kind", help="Node colour encoding.").tag(sync=True)
    size_by = traitlets.Enum(SIZE_MODES, "kind", help="Node size encoding.").tag(sync=True)
    expanded = traitlets.List(
        traitlets.Unicode(),
        default_value=None,
        allow_none=True,
        help="Expanded package/module groups (directory keys end with '/'; ['*'] = all), or "
        "None for the automatic level.",
    ).tag(sync=True)
    collapse_above = traitlets.Int(
        300,
        help="Graphs with more elements than this open collapsed by package and module; the "
        "automatic level never draws more nodes than this (docs/widget.md).",
    ).tag(sync=True)
    max_visible = traitlets.Int(
        300, help="How many nodes the automatic collapsed level aims for at most."
    ).tag(sync=True)
    saved_graph = traitlets.Dict(
        help="A bounded copy of the graph for saved and exported notebooks (graphlive.export)."
    ).tag(sync=True)
    counts = traitlets.Dict(
        help="Written by the front end: nodes, edges, visible_nodes, visible_edges, events "
        "received, epoch and seq."
    ).tag(sync=True)
    status = traitlets.Dict(
        help="Written by the front end: connection state, label, reason, analysis phase, "
        "transport (websocket/comm/static) and source (live/saved/none)."
    ).tag(sync=True)
    level = traitlets.Dict(
        help="Written by the front end: collapse mode (auto/user), collapsed, expanded groups."
    ).tag(sync=True)

    def __init__(
        self,
        graph: str = "",
        *,
        redis_client: Client | None = None,
        redis_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._redis_client = redis_client
        self._redis_url = redis_url
        self._transport: CommTransport | None = None
        auto_root = "source_root" not in kwargs
        super().__init__(graph=graph, **kwargs)
        self._source_root_auto = auto_root
        if auto_root and self.path:
            self._path_changed({"new": self.path})
        self.on_msg(self._on_custom_msg)

    @classmethod
    def for_graph(cls, graph: str | _Named, *, save: bool = True, **kwargs: Any) -> GraphView:
        """A view of ``graph`` (a name, or an object with a ``name`` such as a LiveGraph).

        Keyword arguments set the other traits (``height=800``, ``filters=["node_*"]``, …).
        For a LiveGraph, the view's kernel comm fallback reads the same Redis. With ``save``
        (default) the view starts with a saved copy of the graph — from the LiveGraph, or for a
        name loaded from Redis (``redis_url=``/``redis_client=``, else ``GRAPHLIVE_REDIS_URL``,
        else the embedded server) — so the notebook shows it even if no front end ever renders
        the view live (e.g. executed by nbclient). A name Redis does not hold (yet) leaves the
        copy empty, and so does a Redis that cannot be reached (with a warning in the log); the
        view itself works as before. Raises ``ValueError`` for an invalid graph name or trait
        value.
        """
        if isinstance(graph, str):
            view = cls(graph=graph, **kwargs)
            if save:
                view._save_from_redis()
            return view
        bus = getattr(graph, "bus", None)
        if bus is not None and "redis_client" not in kwargs and "redis_url" not in kwargs:
            kwargs["redis_client"] = bus.client
        view = cls(graph=graph.name, **kwargs)
        code_graph = getattr(graph, "graph", None)
        if save and code_graph is not None and hasattr(code_graph, "to_dict"):
            view.save_snapshot(code_graph, getattr(graph, "position", None))
        return view

    def reanalyze(self) -> None:
        """Ask every displayed view to request a server-side re-analysis of the graph (the
        same as its Re-analyze button). Without a displayed view nothing happens."""
        self.send({"type": "reanalyze"})

    # ------------------------------------------------------------------ driving the view

    def select(self, *ids: str | Sequence[str]) -> None:
        """Select nodes by id (``view.select("pkg.mod.f")``, ``view.select(["a", "b"])``);
        no argument clears the selection. The last one is shown in the details panel."""
        flat: list[str] = []
        for item in ids:
            flat.extend([item] if isinstance(item, str) else list(item))
        self.selection = flat

    def reveal(self, node_id: str) -> None:
        """Select ``node_id``, expand the packages that hide it and centre it on screen."""
        self.selection = [node_id]
        self.send({"type": "reveal", "id": node_id})

    def ego(self, node_id: str, depth: int = 1) -> None:
        """Show only ``node_id`` and its neighbours within ``depth`` hops (1-6)."""
        if not 0 <= depth <= 6:
            raise ValueError(f"depth must be between 0 and 6, got {depth}")
        self.selection = [node_id]
        self.focus = {"mode": "ego", "node": node_id, "depth": depth}

    def show_path(self, source: str, target: str) -> None:
        """Show only a shortest path from ``source`` to ``target`` (following edge direction
        if possible, else ignoring it), over the edge kinds shown."""
        self.selection = [source, target]
        self.focus = {"mode": "path", "source": source, "target": target}

    def overview(self) -> None:
        """Leave the ego/path focus: show the whole (filtered) graph again."""
        self.set_trait("focus", None)

    def filter(
        self,
        *,
        node_kinds: Iterable[str] | None = None,
        edge_kinds: Iterable[str] | None = None,
        paths: Iterable[str] | None = None,
        languages: Iterable[str] | None = None,
    ) -> None:
        """Show only these node kinds, edge kinds, path prefixes and languages (None leaves one
        as it is, an empty list shows all)."""
        with self.hold_sync():
            if node_kinds is not None:
                self.node_kinds = list(node_kinds)
            if edge_kinds is not None:
                self.edge_kinds = list(edge_kinds)
            if languages is not None:
                self.languages = list(languages)
            if paths is not None:
                self.path_prefixes = list(paths)

    def expand(self, target: str) -> None:
        """Expand a collapsed package/module (group key such as ``"pkg/sub/"`` or
        ``"pkg/sub/mod.py"``), or everything that hides node id ``target``."""
        self.send({"type": "expand", "target": target})

    def collapse(self, group: str) -> None:
        """Collapse a package/module group into one node."""
        self.send({"type": "collapse", "target": group})

    def auto_level(self) -> None:
        """Back to the automatic collapse level (collapsed by package above ``collapse_above``)."""
        self.set_trait("expanded", None)
        self.send({"type": "auto_level"})

    def fit(self) -> None:
        """Fit the graph to the view."""
        self.send({"type": "fit"})

    # ------------------------------------------------------------------ saved copy

    def save_snapshot(
        self, graph: CodeGraph | None = None, position: Position | None = None
    ) -> None:
        """Keep a bounded copy of the graph in ``saved_graph`` (see graphlive.export.saved_copy).

        ``graph`` defaults to the graph as Redis holds it (snapshot + stream tail). Displayed
        views keep the copy up to date themselves; this is for kernels without a front end.
        """
        from graphlive.export import saved_copy, saved_copy_from_redis

        if graph is None:
            found = saved_copy_from_redis(self._redis(), self.graph, max_visible=self.max_visible)
            if found is not None:
                self.saved_graph = found
                return
            from graphlive.graph import CodeGraph

            graph, position = CodeGraph(self.graph), None  # Redis holds no such graph yet
        self.saved_graph = saved_copy(graph, position, max_visible=self.max_visible)

    def _save_from_redis(self) -> None:
        """Fill ``saved_graph`` from the graph Redis holds under this view's name, if any."""
        from graphlive.export import saved_copy_from_redis

        try:
            found = saved_copy_from_redis(self._redis(), self.graph, max_visible=self.max_visible)
        except Exception as exc:  # the live view does not need the copy: say so, go on
            log.warning(
                "graphlive: no saved copy of graph %r in this view (%s: %s)",
                self.graph,
                type(exc).__name__,
                exc,
            )
            return
        if found is None:
            log.info("graphlive: Redis holds no graph named %r yet: no saved copy", self.graph)
            return
        self.saved_graph = found

    def __repr__(self) -> str:
        # The text of the output: exporters read the graph's name from it (graphlive.export).
        return f"GraphView(graph={self.graph!r}, height={self.height})"

    # ------------------------------------------------------------------ comm fallback transport

    def _redis(self) -> Client:
        if self._redis_client is None:
            from graphlive.bus.connection import connect

            self._redis_client = connect(self._redis_url)
        return self._redis_client

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        from graphlive.comm_transport import CLIENT_MESSAGE, SERVER_FRAMES, CommTransport

        if not isinstance(content, Mapping) or content.get("type") != CLIENT_MESSAGE:
            return
        message = content.get("message")
        if not isinstance(message, Mapping):
            return
        try:
            if self._transport is None or self._transport.graph != self.graph:
                if self._transport is not None:
                    self._transport.close()
                self._transport = CommTransport(
                    lambda frames: self.send({"type": SERVER_FRAMES, "frames": frames}),
                    self._redis(),
                    self.graph,
                )
            self._transport.handle(message)
        except Exception as exc:  # the front end shows it; the kernel log keeps the trace
            log.warning("graphlive: comm transport failed: %s", exc, exc_info=True)
            error = error_frame(
                ErrorCode.UNAVAILABLE, f"{type(exc).__name__}: {exc}", graph=self.graph
            )
            self.send({"type": SERVER_FRAMES, "frames": [error]})

    def close(self) -> None:
        """Close the widget and stop its comm transport, if any."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        super().close()

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
        # The server (and the kernel comm) would refuse what the protocol does not accept:
        # refuse it here, with the same message, instead of showing an error in the view.
        value: list[str] = list(proposal["value"])
        try:
            EventFilter.parse({"types": value})
        except ValueError as exc:
            raise ValueError(f"invalid event-type filters: {exc}") from None
        return value

    @traitlets.observe("path")
    def _path_changed(self, change: dict[str, Any]) -> None:
        # ``source_root`` follows ``path`` until someone sets it explicitly.
        if getattr(self, "_source_root_auto", False):
            self._deriving_root = True
            try:
                self.source_root = server_relative_path(change["new"])
            finally:
                self._deriving_root = False

    @traitlets.validate("source_root")
    def _valid_source_root(self, proposal: dict[str, Any]) -> str:
        if not getattr(self, "_deriving_root", False) and hasattr(self, "_source_root_auto"):
            self._source_root_auto = False
        value: str = proposal["value"]
        return value

    @traitlets.validate("node_kinds", "edge_kinds", "languages", "path_prefixes", "selection")
    def _valid_lists(self, proposal: dict[str, Any]) -> list[str]:
        return _strings(proposal["value"], proposal["trait"].name)

    @traitlets.validate("expanded")
    def _valid_expanded(self, proposal: dict[str, Any]) -> list[str] | None:
        value = proposal["value"]
        return None if value is None else _strings(value, "expanded")

    @traitlets.validate("focus")
    def _valid_focus(self, proposal: dict[str, Any]) -> dict[str, Any] | None:
        value: dict[str, Any] | None = proposal["value"]
        if value is None:
            return None
        mode = value.get("mode")
        if mode == "ego" and isinstance(value.get("node"), str):
            depth = value.get("depth", 1)
            if isinstance(depth, int) and not isinstance(depth, bool) and 0 <= depth <= 6:
                return {"mode": "ego", "node": value["node"], "depth": depth}
        if (
            mode == "path"
            and isinstance(value.get("source"), str)
            and isinstance(value.get("target"), str)
        ):
            return {"mode": "path", "source": value["source"], "target": value["target"]}
        raise ValueError(
            'focus must be None, {"mode": "ego", "node": str, "depth": 0-6} or '
            f'{{"mode": "path", "source": str, "target": str}}, not {value!r}'
        )

    @traitlets.validate("collapse_above", "max_visible")
    def _valid_positive(self, proposal: dict[str, Any]) -> int:
        value: int = proposal["value"]
        if not 1 <= value <= 10_000_000:
            raise ValueError(
                f"{proposal['trait'].name} must be between 1 and 10000000, got {value}"
            )
        return value

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        value: int = proposal["value"]
        if not 120 <= value <= 10_000:
            raise ValueError(f"height must be between 120 and 10000 pixels, got {value}")
        return value
