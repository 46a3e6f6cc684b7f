"""graphlive's Jupyter server extension: graph events over authenticated WebSockets.

Endpoints (under the server's base_url): ``graphlive/ws/events``, ``graphlive/ws/events/filtered``,
``graphlive/ws/status`` and the REST API ``graphlive/api/...`` — see docs/protocol.md and
docs/server.md.
"""

from __future__ import annotations

from typing import Any

from graphlive_server.app import GraphliveServer

__all__ = ["GraphliveServer"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "graphlive_server", "app": GraphliveServer}]
