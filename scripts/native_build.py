"""Hatch build hook: the analysis core compiled with mypyc, when asked for.

``GRAPHLIVE_MYPYC=1 pip install .`` (or ``pip wheel``, ``pip install -e .``) compiles the
modules in :data:`MODULES` with mypyc (a C compiler and ``mypy`` needed; both are build
dependencies only when asked). Without the variable nothing happens: the wheel is pure Python,
as it always was, and the analysis runs the same code interpreted. The compiled modules are the
same files, so both builds give the same graphs (CI runs the analysis tests on both).

Wheel: the extension modules (and mypyc's shared library, at the top level) go into a
platform wheel. Editable install: they are built next to the sources under ``src/``, which an
editable install imports; ``python scripts/native_build.py --clean`` removes them.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script (--clean) without hatchling
    BuildHookInterface = object  # type: ignore[assignment,misc]

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
#: The analysis core: extraction, facts, resolution. Everything else stays interpreted.
MODULES = [
    "graphlive/analysis/facts.py",
    "graphlive/analysis/source_metrics.py",
    "graphlive/analysis/extract_state.py",
    "graphlive/analysis/extract_expressions.py",
    "graphlive/analysis/extract_statements.py",
    "graphlive/analysis/python_extract.py",
    "graphlive/analysis/solver_values.py",
    "graphlive/analysis/solver_state.py",
    "graphlive/analysis/solver_eval.py",
    "graphlive/analysis/solver_classes.py",
    "graphlive/analysis/solver.py",
    "graphlive/analysis/resolve.py",
]
#: mypyc's shared library is named after this group.
GROUP = "graphlive_native"
#: Pinned as constraints.txt pins it for the gates: mypyc's output depends on its version.
MYPY = "mypy==2.4.1"


def wanted() -> bool:
    return os.environ.get("GRAPHLIVE_MYPYC", "").strip().lower() in ("1", "true", "yes")


def compile_into(out: Path) -> list[Path]:
    """Compile :data:`MODULES` from a copy of the sources; the built files under ``out``
    (paths relative to it are their paths in a wheel or under ``src/``)."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    with tempfile.TemporaryDirectory(prefix="graphlive-mypyc-") as tmp:
        work = Path(tmp)
        shutil.copytree(SRC / "graphlive", work / "graphlive")
        cwd = os.getcwd()
        os.chdir(work)  # mypyc names modules by their paths relative to the working folder
        try:
            # Third-party libraries without type hints (pandas, networkx) are reached through
            # imports of the modules it follows; typing them is the gates' job, not the build's.
            extensions = mypycify(
                ["--ignore-missing-imports", *MODULES], opt_level="3", group_name=GROUP
            )
            dist = Distribution({"name": GROUP, "ext_modules": extensions})
            build = dist.get_command_obj("build_ext")
            build.build_lib = str(out)  # type: ignore[attr-defined]
            build.build_temp = str(work / "build")  # type: ignore[attr-defined]
            build.parallel = os.cpu_count() or 1  # type: ignore[attr-defined]
            build.ensure_finalized()
            build.run()
        finally:
            os.chdir(cwd)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return sorted(p for p in out.rglob(f"*{suffix}"))


def clean() -> int:
    """Remove what an editable native build put under ``src/``."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    removed = [p for p in SRC.rglob(f"*{suffix}")]
    for path in removed:
        path.unlink()
    print(f"removed {len(removed)} compiled modules from {SRC}")
    return 0


class NativeBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        return [MYPY, "setuptools"] if wanted() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if not wanted():
            return
        out = Path(tempfile.mkdtemp(prefix="graphlive-native-"))
        self._out = out
        built = compile_into(out)
        if version == "editable":
            for path in built:
                target = SRC / path.relative_to(out)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        else:
            for path in built:
                build_data["force_include"][str(path)] = str(path.relative_to(out))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        out = getattr(self, "_out", None)
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        sys.exit(clean())
    print(__doc__)
    sys.exit(2)
