#!/usr/bin/env bash
# Lint, type-check and run the whole test suite (what CI runs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/scripts/bootstrap.sh")"
cd "$root"
"$venv/bin/ruff" check appliance online tests scripts
"$venv/bin/mypy" appliance online
"$venv/bin/lint-imports" --no-cache
"$venv/bin/python" -m pytest "$@"
