"""``graphlive export NOTEBOOK``: a self-contained HTML page of a notebook and its graphs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a notebook to self-contained HTML (graphs included, no CDN)",
        description="Render NOTEBOOK (executed, with its GraphView outputs) to one HTML file "
        "that shows every graph from its saved copy with no kernel, server or network.",
    )
    p.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    p.add_argument("-o", "--output", type=Path, default=None, help="default: NOTEBOOK.html")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from graphlive.export import to_html

    if not args.notebook.is_file():
        print(f"graphlive export: {args.notebook}: no such file", file=sys.stderr)
        return 2
    output = args.output or args.notebook.with_suffix(".html")
    output.write_text(to_html(args.notebook), encoding="utf-8")
    print(output)
    return 0
