#!/usr/bin/env bash
# Prove the offline install kit works: build it, install it into a fresh venv with the
# network made unusable, then run the appliance from that venv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

bash "$root/scripts/build-offline-kit.sh" "$work/kit"

# Install with no index and every proxy pointing at a closed port: any network use fails.
offline=(
  env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_NO_INDEX=1 PIP_CONFIG_FILE=/dev/null
  http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9
  no_proxy= NO_PROXY=
)
# Run from the scratch directory so nothing can be imported from the checkout.
cd "$work"
"${offline[@]}" bash "$work/kit/install.sh" "$work/venv"

venv="$work/venv"
location="$("$venv/bin/python" -c 'import appliance; print(appliance.__file__)')"
case "$location" in
  "$venv"/*) ;;
  *)
    echo "error: appliance was imported from $location, not from the kit's venv" >&2
    exit 1
    ;;
esac
"${offline[@]}" "$venv/bin/tuf-appliance" --help >"$work/help.txt"
# The token extra is in the kit: keys on PKCS#11 tokens can be used on the appliance.
"${offline[@]}" "$venv/bin/python" -c "import pkcs11"
grep -q "keys" "$work/help.txt"

# Smoke: list the keys of a small generated tarball (fixed-seed key, public output only).
keyid="$(
  "$venv/bin/python" - "$work/creds.tgz" <<'EOF'
import sys
from pathlib import Path

from appliance.core.keys import public_key_file
from appliance.core.privatekeys import PrivateKey, secret_key_file
from appliance.core.keysarchive import KeysArchive

key = PrivateKey.from_ed25519_seed(bytes([7]) * 32)
files = {
    "tufrepo/keys/first-root.pub": public_key_file(key.public_key),
    "tufrepo/keys/first-root.sec": secret_key_file(key),
}
Path(sys.argv[1]).write_bytes(KeysArchive.from_files(files).to_bytes(mtime=0))
print(key.keyid)
EOF
)"
COLUMNS=200 "${offline[@]}" "$venv/bin/tuf-appliance" keys --keys "$work/creds.tgz" >"$work/keys.txt"
if ! grep -q "${keyid:0:12}" "$work/keys.txt"; then
  echo "error: tuf-appliance keys did not list key ${keyid:0:12}" >&2
  cat "$work/keys.txt" >&2
  exit 1
fi
echo "offline kit OK: installed without network, tuf-appliance runs"
