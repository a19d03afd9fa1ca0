#!/usr/bin/env bash
# A venv with tuf-airgap installed as officers install it: a regular (non-editable) wheel.
#
#   scripts/bench/wheel-venv.sh DIR      then: scripts/bench/processes.py --python DIR/bin/python
#
# An editable install adds an import hook (the __editable__ finder) that every start-up
# pays for; the offline kit (scripts/build-offline-kit.sh) installs wheels, so benchmarks
# of start-up time measure this kind of install.
set -euo pipefail
if [ "$#" -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Build from a copy so that build artefacts never land in the checkout.
tar -C "$root" --exclude=./.venv --exclude=./.git --exclude='*.egg-info' --exclude=./build \
  --exclude='__pycache__' --exclude='.*_cache' --exclude=./.hypothesis -cf - . | tar -C "$work" -xf -
"$python" -m venv "$1"
"$1/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$1/bin/python" -m pip install -q --disable-pip-version-check "$work"
# The benchmarks' in-process column and the python-tuf comparison need these too.
"$1/bin/python" -m pip install -q --disable-pip-version-check "tuf>=5"
echo "$1"
