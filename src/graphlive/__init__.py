"""graphlive: a live code graph inside Jupyter.

    import graphlive
    lg = graphlive.analyze("path/to/project")   # analyse and publish the graph
    lg.watch()                                  # follow file changes
    lg                                          # in a notebook: the live view

``%load_ext graphlive`` turns the notebook's own cells into a live graph (see
:mod:`graphlive.ipython`).
"""

from typing import Any

from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind
from graphlive.live import LiveGraph, analyze

__version__ = "0.1.0.dev0"

__all__ = [
    "ChangeEvent",
    "CodeGraph",
    "Edge",
    "EdgeKind",
    "EventType",
    "LiveGraph",
    "Node",
    "NodeKind",
    "__version__",
    "analyze",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext graphlive``: analyse each executed cell into the notebook's graph."""
    from graphlive.ipython import load_ipython_extension as load

    load(ip)


def unload_ipython_extension(ip: Any) -> None:
    from graphlive.ipython import unload_ipython_extension as unload

    unload(ip)
