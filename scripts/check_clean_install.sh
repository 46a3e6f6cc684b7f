#!/usr/bin/env bash
# graphlive as a user gets it: build the wheel, install it alone (no extras, not editable) into a
# fresh virtualenv, then check it from outside the source tree (scripts/check_install.py): every
# module imports, every third-party import is a declared dependency, `graphlive analyze` and
# `graphlive events` run on a fixture with the embedded Redis, and Jupyter lists the extension.
# Fails on a runtime dependency missing from pyproject.toml. Part of scripts/test.sh.
# Usage: bash scripts/check_clean_install.sh [PYTHON]   (PYTHON builds the wheel; default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
BUILD_PY="${1:-python3}"
tmp=$(mktemp -d /tmp/graphlive-clean-XXXX)
venv="$tmp/venv"
cleanup() {
  if [ -x "$venv/bin/graphlive" ]; then "$venv/bin/graphlive" redis stop >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The build backend pinned too (no build isolation: it would take today's hatchling).
"$BUILD_PY" -m pip install --quiet -c constraints.txt hatchling
"$BUILD_PY" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$tmp/dist" .
wheel=$(ls "$tmp"/dist/graphlive-*.whl)

# A virtualenv from the base interpreter, sharing nothing with the development one.
base=$("$BUILD_PY" -c 'import sys; print(sys._base_executable)')
"$base" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet -c constraints.txt pip
"$venv/bin/python" -m pip install --quiet -c constraints.txt "$wheel"

# Outside the checkout (nothing importable by accident), with a private embedded Redis.
export JUPYTER_RUNTIME_DIR="$tmp/runtime" GRAPHLIVE_DATA_DIR="$tmp/data"
export JUPYTER_CONFIG_DIR="$tmp/config" HOME="$tmp/home"
unset GRAPHLIVE_REDIS_URL PYTHONPATH
mkdir -p "$HOME"
cd "$tmp"
"$venv/bin/python" "$repo/scripts/check_install.py" --fixture "$repo/notebooks/demo_shop"
