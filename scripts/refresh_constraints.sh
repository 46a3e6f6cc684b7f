#!/usr/bin/env bash
# Re-pin constraints.txt from what PyPI offers today. A fresh virtualenv gets graphlive with every
# extra and the build backend, unconstrained; its `pip freeze` becomes constraints.txt.
# Usage: bash scripts/refresh_constraints.sh   (then run bash scripts/test.sh, and commit the new
# constraints.txt on its own: an upgrade of the tools is a deliberate, reviewable change).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
tmp=$(mktemp -d /tmp/graphlive-constraints-XXXX)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
"$tmp/venv/bin/python" -m pip install --quiet ".[dev,bolt]" hatchling editables
{
  echo "# Pinned versions for scripts/test.sh and scripts/lab.sh (pip install -c constraints.txt)."
  echo "# Written by: bash scripts/refresh_constraints.sh on $(date -u +%Y-%m-%d) with $("$PYTHON" --version)."
  echo "# pyproject.toml keeps the ranges users resolve; this file makes the quality gates"
  echo "# independent of what upstream released this morning."
  "$tmp/venv/bin/python" -m pip freeze --all --exclude graphlive | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned packages"
