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
        "that shows every graph with no kernel, server or network: from the saved copy in the "
        "notebook's widget state, else loaded by name from Redis now. A view that cannot be "
        "filled shows a notice in the page, is reported here, and the exit status is 1.",
    )
    p.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    p.add_argument("-o", "--output", type=Path, default=None, help="default: NOTEBOOK.html")
    p.add_argument(
        "--redis-url",
        default=None,
        help="Redis to load graphs from (default: GRAPHLIVE_REDIS_URL, else the embedded server)",
    )
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from graphlive.export import export_html

    if not args.notebook.is_file():
        print(f"graphlive export: {args.notebook}: no such file", file=sys.stderr)
        return 2
    output = args.output or args.notebook.with_suffix(".html")
    page, problems = export_html(args.notebook, redis_url=args.redis_url)
    output.write_text(page, encoding="utf-8")
    for problem in problems:
        print(f"graphlive export: {problem}", file=sys.stderr)
    if problems:
        print(
            f"graphlive export: wrote {output}; {len(problems)} view(s) show a notice instead "
            "of their graph",
            file=sys.stderr,
        )
        return 1
    print(output)
    return 0
