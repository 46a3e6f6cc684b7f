"""Measurements in child processes: a child prints its result as one marked JSON line, the
parent runs it in a session of its own (killed whole on timeout) and reads that line back.

Used by ``bench_analysis.py`` and ``bench_warm.py`` (each run step is a new Python process, so
that imports, caches and memory of one step cannot flatter the next)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "emit_result", "run_marked"]

MARKER = "@@bench-result@@ "


def emit_result(result: dict[str, Any]) -> None:
    """Child side: print ``result`` on the marked line the parent looks for."""
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_marked(
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    *,
    tail_lines: int = 3,
    tail_chars: int = 400,
    keep_stderr: bool = False,
) -> dict[str, Any]:
    """Parent side: run ``cmd`` and return the child's result plus ``status`` (``ok``,
    ``timeout``, ``error``) and ``process_s`` (wall time from start to exit). Without a result
    line, ``error`` holds the last ``tail_lines`` lines of stderr (at most ``tail_chars``
    characters); with ``keep_stderr``, a result also carries ``stderr_tail`` (last 5 lines)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(cwd),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"status": "timeout", "process_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    for line in reversed(out.splitlines()):
        if line.startswith(MARKER):
            result: dict[str, Any] = json.loads(line[len(MARKER) :])
            result.update(status="ok", process_s=wall)
            if keep_stderr and err.strip():
                result["stderr_tail"] = err.strip().splitlines()[-5:]
            return result
    tail = [ln for ln in err.strip().splitlines() if ln.strip()][-tail_lines:]
    return {"status": "error", "process_s": wall, "error": " | ".join(tail)[-tail_chars:]}
