"""Notebooks that show their graphs anywhere: bounded saved copies and self-contained HTML.

A :class:`~graphlive.widget.GraphView` keeps a bounded copy of its graph in its ``saved_graph``
trait (the front end rewrites it as the graph changes; the kernel fills it when there is no
front end, e.g. while nbclient executes a notebook). A notebook saved with its widget state
therefore carries a picture of every graph it shows.

nbconvert's HTML export loads the widget manager and RequireJS from a CDN, which air-gapped
machines do not have. :func:`to_html` (also ``GraphliveHTMLExporter``, nbconvert's
``--to graphlive``) renders each GraphView output from its saved copy instead: the widget
bundle and the copies are inlined into the page, no script is loaded from anywhere, and the
graph is explorable (search, filters, details, collapse) with no kernel and no server.

Where a view has no saved copy — the notebook was saved without widget state (JupyterLab's
default) or the state holds an empty ``saved_graph`` — the exporter loads the graph by name from
Redis at export time: the name comes from the widget state, else from the output's text
(``GraphView(graph='name', …)``), else from a literal ``GraphView.for_graph("name", …)`` /
``GraphView("name")`` call in the cell. A view that cannot be filled is replaced by a visible
notice and reported (:func:`export_html` returns the reasons; the exporter logs them).

    from graphlive.export import to_html
    html = to_html("analysis.ipynb")         # or a NotebookNode
"""

from __future__ import annotations

import ast
import copy
import html
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import traitlets
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from graphlive.bus.connection import Client
from graphlive.bus.reader import Position
from graphlive.graph import CodeGraph

if TYPE_CHECKING:
    pass

__all__ = [
    "SAVED_VERSION",
    "SAVE_LIMITS",
    "GraphliveHTMLExporter",
    "export_html",
    "saved_copy",
    "saved_copy_from_redis",
    "to_html",
]

#: Format version of a saved copy (the front end's js/src/explore/saved.ts reads the same).
SAVED_VERSION = 1
#: A graph up to this size is saved whole; bigger ones as their collapsed package level.
SAVE_LIMITS = {"nodes": 5_000, "edges": 20_000}
_DOC_CHARS = 200
_KEEP = ("id", "kind", "name", "file", "line", "end_line", "language", "doc", "complexity", "loc")
_EXTERNAL = "⟨external⟩"
_OTHER = "⟨other⟩"
_STATIC = Path(__file__).parent / "static"
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


# ---------------------------------------------------------------------- saved copies


def _trim(node: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _KEEP:
        value = node.get(key)
        if value is None:
            continue
        if key == "doc" and isinstance(value, str) and len(value) > _DOC_CHARS:
            value = value[: _DOC_CHARS - 1] + "…"
        out[key] = value
    return out


def _chain(node: Mapping[str, Any]) -> list[str]:
    """Group keys of a node, outermost first (the rules of js/src/explore/grouping.ts)."""
    file = node.get("file")
    if isinstance(file, str) and file.strip("./"):
        parts = [p for p in file.lstrip("./").split("/") if p]
        chain: list[str] = []
        prefix = ""
        for part in parts[:-1]:
            prefix += part + "/"
            chain.append(prefix)
        chain.append(prefix + parts[-1])
        return chain
    top = _EXTERNAL if node.get("kind") == "external" else _OTHER
    return [top, f"{top}/{str(node['id']).split('.', 1)[0]}"]


def _group_kind(group: str) -> str:
    if group.startswith((_EXTERNAL, _OTHER)):
        return "external"
    return "package" if group.endswith("/") else "module"


def _group_label(group: str) -> str:
    trimmed = group.rstrip("/")
    last = trimmed.rsplit("/", 1)[-1]
    return last + "/" if group.endswith("/") else last


def saved_copy(
    graph: CodeGraph, position: Position | None = None, *, max_visible: int = 400
) -> dict[str, Any]:
    """A bounded copy of ``graph`` in the format of the ``saved_graph`` trait.

    Whole when it has at most :data:`SAVE_LIMITS` nodes and edges; otherwise collapsed by
    package: each node is folded into its group (directory, file, external package) at the
    deepest level with at most ``max_visible`` groups, and edges between groups are bundled
    into one per ordered pair. No positions: the view lays the copy out when it shows it.
    """
    return _copy_of_content(graph.to_dict(), graph.name, position, max_visible)


def _copy_of_content(
    content: Mapping[str, Any], name: str, position: Position | None, max_visible: int
) -> dict[str, Any]:
    """:func:`saved_copy` of a graph's content (``CodeGraph.to_dict()``, a snapshot's)."""
    nodes: list[dict[str, Any]] = content["nodes"]
    edges: list[dict[str, Any]] = content["edges"]
    base: dict[str, Any] = {
        "v": SAVED_VERSION,
        "graph": name,
        "epoch": position.epoch if position and position.epoch else None,
        "seq": position.seq if position and position.epoch else None,
        "positions": {},
        "total": {"nodes": len(nodes), "edges": len(edges)},
        "truncated": False,
    }
    if len(nodes) <= SAVE_LIMITS["nodes"] and len(edges) <= SAVE_LIMITS["edges"]:
        return base | {
            "level": "full",
            "nodes": [_trim(n) for n in nodes],
            "edges": [
                {k: e[k] for k in ("id", "kind", "source", "target", "line") if k in e}
                for e in edges
            ],
        }
    chains = {n["id"]: _chain(n) for n in nodes}
    depth = 1
    deepest = max((len(c) for c in chains.values()), default=1)
    for d in range(1, deepest + 1):
        if len({c[min(d, len(c)) - 1] for c in chains.values()}) > max_visible:
            break
        depth = d
    group_of = {i: c[min(depth, len(c)) - 1] for i, c in chains.items()}
    members = Counter(group_of.values())
    bundles: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for e in edges:
        s, t = group_of.get(e["source"]), group_of.get(e["target"])
        if s is not None and t is not None and s != t:
            bundles[(s, t)][e["kind"]] += 1
    out_nodes: list[dict[str, Any]] = []
    for group, count in sorted(members.items()):
        kind = _group_kind(group)
        node: dict[str, Any] = {
            "id": group,
            "kind": kind,
            "name": _group_label(group),
            "extra": {"members": count},
        }
        if kind != "external":
            node["file"] = group
        out_nodes.append(node)
    out_edges = []
    for (s, t), kinds in sorted(bundles.items()):
        # The most frequent kind; ties to the alphabetically first, as the front end does.
        kind = min(kinds, key=lambda k: (-kinds[k], k))
        out_edges.append(
            {"id": f"{kind}:{s}->{t}@0", "kind": kind, "source": s, "target": t, "line": 0}
        )
    return base | {
        "level": "collapsed",
        "nodes": out_nodes[: SAVE_LIMITS["nodes"]],
        "edges": out_edges[: SAVE_LIMITS["edges"]],
        "truncated": len(out_nodes) > SAVE_LIMITS["nodes"] or len(out_edges) > SAVE_LIMITS["edges"],
    }


def saved_copy_from_redis(
    client: Client, graph: str, *, max_visible: int = 400
) -> dict[str, Any] | None:
    """:func:`saved_copy` of ``graph`` as Redis holds it (snapshot + stream tail), or None when
    Redis holds no graph of that name. Redis errors propagate.

    When no event follows the snapshot (the usual state after an analysis), the copy is made
    from the snapshot's content directly: rebuilding a CodeGraph with its indexes is most of the
    cost of loading a large graph (benchmarks/bench_saved_copy.py).
    """
    from graphlive.bus.keys import GraphKeys
    from graphlive.bus.snapshot import load_graph, read_snapshot

    keys = GraphKeys(graph)
    if not client.exists(keys.meta):
        return None
    snap = read_snapshot(client, graph)
    if snap is not None:
        reply: Any = client.hmget(keys.meta, ["epoch", "seq"])
        epoch, seq = (x.decode() if isinstance(x, bytes) else x for x in reply)
        if epoch == snap.position.epoch and seq is not None and int(seq) == snap.position.seq:
            return _copy_of_content(snap.content, graph, snap.position, max_visible)
    code_graph, position = load_graph(client, graph)
    return saved_copy(code_graph, position, max_visible=max_visible)


def has_saved_copy(value: object) -> bool:
    """Whether ``value`` (a ``saved_graph`` trait value) is a saved copy, not an empty dict."""
    return isinstance(value, Mapping) and value.get("v") == SAVED_VERSION and "nodes" in value


# ---------------------------------------------------------------------- static HTML

#: Widget state keys the static view needs (everything else, e.g. the 250 KB ``_esm``, is not).
_STATE_KEYS = (
    "graph",
    "height",
    "path",
    "source_root",
    "filters",
    "node_kinds",
    "edge_kinds",
    "languages",
    "path_prefixes",
    "focus",
    "selection",
    "color_by",
    "size_by",
    "expanded",
    "collapse_above",
    "max_visible",
    "saved_graph",
)

_BOOT = """<script type="module">
const text = JSON.parse(document.getElementById("graphlive-bundle").textContent);
const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
const { mountStatic } = await import(url);
for (const el of document.querySelectorAll("[data-graphlive-state]")) {
  const state = JSON.parse(document.getElementById(el.dataset.graphliveState).textContent);
  try { mountStatic(el, state); } catch (err) { el.textContent = "graphlive: " + err; }
}
</script>"""


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element (no "</script>", no HTML comment openers)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _is_graphview(state: Mapping[str, Any]) -> bool:
    inner = state.get("state", {})
    return isinstance(inner, Mapping) and "saved_graph" in inner and "graph" in inner


def _graphview_states(nb: Any) -> dict[str, dict[str, Any]]:
    widgets = nb.get("metadata", {}).get("widgets", {}).get(_WIDGET_STATE, {})
    states = widgets.get("state", {}) if isinstance(widgets, Mapping) else {}
    return {
        model_id: {k: s["state"][k] for k in _STATE_KEYS if k in s["state"]}
        for model_id, s in states.items()
        if isinstance(s, Mapping) and _is_graphview(s)
    }


#: The text of a GraphView output (``repr``): ``GraphView(graph='name', height=640)``.
_REPR = re.compile(r"GraphView\(graph='([A-Za-z0-9_.\-]{1,128})'(?:, height=(\d{3,5}))?")
#: Traits a literal keyword of a GraphView call in a cell's source may set, with their types.
_LITERAL_TRAITS: dict[str, type] = {
    "height": int,
    "collapse_above": int,
    "max_visible": int,
    "path": str,
    "source_root": str,
    "color_by": str,
    "size_by": str,
    "filters": list,
    "node_kinds": list,
    "edge_kinds": list,
    "languages": list,
    "path_prefixes": list,
}


def _names_graphview(func: ast.expr) -> bool:
    """``GraphView``, ``x.GraphView``, ``GraphView.for_graph`` or ``x.GraphView.for_graph``."""
    if isinstance(func, ast.Name):
        return func.id == "GraphView"
    if isinstance(func, ast.Attribute):
        if func.attr == "GraphView":
            return True
        return func.attr == "for_graph" and _names_graphview(func.value)
    return False


def _calls_in_source(source: str) -> list[dict[str, Any]]:
    """What each ``GraphView(...)`` / ``GraphView.for_graph(...)`` call of a cell says literally,
    in source order: ``graph`` when the name is a string literal, and literal trait keywords."""
    # IPython magics and shell escapes are not Python: blank them, keeping line numbers.
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _names_graphview(n.func)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    found: list[dict[str, Any]] = []
    for call in calls:
        keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}
        target = call.args[0] if call.args else keywords.get("graph")
        state: dict[str, Any] = {}
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            state["graph"] = target.value
        for key, kind in _LITERAL_TRAITS.items():
            if key not in keywords:
                continue
            try:
                value = ast.literal_eval(keywords[key])
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(value, kind) and not isinstance(value, bool):
                state[key] = value
        found.append(state)
    return found


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""


class _View:
    """One GraphView output of the notebook and the state the page mounts it with."""

    __slots__ = ("cell", "output", "problem", "state")

    def __init__(self, output: Any, cell: int, state: dict[str, Any]) -> None:
        self.output, self.cell, self.state = output, cell, state
        self.problem: str | None = None


def _find_views(nb: Any, states: Mapping[str, dict[str, Any]]) -> list[_View]:
    """Every GraphView output: with its widget state, else with what its text and its cell's
    source say (another widget's output is left alone)."""
    views: list[_View] = []
    for number, cell in enumerate(nb.get("cells", []), 1):
        stateless: list[tuple[Any, str]] = []
        calls: list[dict[str, Any]] | None = None
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get(_WIDGET_VIEW)
            model_id = view.get("model_id") if isinstance(view, Mapping) else None
            if not isinstance(model_id, str):
                continue
            if model_id in states:
                # Outputs of one model share its state (the page inlines it once).
                views.append(_View(output, number, states[model_id]))
                continue
            text = _text(data.get("text/plain"))
            if calls is None:
                calls = _calls_in_source(_text(cell.get("source", "")))
            if ("GraphView" in text) if text else bool(calls):
                stateless.append((output, text))
        if not stateless:
            continue
        calls = calls or []
        named = {c["graph"] for c in calls if "graph" in c}
        for index, (output, text) in enumerate(stateless):
            if len(calls) == len(stateless):
                state = dict(calls[index])
            elif len(named) == 1:
                state = next(dict(c) for c in calls if "graph" in c)
            else:
                state = {}
            match = _REPR.search(text)
            if match:
                state["graph"] = match[1]
                if match[2]:
                    state["height"] = int(match[2])
            views.append(_View(output, number, state | {"saved_graph": {}}))
    return views


class _RedisCopies:
    """Saved copies loaded by graph name from Redis at export time, each graph once."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.where = "Redis"
        self._client: Client | None = None
        self._unreachable: str | None = None
        self._cache: dict[tuple[str, int], dict[str, Any] | str] = {}

    def get(self, graph: str, max_visible: int) -> dict[str, Any] | str:
        """The copy, or why there is none."""
        key = (graph, max_visible)
        if key not in self._cache:
            self._cache[key] = self._load(graph, max_visible)
        return self._cache[key]

    def _load(self, graph: str, max_visible: int) -> dict[str, Any] | str:
        client = self._connect()
        if client is None:
            assert self._unreachable is not None
            return self._unreachable
        try:
            found = saved_copy_from_redis(client, graph, max_visible=max_visible)
        except Exception as exc:  # reported in the page and by the exporter
            return f"it could not be loaded from {self.where} ({type(exc).__name__}: {exc})"
        if found is None:
            return f"{self.where} holds no graph named {graph!r}"
        return found

    def _connect(self) -> Client | None:
        if self._client is not None or self._unreachable is not None:
            return self._client
        from graphlive.bus.connection import connect, redact, resolve_url

        try:
            url = resolve_url(self.url)
            self.where = f"Redis at {redact(url)}"
            client = connect(url)
            client.ping()
        except Exception as exc:  # no Redis: every view that needs it says so
            self._unreachable = (
                f"{self.where} could not be reached to load it ({type(exc).__name__}: {exc})"
            )
            return None
        self._client = client
        return client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _default_max_visible() -> int:
    """GraphView's default ``max_visible``: a view of a notebook without widget state has it."""
    from graphlive.widget import GraphView

    default: int = GraphView.class_traits()["max_visible"].default_value
    return default


def _fill(views: list[_View], copies: _RedisCopies | None) -> None:
    """Give every view without a saved copy one from Redis, or the reason it has none."""
    for view in views:
        if has_saved_copy(view.state.get("saved_graph")):
            continue
        graph = view.state.get("graph")
        where = f"cell {view.cell}"
        if not isinstance(graph, str) or not graph:
            view.problem = (
                f"{where}: a GraphView output has no saved copy of its graph and does not name "
                'it (write GraphView.for_graph("name", ...) in the cell, or save the notebook '
                "with its widget state)"
            )
            continue
        if copies is None:
            reason = "loading graphs from Redis is switched off"
        else:
            max_visible = view.state.get("max_visible")
            if not isinstance(max_visible, int) or isinstance(max_visible, bool):
                max_visible = _default_max_visible()
            found = copies.get(graph, max_visible)
            if isinstance(found, dict):
                view.state["saved_graph"] = found
                continue
            reason = found
        view.problem = f"{where}: the view of graph {graph!r} has no saved copy, and {reason}"


def _replace_outputs(views: list[_View]) -> list[dict[str, Any]]:
    """Swap each GraphView output for a placeholder the page mounts, or for a notice saying why
    it shows nothing; returns the states of the placeholders."""
    used: list[dict[str, Any]] = []
    index_of: dict[int, int] = {}
    for view in views:
        text = view.output.get("data", {}).get("text/plain", "")
        if view.problem is not None:
            notice = (
                '<div class="graphlive-missing" data-testid="gl-export-missing" '
                'style="padding:8px 12px;border:1px solid #c62828;color:#b71c1c;'
                f'background:#fff5f5">graphlive: {html.escape(view.problem)}</div>'
            )
            view.output["data"] = {"text/html": notice, "text/plain": text}
            continue
        if id(view.state) not in index_of:
            index_of[id(view.state)] = len(used)
            used.append(view.state)
        index = index_of[id(view.state)]
        height = view.state.get("height")
        height = height if isinstance(height, int) and 120 <= height <= 10_000 else 520
        placeholder = (
            f'<div class="graphlive-static" data-graphlive-state="graphlive-state-{index}" '
            f'style="min-height:{height}px"></div>'
        )
        view.output["data"] = {"text/html": placeholder, "text/plain": text}
    return used


def _page_additions(used: Iterable[Mapping[str, Any]]) -> str:
    bundle = (_STATIC / "graphview.js").read_text(encoding="utf-8")
    css = (_STATIC / "graphview.css").read_text(encoding="utf-8")
    parts = [f"<style>{css}</style>"]
    parts.append(
        f'<script type="application/json" id="graphlive-bundle">{_script_json(bundle)}</script>'
    )
    for index, state in enumerate(used):
        parts.append(
            f'<script type="application/json" id="graphlive-state-{index}">'
            f"{_script_json(state)}</script>"
        )
    parts.append(_BOOT)
    return "\n".join(parts)


class GraphliveHTMLExporter(HTMLExporter):
    """nbconvert's HTML export with GraphView outputs rendered from their saved copies, and
    nothing loaded from a CDN (no RequireJS, no widget manager, no MathJax).

    A view without a saved copy in the notebook is filled from Redis at export time (its graph
    by name; see the module docstring); one that cannot be filled becomes a visible notice, and
    the reason is logged and kept in :attr:`problems`.

    Register it as nbconvert exporter ``graphlive`` (entry point ``nbconvert.exporters``) to use
    ``jupyter nbconvert --to graphlive notebook.ipynb``.
    """

    export_from_notebook = "HTML (graphlive, offline)"

    redis_url = traitlets.Unicode(
        None,
        allow_none=True,
        help="Redis to load graphs without a saved copy from; default: GRAPHLIVE_REDIS_URL, "
        "else the embedded server.",
    ).tag(config=True)
    load_from_redis = traitlets.Bool(
        True, help="Load graphs of views without a saved copy from Redis at export time."
    ).tag(config=True)

    #: Why views of the last exported notebook show no graph (one line each).
    problems: list[str]

    def from_notebook_node(  # type: ignore[override]
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        nb = copy.deepcopy(nb)
        views = _find_views(nb, _graphview_states(nb))
        copies = _RedisCopies(self.redis_url) if self.load_from_redis else None
        try:
            _fill(views, copies)
        finally:
            if copies is not None:
                copies.close()
        self.problems = [v.problem for v in views if v.problem is not None]
        for problem in self.problems:
            self.log.warning("graphlive: %s", problem)
        used = _replace_outputs(views)
        # The widget state is what the CDN widget manager would need; the graphs it holds are
        # inlined now, so drop it (and with it nbconvert's loader of that manager).
        nb.get("metadata", {}).pop("widgets", None)
        body, res = super().from_notebook_node(nb, resources, **kw)
        body = _strip_cdn_scripts(body)
        if used:
            body = body.replace("</body>", _page_additions(used) + "\n</body>", 1)
        return body, res


def _strip_cdn_scripts(page: str) -> str:
    """Remove <script src="http…"> elements: the page must load nothing from the network."""
    return re.sub(
        r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", page, flags=re.IGNORECASE
    )


def export_html(
    notebook: str | Path | Any, *, redis_url: str | None = None
) -> tuple[str, list[str]]:
    """A self-contained HTML page of ``notebook`` (a path or a ``nbformat`` NotebookNode), and
    why any of its views shows no graph (empty when every view has one).

    GraphView outputs are rendered from the saved copies in the notebook's widget state, else
    from their graphs loaded by name from Redis (``redis_url``, else ``GRAPHLIVE_REDIS_URL``,
    else the embedded server); nothing is fetched from the network when the page is opened.
    """
    if isinstance(notebook, (str, Path)):
        nb = nbformat.reads(Path(notebook).read_text(encoding="utf-8"), as_version=4)  # type: ignore[no-untyped-call]
    else:
        nb = notebook
    exporter = GraphliveHTMLExporter(redis_url=redis_url)  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(nb)
    return body, exporter.problems


def to_html(notebook: str | Path | Any, *, redis_url: str | None = None) -> str:
    """The page of :func:`export_html` (views it cannot fill show a notice in the page)."""
    return export_html(notebook, redis_url=redis_url)[0]
