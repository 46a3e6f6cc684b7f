"""The compiled analysis core (mypyc, opt-in) and the pure-Python one are the same code.

scripts/test.sh runs the analysis tests twice: on the editable install (pure Python) and on a
wheel built with ``GRAPHLIVE_MYPYC=1`` (``GRAPHLIVE_EXPECT_COMPILED=1``). This module checks that
each run tests the build it claims to, so that neither path can silently stop being tested.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

from graphlive.analysis_cache import analysis_digest, version_key

REPO = Path(__file__).resolve().parent.parent


def _native_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("native_build", REPO / "scripts/native_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


@pytest.mark.parametrize("path", _native_build().MODULES)
def test_the_analysis_core_is_the_build_this_run_tests(path: str) -> None:
    expect_compiled = os.environ.get("GRAPHLIVE_EXPECT_COMPILED") == "1"
    module = importlib.import_module(_module_name(path))
    compiled = str(module.__file__).endswith(sysconfig.get_config_var("EXT_SUFFIX"))
    assert compiled == expect_compiled, module.__file__


def test_the_cache_version_names_the_compiled_modules(tmp_path: Path) -> None:
    """A compiled build pickles its classes differently: caches never cross between builds,
    nor between two compiled builds of different sources."""
    import graphlive.analysis.solver as solver

    folder = Path(str(solver.__file__)).parent
    assert version_key() == analysis_digest(folder)
    copy = tmp_path / "analysis"
    shutil.copytree(folder, copy)
    for built in copy.glob(f"*{sysconfig.get_config_var('EXT_SUFFIX')}"):
        built.unlink()
    pure = analysis_digest(copy)
    fake = copy / f"solver{sysconfig.get_config_var('EXT_SUFFIX')}"
    fake.write_bytes(b"one build")
    one = analysis_digest(copy)
    fake.write_bytes(b"another build")
    assert len({pure, one, analysis_digest(copy)}) == 3
