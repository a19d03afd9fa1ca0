#!/usr/bin/env bash
# Until the ceremony commands land: create a sandbox factory and show its roots.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/scripts/bootstrap.sh")"
exec "$venv/bin/tuf-online" rehearse "$@"
