#!/usr/bin/env bash
# Build an offline install kit for the appliance: a hash-pinned wheelhouse in DIR.
#
#   scripts/build-offline-kit.sh DIR
#
# DIR receives one wheel per runtime dependency (for this Python and platform; packages
# published only as sdists are built into wheels here), the tuf-airgap wheel itself,
# requirements.txt pinning every wheel as `name==version --hash=sha256:...`, and
# install.sh, which installs into a fresh venv with no index and required hashes.
# Building needs PyPI; installing from the kit needs no network.
# PYTHON selects the interpreter (default python3); the appliance must run the same
# Python minor version, which install.sh checks.
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
mkdir -p "$1"
kit="$(cd "$1" && pwd)"
if compgen -G "$kit/*.whl" >/dev/null; then
  echo "error: $kit already holds wheels; use an empty directory" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A throwaway build venv: the interpreter's own pip may be missing or old.
"$python" -m venv "$work/build-venv"
pip=("$work/build-venv/bin/python" -m pip --disable-pip-version-check --no-input)
"${pip[@]}" install -q --upgrade pip

# Build from a copy of the tree so that build artefacts never land in the checkout.
mkdir "$work/src"
tar -C "$root" --exclude=./.venv --exclude=./.git --exclude='*.egg-info' --exclude=./build \
  --exclude='__pycache__' --exclude='.*_cache' --exclude=./.hypothesis -cf - . | tar -C "$work/src" -xf -

# `pip wheel` of the project resolves its runtime dependencies, with the `token` extra so that
# offline keys on PKCS#11 tokens work on the appliance, and writes a wheel for each:
# downloaded when PyPI has one for this platform, built otherwise.
"${pip[@]}" wheel -q --wheel-dir "$kit" "$work/src[token]"

py_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

{
  echo "# tuf-airgap offline kit for CPython $py_version on $(uname -sm); every wheel is pinned by hash."
  for wheel in "$kit"/*.whl; do
    file="$(basename "$wheel")"
    # Wheel file names are {name}-{version}[-{build}]-{python}-{abi}-{platform}.whl.
    IFS=- read -r name version _ <<<"$file"
    digest="$(sha256sum "$wheel" | cut -d' ' -f1)"
    echo "$name==$version --hash=sha256:$digest"
  done
} >"$kit/requirements.txt"

cat >"$kit/install.sh" <<EOF
#!/usr/bin/env bash
# Install tuf-airgap from this kit into a new virtualenv, without any network access.
#
#   install.sh [VENV_DIR]      (default: ./tuf-airgap-venv; PYTHON picks the interpreter)
set -euo pipefail
kit="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
venv="\${1:-tuf-airgap-venv}"
python="\${PYTHON:-python3}"
have="\$("\$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "\$have" != "$py_version" ]; then
  echo "error: this kit holds wheels for Python $py_version, but \$python is \$have" >&2
  exit 2
fi
if [ -e "\$venv" ]; then
  echo "error: \$venv already exists; choose a new directory" >&2
  exit 2
fi
# Only this kit counts: no pip configuration, no extra package locations.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CONSTRAINT PIP_REQUIREMENT
"\$python" -m venv "\$venv"
"\$venv/bin/python" -m pip --disable-pip-version-check --no-input install -q \\
  --no-index --find-links "\$kit" --require-hashes --only-binary=:all: -r "\$kit/requirements.txt"
bin="\$(cd "\$venv/bin" && pwd)"
echo "installed: \$bin/tuf-appliance and \$bin/tuf-online"
echo "put them on PATH:  sudo ln -s \$bin/tuf-appliance \$bin/tuf-online /usr/local/bin/"
EOF
chmod +x "$kit/install.sh"

count="$(grep -c -- '--hash=' "$kit/requirements.txt")"
echo "offline kit: $kit ($count wheels, CPython $py_version)"
