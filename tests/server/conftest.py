"""Fixtures of the server extension's acceptance tests: a real Jupyter server (pytest-jupyter,
non-root base_url ``/a%40b/``) with graphlive enabled, against a real redis-server."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from traitlets.config import Config

from graphlive_server.service import GraphliveService
from tests.server.clients import GLClient


@pytest.fixture
def gl_redis_url(redis_url: str) -> str:
    """The Redis the extension follows (modules override this to use their own server)."""
    return redis_url


@pytest.fixture
def gl_config() -> dict[str, Any]:
    """``GraphliveServer`` settings of one test (override with ``@pytest.mark.parametrize``)."""
    return {}


@pytest.fixture
def jp_server_config(gl_redis_url: str, gl_config: dict[str, Any]) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"graphlive_server": True}},
            "GraphliveServer": {"redis_url": gl_redis_url, **gl_config},
        }
    )


@pytest.fixture
def gl_service(jp_serverapp: Any) -> GraphliveService:
    """The extension's service object inside the test server."""
    service: GraphliveService = jp_serverapp.web_app.settings["graphlive_service"]
    return service


@pytest.fixture
def gl_token(jp_serverapp: Any) -> str:
    token: str = jp_serverapp.identity_provider.token
    return token


@pytest.fixture
def gl_connect(
    jp_ws_fetch: Callable[..., Awaitable[Any]],
) -> Iterator[Callable[..., Awaitable[GLClient]]]:
    """Open a graphlive WebSocket (``events``, ``filtered`` or ``status``) as a GLClient."""
    clients: list[GLClient] = []

    async def connect(endpoint: str = "events", **kwargs: Any) -> GLClient:
        parts = {
            "events": ("graphlive", "ws", "events"),
            "filtered": ("graphlive", "ws", "events", "filtered"),
            "status": ("graphlive", "ws", "status"),
        }[endpoint]
        conn = await jp_ws_fetch(*parts, **kwargs)
        client = GLClient(conn)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def big_payload() -> str:
    """About 1 KB of text to make events heavy."""
    return os.urandom(384).hex()[:1000]
