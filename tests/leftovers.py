"""pytest plugin: the test run fails when a process it started outlives it.

A process belongs to the run when either

* its environment carries ``GRAPHLIVE_TEST_RUN=<token>``, set when the run starts and inherited
  by whatever the tests start (Jupyter servers, kernels, Playwright's driver, Chromium), or
* its working folder or command line lies under the run's own temporary root, which the run
  makes ``TMPDIR`` for itself and its children. This catches ``redis-server``: Redis rewrites
  its process title over its environment, so the marker cannot be read back, but its
  ``--dir`` (its working folder) and the socket in its title sit in the tests' temporary
  folders — daemonised embedded servers included.

When the session ends, every such live process other than pytest and its own multiprocessing
helpers (which end with it) is a leftover: listed, killed so it does not outlive the run after
all, and the run's exit status becomes "tests failed".

The run's Jupyter runtime and data folders and graphlive's data folder are set under the
temporary root too (and ``GRAPHLIVE_REDIS_URL`` is unset), so no test reaches the user's own
embedded Redis or Jupyter files. The notebooks of an ``--nbval`` run start the embedded Redis on
purpose (their kernels share it); the plugin stops it when they are done, as the harness that
started it must, before looking for leftovers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

MARK = "GRAPHLIVE_TEST_RUN"
#: How long processes that are already ending get to disappear (a browser's helpers, a server
#: answering its last SIGTERM) before they count as leftovers.
GRACE_SECONDS = 15.0
#: Children of pytest that end when it does (they read a pipe pytest holds open).
_ENDS_WITH_PARENT = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")

_token = pytest.StashKey[str]()
_root = pytest.StashKey[Path]()
_nbval = pytest.StashKey[bool]()


@dataclass(frozen=True)
class Leftover:
    pid: int
    command: str


def state_and_parent(entry: Path) -> tuple[str, int]:
    """A process's state letter and parent pid from ``/proc/<pid>/stat``."""
    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def run_processes(token: str, root: Path, *, exclude: set[int]) -> list[Leftover]:
    """Live processes that belong to the run ``token`` with temporary root ``root``."""
    needle = f"{MARK}={token}".encode()
    under = str(root).encode()
    found: list[Leftover] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            state, parent = state_and_parent(entry)
            if state == "Z":  # already dead, waiting to be reaped
                continue
            raw = (entry / "cmdline").read_bytes()
            ours = needle in (entry / "environ").read_bytes().split(b"\0") or under in raw
            if not ours:
                with contextlib.suppress(OSError):
                    ours = os.readlink(entry / "cwd").startswith(str(root))
        except (OSError, IndexError, ValueError):  # gone meanwhile, or not ours to read
            continue
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        if not ours or (parent in exclude and any(h in command for h in _ENDS_WITH_PARENT)):
            continue
        found.append(Leftover(int(entry.name), command[:200]))
    return found


def pytest_configure(config: pytest.Config) -> None:
    token = secrets.token_hex(4)
    root = Path(tempfile.mkdtemp(prefix=f"glt-{token}-", dir=tempfile.gettempdir()))
    config.stash[_token] = token
    config.stash[_root] = root
    os.environ[MARK] = token
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = None  # re-read TMPDIR: pytest's basetemp and mkdtemp() land under root
    # Jupyter's and graphlive's per-user folders too: a test that reaches the embedded Redis
    # without its own folders starts one here (found, if left running), never the user's.
    os.environ["JUPYTER_RUNTIME_DIR"] = str(root / "runtime")
    os.environ["JUPYTER_DATA_DIR"] = str(root / "data")
    os.environ["GRAPHLIVE_DATA_DIR"] = str(root / "graphlive-data")
    os.environ.pop("GRAPHLIVE_REDIS_URL", None)
    config.stash[_nbval] = bool(
        config.getoption("--nbval", False) or config.getoption("--nbval-lax", False)
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    root = config.stash[_root]
    if config.stash[_nbval]:
        from graphlive.bus import embedded

        embedded.stop()
    if not Path("/proc/self/stat").exists():
        return  # no /proc to look in (not Linux)
    exclude = {os.getpid()}
    deadline = time.monotonic() + GRACE_SECONDS
    while (left := run_processes(config.stash[_token], root, exclude=exclude)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)  # waiting for other processes to exit: nothing to synchronise with
    if not left:
        shutil.rmtree(root, ignore_errors=True)
        return
    lines = [f"{len(left)} process(es) started by the tests outlived them (now killed):"]
    lines += [f"  pid {p.pid}: {p.command}" for p in left]
    for p in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p.pid, signal.SIGKILL)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
