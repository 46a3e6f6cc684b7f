"""Where graphlive finds Redis, clients to it, and URLs safe to show."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from hypothesis import assume, given
from hypothesis import strategies as st

from graphlive.bus import embedded
from graphlive.bus.connection import (
    ACCEPTED_SCHEMES,
    URL_ENV,
    connect,
    connect_async,
    redact,
    resolve_url,
    validate_url,
)
from tests.redis_servers import running_redis
from tests.test_embedded import Sandbox, sandbox


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with sandbox(Path(tempfile.mkdtemp(prefix="glc-", dir="/tmp")), monkeypatch) as box:
        yield box


# --- resolve_url ------------------------------------------------------------------------------


def test_explicit_url_wins_over_the_environment(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, "redis://from-env:6379/0")
    assert resolve_url("unix:///explicit.sock") == "unix:///explicit.sock"
    assert embedded.status() is None  # nothing was started


def test_environment_wins_over_the_embedded_server(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, "rediss://user:pw@from-env:6380/2")
    assert resolve_url() == "rediss://user:pw@from-env:6380/2"
    assert embedded.status() is None


@pytest.mark.parametrize("env", [None, ""])
def test_embedded_server_is_the_default(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    if env is not None:
        monkeypatch.setenv(URL_ENV, env)  # empty counts as unset, as shells make it easy to do
    url = resolve_url()
    info = embedded.status()
    assert info is not None
    box.pids.add(info.pid)
    assert url == info.url
    assert url.startswith("unix://")


@pytest.mark.usefixtures("box")  # never the user's own runtime dir
@pytest.mark.parametrize(
    "url",
    ["redis://localhost:6379/0", "rediss://h:6380", "unix:///tmp/r.sock?db=1", "REDIS://h"],
)
def test_accepted_schemes(url: str) -> None:
    assert validate_url(url) == url
    assert resolve_url(url) == url


@pytest.mark.usefixtures("box")  # never the user's own runtime dir
@pytest.mark.parametrize(
    "url",
    ["http://localhost:6379", "localhost:6379", "", "tcp://h:1", "unix://", "redis+sentinel://h"],
)
def test_rejected_urls_name_the_accepted_schemes(url: str) -> None:
    with pytest.raises(ValueError, match=r"redis://|unix://") as error:
        resolve_url(url)
    if url != "unix://":
        for scheme in ACCEPTED_SCHEMES:
            assert f"{scheme}://" in str(error.value)


def test_rejected_environment_url(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_ENV, "http://u:hunter2pw@host")
    with pytest.raises(ValueError, match="unsupported Redis URL") as error:
        resolve_url()
    assert "hunter2pw" not in str(error.value)
    assert embedded.status() is None


# --- clients ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("box")  # never the user's own runtime dir
def test_connect_uses_graphlive_defaults(redis_url: str) -> None:
    client = connect(redis_url)
    try:
        options = client.connection_pool.connection_kwargs
        assert options["health_check_interval"] == 30
        assert options["socket_timeout"] == 30.0
        assert options["socket_connect_timeout"] == 5.0
        assert client.ping()
        client.set("connection-test", "é")
        assert client.get("connection-test") == "é".encode()  # bytes: decode_responses=False
    finally:
        client.close()


def test_a_new_connection_is_not_health_checked_before_its_handshake() -> None:
    """redis-py PINGs before a new connection's HELLO and labels it (CLIENT SETINFO) after;
    graphlive's clients skip all three round trips (the connection was just opened; RESP2 needs
    no HELLO), and still work and check idle connections."""
    with running_redis() as url:
        admin = redis.Redis.from_url(url)
        admin.config_resetstat()  # (waiting for the server PINGed it)
        admin.close()
        client = connect(url)
        try:
            client.set("k", "v")
            assert client.get("k") == b"v"
            calls = {name: stats["calls"] for name, stats in client.info("commandstats").items()}
            assert "cmdstat_hello" not in calls
            assert "cmdstat_ping" not in calls
            assert "cmdstat_client|setinfo" not in calls  # nor labelled: a round trip each
            assert client.connection_pool.connection_kwargs["health_check_interval"] == 30
        finally:
            client.close()


def test_a_tcp_url_is_asked_whether_it_is_a_cluster_with_one_command() -> None:
    """On a ``redis://`` URL, ``connect`` first asks the server whether it is a cluster node:
    one ``INFO`` on a connection of its own, without ``HELLO``, label or ``PING``; then the
    client's own connection sends only the commands asked of it."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with running_redis("--port", str(port)) as unix_url:
        admin = redis.Redis.from_url(unix_url)
        admin.config_resetstat()
        admin.close()
        client = connect(f"redis://127.0.0.1:{port}")
        try:
            client.set("k", "v")
            assert client.get("k") == b"v"
            calls = {name: stats["calls"] for name, stats in client.info("commandstats").items()}
        finally:
            client.close()
    assert calls == {
        "cmdstat_config|resetstat": 1,
        "cmdstat_info": 1,
        "cmdstat_set": 1,
        "cmdstat_get": 1,
    }


@pytest.mark.usefixtures("box")  # never the user's own runtime dir
def test_connect_options_can_be_overridden(redis_url: str) -> None:
    client = connect(redis_url, socket_timeout=2.5, decode_responses=True)
    try:
        assert client.connection_pool.connection_kwargs["socket_timeout"] == 2.5
        client.set("connection-test-str", "x")
        assert client.get("connection-test-str") == "x"
    finally:
        client.close()


def test_connect_without_configuration_uses_the_embedded_server(box: Sandbox) -> None:
    client = connect()
    try:
        assert client.ping()
        server_pid = client.info("server")["process_id"]
    finally:
        client.close()
    info = embedded.status()
    assert info is not None
    box.pids.add(info.pid)
    assert server_pid == info.pid


@pytest.mark.usefixtures("box")  # never the user's own runtime dir
def test_connect_async(redis_url: str) -> None:
    async def roundtrip() -> bytes | None:
        client = connect_async(redis_url)
        try:
            assert client.connection_pool.connection_kwargs["health_check_interval"] == 30
            await client.set("connection-test-async", b"v")
            value: bytes | None = await client.get("connection-test-async")
            return value
        finally:
            await client.aclose()

    assert asyncio.run(roundtrip()) == b"v"


# --- redact -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://user:secret@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://:secret@host", "redis://:***@host"),
        ("rediss://default:p%40ss%3Aw@h:6380/1", "rediss://default:***@h:6380/1"),
        ("redis://u:pa@ss@host/0", "redis://u:***@host/0"),
        ("unix:///run/r.sock?password=secret&db=1", "unix:///run/r.sock?password=***&db=1"),
        ("unix://user:secret@/run/r.sock", "unix://user:***@/run/r.sock"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        ("redis://onlyuser@host", "redis://onlyuser@host"),
        ("unix:///tmp/a%20b.sock", "unix:///tmp/a%20b.sock"),
    ],
)
def test_redact(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_redact_unparseable() -> None:
    assert "secret" not in redact("redis://u:secret@[::1")


@given(
    user=st.text(st.characters(codec="utf-8"), max_size=10),
    password=st.text(st.characters(codec="utf-8"), min_size=6, max_size=30),
    scheme=st.sampled_from(ACCEPTED_SCHEMES),
    in_query=st.booleans(),
)
def test_redact_never_shows_the_password(
    user: str, password: str, scheme: str, in_query: bool
) -> None:
    secret = quote(password, safe="")
    if in_query:
        template = scheme + "://host/0?password={}"
    else:
        template = scheme + "://" + quote(user, safe="") + ":{}@host:6379/0"
    url = template.format(secret)
    # A password that is also part of the rest of the URL cannot be told apart from it.
    rest = template.format("")
    assume(password not in rest and secret not in rest)
    shown = redact(url)
    assert secret not in shown
    assert password not in shown


def test_a_redis_that_does_not_answer_gets_a_plain_client_and_is_asked_again(
    redis_url: str,
) -> None:
    """Whether a URL is a cluster node is asked of the server; one that does not answer yet
    gets a single-server client (its outage shows on first use), and no answer is remembered."""
    import socket

    import redis as redis_py

    from graphlive.bus import connection

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: refused
        client = connection.connect(dead, socket_connect_timeout=1)
        assert type(client) is redis_py.Redis
        assert dead not in connection._cluster_urls
        with pytest.raises(redis_py.ConnectionError):
            client.ping()
        client.close()
    assert connection.is_cluster(redis_url) is False  # unix://: never a cluster, not asked
