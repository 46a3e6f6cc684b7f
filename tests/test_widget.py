"""GraphView (Python side): bundled assets, synced traits and their validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from graphlive.widget import GraphView

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

    assert GraphView.for_graph("my-project").graph == "my-project"
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
    for bad in (["node added"], [""], ["x" * 65], ["a"] * 33):
        with pytest.raises(ValueError, match="filter"):
            view.filters = bad


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
