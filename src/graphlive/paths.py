"""Where graphlive keeps its files on the user's machine.

Two folders, both inside Jupyter's own so that one environment variable moves everything a test
or a user wants elsewhere:

- :func:`runtime_dir` — transient, private per-user files (sockets, pid and state files, locks).
- :func:`data_dir` — files that must survive restarts (the embedded Redis' append-only file).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir, jupyter_runtime_dir

#: Name of graphlive's subfolder in Jupyter's runtime and data dirs.
SUBDIR = "graphlive"


def runtime_dir() -> Path:
    """Return graphlive's private runtime folder, creating it if needed.

    The folder is ``<jupyter runtime dir>/graphlive`` (``JUPYTER_RUNTIME_DIR`` is honoured by
    :func:`jupyter_core.paths.jupyter_runtime_dir`), as an absolute path. On return it exists, is
    owned by the current user and has mode 0700: the embedded Redis' unix socket lives here, and
    the folder's permissions are what keeps other users of a shared host from reaching it.

    Raises :class:`PermissionError` if the folder exists but belongs to another user.
    """
    path = Path(jupyter_runtime_dir()).absolute() / SUBDIR
    _make_private_dir(path)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to uid {info.st_uid}, not to the current user")
    # mkdir's mode is filtered by the umask and ignored for an existing folder: set it explicitly.
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


def data_dir() -> Path:
    """Return graphlive's persistent data folder, creating it (mode 0700) if needed.

    ``GRAPHLIVE_DATA_DIR``, when set and non-empty, is used as is; otherwise the folder is
    ``<jupyter data dir>/graphlive`` (``JUPYTER_DATA_DIR`` is honoured by
    :func:`jupyter_core.paths.jupyter_data_dir`). The permissions of an existing folder are left
    alone: it may be one the user chose and shares on purpose. The path returned is absolute.
    """
    override = os.environ.get("GRAPHLIVE_DATA_DIR")
    path = Path(override).expanduser() if override else Path(jupyter_data_dir()) / SUBDIR
    path = path.absolute()
    _make_private_dir(path)
    return path


def _make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700 (existing folders are kept)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        # exist_ok: another process may create the same folder at the same moment.
        folder.mkdir(mode=0o700, exist_ok=True)
