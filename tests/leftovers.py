"""pytest plugin: the test run fails when a process it started outlives it.

At start the run marks its environment with ``GRAPHLIVE_TEST_RUN=<token>``. Every process the
tests start inherits it: redis-servers (daemonised embedded ones too), Jupyter servers, kernels,
Playwright's driver and Chromium. When the session ends, every live process (other than pytest)
whose environment carries the token is a leftover: it is listed, killed so it does not outlive
the run after all, and the run's exit status becomes "tests failed". A process started with an
environment built from scratch (not from ``os.environ``) is not seen; tests build theirs from
``os.environ``.

For ``--nbval`` runs the plugin also gives the kernels a private embedded Redis (runtime and
data folders in a temporary directory) and stops it when the notebooks are done, as the harness
that started it must, before looking for leftovers.
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

_token = pytest.StashKey[str]()
_nbval_dir = pytest.StashKey[Path]()


@dataclass(frozen=True)
class Leftover:
    pid: int
    command: str


def marked_processes(token: str, *, exclude: set[int]) -> list[Leftover]:
    """Live processes whose environment carries ``MARK=token`` (zombies are already dead)."""
    needle = f"{MARK}={token}".encode()
    found: list[Leftover] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            raw = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):  # gone meanwhile, or not ours to read
            continue
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        found.append(Leftover(int(entry.name), command[:200]))
    return found


def pytest_configure(config: pytest.Config) -> None:
    token = secrets.token_hex(8)
    os.environ[MARK] = token
    config.stash[_token] = token
    if config.getoption("--nbval", default=False) or config.getoption("--nbval-lax", False):
        scratch = Path(tempfile.mkdtemp(prefix="graphlive-nbval-"))
        config.stash[_nbval_dir] = scratch
        os.environ["JUPYTER_RUNTIME_DIR"] = str(scratch / "runtime")
        os.environ["GRAPHLIVE_DATA_DIR"] = str(scratch / "data")
        os.environ.pop("GRAPHLIVE_REDIS_URL", None)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    scratch = config.stash.get(_nbval_dir, None)
    if scratch is not None:
        from graphlive.bus import embedded

        embedded.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    if os.name != "posix" or not Path("/proc/self/environ").exists():
        return
    token = config.stash[_token]
    exclude = {os.getpid(), os.getppid()}
    deadline = time.monotonic() + GRACE_SECONDS
    while (left := marked_processes(token, exclude=exclude)) and time.monotonic() < deadline:
        time.sleep(0.2)  # waiting for other processes to exit: nothing to synchronise with
    if not left:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by the tests outlived them (now killed):"]
    lines += [f"  pid {p.pid}: {p.command}" for p in left]
    for p in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p.pid, signal.SIGKILL)
    if reporter is not None:
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(lines))
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
