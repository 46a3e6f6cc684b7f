"""The notebook ``graphlive lab`` writes: signed, so JupyterLab trusts it.

The notary's secret and signature database live in ``JUPYTER_DATA_DIR``, pointed at a temporary
folder here (pytest-jupyter does the same for its server): the tests never touch the real user's
secret.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.sign import NotebookNotary
from traitlets.config import Config

from graphlive.cli.lab import notebook_for


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "jupyter-data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(folder))
    return folder


def test_lab_writes_a_trusted_notebook(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    path = notebook_for(root, "requests")
    assert path == root / ".graphlive" / "requests.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert f"GraphView.for_graph('requests', path={str(root)!r}, height=640)" in nb.cells[1].source
    # Trusted by this user's notary (the one JupyterLab uses, from the same data dir).
    assert NotebookNotary().data_dir == str(data_dir)
    assert NotebookNotary().check_signature(nb)
    assert (data_dir / "notebook_secret").is_file()
    # Refreshing it (the next `graphlive lab`) keeps it trusted.
    assert NotebookNotary().check_signature(nbformat.read(notebook_for(root, "requests"), 4))
    # The signature covers the content: an edited notebook is not trusted...
    edited = nbformat.read(path, as_version=4)
    edited.cells[1].source += "\nprint('hi')"
    assert not NotebookNotary().check_signature(edited)
    # ...and another user's notary (another secret) does not trust it either.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "someone-else"))
    assert not NotebookNotary().check_signature(nb)


@pytest.fixture
def jp_server_config() -> Config:
    # graphlive lab runs JupyterLab with hidden files allowed: the notebook is in .graphlive/.
    return Config({"ContentsManager": {"allow_hidden": True}})


async def test_a_jupyter_server_opens_the_lab_notebook_trusted(
    jp_fetch: Callable[..., Awaitable[Any]],
    jp_serverapp: Any,
    jp_root_dir: Path,
    jp_data_dir: Path,
) -> None:
    # pytest-jupyter gives its server an in-memory signature database; a real server (what
    # `graphlive lab` starts) has the default notary: the database in the data dir. The server
    # and notebook_for share that (temporary) data dir, as JupyterLab and `graphlive lab` share
    # the user's.
    jp_serverapp.contents_manager.notary = NotebookNotary()
    assert jp_serverapp.contents_manager.notary.data_dir == str(jp_data_dir)
    path = notebook_for(jp_root_dir, "requests")
    edited = json.loads(path.read_text())
    edited["cells"][1]["source"] += "\nprint('edited')"
    (path.parent / "edited.ipynb").write_text(json.dumps(edited))

    async def trusted(name: str) -> list[bool]:
        response = await jp_fetch("api", "contents", ".graphlive", name)
        cells = json.loads(response.body)["content"]["cells"]
        return [c["metadata"].get("trusted") for c in cells if c["cell_type"] == "code"]

    # What JupyterLab's contents API says: every code cell trusted (no "not trusted" dialog).
    assert await trusted("requests.ipynb") == [True, True]
    assert await trusted("edited.ipynb") == [False, False]
