"""``tuf-appliance``: the offline half.  Never imports ``online`` and never opens a socket.

Each command group lives in ``appliance/commands/<group>.py``; heavy imports
(cryptography, qrcode, PIL) stay inside command functions so ``--help`` is fast.
"""

from __future__ import annotations

from .common.cliframe import make_app, run_cli

app = make_app("tuf-appliance", "Air-gapped TUF key appliance: rotate keys, sign, back up — offline.")


def main() -> None:
    import sys

    from .commands import register_for

    run_cli(app, "tuf-appliance", register_for(sys.argv[1:]))
