"""graphlive: a live code graph inside Jupyter."""

from graphlive.events import ChangeEvent, EventType
from graphlive.graph import CodeGraph, Edge, EdgeKind, Node, NodeKind

__version__ = "0.1.0.dev0"

__all__ = [
    "ChangeEvent",
    "CodeGraph",
    "Edge",
    "EdgeKind",
    "EventType",
    "Node",
    "NodeKind",
    "__version__",
]
