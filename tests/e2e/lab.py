"""A real ``jupyter lab`` for end-to-end tests: own token, non-root base_url, own Redis.

The server runs in a subprocess with graphlive's server extension enabled (as installed) and
``GRAPHLIVE_REDIS_URL`` pointing at a test redis-server, so its kernels, its extension and any
``graphlive watch`` process the test starts share that Redis.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BASE_URL = "/gl/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    """A running JupyterLab. ``url(path)`` builds authenticated URLs under the base_url."""

    root: Path
    redis_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "", *, token: bool = True) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.origin}{BASE_URL}{path}" + (f"{sep}token={self.token}" if token else "")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GRAPHLIVE_REDIS_URL=self.redis_url,
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            # The notebook secret and signatures (`graphlive lab` signs its notebook) too.
            JUPYTER_DATA_DIR=str(self.workdir / "jupyter-data"),
            GRAPHLIVE_DATA_DIR=str(self.workdir / "data"),
            # Keep kernels and the server from writing into the user's config.
            JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
            IPYTHONDIR=str(self.workdir / "ipython"),
            JUPYTERLAB_SETTINGS_DIR=str(self.workdir / "lab-settings"),
        )
        return env

    def _quiet_settings(self) -> None:
        # No "get notified about news?" toast covering the page.
        folder = self.workdir / "lab-settings" / "@jupyterlab" / "apputils-extension"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false", "checkForUpdates": false}'
        )

    def start(self, timeout: float = 90) -> None:
        self._quiet_settings()
        log = open(self.workdir / f"lab-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.command(), env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        self.wait_ready(timeout)

    def server_args(self) -> list[str]:
        return [
            "--no-browser",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.base_url={BASE_URL}",
            "--ServerApp.allow_root=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]

    def command(self) -> list[str]:
        return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={self.root}",
                *self.server_args()]  # fmt: skip

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"jupyter lab did not answer in {timeout}s: {self.log()}")
            time.sleep(0.2)  # polling a starting server process, not test synchronisation

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port and token (as a server restart looks to a
        browser)."""
        self.stop()
        self.start()

    def log(self) -> str:
        files = sorted(self.workdir.glob("lab-*.log"))
        return files[-1].read_text(errors="replace")[-4000:] if files else ""


@dataclass
class GraphliveLab(Lab):
    """``graphlive lab ROOT`` — the README's main command — instead of a bare ``jupyter lab``.

    It gets no ``allow_root`` setting: as root, ``graphlive lab`` must add ``--allow-root``
    itself. ``as_uid`` runs it as that uid in a user namespace (``unshare --user``), so a root
    test machine can also check the unprivileged path: there the process's euid is really
    ``as_uid``, while files keep the permissions of the user who started the test.
    """

    as_uid: int | None = None

    def server_args(self) -> list[str]:
        return [a for a in super().server_args() if not a.startswith("--ServerApp.allow_root")]

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "graphlive.cli", "lab", str(self.root), "--",
               *self.server_args()]  # fmt: skip
        if self.as_uid is None:
            return cmd
        uid = str(self.as_uid)
        return ["unshare", "--user", f"--map-user={uid}", f"--map-group={uid}", *cmd]
