#!/usr/bin/env bash
# Full rehearsal: sandbox factory on 127.0.0.1, station export, appliance rotate-root, station import.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/scripts/bootstrap.sh")"
exec "$venv/bin/tuf-online" rehearse "$@"
