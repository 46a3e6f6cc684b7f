"""The notebook ``graphlive lab`` writes: signed, so JupyterLab trusts it.

The notary's secret and signature database live in ``JUPYTER_DATA_DIR``, pointed at a temporary
folder here: the tests never touch the real user's secret.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from graphlive.lab import notebook_for


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
