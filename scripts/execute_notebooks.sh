#!/usr/bin/env bash
# Re-execute the notebooks in place (refreshing the outputs nbval compares against), with a
# private embedded Redis so nothing touches the user's own. Usage: bash scripts/execute_notebooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${GRAPHLIVE_VENV:-.venv}"
scratch=$(mktemp -d /tmp/graphlive-nb-XXXX)
export JUPYTER_RUNTIME_DIR="$scratch/runtime" GRAPHLIVE_DATA_DIR="$scratch/data"
unset GRAPHLIVE_REDIS_URL
trap '"$VENV/bin/graphlive" redis stop >/dev/null; rm -rf "$scratch"' EXIT
for nb in notebooks/*.ipynb; do
  "$VENV/bin/jupyter" nbconvert --to notebook --execute --inplace \
    --ExecutePreprocessor.store_widget_state=False "$nb"
done
