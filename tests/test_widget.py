"""GraphView (Python side): bundled assets, synced traits and their validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import traitlets

from graphlive.widget import GraphView
from graphlive.wire import MAX_FILTER_ENTRIES, MAX_FILTER_ENTRY_CHARS

STATIC = Path(__file__).resolve().parents[1] / "src" / "graphlive" / "static"


def test_bundle_is_shipped_and_within_budget() -> None:
    js = (STATIC / "graphview.js").read_text()
    css = (STATIC / "graphview.css").read_text()
    assert len(js.encode()) <= 300 * 1024
    # An ES module with anywidget's default export and the inlined layout worker.
    assert "export" in js and "render" in js and "initialize" in js
    assert "graphlive/ws/events/filtered" in js
    assert ".gl-root" in css


def test_esm_and_css_come_from_the_static_files() -> None:
    view = GraphView(graph="demo")
    state = view.get_state()
    assert state["_esm"] == (STATIC / "graphview.js").read_text()
    assert state["_css"] == (STATIC / "graphview.css").read_text()


def test_synced_traits_and_defaults() -> None:
    view = GraphView(graph="demo")
    state = view.get_state()
    assert state["graph"] == "demo"
    assert state["server_url"] == "" and state["base_url"] == ""
    assert state["since"] is None
    assert state["snapshot"] is True
    assert state["filters"] == []
    assert state["height"] == 520
    assert state["path"] == ""
    assert state["counts"] == {} and state["status"] == {}


def test_for_graph_accepts_a_name_or_a_named_object() -> None:
    @dataclass
    class Live:
        name: str

    # save=False: no saved copy loaded from Redis (tests/test_export_by_name.py covers that).
    assert GraphView.for_graph("my-project", save=False).graph == "my-project"
    view = GraphView.for_graph(Live("other.graph"), height=800, filters=["node_*"])
    assert (view.graph, view.height, view.filters) == ("other.graph", 800, ["node_*"])


@pytest.mark.parametrize("name", ["bad name", "x" * 129, "a/b", "{g}"])
def test_invalid_graph_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid graph name"):
        GraphView(graph=name)


def test_since_takes_a_position_or_none() -> None:
    view = GraphView(graph="demo", since={"epoch": "5f0c", "seq": 12})
    assert view.since == {"epoch": "5f0c", "seq": 12}
    view.since = None
    assert view.since is None
    for bad in (
        {"epoch": "e"},
        {"epoch": "e", "seq": -1},
        {"epoch": 1, "seq": 2},
        {"epoch": "e", "seq": True},
    ):
        with pytest.raises(ValueError, match="since must be"):
            view.since = bad


def test_filters_are_event_type_globs() -> None:
    view = GraphView(graph="demo", filters=["node_*", "analysis_?tarted"])
    assert view.filters == ["node_*", "analysis_?tarted"]
    # The protocol's own rules (graphlive.wire): the view refuses what the server would.
    too_many = ["node_*"] * (MAX_FILTER_ENTRIES + 1)
    too_long = ["*" * (MAX_FILTER_ENTRY_CHARS + 1)]
    for bad in (["node added"], [""], ["no_such_event_*"], too_long, too_many):
        with pytest.raises(ValueError, match="filter"):
            view.filters = bad
    assert view.filters == ["node_*", "analysis_?tarted"]


def test_height_is_bounded() -> None:
    with pytest.raises(ValueError, match="height"):
        GraphView(graph="demo", height=10)


def test_counts_and_status_are_read_back_from_the_front_end() -> None:
    view = GraphView(graph="demo")
    # What the widget manager does when the front end saves its changes.
    view.set_state(
        {
            "counts": {"nodes": 3, "edges": 2, "events": 7, "epoch": "e", "seq": 7},
            "status": {"state": "open", "label": "live", "reason": "", "analysis": "idle"},
        }
    )
    assert view.counts["nodes"] == 3 and view.counts["seq"] == 7
    assert view.status["label"] == "live"


# ---------------------------------------------------------------------- exploration API


def test_exploration_traits_and_their_defaults() -> None:
    state = GraphView(graph="demo").get_state()
    assert state["transport"] == "auto"
    assert state["node_kinds"] == [] and state["edge_kinds"] == [] and state["path_prefixes"] == []
    assert state["languages"] == []
    assert state["focus"] is None and state["selection"] == []
    assert (state["color_by"], state["size_by"]) == ("kind", "kind")
    assert state["expanded"] is None
    assert (state["collapse_above"], state["max_visible"]) == (300, 300)
    assert state["saved_graph"] == {} and state["level"] == {}


def test_methods_set_the_traits_the_front_end_follows() -> None:
    view = GraphView(graph="demo")
    sent: list[dict[str, object]] = []
    view.send = sent.append  # type: ignore[method-assign]
    view.select("a.b", ["c.d", "e"])
    assert view.selection == ["a.b", "c.d", "e"]
    view.select()
    assert view.selection == []
    view.ego("pkg.f", depth=2)
    assert view.focus == {"mode": "ego", "node": "pkg.f", "depth": 2}
    assert view.selection == ["pkg.f"]
    view.show_path("a", "b")
    assert view.focus == {"mode": "path", "source": "a", "target": "b"}
    view.overview()
    assert view.focus is None
    view.filter(node_kinds=["class"], paths=["pkg/"])
    assert (view.node_kinds, view.edge_kinds, view.path_prefixes) == (["class"], [], ["pkg/"])
    view.filter(languages=["python", "typescript"])
    assert view.languages == ["python", "typescript"] and view.node_kinds == ["class"]
    view.color_by = "language"  # the view's "colour by language" written back from the front end
    view.reveal("pkg.mod.f")
    view.expand("pkg/sub/")
    view.collapse("pkg/")
    view.fit()
    view.expanded = ["pkg/"]
    view.auto_level()
    assert view.expanded is None
    assert sent == [
        {"type": "reveal", "id": "pkg.mod.f"},
        {"type": "expand", "target": "pkg/sub/"},
        {"type": "collapse", "target": "pkg/"},
        {"type": "fit"},
        {"type": "auto_level"},
    ]


@pytest.mark.parametrize(
    ("trait", "bad"),
    [
        ("focus", {"mode": "ego"}),
        ("focus", {"mode": "ego", "node": "x", "depth": 9}),
        ("focus", {"mode": "path", "source": "x"}),
        ("color_by", "rainbow"),
        ("size_by", "weight"),
        ("transport", "carrier-pigeon"),
        ("collapse_above", 0),
        ("selection", [1, 2]),
        ("languages", [3]),
        ("expanded", ["x" * 2000]),
    ],
)
def test_exploration_traits_are_validated(trait: str, bad: object) -> None:
    view = GraphView(graph="demo")
    with pytest.raises((ValueError, traitlets.TraitError)):
        setattr(view, trait, bad)


def test_source_root_is_the_analysed_root_relative_to_the_server_root(tmp_path: Path) -> None:
    from graphlive.widget import server_relative_path

    root = tmp_path / "work"
    project = root / "proj"
    project.mkdir(parents=True)
    assert server_relative_path(str(project), [root]) == "proj"
    assert server_relative_path(str(project), [tmp_path, root]) == "proj"  # innermost root
    assert server_relative_path(str(root), [root]) == ""
    assert server_relative_path("already/relative", [root]) == "already/relative"
    assert server_relative_path(str(tmp_path / "elsewhere"), [root]) == str(tmp_path / "elsewhere")
    # The trait follows `path` until it is set explicitly.
    view = GraphView(graph="demo", path="rel/dir")
    assert view.source_root == "rel/dir"
    view.path = "other"
    assert view.source_root == "other"
    view.source_root = "fixed"
    view.path = "third"
    assert view.source_root == "fixed"


def test_front_end_writes_are_read_back() -> None:
    view = GraphView(graph="demo")
    view.set_state(
        {
            "selection": ["pkg.f"],
            "level": {"mode": "user", "collapsed": True, "expanded": ["pkg/"]},
            "expanded": ["pkg/"],
            "counts": {"nodes": 10, "edges": 4, "visible_nodes": 3, "visible_edges": 1},
        }
    )
    assert view.selection == ["pkg.f"]
    assert view.expanded == ["pkg/"]
    assert view.level["collapsed"] is True
    assert view.counts["visible_nodes"] == 3
