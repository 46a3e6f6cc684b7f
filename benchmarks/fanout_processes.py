"""The processes of ``benchmarks/bench_fanout.py`` and how the parent talks to them: the MARKER
line protocol (``emit`` in a child, ``Child`` in the parent), the servers under test (the real
Jupyter server with the extension, the bare broadcaster) and the client processes."""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The entry point: children are started as ``python benchmarks/bench_fanout.py --child KIND``.
ENTRY = HERE / "bench_fanout.py"
MARKER = "@@bench@@ "
#: Clients per client process before the parent starts another (up to --client-procs).
CLIENTS_PER_PROC = 50


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(MARKER + json.dumps(obj) + "\n")
    sys.stdout.flush()


class Child:
    """A child process answering one MARKER line per command (its stderr goes to a log file)."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._log = open(log, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=str(REPO),
            env=env,
            start_new_session=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARKER):
                self._lines.put(line[len(MARKER) :])
        self._lines.put(None)

    def reply(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer within {timeout:.0f} s; log {self.log}") from None
        if line is None:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-8:]
            raise RuntimeError(f"child exited ({self.proc.poll()}): " + " | ".join(tail))
        result: dict[str, Any] = json.loads(line)
        return result

    def send(self, cmd: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def stop(self, *, quit: bool = True, timeout: float = 20.0) -> None:
        """``quit`` on stdin (client processes) and a short wait, else (or then) SIGTERM to
        its process group (it has its own session: only this child and what it started)."""
        if self.proc.poll() is None:
            if quit:
                with contextlib.suppress(OSError):
                    self.send({"cmd": "quit"})
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5.0)
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        self._log.close()


class Server:
    """A server under test: where clients connect and which process to measure."""

    def __init__(self, name: str, ws_url: str, token: str, child: Child) -> None:
        self.name = name
        self.ws_url = ws_url
        self.token = token
        self.child = child

    @property
    def pid(self) -> int:
        return self.child.proc.pid

    def cpu(self) -> float:
        """CPU seconds (user + system) of the server process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_graphlive(url: str, work: Path, args: argparse.Namespace) -> Server:
    """``python -m jupyter_server`` with the extension, on a free port, token auth."""
    token = secrets.token_hex(16)
    port = _free_port()
    root = work / "root"
    root.mkdir(exist_ok=True)
    argv = [sys.executable]
    if args.profile_server:
        argv += ["-m", "cProfile", "-o", str(args.profile_server)]
    argv += [
        "-m", "jupyter_server",
        f"--IdentityProvider.token={token}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        f"--GraphliveServer.redis_url={url}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--ServerApp.allow_root=True")
    argv += [f"--GraphliveServer.{opt}" for opt in args.graphlive_option]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    child = Child(argv, work / "graphlive-server.log", env)
    deadline = time.monotonic() + 60
    status = f"http://127.0.0.1:{port}/graphlive/api/status?token={token}"
    while True:
        if child.proc.poll() is not None:
            tail = child.log.read_text(errors="replace").strip().splitlines()[-10:]
            raise RuntimeError("jupyter server exited: " + " | ".join(tail))
        try:
            with urllib.request.urlopen(status, timeout=2) as resp:
                if resp.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"jupyter server did not answer; log {child.log}")
        time.sleep(0.2)
    ws = f"ws://127.0.0.1:{port}/graphlive/ws/events"
    return Server("graphlive", ws, token, child)


def start_bare(url: str, work: Path) -> Server:
    argv = [
        sys.executable,
        str(ENTRY),
        "--child",
        "bare",
        json.dumps({"url": url}),
    ]
    child = Child(argv, work / "bare-server.log")
    info = child.reply(60)
    return Server("bare", f"ws://127.0.0.1:{info['port']}/ws", "", child)


class Clients:
    """N client connections to one server, spread over client processes."""

    def __init__(self, server: Server, n: int, work: Path, args: argparse.Namespace) -> None:
        procs = max(1, min(args.client_procs, math.ceil(n / CLIENTS_PER_PROC)))
        sizes = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        self.n = n
        self.children: list[Child] = []
        try:
            for i, size in enumerate(sizes):
                options = {"url": server.ws_url, "token": server.token, "n": size}
                argv = [sys.executable, str(ENTRY), "--child", "clients"]
                log = work / f"clients-{server.name}-{n}-{i}.log"
                self.children.append(Child([*argv, json.dumps(options)], log))
            self.connected = [c.reply(120) for c in self.children]
            if not all(r["hello"] for r in self.connected):
                raise RuntimeError(f"{server.name}: some of {n} connections got no hello")
        except BaseException:
            self.close()
            raise

    def all(self, cmd: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        for c in self.children:
            c.send(cmd)
        return [c.reply(timeout) for c in self.children]

    def close(self) -> None:
        for c in self.children:
            c.stop()


def merged(replies: list[dict[str, Any]]) -> dict[str, Any]:
    """The clients' reports as one."""
    hist: collections.Counter[str] = collections.Counter()
    for r in replies:
        hist.update(r["hist"])
    return {
        "reached": [t for r in replies for t in r["reached"]],
        "positions": [p for r in replies for p in r["positions"]],
        "events": sum(r["events"] for r in replies),
        "frames": sum(r["frames"] for r in replies),
        "gaps": sum(r["gaps"] for r in replies),
        "cpu": sum(r["cpu"] for r in replies),
        "closes": [c for r in replies for c in r["closes"]],
        "errors": [e for r in replies for e in r["errors"]][:5],
        "rec_events": sum(r["rec_events"] for r in replies),
        "hist": hist,
    }


def percentile(hist: collections.Counter[str], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a latency histogram, milliseconds."""
    total = sum(hist.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for key, count in sorted(((float(k), c) for k, c in hist.items())):
        seen += count
        if seen >= rank:
            return key
    return max(float(k) for k in hist)
