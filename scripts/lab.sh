#!/usr/bin/env bash
# Install graphlive into .venv and open JupyterLab on a live graph of PATH (default: the current
# folder). Usage: bash scripts/lab.sh [PATH] [-- jupyter lab options]
set -euo pipefail
target="$(cd "${1:-.}" && pwd)"
shift $(( $# > 0 ? 1 : 0 ))
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${GRAPHLIVE_VENV:-.venv}"
venv_abs="$(pwd)/$VENV"
if [ ! -x "$VENV/bin/python" ]; then
  echo "graphlive: creating $venv_abs and installing graphlive (first run: about 2 minutes)" >&2
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet -c constraints.txt pip
"$VENV/bin/python" -m pip install --quiet -c constraints.txt -e .
again() {
  echo "graphlive is installed in $venv_abs: run it again with" >&2
  echo "  $venv_abs/bin/graphlive lab $(printf '%q' "$target")   (or: source $venv_abs/bin/activate)" >&2
}
again
status=0
"$VENV/bin/graphlive" lab "$target" "$@" || status=$?
again
exit "$status"
