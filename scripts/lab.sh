#!/usr/bin/env bash
# Install graphlive into .venv and open JupyterLab on a live graph of PATH (default: the current
# folder). Usage: bash scripts/lab.sh [PATH] [-- jupyter lab options]
set -euo pipefail
target="$(cd "${1:-.}" && pwd)"
shift $(( $# > 0 ? 1 : 0 ))
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${GRAPHLIVE_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .
exec "$VENV/bin/graphlive" lab "$target" "$@"
