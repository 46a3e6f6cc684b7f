"""``graphlive lab [PATH]``: JupyterLab on a live graph of PATH, in one command.

What it does, in order:

1. finds Redis (``GRAPHLIVE_REDIS_URL`` or the embedded server, started if needed) and hands the
   same URL to JupyterLab, its kernels and the graphlive server extension;
2. analyses PATH into the graph ``--graph`` (default: the folder's name) with a progress bar,
   then keeps watching it from this process — the graph stays live whatever the notebook does;
3. writes the notebook ``PATH/.graphlive/<graph>.ipynb`` (the folder carries a ``.gitignore``
   so nothing lands in version control) with the live view and Python access to the graph;
4. runs ``jupyter lab`` rooted at PATH (so jump-to-source and server-side re-analysis work on
   the project's files) opening that notebook. Extra arguments after ``--`` go to JupyterLab.

Ctrl-C stops JupyterLab and the watcher; the embedded Redis keeps the graph for next time
(``graphlive redis stop`` stops it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from graphlive.bus.keys import validate_graph_name

NOTEBOOK_DIR = ".graphlive"


def notebook_for(root: Path, graph: str) -> Path:
    """Write (or refresh) the notebook of ``graph`` under ``root/.graphlive/``; returns its path."""
    folder = root / NOTEBOOK_DIR
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by graphlive lab\n*\n")
    cells = [
        _markdown(
            f"# Live code graph of `{root.name}`\n\n"
            "graphlive analysed this folder and keeps watching it while `graphlive lab` runs: "
            "every saved change is re-analysed and streamed to the view. **Run the cell below** "
            "(Shift+Enter) to show it; search, click a node for details and jump to its source."
        ),
        _code(
            "from graphlive.widget import GraphView\n\n"
            f"GraphView.for_graph({graph!r}, path={str(root)!r}, height=640)"
        ),
        _markdown("The same graph in Python (rebuilt from Redis; run again for the latest state):"),
        _code(
            f"from graphlive import LiveGraph\n\nlg = LiveGraph.load({graph!r})\nprint(lg)\n"
            "lg.hotspots(10)"
        ),
    ]
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }
    path = folder / f"{graph}.ipynb"
    _write_trusted(path, notebook)
    return path


def _write_trusted(path: Path, notebook: dict[str, Any]) -> None:
    """Write ``notebook`` signed with this user's Jupyter notary (the secret and the signature
    database in ``jupyter --data-dir``, i.e. ``JUPYTER_DATA_DIR`` when set), so JupyterLab
    trusts it: its outputs' jump-to-source links run without a "Run Command?" question.
    Signing can fail (e.g. a read-only data dir); the notebook is then written untrusted."""
    import nbformat
    from nbformat.sign import NotebookNotary

    nb = nbformat.from_dict(notebook)  # type: ignore[no-untyped-call]
    try:
        NotebookNotary().sign(nb)  # type: ignore[no-untyped-call]
    except Exception as exc:  # an untrusted notebook still works
        print(
            f"graphlive lab: notebook left untrusted ({type(exc).__name__}: {exc})", file=sys.stderr
        )
    # The signature covers the content, not its formatting (nor metadata.signature).
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": uuid.uuid4().hex[:8], "metadata": {}, "source": text}


def _code(text: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": uuid.uuid4().hex[:8],
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": text,
    }


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "lab",
        help="open JupyterLab on a live graph of a folder",
        description="Analyse and watch PATH (default: the current folder), then start "
        "JupyterLab on a notebook showing its live graph. Arguments after -- go to jupyter lab.",
    )
    p.add_argument("path", type=Path, nargs="?", default=Path("."), metavar="PATH")
    p.add_argument("--graph", type=validate_graph_name, default=None, help="graph name")
    p.add_argument("--redis-url", default=None, help="overrides GRAPHLIVE_REDIS_URL")
    p.add_argument("lab_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=run_lab)


def effective_uid() -> int | None:
    """The process's effective uid, or ``None`` where the platform has none (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return int(geteuid()) if geteuid is not None else None


def root_args(lab_args: list[str], euid: int | None = None) -> list[str]:
    """``["--allow-root"]`` when running as root and the user did not decide themselves.

    Jupyter refuses to start as root without it, and containers, CI machines and many cloud
    notebooks run as root; says so in one line on stderr, since it is a choice made for the user.
    """
    uid = effective_uid() if euid is None else euid
    if uid != 0 or any(a.startswith(("--allow-root", "--ServerApp.allow_root")) for a in lab_args):
        return []
    print("graphlive lab: running as root, so JupyterLab gets --allow-root", file=sys.stderr)
    return ["--allow-root"]


def shell_status(returncode: int) -> int:
    """A child's exit status as a shell reports it: ``128 + N`` for a child ended by signal N
    (``Popen`` gives ``-N``, which ``sys.exit`` would turn into a meaningless ``256 - N``)."""
    return 128 - returncode if returncode < 0 else returncode


def run_lab(args: argparse.Namespace) -> int:
    from graphlive.bus.connection import resolve_url
    from graphlive.cli.analyze import ProgressBar
    from graphlive.live import LiveGraph, graph_name_for

    root = args.path.resolve()
    if not root.is_dir():
        print(f"graphlive lab: {args.path}: not a folder", file=sys.stderr)
        return 2
    url = resolve_url(args.redis_url)
    name = args.graph or graph_name_for(root)
    live = LiveGraph(name, root=root, redis_url=url)
    bar = ProgressBar(sys.stderr)
    try:
        summary = live.analyze(progress=bar)
    finally:
        bar.close()
    print(
        f"graphlive: {summary.files} files -> {live.graph.node_count} nodes, "
        f"{live.graph.edge_count} edges; watching {root}",
        file=sys.stderr,
        flush=True,
    )
    live.watch()
    notebook = notebook_for(root, name)
    lab_args = [a for a in args.lab_args if a != "--"]
    cmd = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={root}",
        "--ContentsManager.allow_hidden=True",
        f"--LabApp.default_url=/lab/tree/{notebook.relative_to(root).as_posix()}",
        *root_args(lab_args),
        *lab_args,
    ]  # fmt: skip
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": url}
    proc = subprocess.Popen(cmd, env=env)
    # Ctrl-C reaches JupyterLab through the terminal's process group; SIGTERM is forwarded.
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return shell_status(proc.wait())
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 130  # what shells report for Ctrl-C
    finally:
        live.close()
