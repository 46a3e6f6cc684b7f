#!/usr/bin/env bash
# Re-pin constraints.txt from what PyPI offers today. A fresh virtualenv gets graphlive with every
# extra and the build backend, unconstrained; what it installed becomes constraints.txt.
# Usage: bash scripts/refresh_constraints.sh   (then run bash scripts/test.sh, and commit the new
# constraints.txt on its own: an upgrade of the tools is a deliberate, reviewable change).
#
# A release that does not install on every Python graphlive supports (its Requires-Python
# excludes one of them, e.g. soupsieve 4.1.4 needs >= 3.11.5 while Debian 12 has 3.11.2) is
# pinned as an upper bound ("name<=version") instead, so older interpreters resolve an older
# release of it rather than failing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
tmp=$(mktemp -d /tmp/graphlive-constraints-XXXX)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
"$tmp/venv/bin/python" -m pip install --quiet ".[dev,bolt]" hatchling editables packaging
{
  echo "# Pinned versions for scripts/test.sh and scripts/lab.sh (pip install -c constraints.txt)."
  echo "# Written by: bash scripts/refresh_constraints.sh on $(date -u +%Y-%m-%d) with $("$PYTHON" --version)."
  echo "# pyproject.toml keeps the ranges users resolve; this file makes the quality gates"
  echo "# independent of what upstream released this morning. '<=' marks a release that some"
  echo "# supported Python cannot install (see the script)."
  "$tmp/venv/bin/python" - <<'PY'
import importlib.metadata as md
import re
import tomllib

from packaging.specifiers import SpecifierSet

floor = tomllib.load(open("pyproject.toml", "rb"))["project"]["requires-python"]
supported = [f"3.{minor}.0" for minor in range(10, 15) if SpecifierSet(floor).contains(f"3.{minor}.0")]
lines = []
for dist in md.distributions():
    name = dist.metadata["Name"]
    if re.sub(r"[-_.]+", "-", name).lower() == "graphlive":
        continue
    needs = SpecifierSet(dist.metadata.get("Requires-Python") or "")
    everywhere = all(needs.contains(v) for v in supported)
    lines.append(f"{name}{'==' if everywhere else '<='}{dist.version}")
print("\n".join(sorted(lines, key=str.lower)))
PY
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages, $(grep -c '<=' constraints.txt) as upper bounds"
