"""Where graphlive's Redis is, and clients connected to it.

The location is, in order: the URL passed in, the ``GRAPHLIVE_REDIS_URL`` environment variable,
or the embedded server of :mod:`graphlive.bus.embedded` (started on demand). URLs may carry
credentials: pass them through :func:`redact` before logging them or sending them anywhere.

An ordinary ``redis://`` or ``rediss://`` URL may name any node of a Redis Cluster: the server is
asked (``INFO cluster``, once per URL and process) and a cluster gets a cluster client, which
routes each command to the node owning its keys' slot (every key of a graph shares one slot:
:mod:`graphlive.bus.keys`).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.backoff
import redis.cluster
import redis.retry

#: A client of one Redis server or of a Redis Cluster (what :func:`connect` returns).
Client: TypeAlias = "redis.Redis | redis.cluster.RedisCluster"
#: The asyncio twin of :data:`Client` (what :func:`connect_async` returns).
AsyncClient: TypeAlias = "redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster"

#: Environment variable naming the Redis to use instead of the embedded one.
URL_ENV = "GRAPHLIVE_REDIS_URL"
ACCEPTED_SCHEMES = ("redis", "rediss", "unix")

#: Client options of :func:`connect` and :func:`connect_async`; keyword arguments override them.
CLIENT_DEFAULTS: dict[str, Any] = {
    # Event payloads are bytes decoded by graphlive's codec, not by redis-py.
    "decode_responses": False,
    "socket_connect_timeout": 5.0,
    # Bounds how long a command waits for a stuck server. Blocking reads (XREAD BLOCK) must block
    # for less than this, or pass their own socket_timeout.
    "socket_timeout": 30.0,
    # PING a connection idle for this many seconds before reusing it, so a restarted server or a
    # dropped link is noticed before a command is lost on it.
    "health_check_interval": 30,
}
try:  # Recent redis-py: otherwise each client looks its own version up in the installed
    # distributions' metadata (a few milliseconds per process, on every short command).
    from redis.driver_info import DriverInfo

    CLIENT_DEFAULTS["driver_info"] = DriverInfo(lib_version=redis.__version__)
except ImportError:  # pragma: no cover - older redis-py: no such lookup to spare
    pass

_REDACTED = "***"


def resolve_url(url: str | None = None) -> str:
    """Return the URL of the Redis graphlive should use.

    ``url`` if given, else ``GRAPHLIVE_REDIS_URL`` if set and non-empty, else the URL of the
    embedded server, which is started if none is running. A given or configured URL is checked
    by :func:`validate_url` (ValueError if its scheme is not accepted); the embedded server may
    raise :class:`graphlive.bus.embedded.EmbeddedRedisUnavailable` or ``EmbeddedRedisError``.
    """
    if url is None:
        url = os.environ.get(URL_ENV) or None
    if url is not None:
        return validate_url(url)
    # Imported here: it needs fcntl (POSIX only) and is not needed when a URL is configured.
    from graphlive.bus import embedded

    return embedded.ensure_running().url


def uses_embedded(url: str | None = None) -> bool:
    """Whether :func:`resolve_url` of ``url`` leads to the embedded server (nothing configured)."""
    return url is None and not os.environ.get(URL_ENV)


def validate_url(url: str) -> str:
    """Return ``url`` unchanged if it is a ``redis://``, ``rediss://`` or ``unix://`` URL.

    Raises ValueError (naming the accepted schemes, with any password redacted) otherwise, or for
    a ``unix://`` URL without a socket path.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"not a Redis URL: {redact(url)!r} ({exc})") from None
    if parts.scheme.lower() not in ACCEPTED_SCHEMES:
        accepted = ", ".join(f"{scheme}://" for scheme in ACCEPTED_SCHEMES)
        raise ValueError(f"unsupported Redis URL {redact(url)!r}: use one of {accepted}")
    if parts.scheme.lower() == "unix" and not parts.path:
        raise ValueError(f"unix:// Redis URL without a socket path: {redact(url)!r}")
    return url


def is_cluster(url: str) -> bool:
    """Whether the server at ``url`` (already resolved) is a node of a Redis Cluster.

    Asked once per URL and process (``INFO cluster``); a ``unix://`` URL never is. Raises what
    connecting raises (``redis.ConnectionError`` when nothing answers)."""
    if urlsplit(url).scheme.lower() == "unix":
        return False
    with _cluster_lock:
        known = _cluster_urls.get(url)
    if known is not None:
        return known
    # One attempt: a Redis that is down is reported at once, not after redis-py's retries. RESP2
    # and no client label: the probe sends its one command and nothing else (every new process
    # on a redis:// URL asks once).
    once = {
        "health_check_interval": 0,
        "retry": redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        "protocol": 2,
        "driver_info": None,
    }
    probe = redis.Redis.from_url(url, **{**CLIENT_DEFAULTS, **once})
    try:
        info: Any = probe.info("cluster")
    finally:
        probe.close()
    enabled = bool(int(info.get("cluster_enabled", 0)))
    with _cluster_lock:
        _cluster_urls[url] = enabled
    return enabled


def _is_cluster_if_reachable(url: str) -> bool:
    # Unreachable now: a single-server client, as before cluster support (it connects lazily
    # and reports the outage on first use); the next connect() asks again.
    try:
        return is_cluster(url)
    except (redis.ConnectionError, redis.TimeoutError):
        return False


_cluster_urls: dict[str, bool] = {}
_cluster_lock = threading.Lock()


def connect(url: str | None = None, **kwargs: Any) -> Client:
    """Return a client of the Redis chosen by :func:`resolve_url`: a
    :class:`redis.cluster.RedisCluster` if it is a node of a cluster (:func:`is_cluster`), else
    a :class:`redis.Redis`.

    Options are :data:`CLIENT_DEFAULTS` updated with ``kwargs`` (options in the URL's query win,
    as in :meth:`redis.Redis.from_url`). A plain client connects lazily, on its first command;
    finding out whether the server is a cluster node takes one round trip, the first time. A
    server that does not answer then gets a plain client (the outage shows on its first use)
    and is asked again by the next call.
    """
    resolved = resolve_url(url)
    options = {**CLIENT_DEFAULTS, **kwargs}
    # RESP2 on the wire: a new connection then sends nothing before its first command (RESP3
    # takes a HELLO round trip, which a one-file analyze in a new process feels). The replies
    # graphlive reads have the same shapes either way: redis-py gives RESP2's unless the
    # protocol is chosen explicitly as 3. (The server's asyncio clients keep redis-py's default.)
    options.setdefault("protocol", 2)
    if _is_cluster_if_reachable(resolved):
        return redis.cluster.RedisCluster.from_url(resolved, **options)
    options.setdefault("redis_connect_func", _handshake)
    if "driver_info" not in kwargs:
        # No CLIENT SETINFO (the library's name and version, shown by CLIENT LIST): a round
        # trip of every new connection, which a one-file analyze in a new process feels.
        options["driver_info"] = None
    return redis.Redis.from_url(resolved, **options)


def _handshake(connection: Any) -> None:
    """A new connection's handshake (authentication and the rest; nothing in RESP2 without
    them), without the health check ``PING`` redis-py sends before it or before the first
    command: a connection just opened needs none, and a short-lived process (an ``analyze`` in
    a new process) spares a round trip. Later commands are checked as before, once the
    connection has been idle for ``health_check_interval``."""
    handshake = getattr(connection, "on_connect_check_health", None)
    if handshake is None:  # pragma: no cover - redis-py without it: its own handshake
        connection.on_connect()
    else:
        handshake(check_health=False)
    interval = getattr(connection, "health_check_interval", 0)
    if interval:
        # What a reply would have set (a RESP3 handshake reads HELLO's): checked from now on.
        connection.next_health_check = time.monotonic() + interval


def connect_async(
    url: str | None = None, *, max_connections: int | None = None, **kwargs: Any
) -> AsyncClient:
    """Asyncio twin of :func:`connect`.

    ``max_connections``: a pool of at most that many connections where a command waits for a
    free one (redis-py's default pool holds 100 and fails the 101st concurrent command with
    ``MaxConnectionsError``, a ``ConnectionError`` that looks like Redis being down). For a
    cluster, at most that many per node.

    Resolving the URL may start the embedded server, and finding out whether it is a cluster
    node takes a blocking round trip the first time; call it from a thread
    (``asyncio.to_thread``) where that matters.
    """
    resolved = resolve_url(url)
    options = {**CLIENT_DEFAULTS, **kwargs}
    if _is_cluster_if_reachable(resolved):
        if max_connections is not None:
            options["max_connections"] = max_connections
        return redis.asyncio.cluster.RedisCluster.from_url(resolved, **options)
    if max_connections is None:
        return redis.asyncio.Redis.from_url(resolved, **options)
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        resolved, max_connections=max_connections, timeout=None, **options
    )
    return redis.asyncio.Redis(connection_pool=pool)


@cache
def script_sha(script: str) -> str:
    """The name ``EVALSHA`` knows ``script`` by (its SHA-1), worked out once per process."""
    return hashlib.sha1(script.encode()).hexdigest()


def pipeline_with_script(client: Client, queue: Callable[[Any], None], script: str) -> list[Any]:
    """Send the commands ``queue`` puts on a pipeline, among them ``EVALSHA``s of ``script``
    (named by :func:`script_sha`); their replies. ``EVALSHA`` itself, not a redis-py Script
    object: in a pipeline that sends ``SCRIPT EXISTS`` first, a second round trip. On
    ``NOSCRIPT`` (a new or restarted server, a promoted replica: every ``EVALSHA`` of the
    pipeline failed alike, none ran) the script is loaded (on a cluster, on every master) and
    the commands are sent again: the others must be harmless to repeat."""

    def send() -> list[Any]:
        pipe = client.pipeline(transaction=False)
        queue(pipe)
        return list(pipe.execute())

    try:
        return send()
    except redis.exceptions.NoScriptError:
        client.script_load(script)
        return send()


def dedicated(client: Client) -> Client:
    """A client of the same server or cluster as ``client``, with connections of its own: for a
    blocking read that must not hold a shared connection, or a reader that outlives the client
    it was given."""
    if isinstance(client, redis.cluster.RedisCluster):
        # redis-py leaves these two untyped.
        node: Any = client.get_default_node() or client.get_nodes()[0]  # type: ignore[no-untyped-call]
        kwargs = dict(client.nodes_manager.connection_kwargs)
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        return redis.cluster.RedisCluster(host=node.host, port=node.port, **kwargs)
    pool = client.connection_pool
    return redis.Redis(
        connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, **pool.connection_kwargs
        )
    )


def redact(url: str) -> str:
    """Return ``url`` with its password replaced by ``***``, safe to log or show to a user.

    Both places redis-py reads a password from are covered: the user info
    (``redis://user:secret@host``) and the ``password`` query parameter
    (``unix:///s.sock?password=secret``). A string that cannot be parsed is replaced whole.
    """
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
    except ValueError:
        return "<unparseable URL>"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query_has_password = any(key.lower() == "password" for key, _ in pairs)
    if not (has_password or query_has_password):
        return url
    netloc = parts.netloc
    if has_password:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:{_REDACTED}@{hostinfo}"
    query = parts.query
    if query_has_password:
        hidden = [(k, _REDACTED if k.lower() == "password" else v) for k, v in pairs]
        query = urlencode(hidden, safe="*")
    # Assembled by hand: urlunsplit would drop the empty authority of unix:///path URLs.
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        shown += f"?{query}"
    if parts.fragment:
        shown += f"#{parts.fragment}"
    return shown
