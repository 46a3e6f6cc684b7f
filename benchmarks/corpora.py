"""Corpora for the analysis benchmark, and the comparison tools' private environment.

Everything downloaded lands under ``benchmarks/.cache/`` (gitignored), never in the project's
environment:

* ``stdlib`` — the ``Lib/`` directory of the running interpreter, analysed in place (the
  analysis skips ``site-packages`` itself; the file list comes from graphlive's discovery so
  that every tool sees the same files);
* ``stdlib-pkgs`` — copies of a few stdlib packages (asyncio, email, json, xml) under one root:
  small, needs no network;
* ``django``, ``rich``, ``requests`` — pinned wheels fetched with ``pip download`` and unpacked
  into ``.cache/corpora/NAME-VERSION``;
* :func:`tools_python` — a separate venv in ``.cache/tools-venv`` holding pyan3 and code2flow;
  :func:`parsers_python` — one in ``.cache/parsers-venv`` holding tree-sitter.

A corpus that cannot be fetched (no network) raises :class:`CorpusUnavailable` with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CACHE",
    "PARSERS",
    "STDLIB_PACKAGES",
    "TOOLS",
    "WHEELS",
    "Corpus",
    "CorpusUnavailable",
    "copy_stdlib_packages",
    "fetch_wheel",
    "get",
    "parsers_python",
    "private_python",
    "stdlib_root",
    "tools_python",
]

CACHE = Path(__file__).resolve().parent / ".cache"
#: Pinned so that numbers from different runs describe the same code.
WHEELS: dict[str, str] = {"django": "5.2.8", "rich": "14.1.0", "requests": "2.32.5"}
#: Comparison tools, installed only into the tools venv.
TOOLS: dict[str, str] = {"pyan3": "2.9.0", "code2flow": "2.5.1"}
#: Parsers compared with ``ast.parse`` by ``bench_parsers.py``.
PARSERS: dict[str, str] = {"tree-sitter": "0.26.1", "tree-sitter-python": "0.25.0"}
STDLIB_PACKAGES: tuple[str, ...] = ("asyncio", "email", "json", "xml")
_DONE = ".complete"


class CorpusUnavailable(RuntimeError):
    """A corpus (or the tools venv) could not be fetched; the message says why."""


@dataclass(frozen=True, slots=True)
class Corpus:
    """A tree of Python files: ``root`` is what gets analysed; ``origin`` says where it is from."""

    name: str
    root: Path
    version: str
    origin: str


def stdlib_root() -> Path:
    """``Lib/`` of the running interpreter (the stdlib, with its own tests)."""
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def _pip(args: list[str], what: str, python: str | None = None) -> None:
    cmd = [python or sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise CorpusUnavailable(f"pip {what} failed: " + " | ".join(tail))


def fetch_wheel(
    name: str, version: str, cache: Path = CACHE, *, network_timeout: float | None = None
) -> Path:
    """Download ``name==version``'s wheel (no dependencies) and unpack it; returns the folder.

    The folder holds the distribution's top-level packages (``.dist-info`` removed). Unpacking
    goes through a temporary folder renamed at the end, so a half-done fetch is never reused.
    ``network_timeout`` (seconds, no retries) makes pip give up quickly when offline; by
    default pip's own settings apply.
    """
    dest = cache / "corpora" / f"{name}-{version}"
    if (dest / _DONE).exists():
        return dest
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wanted = f"{name.replace('-', '_').lower()}-{version}-"
    found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(wanted)]
    if not found:
        quick = (
            [] if network_timeout is None else ["--timeout", str(network_timeout), "--retries", "0"]
        )
        _pip(
            [
                *quick,
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(wheels),
                f"{name}=={version}",
            ],
            f"download {name}=={version}",
        )
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(wanted)]
    if not found:
        raise CorpusUnavailable(f"pip download {name}=={version} produced no wheel")
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=wheels))
    with zipfile.ZipFile(found[0]) as zf:
        zf.extractall(tmp)
    for info in tmp.glob("*.dist-info"):
        shutil.rmtree(info)
    (tmp / _DONE).write_text(found[0].name + "\n")
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(dest)
    return dest


def copy_stdlib_packages(dest: Path, names: tuple[str, ...] = STDLIB_PACKAGES) -> Path:
    """Copy the named stdlib packages (sources only) side by side into ``dest``."""
    lib = stdlib_root()
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = dest / name
        if not target.exists():
            shutil.copytree(
                lib / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
    return dest


def get(name: str, cache: Path = CACHE) -> Corpus:
    """The corpus called ``name`` (see the module docstring), fetched if needed."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    if name == "stdlib":
        return Corpus(name, stdlib_root(), version, f"Lib/ of Python {version}")
    if name == "stdlib-pkgs":
        root = copy_stdlib_packages(cache / "corpora" / f"stdlib-pkgs-{version}")
        return Corpus(name, root, version, f"{', '.join(STDLIB_PACKAGES)} of Python {version}")
    if name in WHEELS:
        pinned = WHEELS[name]
        return Corpus(
            name, fetch_wheel(name, pinned, cache), pinned, f"PyPI wheel {name}=={pinned}"
        )
    raise KeyError(f"unknown corpus {name!r}")


def tools_python(cache: Path = CACHE) -> Path:
    """Interpreter of a private venv with pyan3 and code2flow (created on first use)."""
    return private_python(cache / "tools-venv", TOOLS)


def parsers_python(cache: Path = CACHE) -> Path:
    """Interpreter of a private venv with tree-sitter and its Python grammar."""
    return private_python(cache / "parsers-venv", PARSERS)


def private_python(venv: Path, packages: dict[str, str]) -> Path:
    """Interpreter of a venv at ``venv`` holding exactly the pinned ``packages`` (created, or
    recreated when the pins changed, on first use)."""
    python = venv / "bin" / "python"
    marker = venv / _DONE
    wanted = " ".join(f"{k}=={v}" for k, v in sorted(packages.items()))
    if python.exists() and marker.exists() and marker.read_text().strip() == wanted:
        return python
    # The base interpreter, not this venv's: the tools must not see the project's packages.
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True)
    _pip(["install", "--quiet", *wanted.split()], f"install {wanted}", python=str(python))
    marker.write_text(wanted + "\n")
    return python
    # The base interpreter, not this venv's: the tools must not see the project's packages.
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True)
    _pip(["install", "--quiet", *wanted.split()], f"install {wanted}", python=str(python))
    marker.write_text(wanted + "\n")
    return python
