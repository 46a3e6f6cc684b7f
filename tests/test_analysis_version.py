"""The analysis cache's version key and the memos that spare recomputing keys in every process."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from graphlive import analysis_cache
from graphlive.analysis_cache import _stat_signature, analysis_digest

_ANALYSIS = Path(analysis_cache.__file__).resolve().parent / "analysis"


def test_the_signature_follows_the_sources_and_the_import_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "analysis"
    shutil.copytree(_ANALYSIS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    script_folder = tmp_path / "scripts"
    script_folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(script_folder), *sys.path, str(site)])
    first = _stat_signature(copy)
    assert _stat_signature(copy) == first
    (copy / "polyglot" / "new_language.py").write_text("X = 1\n")  # a source in a subpackage
    added = _stat_signature(copy)
    assert added != first
    (copy / "solver.py").write_text((copy / "solver.py").read_text() + "# edited\n")
    edited = _stat_signature(copy)
    assert edited != added
    (site / "tree_sitter_go-9.9.9.dist-info").mkdir()  # a grammar installed or upgraded
    installed = _stat_signature(copy)
    assert installed != edited
    (script_folder / "notes.txt").write_text("a script's folder changes all the time")
    assert _stat_signature(copy) == installed
    (copy / "__pycache__").mkdir()  # bytecode written beside the sources is not the sources
    (copy / "__pycache__" / "solver.cpython-311.pyc").write_bytes(b"bytecode")
    assert _stat_signature(copy) == installed


def test_the_memo_answers_while_its_signature_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(tmp_path / "data"))
    compute = analysis_cache.version_key.__wrapped__  # the key without the per-process cache
    key = compute()
    assert key == analysis_digest(_ANALYSIS)
    memo = tmp_path / "data" / "analysis-version"
    signature, _, saved = memo.read_text().partition(" ")
    assert (signature, saved) == (_stat_signature(_ANALYSIS), key)
    # A memo under the current signature is believed (nothing is hashed again) ...
    memo.write_text(f"{signature} {'0' * 24}")
    assert compute() == "0" * 24
    # ... one under another signature is not: the digest is computed and remembered again.
    memo.write_text(f"{'1' * 24} {'0' * 24}")
    assert compute() == key
    assert memo.read_text() == f"{signature} {key}"


def test_a_refreshed_discovery_has_the_structure_key_of_a_new_walk(tmp_path: Path) -> None:
    """The key is remembered on the walk; patching the walk for a new module forgets it."""
    from graphlive.analysis.discover import discover, refresh
    from graphlive.analysis.manifest import structure_key
    from graphlive.ignore import IgnoreRules

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("x = 1\n")
    disc = discover(tmp_path, IgnoreRules(tmp_path))
    before = structure_key(disc)
    (pkg / "b.py").write_text("y = 2\n")
    assert refresh(disc, ["pkg/b.py"]) == {"pkg/b.py"}
    after = structure_key(disc)
    assert after != before
    assert after == structure_key(discover(tmp_path, IgnoreRules(tmp_path)))
