"""Writing out a copy of this process's memory from a forked child, off the caller's path.

Saving the analysis (a pickle of the solver state, ~1 s for Django) is for the *next* process;
the caller should not wait for it. A thread would not help: pickling holds the interpreter lock
for the whole time, and a command-line run could not exit before it ends. A forked child gets a
consistent copy of the state as it is at the fork (copy-on-write, as Redis' ``BGSAVE`` does),
writes it on the other core and exits; the caller goes on at once.

Contracts:

* :func:`run_in_child` returns the child's pid, or ``None`` when no child could be started (no
  ``fork`` on this platform, forking disabled with ``GRAPHLIVE_FORKED_SAVES=0``, or the fork
  failed): the caller then does the work itself.
* The child has no other thread (only the forking one survives a fork), points every inherited
  descriptor except those in ``keep`` at ``/dev/null`` (so it holds no socket, pipe or lock of the
  parent's: a command run with captured output returns when the parent exits, not when the
  child does), starts its own
  session (a Ctrl-C meant for the parent does not cut a write short), and exits with
  ``os._exit`` (no ``atexit`` handler, no flush of the parent's buffers runs twice).
* Children are reaped without blocking at the next :func:`run_in_child` (and by :func:`reap`,
  which ``LiveGraph.close`` calls); :func:`wait_children`
  waits for all of them (tests, benchmarks, and before measuring the next thing).
* The child logs nothing (a lock another thread held at the fork, such as a log handler's, stays
  held in the child) and is ended by ``SIGALRM`` after :data:`CHILD_TIMEOUT_S` seconds should
  it hang anyway.
* Only on Linux: macOS system libraries are not fork-safe once a thread touched them.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import logging
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterable

__all__ = ["forking_enabled", "reap", "run_in_child", "wait_children"]

_children: set[int] = set()
#: Exit codes of children collected and not yet reported by :func:`wait_children`.
_ended: collections.deque[int] = collections.deque(maxlen=100)
#: A child still running after this many seconds is ended by the kernel (``SIGALRM``).
CHILD_TIMEOUT_S = 600


def forking_enabled() -> bool:
    """Whether :func:`run_in_child` forks (Linux, unless ``GRAPHLIVE_FORKED_SAVES=0``)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    return os.environ.get("GRAPHLIVE_FORKED_SAVES", "1").strip().lower() not in ("0", "false", "no")


def run_in_child(work: Callable[[], bool], *, keep: Iterable[int] = ()) -> int | None:
    """Run ``work`` in a forked child (it exits 0 when ``work`` returns True, else 1); ``keep``
    are descriptors the child keeps open (a lock it then holds until it exits, files it reads
    from)."""
    _reap(block=False)
    if not forking_enabled():
        return None
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a threaded process: this child never touches what
        # the other threads hold (see the module's contracts).
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            pid = os.fork()
        except OSError:
            return None
    if pid:
        _children.add(pid)
        return pid
    code = 1
    try:
        gc.disable()  # a collection would touch (and so copy) every page of the parent's heap
        # A lock another thread held at the fork (a log handler's, a stream's) stays held here:
        # log nothing, and end after CHILD_TIMEOUT_S whatever happens, letting go of the lock
        # readers wait on.
        logging.disable(logging.CRITICAL)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(CHILD_TIMEOUT_S)
        os.setsid()
        _let_go(frozenset(keep))
        code = 0 if work() else 1
    finally:
        os._exit(code)


def reap() -> None:
    """Collect the children that have ended, without waiting (their exit codes are kept for
    :func:`wait_children`)."""
    _reap(block=False)


def wait_children() -> list[int]:
    """Wait for every child started by :func:`run_in_child`; the exit codes of the children
    that ended since the last call (the last 100 at most), in the order they were collected."""
    _reap(block=True)
    codes = list(_ended)
    _ended.clear()
    return codes


def _reap(*, block: bool) -> None:
    for pid in list(_children):
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            _children.discard(pid)
            continue
        if done:
            _children.discard(pid)
            _ended.append(os.waitstatus_to_exitcode(status))


def _let_go(keep: frozenset[int]) -> None:
    """Point every inherited descriptor but those in ``keep`` at ``/dev/null``: the parent's pipes,
    sockets and locks are let go, yet no descriptor number is freed, so an object of the
    parent's that closes its descriptor later cannot close a file the child opened since."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3))
    for fd in fds:
        if fd not in keep and fd != null:
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed since
                os.dup2(null, fd)
    os.close(null)
