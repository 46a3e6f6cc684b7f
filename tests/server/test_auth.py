"""Jupyter authentication, authorization, origin check and base_url on every graphlive endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

from tests.server.clients import GLClient

Connect = Callable[..., Awaitable[GLClient]]

WS_ENDPOINTS = ["events", "filtered", "status"]
REST_GETS = [("graphlive", "api", "graphs"), ("graphlive", "api", "status")]


@pytest.mark.parametrize("endpoint", WS_ENDPOINTS)
async def test_websocket_without_credentials_is_403(gl_connect: Connect, endpoint: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        await gl_connect(endpoint, headers={"Authorization": ""})
    assert info.value.code == 403


async def login_cookie(jp_fetch: Any, port: int) -> str:
    """The session cookie a browser gets after logging in with the token (its name depends on
    the Host, which is ``localhost:<port>`` for the WebSocket client)."""
    response = await jp_fetch("graphlive", "api", "status", headers={"Host": f"localhost:{port}"})
    cookies = [c.split(";", 1)[0] for c in response.headers.get_list("Set-Cookie")]
    login = [c for c in cookies if c.startswith("username-")]
    assert login, cookies
    return "; ".join(login)


@pytest.mark.parametrize("endpoint", WS_ENDPOINTS)
async def test_cross_origin_websocket_with_valid_cookie_is_403(
    gl_connect: Connect, jp_fetch: Any, jp_http_port: int, endpoint: str
) -> None:
    cookie = await login_cookie(jp_fetch, jp_http_port)
    # The cookie alone is valid: the same request without a foreign Origin is accepted …
    same_origin = await gl_connect(endpoint, headers={"Authorization": "", "Cookie": cookie})
    assert (await same_origin.recv())["op"] in ("hello", "status")
    # … but not from another site's page.
    with pytest.raises(HTTPClientError) as info:
        await gl_connect(
            endpoint,
            headers={"Authorization": "", "Cookie": cookie, "Origin": "http://evil.example.com"},
        )
    assert info.value.code == 403


@pytest.mark.parametrize("endpoint", ["events", "filtered"])
async def test_token_header_or_query_opens_the_socket(
    gl_connect: Connect, gl_token: str, endpoint: str
) -> None:
    by_header = await gl_connect(endpoint)
    assert (await by_header.hello())["endpoint"] == endpoint
    by_query = await gl_connect(endpoint, headers={"Authorization": ""}, params={"token": gl_token})
    assert (await by_query.hello())["protocol"] == 1


async def test_same_origin_websocket_is_accepted(gl_connect: Connect, jp_http_port: int) -> None:
    client = await gl_connect(
        headers={"Origin": f"http://localhost:{jp_http_port}", "Host": f"localhost:{jp_http_port}"}
    )
    await client.hello()


@pytest.mark.parametrize("parts", REST_GETS)
async def test_rest_without_credentials_is_403(jp_fetch: Any, parts: tuple[str, ...]) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, headers={"Authorization": ""})
    assert info.value.code == 403


async def test_analyze_without_credentials_is_403(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "graphlive", "api", "graphs", "g", "analyze",
            method="POST", body='{"path": "."}', headers={"Authorization": ""},
        )  # fmt: skip
    assert info.value.code == 403


async def test_endpoints_live_under_the_base_url(jp_fetch: Any, http_server_client: Any) -> None:
    response = await jp_fetch("graphlive", "api", "status")  # jp_base_url is /a%40b/
    assert response.code == 200
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch("/graphlive/api/status")
    assert info.value.code == 404


class DenyGraphlive(Authorizer):
    """Allows everything except the ``graphlive`` resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "graphlive"


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {
                "jpserver_extensions": {"graphlive_server": True},
                "authorizer_class": DenyGraphlive,
            }
        }
    ],
)
async def test_authorizer_decides_on_the_graphlive_resource(
    gl_connect: Connect, jp_fetch: Any
) -> None:
    for endpoint in WS_ENDPOINTS:
        with pytest.raises(HTTPClientError) as info:
            await gl_connect(endpoint)
        assert info.value.code == 403
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("graphlive", "api", "graphs")
    assert info.value.code == 403
    assert (await jp_fetch("api", "status")).code == 200  # the server itself still works
