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

    from graphlive.export import to_html
    html = to_html("analysis.ipynb")         # or a NotebookNode
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from graphlive.bus.reader import Position
from graphlive.graph import CodeGraph

__all__ = [
    "SAVED_VERSION",
    "SAVE_LIMITS",
    "GraphliveHTMLExporter",
    "saved_copy",
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
    content = graph.to_dict()
    nodes: list[dict[str, Any]] = content["nodes"]
    edges: list[dict[str, Any]] = content["edges"]
    base: dict[str, Any] = {
        "v": SAVED_VERSION,
        "graph": graph.name,
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


def _replace_outputs(nb: Any, states: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Swap each GraphView output for a placeholder the page mounts; returns the model ids."""
    used: list[str] = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get(_WIDGET_VIEW)
            model_id = view.get("model_id") if isinstance(view, Mapping) else None
            if not isinstance(model_id, str) or model_id not in states:
                continue
            index = len(used)
            used.append(model_id)
            height = int(states[model_id].get("height") or 520)
            placeholder = (
                f'<div class="graphlive-static" data-graphlive-state="graphlive-state-{index}" '
                f'style="min-height:{height}px"></div>'
            )
            output["data"] = {"text/html": placeholder, "text/plain": data.get("text/plain", "")}
    return used


def _page_additions(states: Mapping[str, Mapping[str, Any]], used: Iterable[str]) -> str:
    bundle = (_STATIC / "graphview.js").read_text(encoding="utf-8")
    css = (_STATIC / "graphview.css").read_text(encoding="utf-8")
    parts = [f"<style>{css}</style>"]
    parts.append(
        f'<script type="application/json" id="graphlive-bundle">{_script_json(bundle)}</script>'
    )
    for index, model_id in enumerate(used):
        parts.append(
            f'<script type="application/json" id="graphlive-state-{index}">'
            f"{_script_json(states[model_id])}</script>"
        )
    parts.append(_BOOT)
    return "\n".join(parts)


class GraphliveHTMLExporter(HTMLExporter):
    """nbconvert's HTML export with GraphView outputs rendered from their saved copies, and
    nothing loaded from a CDN (no RequireJS, no widget manager, no MathJax).

    Register it as nbconvert exporter ``graphlive`` (entry point ``nbconvert.exporters``) to use
    ``jupyter nbconvert --to graphlive notebook.ipynb``.
    """

    export_from_notebook = "HTML (graphlive, offline)"

    def from_notebook_node(  # type: ignore[override]
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        nb = copy.deepcopy(nb)
        states = _graphview_states(nb)
        used = _replace_outputs(nb, states)
        # The widget state is what the CDN widget manager would need; the graphs it holds are
        # inlined now, so drop it (and with it nbconvert's loader of that manager).
        nb.get("metadata", {}).pop("widgets", None)
        body, res = super().from_notebook_node(nb, resources, **kw)
        body = _strip_cdn_scripts(body)
        if used:
            body = body.replace("</body>", _page_additions(states, used) + "\n</body>", 1)
        return body, res


def _strip_cdn_scripts(page: str) -> str:
    """Remove <script src="http…"> elements: the page must load nothing from the network."""
    return re.sub(
        r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", page, flags=re.IGNORECASE
    )


def to_html(notebook: str | Path | Any) -> str:
    """A self-contained HTML page of ``notebook`` (a path or a ``nbformat`` NotebookNode).

    GraphView outputs are rendered from the saved copies in the notebook's widget state;
    nothing is fetched from the network when the page is opened.
    """
    if isinstance(notebook, (str, Path)):
        nb = nbformat.reads(Path(notebook).read_text(encoding="utf-8"), as_version=4)  # type: ignore[no-untyped-call]
    else:
        nb = notebook
    body, _ = GraphliveHTMLExporter().from_notebook_node(nb)  # type: ignore[no-untyped-call]
    return body
